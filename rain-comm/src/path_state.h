// PathState: everything the TM keeps per path (local address → remote address) of a peer: the
// link monitor (RAINCORE.md §2), the RTT estimate, the congestion window, bytes in flight, the
// retransmission timer with its backoff, and the ping timer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "congestion.h"
#include "link_monitor.h"
#include "rain/comm/address.h"
#include "rain/comm/options.h"
#include "rain/core/time.h"

namespace rain::comm {

// Hard cap on paths per peer (TransportOptions::paths_per_peer_max must not exceed it).
inline constexpr uint32_t kPathsHardMax = 16;
// Tail-loss probes per RTO period of a path (RFC 9002 §6.2 style): each re-sends the oldest
// fragments in flight on the path, past the congestion window, to draw an ack before the RTO.
inline constexpr uint32_t kProbesPerRtoMax = 2;
// Timer granularity in the probe timeout (RFC 9002 kGranularity).
inline constexpr Duration kProbeGranularity = std::chrono::milliseconds(1);

struct PathState {
  PathState(const TransportOptions& options, Path p, uint32_t packet_bytes_in)
      : path(p),
        packet_bytes(packet_bytes_in),
        monitor(options),
        rtt(options),
        cc(options, packet_bytes_in) {}

  Path path;
  uint32_t packet_bytes;  // UDP payload bytes per datagram on this path
  LinkMonitor monitor;
  RttEstimator rtt;
  CongestionController cc;

  uint64_t bytes_in_flight = 0;  // data packets sent, neither acked nor declared lost
  uint64_t packets_sent = 0;     // data packets ever sent on the path (their path_seq)
  uint64_t largest_acked_path_seq = 0;
  bool any_acked = false;

  bool rto_running = false;
  Instant rto_armed{};
  // Consecutive RTO expirations without an ack or pong since. At transmissions_per_path_max the
  // path is exhausted; all paths exhausted fails the peer's messages (SendQueue, §6).
  uint32_t rto_backoff = 0;
  // Tail-loss probes sent since rto_armed (reset with it).
  uint32_t probes_sent = 0;

  Instant next_ping{};  // epoch: ping at once

  // A path is suspect after an RTO until it proves alive (an ack or a pong): the sequential
  // strategy tries it after the healthy paths.
  bool suspect() const { return rto_backoff > 0; }

  Duration RtoWithBackoff(const TransportOptions& options) const {
    Duration rto = rtt.Rto();
    for (uint32_t i = 0; i < rto_backoff && rto < options.rto_max; ++i) rto *= 2;
    return std::min(rto, options.rto_max);
  }
  Instant RtoDeadline(const TransportOptions& options) const {
    return rto_armed + RtoWithBackoff(options);
  }
  // When the next tail-loss probe is due: k·PTO after rto_armed for the k-th probe, PTO = srtt +
  // max(4·rttvar, 1 ms) + ack_delay_max (RFC 9002 §6.2.1). Only on a path with an RTT sample
  // and no RTO since its last ack or pong (a suspect path is left to the RTO, so failover and
  // failure detection keep their timing), and only before the RTO itself.
  std::optional<Instant> ProbeDeadline(const TransportOptions& options) const {
    if (!rto_running || rto_backoff > 0 || !rtt.has_sample() || probes_sent >= kProbesPerRtoMax) {
      return std::nullopt;
    }
    const Duration pto = rtt.srtt() + std::max<Duration>(4 * rtt.rttvar(), kProbeGranularity) +
                         options.ack_delay_max;
    const Instant due = rto_armed + pto * static_cast<int64_t>(probes_sent + 1);
    if (due >= RtoDeadline(options)) return std::nullopt;
    return due;
  }
};

}  // namespace rain::comm
