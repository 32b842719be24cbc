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
//
// Delay signal (TransportOptions::cwnd_delay_backoff; in the spirit of TCP Vegas and HyStart,
// Brakmo & Peterson 1995, Ha & Rhee 2011): a window that only grows on acks fills whatever
// buffer sits in front of the bottleneck (on loopback the 8 MiB socket buffers) until it
// overflows. So at the end of every round the smallest RTT sample of the round is compared with
// the path's base RTT (the smallest sample, renewed after kBaseRttLifetime): when even the best
// sample of a whole round was delayed by the queueing threshold (as in the loss rule), a queue
// stands — the window stops growing (slow start ends) and shrinks by cwnd_decrease_factor, at
// most once per round, but not below the initial window (a soft signal: a wrong base RTT must
// not starve the path). Losses and the delay signal share the one-reduction-per-round rule.
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
  // An RTT sample of the path (the same ones RttEstimator::OnSample gets).
  void OnRttSample(Duration rtt, Instant now);
  // `sent` is when the lost packet went out: losses of packets sent before the last reduction
  // belong to the same event.
  void OnLost(uint64_t bytes, Instant sent, Instant now, const RttEstimator& rtt);
  // The path's RTO expired; `consecutive` when the previous one did too without an ack between.
  void OnRto(Instant now, bool consecutive);

  bool in_slow_start() const { return cwnd_ < ssthresh_; }
  // The base RTT of the delay signal (0 before the first sample).
  Duration base_rtt() const { return base_rtt_; }
  // Queueing delay above `base` that counts as congestion (both rules):
  // max(rtt_inflation_congestion · base, kQueueingDelayMin).
  Duration QueueingThreshold(Duration base) const;

 private:
  void NewRound(Instant now, const RttEstimator& rtt);
  // The round that began at round_start_ ends at `now`: the delay rule.
  void EndRound(Instant now);
  void Reduce(Instant now);

  const TransportOptions* options_;
  uint64_t packet_bytes_;
  uint64_t cwnd_;
  uint64_t ssthresh_;
  uint64_t cwnd_initial_;  // the delay signal's floor
  uint64_t cwnd_min_;
  Instant recovery_start_{};  // losses of packets sent before this are part of a handled event
  Instant round_start_{};
  uint64_t round_acked_ = 0;  // packets in the current round
  uint64_t round_lost_ = 0;
  Duration round_rtt_min_{0};  // the smallest RTT sample of the current round
  uint32_t round_rtt_samples_ = 0;
  Duration base_rtt_{0};  // 0: no sample yet
  Instant base_rtt_time_{};
};

}  // namespace rain::comm
