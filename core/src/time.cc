#include "rain/core/time.h"

#include <time.h>

namespace rain {

MonotonicClock::time_point MonotonicClock::now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return time_point(duration(int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec));
}

}  // namespace rain
