#include "congestion.h"

#include <algorithm>

namespace rain::comm {
namespace {

// The loss fraction of a round is judged only over this many packets: at small windows one or
// two random losses would look like a burst.
constexpr uint64_t kRoundPacketsMin = 20;
// Queueing delay below this never counts as congestion (timer and scheduling noise).
constexpr Duration kQueueingDelayMin = std::chrono::milliseconds(1);
// The delay rule judges a round only over this many RTT samples (one late sample is jitter).
constexpr uint32_t kDelayRoundSamplesMin = 4;
// The base RTT is renewed from a round's smallest sample once it is this old, so a path whose
// propagation delay grew for good (a new route) is not read as a standing queue forever.
constexpr Duration kBaseRttLifetime = std::chrono::seconds(10);

}  // namespace

void RttEstimator::OnSample(Duration rtt) {
  if (rtt <= Duration{0}) rtt = Duration{1};
  latest_ = rtt;
  if (!has_sample_) {
    has_sample_ = true;
    srtt_ = rtt;
    rttvar_ = rtt / 2;
    min_rtt_ = rtt;
    return;
  }
  min_rtt_ = std::min(min_rtt_, rtt);
  const Duration err = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
  rttvar_ = (3 * rttvar_ + err) / 4;
  srtt_ = (7 * srtt_ + rtt) / 8;
}

Duration RttEstimator::Rto() const {
  if (!has_sample_) return options_->rto_initial;
  return std::clamp(srtt_ + 4 * rttvar_, options_->rto_min, options_->rto_max);
}

CongestionController::CongestionController(const TransportOptions& options, uint32_t packet_bytes)
    : options_(&options),
      packet_bytes_(packet_bytes),
      cwnd_(std::min<uint64_t>(uint64_t{options.cwnd_initial_packets} * packet_bytes,
                               options.cwnd_bytes_max)),
      ssthresh_(options.cwnd_bytes_max),
      cwnd_initial_(cwnd_),
      cwnd_min_(uint64_t{options.cwnd_min_packets} * packet_bytes) {}

Duration CongestionController::QueueingThreshold(Duration base) const {
  return std::max<Duration>(
      std::chrono::duration_cast<Duration>(base * options_->rtt_inflation_congestion),
      kQueueingDelayMin);
}

void CongestionController::NewRound(Instant now, const RttEstimator& rtt) {
  const Duration round = rtt.has_sample() ? rtt.srtt() : options_->rto_initial;
  if (now - round_start_ >= round) {
    EndRound(now);
    round_start_ = now;
    round_acked_ = 0;
    round_lost_ = 0;
    round_rtt_samples_ = 0;
  }
}

void CongestionController::OnRttSample(Duration rtt, Instant now) {
  if (base_rtt_ == Duration{0} || rtt <= base_rtt_) {
    base_rtt_ = std::max<Duration>(rtt, Duration{1});
    base_rtt_time_ = now;
  }
  if (round_rtt_samples_ == 0 || rtt < round_rtt_min_) round_rtt_min_ = rtt;
  ++round_rtt_samples_;
}

void CongestionController::EndRound(Instant now) {
  if (round_rtt_samples_ < kDelayRoundSamplesMin) return;
  if (now - base_rtt_time_ >= kBaseRttLifetime) {
    base_rtt_ = std::max<Duration>(round_rtt_min_, Duration{1});
    base_rtt_time_ = now;
    return;
  }
  if (!options_->cwnd_delay_backoff) return;
  if (round_rtt_min_ - base_rtt_ <= QueueingThreshold(base_rtt_)) return;
  if (recovery_start_ > round_start_) return;  // a loss already reduced the window this round
  // A soft signal: it ends slow start and shrinks the window, but never below the initial one
  // (losses and RTOs may).
  if (cwnd_ > cwnd_initial_) {
    Reduce(now);
    cwnd_ = std::max(cwnd_, cwnd_initial_);
  }
  ssthresh_ = cwnd_;
}

void CongestionController::Reduce(Instant now) {
  cwnd_ = std::max<uint64_t>(cwnd_min_, static_cast<uint64_t>(static_cast<double>(cwnd_) *
                                                              options_->cwnd_decrease_factor));
  ssthresh_ = cwnd_;
  recovery_start_ = now;
}

void CongestionController::OnAcked(uint64_t bytes, Instant now, const RttEstimator& rtt) {
  NewRound(now, rtt);
  ++round_acked_;
  if (cwnd_ < ssthresh_) {
    cwnd_ += bytes;  // slow start
  } else {
    cwnd_ += std::max<uint64_t>(1, packet_bytes_ * bytes / cwnd_);  // one packet per round trip
  }
  cwnd_ = std::min(cwnd_, options_->cwnd_bytes_max);
}

void CongestionController::OnLost(uint64_t /*bytes*/, Instant sent, Instant now,
                                  const RttEstimator& rtt) {
  NewRound(now, rtt);
  ++round_lost_;
  if (sent < recovery_start_) return;  // this loss event was handled
  const uint64_t round_packets = round_acked_ + round_lost_;
  const bool many_lost =
      round_packets >= kRoundPacketsMin &&
      static_cast<double>(round_lost_) > options_->loss_fraction_congestion * round_packets;
  const bool queueing =
      rtt.has_sample() && rtt.latest() - rtt.min_rtt() > QueueingThreshold(rtt.min_rtt());
  if (many_lost || queueing) Reduce(now);
}

void CongestionController::OnRto(Instant now, bool consecutive) {
  ssthresh_ = std::max(cwnd_min_, cwnd_ / 2);
  cwnd_ = consecutive ? cwnd_min_ : ssthresh_;
  recovery_start_ = now;
}

}  // namespace rain::comm
