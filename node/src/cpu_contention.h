// CpuContention: raind's verdict for Gcm::SetCpuContended — does the I/O thread wait for a CPU
// much of the time? Its run-queue delay (the second field of /proc/thread-self/schedstat, in ns)
// over wall time, sampled at most every kCpuContentionInterval from the thread that calls Sample.
// On 2 CPUs the I/O thread waited 5 % of the time with 2 local nodes at the seed load and
// 72-95 % with 5 (docs/membership.md "Busy holds"); the thresholds sit between, with hysteresis
// so a verdict does not flap at the boundary.
#pragma once

#include <cstdint>
#include <optional>

#include "rain/core/time.h"

namespace rain::node {

inline constexpr Duration kCpuContentionInterval = std::chrono::milliseconds(100);
inline constexpr double kCpuContendedEnter = 0.25;  // wait share at or above: contended
inline constexpr double kCpuContendedLeave = 0.10;  // below: no longer

// The hysteresis rule on one sample's share of wall time spent waiting for a CPU.
bool NextCpuContended(bool was, double wait_share);

// The calling thread's run-queue delay so far in ns; nullopt where the kernel does not say.
std::optional<uint64_t> ThreadRunDelayNs();

class CpuContention {
 public:
  // The verdict after a new sample, or nullopt when the interval has not passed (or the kernel
  // gives no schedstat: then never contended).
  std::optional<bool> Sample(Instant now);
  bool contended() const { return contended_; }

 private:
  bool contended_ = false;
  std::optional<Instant> last_at_;
  uint64_t last_delay_ns_ = 0;
};

}  // namespace rain::node
