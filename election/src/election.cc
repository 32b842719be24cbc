// Election (election.h). Deviation from the paper (Franceschetti & Bruck, ETR024): the paper
// runs its own election protocol after the membership agrees; here the membership's primary
// view and the GDM's ordered, durable sync point already give every member the same view at
// the same point, so the leader is a deterministic function of it (lowest node id) and the
// epoch a replicated counter. docs/election.md has the argument for "one leader per epoch".
#include "rain/election/election.h"

#include <string>

namespace rain::election {

Election::Election(NodeId self, uint64_t stable_epoch) : self_(self), stable_epoch_(stable_epoch) {}

void Election::HandleView(const membership::View& view) {
  view_ = view.id;
  if (current_) {
    events_.push_back(LeaderLost{current_->epoch});
    current_.reset();
  }
}

Status Election::HandleEpochDurable(const membership::EpochDurable& e) {
  if (!view_ || e.view != *view_) return Status::Ok();  // for a view already left
  if (e.epoch <= stable_epoch_)
    return InternalError("election: epoch " + std::to_string(e.epoch) + " does not grow past " +
                         std::to_string(stable_epoch_));
  stable_epoch_ = e.epoch;
  current_ = Leadership{e.view, e.leader, e.epoch};
  events_.push_back(LeaderChanged{*current_, e.leader == self_});
  return Status::Ok();
}

Status Election::CheckEpoch(uint64_t epoch) const {
  if (!current_) return UnavailableError("election: no leader in this view yet");
  if (epoch != current_->epoch)
    return FailedPreconditionError("election: epoch " + std::to_string(epoch) +
                                   " is not the current epoch " + std::to_string(current_->epoch));
  return Status::Ok();
}

std::optional<ElectionEvent> Election::PollEvent() {
  if (events_.empty()) return std::nullopt;
  ElectionEvent e = events_.front();
  events_.pop_front();
  return e;
}

}  // namespace rain::election
