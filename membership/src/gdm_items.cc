// Applying a commit (one write or a whole transaction) to the replicated state: all its writes
// are checked against a scratch copy of the items they touch, and only if every one succeeds
// are they installed, under one apply index (docs/gdm.md "Applying a commit"). Every member
// runs this on the same messages in the same order, so the outcome (and the error of a refused
// commit) is the same everywhere.
#include <algorithm>
#include <cstring>

#include "rain/membership/gdm.h"

namespace rain::membership {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

using Scratch = std::map<ItemId, std::optional<Item>>;

std::optional<Item>& Slot(Scratch& scratch, const GdmState& s, ItemId id) {
  auto it = scratch.find(id);
  if (it != scratch.end()) return it->second;
  auto found = s.items.find(id);
  std::optional<Item> copy;
  if (found != s.items.end()) copy = found->second;
  return scratch.emplace(id, std::move(copy)).first->second;
}

ItemId AutoId(uint64_t index, size_t position) {
  return kAutoIdBit | (index << 16) | static_cast<uint64_t>(position & 0xffff);
}

}  // namespace

void Gdm::BumpIndex(uint32_t crc) {
  state_.index++;
  state_.digest = Mix(state_.digest ^ (uint64_t{crc} << 32) ^ state_.index);
  meta_dirty_ = true;
}

void Gdm::Touch(ItemId id) {
  // A vector, deduplicated when the batch is cut (a std::set cost a node allocation per write);
  // compacted when repeated writes to few items between cuts would let it grow.
  dirty_.push_back(id);
  if (dirty_.size() >= 2 * std::max(dirty_unique_, kDirtyCompactFloor)) {
    CompactDirty();
  }
}

void Gdm::CompactDirty() {
  std::sort(dirty_.begin(), dirty_.end());
  dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
  dirty_unique_ = dirty_.size();
}

// Applies every op of `m` to scratch copies; returns the first error, or ok with the scratch.
static Status ApplyToScratch(NodeId sender, const CommitMsg& m, const GdmState& s,
                             const GdmOptions& opt, uint64_t index, Scratch& scratch,
                             ItemId& result_id) {
  for (size_t i = 0; i < m.ops.size(); ++i) {
    const ItemOp& o = m.ops[i];
    if (o.kind == OpKind::kAllocId) {
      result_id = AutoId(index, i);
      continue;
    }
    ItemId id = o.item;
    if (o.kind == OpKind::kCreate && id == kAutoId) id = AutoId(index, i);
    std::optional<Item>& slot = Slot(scratch, s, id);
    switch (o.kind) {
      case OpKind::kCreate:
        if (slot) return AlreadyExistsError("gdm: item " + std::to_string(id) + " exists");
        slot = Item{.kind = o.item_kind, .version = index, .bytes = o.bytes};
        result_id = id;
        break;
      case OpKind::kDelete:
        if (!slot) return NotFoundError("gdm: no item " + std::to_string(id));
        slot.reset();
        break;
      case OpKind::kWrite:
      case OpKind::kWriteAt: {
        if (!slot) return NotFoundError("gdm: no item " + std::to_string(id));
        if (slot->kind != ItemKind::kData)
          return FailedPreconditionError("gdm: item " + std::to_string(id) + " is a lock");
        if (o.kind == OpKind::kWrite) {
          slot->bytes = o.bytes;
        } else {
          if (o.offset > slot->bytes.size()) return OutOfRangeError("gdm: write past the end");
          if (o.offset + o.bytes.size() > opt.max_item_bytes)
            return InvalidArgumentError("gdm: value larger than max_item_bytes");
          size_t end = o.offset + o.bytes.size();
          if (end > slot->bytes.size()) slot->bytes.resize(end);
          if (!o.bytes.empty())
            std::memcpy(slot->bytes.data() + o.offset, o.bytes.data(), o.bytes.size());
        }
        slot->version = index;
        break;
      }
      case OpKind::kLockAcquire: {
        if (!slot || slot->kind != ItemKind::kLock)
          return NotFoundError("gdm: no lock " + std::to_string(id));
        auto& w = slot->waiters;
        if (slot->holder == sender || std::find(w.begin(), w.end(), sender) != w.end())
          return FailedPreconditionError("gdm: lock already held or awaited by the caller");
        if (slot->holder == kNoNode) {
          slot->holder = sender;
        } else {
          if (w.size() >= opt.max_lock_waiters)
            return ResourceExhaustedError("gdm: too many lock waiters");
          w.push_back(sender);
        }
        slot->version = index;
        break;
      }
      case OpKind::kLockRelease: {
        if (!slot || slot->kind != ItemKind::kLock)
          return NotFoundError("gdm: no lock " + std::to_string(id));
        auto& w = slot->waiters;
        if (slot->holder == sender) {
          slot->holder = w.empty() ? kNoNode : w.front();
          if (!w.empty()) w.erase(w.begin());
        } else if (auto it = std::find(w.begin(), w.end(), sender); it != w.end()) {
          w.erase(it);
        } else {
          return FailedPreconditionError("gdm: lock not held or awaited by the caller");
        }
        slot->version = index;
        break;
      }
      case OpKind::kAllocId:
        break;
    }
  }
  return Status::Ok();
}

