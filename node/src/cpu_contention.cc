// CpuContention (cpu_contention.h).
#include "cpu_contention.h"

#include <algorithm>
#include <cstdio>

namespace rain::node {

bool NextCpuContended(bool was, double wait_share) {
  return was ? wait_share >= kCpuContendedLeave : wait_share >= kCpuContendedEnter;
}

std::optional<uint64_t> ThreadRunDelayNs() {
  std::FILE* f = std::fopen("/proc/thread-self/schedstat", "re");
  if (f == nullptr) return std::nullopt;
  unsigned long long run_ns = 0, wait_ns = 0;
  const int n = std::fscanf(f, "%llu %llu", &run_ns, &wait_ns);
  std::fclose(f);
  if (n != 2) return std::nullopt;
  return static_cast<uint64_t>(wait_ns);
}

std::optional<bool> CpuContention::Sample(Instant now) {
  if (last_at_ && now - *last_at_ < kCpuContentionInterval) return std::nullopt;
  std::optional<uint64_t> delay = ThreadRunDelayNs();
  if (!delay) return std::nullopt;
  if (last_at_) {
    const double wall_ns = static_cast<double>(ToNanos(now) - ToNanos(*last_at_));
    const double waited_ns = static_cast<double>(*delay - std::min(*delay, last_delay_ns_));
    contended_ = NextCpuContended(contended_, waited_ns / wall_ns);
  }
  last_at_ = now;
  last_delay_ns_ = *delay;
  return contended_;
}

}  // namespace rain::node
