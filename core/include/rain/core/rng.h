// A seeded pseudo-random generator: the only source of randomness in protocol code and tests,
// so that a seed replays a run exactly (DESIGN.md §3 rule 1). Not for cryptography.
//
// xoshiro256** seeded through splitmix64: fast, good statistics, and its state is four words we
// own, so the sequence is the same on every platform and standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace rain {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t Next();
  // Uniform in [0, bound); bound > 0.
  uint64_t Below(uint64_t bound);
  // Uniform in [lo, hi]; lo <= hi.
  int64_t Between(int64_t lo, int64_t hi);
  // True with probability p.
  bool Chance(double p);
  double Unit();  // uniform in [0, 1)
  void Fill(std::span<uint8_t> out);
  // An independent generator for a sub-component, so adding draws in one place does not shift
  // every other component's sequence.
  Rng Fork();

 private:
  uint64_t s_[4];
};

}  // namespace rain
