// The Lamport logical clock stamped on every message (RAINCORE.md §1, TM_getLogicalTime; Lamport,
// "Time, Clocks, and the Ordering of Events", 1978): a send ticks it and carries the new value;
// a receive moves it past the received stamp. So a causally later event has a larger time.
#pragma once

#include <algorithm>
#include <cstdint>

namespace rain::comm {

class LamportClock {
 public:
  uint64_t now() const { return time_; }
  uint64_t Tick() { return ++time_; }
  void Observe(uint64_t stamp) { time_ = std::max(time_, stamp) + 1; }

 private:
  uint64_t time_ = 0;
};

}  // namespace rain::comm
