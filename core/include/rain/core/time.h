// Time for protocol code: Instant and Duration on a monotonic clock.
//
// Protocol cores (TM, GCM, GDM, election) never read a clock: every input carries `now`
// (DESIGN.md §3 rule 1). The drivers pass MonotonicClock::now() (CLOCK_MONOTONIC); the simulator
// passes its virtual time. Durations are std::chrono types, so units are in the type.
#pragma once

#include <chrono>
#include <cstdint>

namespace rain {

using Duration = std::chrono::nanoseconds;

struct MonotonicClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<MonotonicClock>;
  static constexpr bool is_steady = true;
  // CLOCK_MONOTONIC. Only drivers, tools and benchmarks call this.
  static time_point now();
};

using Instant = MonotonicClock::time_point;

// Nanoseconds since the clock's epoch, for logs and wire fields.
inline int64_t ToNanos(Instant t) { return t.time_since_epoch().count(); }
inline Instant FromNanos(int64_t ns) { return Instant(Duration(ns)); }

}  // namespace rain
