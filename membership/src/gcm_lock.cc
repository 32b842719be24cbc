// The master lock (research/RAINCORE.md §1: "mutual exclusion is a service of the token
// protocol"). The token carries the holder and a FIFO queue of waiting members. A member takes
// the lock on its Agreement visit when it is free and it heads the queue (or the queue is
// empty); it releases on a later visit. The lock exists only in primary views: a view change
// drops a holder or waiter that left, a non-primary view or a regenerated ring holds no lock,
// and a node that learns at an install that it lost the lock gets MasterLockLost.
#include <algorithm>

#include "rain/membership/gcm.h"

namespace rain::membership {

void Gcm::LockOnVisit(Token& t) {
  NodeId self = config_.self;
  auto erase_self = [&t, self] {
    t.lock_queue.erase(std::remove(t.lock_queue.begin(), t.lock_queue.end(), self),
                       t.lock_queue.end());
  };
  if (lock_release_pending_) {
    if (t.lock_holder == self) t.lock_holder = kNoNode;
    erase_self();
    lock_release_pending_ = false;
  }
  if (lock_held_ && t.lock_holder != self) {
    lock_held_ = false;
    Emit(MasterLockLost{});
  }
  if (!lock_wanted_ || !t.primary) return;
  if (t.lock_holder == kNoNode && (t.lock_queue.empty() || t.lock_queue.front() == self)) {
    t.lock_holder = self;
    erase_self();
    lock_wanted_ = false;
    lock_held_ = true;
    Emit(MasterLockGranted{});
  } else if (std::find(t.lock_queue.begin(), t.lock_queue.end(), self) == t.lock_queue.end() &&
             t.lock_queue.size() < config_.options.lock_queue_max) {
    t.lock_queue.push_back(self);
  }
}

void Gcm::LockOnInstall(const Token& t) {
  if (lock_held_ && t.lock_holder != config_.self) {
    lock_held_ = false;
    Emit(MasterLockLost{});
  }
}

void Gcm::LockPurge(Token& t) {
  auto gone = [&t](NodeId n) {
    return std::find(t.members.begin(), t.members.end(), n) == t.members.end();
  };
  if (t.lock_holder != kNoNode && gone(t.lock_holder)) t.lock_holder = kNoNode;
  t.lock_queue.erase(std::remove_if(t.lock_queue.begin(), t.lock_queue.end(), gone),
                     t.lock_queue.end());
}

}  // namespace rain::membership
