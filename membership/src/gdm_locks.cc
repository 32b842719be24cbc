// Locks are data items of kind kLock (research/RAINCORE.md §1: "a distributed lock manager whose
// locks are data items themselves"). Acquire and release are ordered multicasts applied by every
// member (gdm_items.cc), so every member agrees who holds each lock; the holder's node gets
// LockAcquired (the seed's acquire callback). A holder that leaves the view loses its locks at
// the next primary view's sync point (PurgeLocks), the same point at every member.
//
// Deviation: the paper acquires locks through the GCM's token-based mutual exclusion; one master
// lock cannot serve many item locks without serialising them all, and ordered multicast gives
// the same total order.
#include <algorithm>

#include "rain/membership/gdm.h"

namespace rain::membership {

Result<OpId> Gdm::CreateLock(Instant /*now*/, ItemId id) {
  return Issue({ItemOp{.kind = OpKind::kCreate, .item = id, .item_kind = ItemKind::kLock}}, 0);
}

Result<OpId> Gdm::DestroyLock(Instant /*now*/, ItemId id) {
  const Item* item = Find(id);
  if (item != nullptr && item->kind != ItemKind::kLock)
    return FailedPreconditionError("gdm: item " + std::to_string(id) + " is not a lock");
  return Issue({ItemOp{.kind = OpKind::kDelete, .item = id}}, 0);
}

Result<OpId> Gdm::AcquireLock(Instant /*now*/, ItemId id) {
  return Issue({ItemOp{.kind = OpKind::kLockAcquire, .item = id}}, 0);
}

Result<OpId> Gdm::ReleaseLock(Instant /*now*/, ItemId id) {
  auto op = Issue({ItemOp{.kind = OpKind::kLockRelease, .item = id}}, 0);
  // From now on this node must not act as the holder, although the release is not applied yet.
  if (op.ok()) released_locally_.insert(id);
  return op;
}

bool Gdm::HoldsLock(ItemId id) const {
  if (mode_ != GdmMode::kActive || released_locally_.count(id)) return false;
  const Item* item = Find(id);
  return item != nullptr && item->kind == ItemKind::kLock && item->holder == self_;
}

void Gdm::PurgeLocks(const std::vector<NodeId>& members) {
  auto in_view = [&](NodeId n) {
    return std::find(members.begin(), members.end(), n) != members.end();
  };
  for (auto& [id, item] : state_.items) {
    if (item.kind != ItemKind::kLock) continue;
    auto& w = item.waiters;
    size_t before = w.size();
    w.erase(std::remove_if(w.begin(), w.end(), [&](NodeId n) { return !in_view(n); }), w.end());
    bool changed = w.size() != before;
    if (item.holder != kNoNode && !in_view(item.holder)) {
      item.holder = w.empty() ? kNoNode : w.front();
      if (!w.empty()) w.erase(w.begin());
      changed = true;
    }
    if (changed) {
      item.version = state_.index + 1;  // the sync point's index
      Touch(id);
    }
  }
}

}  // namespace rain::membership
