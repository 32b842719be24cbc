// Unit tests of the per-path congestion controller (src/congestion.h): the delay signal and its
// base RTT, fed by hand with acks and RTT samples in virtual time.
#include "congestion.h"

#include <gtest/gtest.h>

namespace rain::comm {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kPacket = 1400;

struct Path {
  explicit Path(TransportOptions o = {}) : options(o), rtt(options), cc(options, kPacket) {}
  // `acks` acked packets spread over one srtt, each with an RTT sample of `sample` (the one at
  // `late_index` gets `late` instead).
  void Round(int acks, Duration sample, int late_index = -1, Duration late = {}) {
    const Duration step = (rtt.has_sample() ? rtt.srtt() : sample) / acks;
    for (int i = 0; i < acks; ++i) Ack(i == late_index ? late : sample), now += step;
  }
  // One more ack a full srtt later: it begins a new round, so the last one is judged.
  void NextRound(Duration sample) {
    now += rtt.srtt();
    Ack(sample);
  }
  void Ack(Duration sample) {
    rtt.OnSample(sample);
    cc.OnRttSample(sample, now);
    cc.OnAcked(kPacket, now, rtt);
  }
  TransportOptions options;
  RttEstimator rtt;
  CongestionController cc;
  Instant now = FromNanos(1'000'000'000);
};

TEST(Congestion, SlowStartGrowsWhileTheRttStaysAtItsBase) {
  Path p;
  const uint64_t initial = p.cc.cwnd_bytes();
  for (int r = 0; r < 4; ++r) p.Round(8, 2ms);
  EXPECT_TRUE(p.cc.in_slow_start());
  EXPECT_EQ(p.cc.cwnd_bytes(), initial + 32 * kPacket);
  EXPECT_EQ(p.cc.base_rtt(), 2ms);
}

TEST(Congestion, ARoundOfQueuedSamplesEndsSlowStartAndShrinksTheWindow) {
  Path p;
  for (int r = 0; r < 3; ++r) p.Round(8, 2ms);
  const uint64_t before = p.cc.cwnd_bytes();
  // Every sample of the round is 2 ms above the base (threshold: max(0.5 · 2 ms, 1 ms) = 1 ms).
  p.Round(8, 4ms);
  p.NextRound(4ms);
  EXPECT_FALSE(p.cc.in_slow_start());
  EXPECT_LT(p.cc.cwnd_bytes(), before + 8 * kPacket);
  EXPECT_LE(p.cc.cwnd_bytes(), static_cast<uint64_t>((before + 9 * kPacket) * 0.7) + 1);
}

// A soft signal: however long the queue stands, the delay rule leaves the initial window.
TEST(Congestion, DelaySignalNeverShrinksTheWindowBelowTheInitialOne) {
  Path p;
  const uint64_t initial = p.cc.cwnd_bytes();
  for (int r = 0; r < 3; ++r) p.Round(8, 2ms);
  for (int r = 0; r < 20; ++r) p.Round(8, 10ms);
  p.NextRound(10ms);
  EXPECT_FALSE(p.cc.in_slow_start());
  EXPECT_GE(p.cc.cwnd_bytes(), initial);
  EXPECT_LT(p.cc.cwnd_bytes(), initial + 2 * kPacket);
}

TEST(Congestion, OneLateSampleInARoundIsJitterNotAQueue) {
  Path p;
  for (int r = 0; r < 3; ++r) p.Round(8, 2ms);
  p.Round(8, 2ms, /*late_index=*/3, /*late=*/20ms);
  p.NextRound(2ms);
  EXPECT_TRUE(p.cc.in_slow_start());
}

TEST(Congestion, DelayBackoffCanBeTurnedOff) {
  Path p(TransportOptions{.cwnd_delay_backoff = false});
  for (int r = 0; r < 3; ++r) p.Round(8, 2ms);
  const uint64_t before = p.cc.cwnd_bytes();
  p.Round(8, 4ms);
  p.NextRound(4ms);
  EXPECT_TRUE(p.cc.in_slow_start());
  EXPECT_GT(p.cc.cwnd_bytes(), before);
}

// A path whose propagation delay grew for good (a new route) is not read as a standing queue
// forever: the base RTT is renewed from a round's smallest sample after its lifetime (10 s).
TEST(Congestion, BaseRttIsRenewedWhenThePathGetsSlowerForGood) {
  Path p;
  for (int r = 0; r < 3; ++r) p.Round(8, 2ms);
  EXPECT_EQ(p.cc.base_rtt(), 2ms);
  const Instant change = p.now;
  while (p.now - change < 11s) p.Round(8, 50ms);
  EXPECT_EQ(p.cc.base_rtt(), 50ms);
  // From then on the window grows again.
  const uint64_t before = p.cc.cwnd_bytes();
  for (int r = 0; r < 4; ++r) p.Round(8, 50ms);
  EXPECT_GT(p.cc.cwnd_bytes(), before);
}

}  // namespace
}  // namespace rain::comm
