// Ring membership behaviours: formation, removal on a failed token pass, token loss and 911,
// joins, partitions, merges, primary views. Each test drives tests/harness.h.
#include <gtest/gtest.h>

#include "harness.h"

namespace rain::membership::testing {
namespace {

NodeId N(uint32_t i) { return NodeId{i}; }

#define EXPECT_CLEAN(c) EXPECT_TRUE((c).violations().empty()) << (c).Report()

// The survivors' view of how a dead node left: failed passes (the fast path) and token losses.
struct Paths {
  uint64_t pass_failures = 0;
  uint64_t token_losses = 0;
};
Paths PathsSeen(Cluster& c, const std::vector<NodeId>& nodes) {
  Paths p;
  for (NodeId n : nodes) {
    p.pass_failures += c.gcm(n).counters().token_pass_failures;
    p.token_losses += c.gcm(n).counters().token_losses;
  }
  return p;
}

TEST(Ring, NodesStartingTogetherFormOnePrimaryView) {
  Cluster c(SimConfig{.nodes = 5, .seed = 1});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  auto v = c.CurrentView(N(1));
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->primary);
  EXPECT_EQ(v->members.size(), 5u);
  c.RunFor(1s);
  EXPECT_TRUE(c.Converged());
  EXPECT_EQ(c.Views(N(1)).size(), 1u) << "an idle ring must not change views";
  EXPECT_CLEAN(c);
}

TEST(Ring, SingleNodeClusterIsPrimaryAlone) {
  Cluster c(SimConfig{.nodes = 1, .seed = 2});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 1s)) << c.Report();
  EXPECT_TRUE(c.CurrentView(N(1))->primary);
  EXPECT_CLEAN(c);
}

TEST(Ring, NodeThatCannotPassTokenRemovesSuccessor) {
  Cluster c(SimConfig{.nodes = 4, .seed = 3});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  Instant crash_at = c.now();
  c.Crash(N(3));
  ASSERT_TRUE(c.RunUntil([&] { return c.ConvergedOn({N(1), N(2), N(4)}); }, 2s)) << c.Report();
  auto v = c.CurrentView(N(2));
  EXPECT_TRUE(v->primary);
  EXPECT_EQ(v->members.size(), 3u);
  // The removal was by the failed pass, not by a 911: one idle rotation + the TM's failure
  // delay + three rounds, well under the token-loss timeout.
  EXPECT_LT(c.now() - crash_at, 100ms);
  // The counters tell an operator the same: one failed pass (at node 2), no token loss.
  for (NodeId n : {N(1), N(2), N(4)}) EXPECT_GT(c.gcm(n).counters().token_visits, 0u);
  Paths p = PathsSeen(c, {N(1), N(2), N(4)});
  EXPECT_EQ(c.gcm(N(2)).counters().token_pass_failures, 1u);
  EXPECT_EQ(p.pass_failures, 1u);
  EXPECT_EQ(p.token_losses, 0u);
  EXPECT_CLEAN(c);
}

TEST(Ring, LostTokenIsRegeneratedThrough911) {
  Cluster c(SimConfig{.nodes = 5, .seed = 4});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  ViewId before = c.CurrentView(N(1))->id;
  // Drop the token in flight (the TM reports a failure the sender treats as a removal), and
  // block the removal too: the holder's removal token is also dropped.
  for (NodeId n : c.ids()) c.DropNextTokenFrom(n);
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged() && c.CurrentView(N(1))->id != before; }, 3s))
      << c.Report();
  EXPECT_EQ(c.CurrentView(N(1))->members.size(), 5u);
  EXPECT_CLEAN(c);
}

TEST(Ring, CrashOfTheTokenHolderIsDetectedByTokenLoss) {
  Cluster c(SimConfig{.nodes = 5, .seed = 5});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  // Crash whoever holds the token right now (idle: the token is held most of the time).
  NodeId holder = kNoNode;
  ASSERT_TRUE(c.RunUntil(
      [&] {
        for (NodeId n : c.ids()) {
          if (c.gcm(n).state() == NodeState::kAgreement && c.gcm(n).PollDeadline() &&
              *c.gcm(n).PollDeadline() - c.now() <= c.gcm(n).parameters().idle_token_hold &&
              *c.gcm(n).PollDeadline() > c.now()) {
            holder = n;
            return true;
          }
        }
        return false;
      },
      1s));
  c.Crash(holder);
  std::vector<NodeId> rest;
  for (NodeId n : c.ids()) {
    if (n != holder) rest.push_back(n);
  }
  ASSERT_TRUE(c.RunUntil([&] { return c.ConvergedOn(rest); }, 2s)) << c.Report();
  // Nobody's pass failed: the survivors learned it by the token-loss timeout.
  Paths p = PathsSeen(c, rest);
  EXPECT_EQ(p.pass_failures, 0u);
  EXPECT_GE(p.token_losses, 1u);
  EXPECT_CLEAN(c);
}

