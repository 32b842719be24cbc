// Durability (docs/gdm.md "Durability"): a command completes ok only when its change is durable
// on every member of the view.
//
// Every input that changes the state leaves its changed items and meta dirty; PollPersist turns
// them into one batch for the Storage seam (an fsync'd RocksDB write batch in production). When
// a batch completes, the node's durable index is the state index the batch carried, and it
// reports it to every member of the view (DurableAck, point-to-point). A command applied at
// index i completes when every member of the current view reported a durable index >= i in this
// view (reports are per view: a member's index is only comparable within one lineage). The
// sync point of a primary view is acknowledged the same way, which is when the election's epoch
// for the view becomes official (EpochDurable).
#include <algorithm>

#include "rain/core/assert.h"
#include "rain/membership/gdm.h"

namespace rain::membership {

std::optional<PersistBatch> Gdm::PollPersist() {
  if (dirty_.empty() && !meta_dirty_ && !replace_all_) return std::nullopt;
  // Group commit: while the limit of batches is at the disk, changes accumulate and the next
  // batch carries them all (an item written many times is copied and written once).
  if (options_.max_persists_in_flight != 0 && in_flight_.size() >= options_.max_persists_in_flight)
    return std::nullopt;
  PersistBatch b;
  b.ticket = next_ticket_++;
  b.replace_all = replace_all_;
  // A snapshot's items were copied chunk by chunk as they arrived (gdm_sync.cc): moved, not
  // copied here. Items changed since follow them (a later entry for an id wins).
  if (replace_all_) b.items = std::move(snapshot_items_);
  snapshot_items_.clear();
  CompactDirty();
  b.items.reserve(b.items.size() + dirty_.size());
  for (ItemId id : dirty_) {
    auto it = state_.items.find(id);
    if (it == state_.items.end()) {
      b.items.emplace_back(id, std::nullopt);
    } else {
      b.items.emplace_back(id, it->second);
    }
  }
  b.meta.index = state_.index;
  b.meta.digest = state_.digest;
  b.meta.epoch = state_.epoch;
  b.meta.leader = state_.leader;
  b.meta.last_primary = state_.last_primary;
  dirty_.clear();
  dirty_unique_ = 0;
  meta_dirty_ = false;
  replace_all_ = false;
  in_flight_.push_back(InFlight{b.ticket, state_.index, snapshot_generation_});
  return b;
}

void Gdm::HandlePersisted(Instant now, uint64_t ticket, const Status& status) {
  if (storage_failed_) return;
  if (status.ok())
    RAIN_CHECK(!in_flight_.empty() && in_flight_.front().ticket == ticket,
               "gdm: persists must complete in ticket order");
  HandlePersistedThrough(now, ticket, status);
}

void Gdm::HandlePersistedThrough(Instant, uint64_t ticket, const Status& status) {
  if (storage_failed_) return;
  if (!status.ok()) {
    storage_failed_ = true;
    Emit(StorageFailed{status});
    return;
  }
  RAIN_CHECK(!in_flight_.empty() && in_flight_.front().ticket <= ticket,
             "gdm: persists must complete in ticket order");
  bool advanced = false;
  while (!in_flight_.empty() && in_flight_.front().ticket <= ticket) {
    InFlight f = in_flight_.front();
    in_flight_.pop_front();
    // A batch of the state a snapshot replaced says nothing about the new state.
    if (f.generation != snapshot_generation_) continue;
    durable_index_ = f.index;
    advanced = true;
  }
  if (!advanced) return;
  // One report for every batch completed here, not one per batch.
  BroadcastDurable();
  CheckCompletions();
}

void Gdm::BroadcastDurable() {
  if (!view_ || mode_ != GdmMode::kActive || storage_failed_) return;
  uint64_t& mine = acks_[self_];
  if (durable_index_ <= mine && mine != 0) return;
  mine = durable_index_;
  std::vector<NodeId> others;
  for (NodeId n : view_->members) {
    if (n != self_) others.push_back(n);
  }
  if (others.empty()) return;
  DurableAckMsg a{view_->id, durable_index_};
  commands_.push_back(GcmSend{std::move(others), EncodeGdm(options_.cluster_id, a)});
}

// A reliable send to `to` failed on every path, yet `to` may stay in the view (the TM's failure
// report is a suspicion, not a fact): re-send what it may be waiting for, within a budget.
// When the failure names its payload, only that message is re-sent: the TM fails every message
// queued to a peer at once, and answering each of a snapshot's n chunk failures with the whole
// snapshot queued n copies of it (64 x 30 MB at one donor, which then stalled and was removed).
void Gdm::OnSendFailed(NodeId to, const std::shared_ptr<const std::vector<uint8_t>>& payload) {
  if (!view_ || !view_->Contains(to) || to == self_) return;
  if (payload && payload->size() > 1 &&
      (*payload)[1] == static_cast<uint8_t>(GdmMsgType::kSnapshotChunk)) {
    // A chunk of this view's snapshot (an older view's is of no use to anyone): each failed
    // chunk is re-sent, up to max_resends_per_view times the snapshot's chunks per view.
    if (!snapshot_to_.count(to) ||
        chunk_resends_ >= options_.max_resends_per_view * snapshot_sent_.size() ||
        !IsChunkSentThisView(*payload)) {
      return;
    }
    chunk_resends_++;
    commands_.push_back(GcmSend{{to}, *payload, /*notify_delivered=*/true});
    return;
  }
  if (resends_ >= options_.max_resends_per_view) return;
  resends_++;
  if (mode_ == GdmMode::kActive && acks_.count(self_)) {
    DurableAckMsg a{view_->id, acks_[self_]};
    commands_.push_back(GcmSend{{to}, EncodeGdm(options_.cluster_id, a)});
  }
  if (!payload && snapshot_to_.count(to)) {  // unknown message: it may have been any chunk
    for (const auto& chunk : snapshot_sent_) {
      commands_.push_back(GcmSend{{to}, chunk, /*notify_delivered=*/true});
    }
  }
}

void Gdm::OnAck(NodeId from, const DurableAckMsg& a) {
  if (!view_ || a.view != view_->id || !view_->Contains(from)) return;
  uint64_t& v = acks_[from];
  v = std::max(v, a.index);
  CheckCompletions();
}

void Gdm::CheckCompletions() {
  if (!view_ || mode_ != GdmMode::kActive || storage_failed_) return;
  uint64_t min_ack = UINT64_MAX;
  for (NodeId n : view_->members) {
    auto it = acks_.find(n);
    min_ack = std::min(min_ack, it == acks_.end() ? 0 : it->second);
  }
  if (!epoch_announced_ && sync_index_ != 0 && min_ack >= sync_index_) {
    epoch_announced_ = true;
    Emit(EpochDurable{view_->id, state_.epoch, state_.leader});
  }
  // Commands complete in apply order; an entry whose command already completed (it failed
  // when a view changed) is skipped.
  while (!applied_.empty() && applied_.front().first <= min_ack) {
    auto [index, op] = applied_.front();
    applied_.pop_front();
    auto p = pending_.find(op);
    if (p != pending_.end() && p->second.applied_index == index) Complete(op, Status::Ok());
  }
}

void Gdm::FailAppliedPending(const Status& st) {
  std::vector<OpId> failed;
  for (const auto& [op, p] : pending_) {
    if (p.applied_index != 0) failed.push_back(op);
  }
  for (OpId op : failed) Complete(op, st);
  applied_.clear();
}

}  // namespace rain::membership