// The common case — one whole-value write to an existing data item — needs no scratch copy: it
// cannot fail half-way, so the value is copied straight from the delivered payload into the
// item's buffer (whose capacity is reused: no allocation when the size is unchanged).
bool Gdm::ApplySingleWrite(NodeId sender, const SingleWriteView& w, uint32_t crc) {
  if (w.fence != 0 && w.fence != state_.epoch) return false;
  auto it = state_.items.find(w.item);
  if (it == state_.items.end() || it->second.kind != ItemKind::kData) return false;
  uint64_t index = state_.index + 1;
  KeepForSnapshot(w.item);
  std::vector<uint8_t>& bytes = it->second.bytes;
  if (bytes.capacity() > kShrinkSlackBytes && bytes.capacity() / 2 > w.bytes.size()) {
    bytes = std::vector<uint8_t>(w.bytes.begin(), w.bytes.end());  // give back a shrunk value
  } else {
    bytes.assign(w.bytes.begin(), w.bytes.end());
  }
  it->second.version = index;
  BumpIndex(crc);
  Touch(w.item);
  Emit(ItemChanged{w.item, 0, w.bytes.size(), index});
  // Applying never completes a command (that waits for durable acks, and no ack can cover an
  // index just applied); it only records where the command landed.
  if (sender == self_) MarkApplied(w.op, index, 0);
  return true;
}

void Gdm::ApplyCommit(NodeId sender, CommitMsg& m, uint32_t crc) {
  uint64_t index = state_.index + 1;
  Scratch scratch;
  ItemId result_id = 0;
  Status st = Status::Ok();
  if (m.fence != 0 && m.fence != state_.epoch) {
    st = FailedPreconditionError("gdm: stale fencing epoch " + std::to_string(m.fence) +
                                 " (current " + std::to_string(state_.epoch) + ")");
  } else {
    st = ApplyToScratch(sender, m, state_, options_, index, scratch, result_id);
  }
  if (sender == self_) {
    for (const ItemOp& o : m.ops) {
      if (o.kind == OpKind::kLockRelease) released_locally_.erase(o.item);
    }
  }
  if (!st.ok()) {
    if (sender == self_) Complete(m.op, st);
    return;
  }
  // Install: one index for the whole commit; every member digests the same delivered bytes.
  BumpIndex(crc);
  for (auto& [id, slot] : scratch) {
    auto it = state_.items.find(id);
    bool existed = it != state_.items.end();
    NodeId old_holder = existed ? it->second.holder : kNoNode;
    KeepForSnapshot(id);
    Touch(id);
    if (!slot) {
      if (existed) {
        if (it->second.kind == ItemKind::kLock && old_holder == self_) Emit(LockLost{id});
        state_.items.erase(it);
        Emit(ItemDeleted{id});
      }
      continue;
    }
    bool is_lock = slot->kind == ItemKind::kLock;
    NodeId new_holder = slot->holder;
    uint64_t size = slot->bytes.size();
    if (existed) {
      it->second = std::move(*slot);
      if (!is_lock) Emit(ItemChanged{id, 0, size, index});
    } else {
      state_.items.emplace(id, std::move(*slot));
      Emit(ItemCreated{id, is_lock ? ItemKind::kLock : ItemKind::kData});
    }
    if (is_lock && new_holder == self_ && old_holder != self_) Emit(LockAcquired{id, index});
  }
  if (sender == self_) MarkApplied(m.op, index, result_id);
}

void Gdm::MarkApplied(OpId op, uint64_t index, ItemId item) {
  auto p = pending_.find(op);
  if (p == pending_.end()) return;
  p->second.applied_index = index;
  p->second.applied_view = view_->id;
  if (item != 0) p->second.item = item;
  applied_.emplace_back(index, op);
}

}  // namespace rain::membership