TEST(Ring, PasserWaitingForASlowFailureReportKeepsTheTokenAlive) {
  // The TM reports the dead successor only after 200 ms, twice TokenLossTimeout(5) = 40 + 5 x
  // (10 + 2) = 100 ms: the passer's TokenAlive messages keep the other members from calling 911,
  // and the dead node leaves by the failed pass, not by a regenerated ring.
  SimConfig cfg{.nodes = 5, .seed = 12, .tm_fail_delay = 200ms};
  cfg.ring.token_loss_base = 40ms;
  Cluster c(cfg);
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  ASSERT_TRUE(c.RunUntil([&] { return c.gcm(N(1)).holds_token(); }, 1s));
  c.Crash(N(3));  // the token goes 1 -> 2, and 2's pass to 3 waits 200 ms for its failure
  std::vector<NodeId> rest = {N(1), N(2), N(4), N(5)};
  ASSERT_TRUE(c.RunUntil([&] { return c.ConvergedOn(rest); }, 2s)) << c.Report();
  Paths p = PathsSeen(c, rest);
  EXPECT_EQ(p.token_losses, 0u);
  EXPECT_EQ(p.pass_failures, 1u);
  EXPECT_GE(c.gcm(N(2)).counters().token_alive_sent, 5u);  // one per 20 ms of the 200 ms wait
  EXPECT_CLEAN(c);
}

TEST(Ring, RestartedNodeJoinsThrough911) {
  Cluster c(SimConfig{.nodes = 4, .seed = 6});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  c.Crash(N(2));
  ASSERT_TRUE(c.RunUntil([&] { return c.ConvergedOn({N(1), N(3), N(4)}); }, 2s)) << c.Report();
  c.Restart(N(2));
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  EXPECT_EQ(c.CurrentView(N(1))->members.size(), 4u);
  EXPECT_CLEAN(c);
}

TEST(Ring, MinorityPartitionIsNonPrimaryAndMergesWhenHealed) {
  Cluster c(SimConfig{.nodes = 5, .seed = 7});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  c.Partition({{N(1), N(2), N(3)}, {N(4), N(5)}});
  ASSERT_TRUE(c.RunUntil(
      [&] {
        return c.ConvergedOn({N(1), N(2), N(3)}) && c.ConvergedOn({N(4), N(5)});
      },
      3s))
      << c.Report();
  EXPECT_TRUE(c.CurrentView(N(1))->primary);
  EXPECT_FALSE(c.CurrentView(N(4))->primary);
  c.HealAll();
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 3s)) << c.Report();
  EXPECT_TRUE(c.CurrentView(N(5))->primary);
  EXPECT_CLEAN(c);
}

TEST(Ring, EvenSplitLeavesNoPrimary) {
  Cluster c(SimConfig{.nodes = 4, .seed = 8});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  c.Partition({{N(1), N(2)}, {N(3), N(4)}});
  ASSERT_TRUE(c.RunUntil(
      [&] {
        return c.ConvergedOn({N(1), N(2)}) && c.ConvergedOn({N(3), N(4)});
      },
      3s))
      << c.Report();
  EXPECT_FALSE(c.CurrentView(N(1))->primary);
  EXPECT_FALSE(c.CurrentView(N(3))->primary);
  c.HealAll();
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 3s)) << c.Report();
  EXPECT_TRUE(c.CurrentView(N(1))->primary);
  EXPECT_CLEAN(c);
}

TEST(Ring, IsolatedNodeFormsNonPrimarySingletonAndRejoins) {
  Cluster c(SimConfig{.nodes = 3, .seed = 9});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  c.Isolate(N(3));
  ASSERT_TRUE(c.RunUntil(
      [&] {
        return c.ConvergedOn({N(1), N(2)}) && c.ConvergedOn({N(3)});
      },
      3s))
      << c.Report();
  EXPECT_TRUE(c.CurrentView(N(1))->primary);
  EXPECT_FALSE(c.CurrentView(N(3))->primary);
  c.HealAll();
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 3s)) << c.Report();
  EXPECT_CLEAN(c);
}

