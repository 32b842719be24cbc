// RingOptions: every timer, queue and window of the token-ring GCM, with LAN defaults.
//
// Filled at the call site (`RingOptions{.idle_token_hold = 1ms}`); units are in the types
// (Duration) or last in the names (`_messages`, `_bytes`). docs/membership.md "Timers" explains
// each default and how the timeouts scale with ring size; Validate() refuses inconsistent sets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "rain/core/status.h"
#include "rain/core/time.h"

namespace rain::membership {

using namespace std::chrono_literals;

struct RingOptions {
  // --- Failure detection and token circulation ---
  // Token loss: a node that has not seen the token for
  //   token_loss_base + token_loss_per_node * ring_size
  // declares it lost and calls 911. token_loss_base must exceed the Transport Manager's
  // failure-report bound (a holder waits that long to learn its successor is gone) plus one
  // idle rotation; see docs/membership.md "Detection bound".
  Duration token_loss_base = 100ms;
  Duration token_loss_per_node = 10ms;
  // An idle token (no traffic for one rotation) waits this long at each holder before moving
  // on: an idle rotation costs ring_size * idle_token_hold, which is also the heartbeat period.
  Duration idle_token_hold = 2ms;
  // A token with traffic keeps moving without holds for this many hops after the last traffic.
  uint32_t busy_hops_per_member = 2;
  // A token with traffic waits up to this long at a holder with nothing to send, but only while
  // the host reports its CPU contended (Gcm::SetCpuContended): there the token's spin takes the
  // CPU the traffic needs. A member with new work wakes it. 0: never; at most idle_token_hold
  // (so TokenLossTimeout covers it). docs/membership.md "Busy holds".
  Duration busy_token_hold = 0ms;
  // A node whose token pass is unacknowledged this long tells every member the token is alive
  // (TokenAlive), and again every interval until the pass's outcome: the TM may take F to report
  // a dead successor, and without this the token-loss timeout would have to exceed F.
  Duration pass_keepalive_interval = 20ms;

  // --- 911 / regeneration / joins / merges ---
  // How long a 911 caller collects grants and denials before deciding.
  Duration call911_reply_timeout = 15ms;
  // Back-off after a lost 911 (someone else holds a higher ballot): uniform in [min, max].
  Duration call911_retry_min = 10ms;
  Duration call911_retry_max = 60ms;
  // A node outside every ring re-sends its join 911 this often until a ring adds it.
  Duration join_retry_interval = 60ms;
  // A ring member remembers a joiner for this long (it adds it at its next token visit).
  Duration joiner_ttl = 500ms;
  // The token holder probes eligible nodes outside the view this often (partition heal).
  Duration merge_probe_interval = 150ms;
  // After starting a merge, a node waits this long before starting another.
  Duration merge_backoff = 100ms;
  // A node that cannot complete recovery (missing retransmissions) in this time drops the
  // token and calls 911.
  Duration recovery_timeout = 60ms;

  // --- Ordered multicast: limits per token visit and windows ---
  size_t max_messages_per_visit = 512;
  size_t max_bytes_per_visit = 4u << 20;
  // Messages ordered but not yet received by every member (token seq - aru).
  size_t window_messages = 8192;
  size_t send_queue_messages_max = 65536;
  size_t max_message_bytes = 1u << 20;
  size_t max_retransmit_requests = 256;  // seqs asked for per token visit

  // --- Other limits ---
  size_t max_members = 64;
  size_t lock_queue_max = 64;
  size_t max_pending_events = 1u << 20;  // events the host has not drained yet

  Status Validate() const;
};

// The token-loss timeout for a ring of `ring_size` members.
Duration TokenLossTimeout(const RingOptions& o, size_t ring_size);

}  // namespace rain::membership
