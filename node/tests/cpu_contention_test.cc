// raind's CPU-contention verdict for busy token holds: the hysteresis rule, and that threads
// competing for the CPUs with the sampling thread make it contended.
#include "../src/cpu_contention.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace rain::node {
namespace {

TEST(CpuContention, EntersAtAQuarterAndLeavesBelowATenth) {
  EXPECT_FALSE(NextCpuContended(false, 0.0));
  EXPECT_FALSE(NextCpuContended(false, 0.24));
  EXPECT_TRUE(NextCpuContended(false, 0.25));
  EXPECT_TRUE(NextCpuContended(true, 0.24));  // hysteresis: stays until below the lower mark
  EXPECT_TRUE(NextCpuContended(true, 0.10));
  EXPECT_FALSE(NextCpuContended(true, 0.09));
  EXPECT_TRUE(NextCpuContended(true, 0.9));
}

TEST(CpuContention, SamplesAtMostEveryInterval) {
  if (!ThreadRunDelayNs()) GTEST_SKIP() << "no /proc/thread-self/schedstat on this kernel";
  CpuContention c;
  const Instant t0 = MonotonicClock::now();
  EXPECT_TRUE(c.Sample(t0).has_value());  // the first sample only sets the baseline
  EXPECT_FALSE(c.Sample(t0 + kCpuContentionInterval / 2).has_value());
  EXPECT_TRUE(c.Sample(t0 + kCpuContentionInterval).has_value());
}

// More spinning threads than CPUs: the sampling thread (spinning too) waits for a CPU most of
// the time, and the verdict turns contended within a few samples.
TEST(CpuContention, ThreadsCompetingForTheCpusMakeItContended) {
  if (!ThreadRunDelayNs()) GTEST_SKIP() << "no /proc/thread-self/schedstat on this kernel";
  const long cpus = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  std::atomic<bool> stop{false};
  std::vector<std::thread> hogs;
  for (long i = 0; i < 2 * cpus; ++i) {
    hogs.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  }
  CpuContention c;
  bool contended = false;
  const Instant deadline = MonotonicClock::now() + std::chrono::seconds(5);
  while (!contended && MonotonicClock::now() < deadline) {
    contended = c.Sample(MonotonicClock::now()).value_or(false);
  }
  stop = true;
  for (std::thread& t : hogs) t.join();
  EXPECT_TRUE(contended) << "never contended with " << 2 * cpus << " spinning threads on " << cpus
                         << " CPUs";
}

}  // namespace
}  // namespace rain::node