TEST(Ring, AsymmetricLinkFailureEndsInConsistentViews) {
  Cluster c(SimConfig{.nodes = 5, .seed = 10});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  c.Block(N(2), N(3));  // 2 cannot reach 3; 3 still reaches 2
  c.RunFor(2s);
  c.HealAll();
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 3s)) << c.Report();
  EXPECT_CLEAN(c);
}

TEST(Ring, PausedNodeIsRemovedAndRejoins) {
  Cluster c(SimConfig{.nodes = 4, .seed = 11});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  c.Pause(N(2), 400ms);
  ASSERT_TRUE(c.RunUntil([&] { return c.ConvergedOn({N(1), N(3), N(4)}); }, 400ms)) << c.Report();
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 3s)) << c.Report();
  EXPECT_CLEAN(c);
}

TEST(Ring, ShortPauseBelowTheTransportTimeoutCausesNoViewChange) {
  Cluster c(SimConfig{.nodes = 4, .seed = 12});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  ViewId before = c.CurrentView(N(1))->id;
  c.Pause(N(2), 20ms);  // below tm_fail_delay (30 ms): no false failure
  c.RunFor(1s);
  EXPECT_EQ(c.CurrentView(N(1))->id, before);
  EXPECT_CLEAN(c);
}

TEST(Ring, ViewIdsAgreeAndIncreaseAcrossManyChanges) {
  Cluster c(SimConfig{.nodes = 6, .seed = 13});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  for (uint32_t i = 1; i <= 6; ++i) {
    c.Crash(N(i));
    c.RunFor(300ms);
    c.Restart(N(i));
    ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 3s)) << c.Report();
  }
  EXPECT_CLEAN(c);
}

TEST(Ring, MajorityCrashLeavesNonPrimarySurvivors) {
  Cluster c(SimConfig{.nodes = 5, .seed = 14});
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
  c.Crash(N(1));
  c.Crash(N(2));
  c.Crash(N(3));
  ASSERT_TRUE(c.RunUntil([&] { return c.ConvergedOn({N(4), N(5)}); }, 3s)) << c.Report();
  EXPECT_FALSE(c.CurrentView(N(4))->primary);
  c.Restart(N(1));
  ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 3s)) << c.Report();
  EXPECT_TRUE(c.CurrentView(N(4))->primary);
  EXPECT_CLEAN(c);
}

// DESIGN.md §4: a crashed node is out of every survivor's view within the detection bound
// (docs/membership.md §11): max(D_member, D_holder) with the harness's TM failure delay F.
TEST(Ring, CrashedNodeIsOutOfEveryViewWithinTheDetectionBound) {
  std::vector<Duration> times;
  for (uint64_t seed = 100; seed < 130; ++seed) {
    SimConfig cfg{.nodes = 5, .seed = seed};
    Cluster c(cfg);
    ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
    c.RunFor(std::chrono::microseconds(seed * 397 % 20000));  // anywhere in the rotation
    NodeId victim = N(static_cast<uint32_t>(1 + seed % 5));
    c.Crash(victim);
    Instant t0 = c.now();
    ASSERT_TRUE(c.RunUntil([&] { return c.Converged(); }, 2s)) << c.Report();
    times.push_back(c.now() - t0);
    EXPECT_CLEAN(c);
  }
  const RingOptions o;
  const size_t n = 5;
  Duration hop_max = 2 * SimConfig{}.latency_max;  // message + acknowledgement
  Duration rounds = 3 * static_cast<int64_t>(n) * hop_max;
  Duration d_member =
      static_cast<int64_t>(n) * o.idle_token_hold + SimConfig{}.tm_fail_delay + rounds;
  Duration d_holder =
      TokenLossTimeout(o, n) + o.call911_reply_timeout + o.call911_retry_max + rounds;
  std::sort(times.begin(), times.end());
  for (Duration t : times) EXPECT_LE(t, std::max(d_member, d_holder) + 5ms);
  EXPECT_LE(times[times.size() / 2], d_member + 5ms) << "median failover is the member case";
  std::printf("failover: median %.1f ms, max %.1f ms (bounds %.1f / %.1f ms)\n",
              times[times.size() / 2].count() / 1e6, times.back().count() / 1e6,
              d_member.count() / 1e6, d_holder.count() / 1e6);
}

}  // namespace
}  // namespace rain::membership::testing
