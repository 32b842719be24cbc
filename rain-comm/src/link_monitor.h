// The consistent-history link monitor of one path (RAINCORE.md §2; LeMahieu & Bruck, "A
// Consistent History Link Connectivity Protocol", IPPS/SPDP 1999; docs/transport.md §"Link
// monitor").
//
// Each end counts the transitions it committed, t_local (deviation from the notes' parity: t
// starts at 0 = DOWN, so odd = UP, even = DOWN — a link is down until proven up), and sends it in
// every ping and pong; t_remote is the largest count heard from the peer. Both ends' histories
// are the same sequence (down, up, down, ...) because the parity fixes each transition; the rule
// bounds how far one end may run ahead: UP only while t_local ≤ t_remote (not ahead), DOWN while
// t_local ≤ t_remote + 1. Deviation from the notes' "lead by at most one" (RAINCORE.md §2): the
// slack is two, and only a DOWN may be the second step. With slack one a side that committed UP
// just before the path died could never commit DOWN (it cannot hear the peer catch up) and
// would report a dead path up until it healed; here an UP state always leads by ≤ 1, so a dead
// path is always declared down, and a side can be held back only in the DOWN state, which is
// right while it cannot hear the peer.
//   - DOWN after link_down_pings_missed consecutive pings without a pong (while up);
//   - UP after link_up_pings_good consecutive answered pings (while down);
//   - catch-up: when t_remote > t_local the peer committed a transition we have not: adopt it
//     (we heard from the peer, so the path carries packets at least one way).
// A ping counts as answered when the pong for it arrives before the next ping is due.
// When the path heals, the side behind catches up through the transitions it missed (e.g. UP
// then DOWN within one ping) so both report the same history.
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
