// Leader election with a fencing epoch (research/RAINCORE.md §2 "Leader election for fault
// recovery"; DESIGN.md "election/"): one leader per primary view, named by an epoch that only
// grows. Anything a leader does to shared state carries its epoch; CheckEpoch refuses stale
// ones, and GDM writes carry it as their fence (Gdm::Write(..., fence)).
//
// Sans-IO and layered on the GDM: the leader of a primary view is its lowest node id, and the
// epoch is a replicated counter the GDM bumps at the view's sync point (the same place in the
// total order at every member). The election learns both from the GDM's EpochDurable event,
// emitted only once the sync point is durable on every member of the view — so a later primary
// view, which overlaps this one, can never reuse the epoch (docs/election.md). Until then, and
// after any view change, there is no leader. The highest epoch this node ever announced is its
// stable state: the host persists it after each input and passes it back on restart, and an
// epoch not above it is never announced again (epochs only grow, even across restarts).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <variant>

#include "rain/core/ids.h"
#include "rain/core/status.h"
#include "rain/membership/gdm_types.h"
#include "rain/membership/view.h"

namespace rain::election {

struct Leadership {
  membership::ViewId view;
  NodeId leader = kNoNode;
  uint64_t epoch = 0;
  friend bool operator==(const Leadership&, const Leadership&) = default;
};

// A new leader and epoch (the change callback), or no leader for now (view changed).
struct LeaderChanged {
  Leadership leadership;
  bool self_is_leader = false;
};
struct LeaderLost {
  uint64_t epoch = 0;  // the epoch that ended
};
using ElectionEvent = std::variant<LeaderChanged, LeaderLost>;

class Election {
 public:
  // `stable_epoch`: what the previous incarnation persisted (0 on first start).
  Election(NodeId self, uint64_t stable_epoch = 0);

  // --- Inputs (the host forwards these from the GCM and the GDM) ---
  // Any installed view ends the current leadership (LeaderLost) until the next EpochDurable.
  void HandleView(const membership::View& view);
  // The GDM's EpochDurable. Internal (and ignored) if the epoch does not grow: a bug upstream.
  Status HandleEpochDurable(const membership::EpochDurable& e);

  // --- Queries ---
  // The current leader and epoch; nullopt while there is none.
  const std::optional<Leadership>& current() const { return current_; }
  bool IsLeader() const { return current_ && current_->leader == self_; }
  // Ok iff `epoch` is the current epoch. FailedPrecondition for a stale (or unknown future)
  // epoch: the action must be refused; Unavailable while no leader is known.
  Status CheckEpoch(uint64_t epoch) const;
  // Persist after every input, before acting on its outputs.
  uint64_t stable_epoch() const { return stable_epoch_; }

  // --- Outputs ---
  std::optional<ElectionEvent> PollEvent();

 private:
  NodeId self_;
  uint64_t stable_epoch_;
  std::optional<membership::ViewId> view_;
  std::optional<Leadership> current_;
  std::deque<ElectionEvent> events_;
};

}  // namespace rain::election
