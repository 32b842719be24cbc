// Election unit tests: leadership follows EpochDurable, ends at every view change, epochs only
// grow (also across a restart), CheckEpoch refuses stale epochs. The cluster-wide invariants
// (one leader per epoch) are checked by the GDM simulation (membership/tests/gdm_random_test.cc).
#include "rain/election/election.h"

#include <gtest/gtest.h>

namespace rain::election {
namespace {

using membership::EpochDurable;
using membership::View;
using membership::ViewId;

View MakeView(uint64_t seq, bool primary = true) {
  View v;
  v.id = ViewId{1, NodeId{1}, seq, NodeId{1}};
  v.members = {NodeId{1}, NodeId{2}, NodeId{3}};
  v.primary = primary;
  return v;
}

TEST(Election, LeaderFollowsDurableEpochAndEndsAtViewChange) {
  Election e(NodeId{1});
  EXPECT_EQ(e.CheckEpoch(1).code(), StatusCode::kUnavailable);
  View v = MakeView(5);
  e.HandleView(v);
  ASSERT_TRUE(e.HandleEpochDurable(EpochDurable{v.id, 1, NodeId{1}}).ok());
  ASSERT_TRUE(e.current().has_value());
  EXPECT_TRUE(e.IsLeader());
  EXPECT_TRUE(e.CheckEpoch(1).ok());
  auto ev = e.PollEvent();
  ASSERT_TRUE(ev && std::holds_alternative<LeaderChanged>(*ev));
  EXPECT_TRUE(std::get<LeaderChanged>(*ev).self_is_leader);

  View w = MakeView(9);
  e.HandleView(w);
  EXPECT_FALSE(e.current().has_value());
  ev = e.PollEvent();
  ASSERT_TRUE(ev && std::holds_alternative<LeaderLost>(*ev));
  ASSERT_TRUE(e.HandleEpochDurable(EpochDurable{w.id, 2, NodeId{2}}).ok());
  EXPECT_FALSE(e.IsLeader());
  EXPECT_EQ(e.CheckEpoch(1).code(), StatusCode::kFailedPrecondition);  // stale
  EXPECT_TRUE(e.CheckEpoch(2).ok());
  EXPECT_EQ(e.stable_epoch(), 2u);
}

TEST(Election, EpochsNeverGoBackAcrossRestarts) {
  Election e(NodeId{2}, /*stable_epoch=*/7);
  View v = MakeView(3);
  e.HandleView(v);
  EXPECT_EQ(e.HandleEpochDurable(EpochDurable{v.id, 7, NodeId{1}}).code(), StatusCode::kInternal);
  EXPECT_FALSE(e.current().has_value());
  EXPECT_TRUE(e.HandleEpochDurable(EpochDurable{v.id, 8, NodeId{1}}).ok());
}

TEST(Election, EpochOfAViewAlreadyLeftIsIgnored) {
  Election e(NodeId{1});
  View v = MakeView(3), w = MakeView(4);
  e.HandleView(v);
  e.HandleView(w);
  EXPECT_TRUE(e.HandleEpochDurable(EpochDurable{v.id, 1, NodeId{1}}).ok());
  EXPECT_FALSE(e.current().has_value());
}

}  // namespace
}  // namespace rain::election
