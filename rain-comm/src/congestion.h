// Per-path round-trip estimation and congestion control (docs/transport.md §"Congestion").
//
// RttEstimator: RFC 6298 (srtt, rttvar, RTO = srtt + 4·rttvar clamped to [rto_min, rto_max]),
// plus the minimum and latest samples. Samples come from acked data packets (ack delay removed)
// and from link-monitor pongs.
//
// CongestionController: a byte window per path. Slow start, then Reno-style additive increase
// (one packet per round trip). Deviation from Reno (and from the paper, which names only a
// sliding window): a loss shrinks the window only when it looks like congestion — queueing delay
// (latest RTT above the minimum by rtt_inflation_congestion·min and by at least 1 ms) or more than
// loss_fraction_congestion of the round's packets lost — and then by cwnd_decrease_factor, once
// per round trip (which also ends slow start); other losses change nothing. So random loss (a
// lossy link) does not collapse the window, while a filling queue or a burst of drops does. A
// first RTO halves the window (a tail loss on a live path); consecutive RTOs (a dead path) fall
// back to the minimum window.
#pragma once

#include <cstdint>

#include "rain/comm/options.h"
#include "rain/core/time.h"

namespace rain::comm {

class RttEstimator {
 public:
  explicit RttEstimator(const TransportOptions& options) : options_(&options) {}

  void OnSample(Duration rtt);
  // The retransmission timeout before backoff.
  Duration Rto() const;
  bool has_sample() const { return has_sample_; }
  Duration srtt() const { return srtt_; }
  Duration rttvar() const { return rttvar_; }
  Duration min_rtt() const { return min_rtt_; }
  Duration latest() const { return latest_; }

 private:
  const TransportOptions* options_;
  bool has_sample_ = false;
  Duration srtt_{0};
  Duration rttvar_{0};
  Duration min_rtt_{0};
  Duration latest_{0};
};

class CongestionController {
 public:
  CongestionController(const TransportOptions& options, uint32_t packet_bytes);

  uint64_t cwnd_bytes() const { return cwnd_; }
  // A packet of `bytes` may go out with `in_flight` bytes already unacknowledged. An empty path
  // may always send one packet.
  bool CanSend(uint64_t in_flight, uint64_t bytes) const {
    return in_flight == 0 || in_flight + bytes <= cwnd_;
  }
  void OnAcked(uint64_t bytes, Instant now, const RttEstimator& rtt);
  // `sent` is when the lost packet went out: losses of packets sent before the last reduction
  // belong to the same event.
  void OnLost(uint64_t bytes, Instant sent, Instant now, const RttEstimator& rtt);
  // The path's RTO expired; `consecutive` when the previous one did too without an ack between.
  void OnRto(Instant now, bool consecutive);

 private:
  void NewRound(Instant now, const RttEstimator& rtt);

  const TransportOptions* options_;
  uint64_t packet_bytes_;
  uint64_t cwnd_;
  uint64_t ssthresh_;
  uint64_t cwnd_min_;
  Instant recovery_start_{};  // losses of packets sent before this are part of a handled event
  Instant round_start_{};
  uint64_t round_acked_ = 0;  // packets in the current round
  uint64_t round_lost_ = 0;
};

}  // namespace rain::comm
