// The master lock: one holder per primary view, FIFO hand-over, release when the holder
// leaves, none in non-primary views.
#include <gtest/gtest.h>

#include "harness.h"

namespace rain::membership::testing {
namespace {

NodeId N(uint32_t i) { return NodeId{i}; }

#define EXPECT_CLEAN(c) EXPECT_TRUE((c).violations().empty()) << (c).Report()

int Holders(Cluster& c) {
  int h = 0;
  for (NodeId n : c.ids()) h += c.up(n) && c.gcm(n).master_lock_held() ? 1 : 0;
  return h;
}

TEST(MasterLock, GrantedToOneRequesterAtATimeInRequestOrder) {
  Cluster c(SimConfig{.nodes = 4, .seed = 41});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  for (NodeId n : c.ids()) ASSERT_TRUE(c.Acquire(n).ok());
  EXPECT_EQ(c.Acquire(N(1)).code(), StatusCode::kFailedPrecondition);
  int granted = 0;
  for (int round = 0; round < 4; ++round) {
    ASSERT_TRUE(c.RunUntil([&] { return Holders(c) == 1; }, 1s)) << c.Report();
    NodeId holder = kNoNode;
    for (NodeId n : c.ids()) {
      if (c.gcm(n).master_lock_held()) holder = n;
    }
    EXPECT_EQ(c.LockGrants(holder), 1);
    c.RunFor(5ms);
    EXPECT_EQ(Holders(c), 1);
    ASSERT_TRUE(c.Release(holder).ok());
    ++granted;
  }
  c.RunFor(50ms);
  EXPECT_EQ(Holders(c), 0);
  for (NodeId n : c.ids()) EXPECT_EQ(c.LockGrants(n), 1);
  EXPECT_CLEAN(c);
}

TEST(MasterLock, ReleasedAutomaticallyWhenTheHolderLeavesTheView) {
  Cluster c(SimConfig{.nodes = 4, .seed = 42});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  ASSERT_TRUE(c.Acquire(N(2)).ok());
  ASSERT_TRUE(c.RunUntil([&] { return c.gcm(N(2)).master_lock_held(); }, 1s));
  ASSERT_TRUE(c.Acquire(N(3)).ok());
  c.RunFor(20ms);
  EXPECT_FALSE(c.gcm(N(3)).master_lock_held());
  c.Crash(N(2));
  ASSERT_TRUE(c.RunUntil([&] { return c.gcm(N(3)).master_lock_held(); }, 2s)) << c.Report();
  EXPECT_CLEAN(c);
}

TEST(MasterLock, NotGrantedInANonPrimaryView) {
  Cluster c(SimConfig{.nodes = 5, .seed = 43});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  c.Partition({{N(1), N(2), N(3)}, {N(4), N(5)}});
  ASSERT_TRUE(c.RunUntil([&] { return c.ConvergedOn({N(4), N(5)}); }, 3s)) << c.Report();
  ASSERT_TRUE(c.Acquire(N(4)).ok());
  c.RunFor(500ms);
  EXPECT_FALSE(c.gcm(N(4)).master_lock_held());
  c.HealAll();
  ASSERT_TRUE(c.RunUntil([&] { return c.gcm(N(4)).master_lock_held(); }, 3s)) << c.Report();
  EXPECT_CLEAN(c);
}

TEST(MasterLock, HolderCutOffFromTheMajorityLosesTheLock) {
  Cluster c(SimConfig{.nodes = 3, .seed = 44});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  ASSERT_TRUE(c.Acquire(N(1)).ok());
  ASSERT_TRUE(c.RunUntil([&] { return c.gcm(N(1)).master_lock_held(); }, 1s));
  c.Isolate(N(1));
  ASSERT_TRUE(c.RunUntil([&] { return c.ConvergedOn({N(1)}); }, 3s)) << c.Report();
  EXPECT_FALSE(c.gcm(N(1)).master_lock_held());
  EXPECT_EQ(c.LockLosses(N(1)), 1);
  ASSERT_TRUE(c.Acquire(N(2)).ok());
  ASSERT_TRUE(c.RunUntil([&] { return c.gcm(N(2)).master_lock_held(); }, 2s)) << c.Report();
  EXPECT_CLEAN(c);
}

// Regression (random seeds 2, 5, 8): a lock request that cannot be served in a non-primary
// one-member ring must not make the ring spin without time advancing.
TEST(MasterLock, UnservableRequestInASingletonRingDoesNotSpin) {
  Cluster c(SimConfig{.nodes = 3, .seed = 46});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  c.Isolate(N(3));
  ASSERT_TRUE(c.RunUntil([&] { return c.ConvergedOn({N(3)}); }, 3s)) << c.Report();
  ASSERT_TRUE(c.Acquire(N(3)).ok());
  uint64_t before = c.events_processed();
  c.RunFor(1s);
  EXPECT_LT(c.events_processed() - before, 3000u);
  EXPECT_FALSE(c.gcm(N(3)).master_lock_held());
  EXPECT_CLEAN(c);
}

TEST(MasterLock, ReleaseWithoutHoldingIsAnError) {
  Cluster c(SimConfig{.nodes = 2, .seed = 45});
  EXPECT_EQ(c.Release(N(1)).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace rain::membership::testing
