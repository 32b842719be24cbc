// The consistent-history link monitor of one path (RAINCORE.md §2; LeMahieu & Bruck, "A
// Consistent History Link Connectivity Protocol", IPPS/SPDP 1999; docs/transport.md §"Link
// monitor").
//
// Each end counts the transitions it committed, t_local (deviation from the notes' parity: t
// starts at 0 = DOWN, so odd = UP, even = DOWN — a link is down until proven up), and sends it in
// every ping and pong; t_remote is the largest count heard from the peer. The design rule: a side
// commits a transition only while t_local ≤ t_remote, so it leads the peer by at most one and
// both ends' histories are the same sequence (down, up, down, ...) up to that slack.
//   - DOWN after link_down_pings_missed consecutive pings without a pong (while up);
//   - UP after link_up_pings_good consecutive answered pings (while down);
//   - catch-up: when t_remote > t_local the peer committed a transition we have not: adopt it
//     (we heard from the peer, so the path carries packets at least one way).
// A ping counts as answered when the pong for it arrives before the next ping is due.
// Known limitation (inherent to the slack-one rule): a side that leads by one cannot commit
// again until it hears the peer, so if the path dies exactly while one side leads, that side
// keeps its state until the path returns. Message failover does not depend on link state.
#pragma once

#include <cstdint>
#include <optional>

#include "rain/comm/options.h"
#include "rain/core/time.h"

namespace rain::comm {

class LinkMonitor {
 public:
  explicit LinkMonitor(const TransportOptions& options) : options_(&options) {}

  bool up() const { return transitions_local_ % 2 == 1; }
  uint32_t transitions_local() const { return transitions_local_; }
  uint32_t transitions_remote() const { return transitions_remote_; }

  // The ping timer fired: judges the previous ping (missed if unanswered) and returns the id of
  // the ping to send now.
  uint64_t OnPingDue(Instant now);
  // A pong for `ping_id`; returns the round-trip time when it answers a ping of ours.
  std::optional<Duration> OnPong(uint64_t ping_id, uint32_t remote_transitions, Instant now);
  // Any ping from the peer.
  void OnRemoteTransitions(uint32_t remote_transitions);
  // Commits at most one transition if the rules allow; returns true if it did (the caller reports
  // it). Call until false.
  bool Evaluate();
  // The peer restarted: a fresh history for the new pair of incarnations.
  void Reset();

 private:
  const TransportOptions* options_;
  uint32_t transitions_local_ = 0;
  uint32_t transitions_remote_ = 0;
  uint64_t next_ping_id_ = 1;
  uint64_t outstanding_ping_ = 0;  // id of the last ping sent, 0 if answered or none
  Instant outstanding_sent_{};
  uint32_t missed_ = 0;
  uint32_t good_ = 0;
};

}  // namespace rain::comm
