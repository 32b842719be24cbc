#include <gtest/gtest.h>

#include "rain/core/rng.h"

namespace rain {
namespace {

TEST(Rng, SameSeedSameSequence) {
  Rng a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, KnownFirstValueIsStableAcrossPlatforms) {
  // Pinned so that a change of generator (which would break seed replay) is noticed.
  Rng rng(0);
  EXPECT_EQ(rng.Next(), 0x99ec5f36cb75f2b4ULL);
}

TEST(Rng, BelowAndBetweenStayInRange) {
  Rng rng(1);
  int hits[5] = {};
  for (int i = 0; i < 10000; ++i) {
    uint64_t v = rng.Below(5);
    ASSERT_LT(v, 5u);
    ++hits[v];
    int64_t w = rng.Between(-3, 3);
    ASSERT_GE(w, -3);
    ASSERT_LE(w, 3);
  }
  for (int h : hits) EXPECT_GT(h, 1700);  // roughly uniform
}

}  // namespace
}  // namespace rain
