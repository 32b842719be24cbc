// State transfer at every primary view (docs/gdm.md "State transfer").
//
// On installing a primary view V each member multicasts (safe) a Summary of its state:
// (last_primary, index, digest). When the summaries of all members of V are delivered — the
// *sync point*, the same place in V's total order at every member — each picks the same donor:
// the member with the largest (last_primary, index, digest, node). Members whose summary equals
// the donor's are in sync: they apply the sync mutation (purge locks of departed holders, bump
// the election epoch, name the leader, last_primary = V) and become active. The others are
// stale: the donor sends them its state right after the sync mutation, in chunks, and they
// buffer V's deliveries until it is installed, then apply them. Commits ordered in V before the
// sync point are refused at every member (gdm.cc), so the snapshot point is well defined.
//
// Why the donor's state holds every acknowledged write: a write is acked only once durable on
// every member of its primary view P; the next primary view overlaps P in a member whose state
// includes P's sync point (last_primary >= P) and the write, and states are compared first by
// last_primary, then by index. docs/gdm.md gives the full argument and the crash cases.
#include <algorithm>
#include <tuple>

#include "rain/core/assert.h"
#include "rain/core/crc32c.h"
#include "rain/membership/gdm.h"

namespace rain::membership {
namespace {

auto Rank(NodeId n, const SummaryMsg& s) {
  return std::make_tuple(s.last_primary, s.index, s.digest, ToInt(n));
}
bool SameState(const SummaryMsg& a, const SummaryMsg& b) {
  return a.last_primary == b.last_primary && a.index == b.index && a.digest == b.digest;
}

}  // namespace

void Gdm::StartSync() {
  SummaryMsg s{self_, view_->id, state_.last_primary, state_.index, state_.digest};
  SendSafe(EncodeGdm(options_.cluster_id, s), 0);
}

void Gdm::OnSummary(NodeId from, const SummaryMsg& s) {
  if (!view_->Contains(from)) return;
  summaries_.emplace(from, s);  // the first one counts
  if (summaries_.size() == view_->members.size()) SyncPoint();
}

void Gdm::SyncPoint() {
  auto donor = summaries_.begin();
  for (auto it = summaries_.begin(); it != summaries_.end(); ++it) {
    if (Rank(it->first, it->second) > Rank(donor->first, donor->second)) donor = it;
  }
  const SummaryMsg& d = donor->second;
  std::vector<NodeId> stale;
  for (const auto& [n, s] : summaries_) {
    if (!SameState(s, d)) stale.push_back(n);
  }
  if (!SameState(summaries_.at(self_), d)) {
    // Our state is not the view's: whatever we applied and did not see acked has an unknown
    // outcome (it may or may not be in the donor's state).
    FailAppliedPending(AbortedError("gdm: this node's state was stale; outcome unknown"));
    sync_index_ = d.index + 1;
    SetMode(GdmMode::kCatchingUp);
    MaybeInstallChunks();
    return;
  }
  // The sync mutation: the same at every in-sync member.
  PurgeLocks(view_->members);
  state_.epoch++;
  state_.leader = *std::min_element(view_->members.begin(), view_->members.end());
  state_.last_primary = view_->id;
  Writer w;
  EncodeViewId(w, view_->id);
  BumpIndex(Crc32c(w.bytes()));
  sync_index_ = state_.index;
  SetMode(GdmMode::kActive);
  for (const auto& [id, item] : state_.items) {
    if (item.kind == ItemKind::kLock && item.holder == self_) Emit(LockAcquired{id, item.version});
  }
  if (donor->first == self_ && !stale.empty()) SendSnapshot(stale);
  BroadcastDurable();
  CheckCompletions();
}

void Gdm::SendSnapshot(const std::vector<NodeId>& to) {
  std::vector<uint8_t> bytes = EncodeState(state_);
  size_t chunk = std::max<size_t>(1, options_.snapshot_chunk_bytes);
  uint32_t count = static_cast<uint32_t>(std::max<size_t>(1, (bytes.size() + chunk - 1) / chunk));
  for (uint32_t i = 0; i < count; ++i) {
    size_t begin = size_t{i} * chunk;
    size_t end = std::min(bytes.size(), begin + chunk);
    SnapshotChunkMsg c{view_->id, state_.index, i, count,
                       std::vector<uint8_t>(bytes.begin() + static_cast<ptrdiff_t>(begin),
                                            bytes.begin() + static_cast<ptrdiff_t>(end))};
    snapshot_sent_.push_back(EncodeGdm(options_.cluster_id, c));
    commands_.push_back(GcmSend{to, snapshot_sent_.back()});
  }
  snapshot_to_.insert(to.begin(), to.end());
}

void Gdm::OnChunk(NodeId, SnapshotChunkMsg c) {
  // A chunk may arrive before this node reached the sync point itself (the donor delivered the
  // last summary first): keep it until then.
  if (!view_ || c.view != view_->id || c.bytes.empty()) return;
  if (mode_ != GdmMode::kSyncing && mode_ != GdmMode::kCatchingUp) return;
  if (chunks_.empty() || chunk_index_ != c.index || chunks_.size() != c.count) {
    chunks_.assign(c.count, {});
    chunks_received_ = 0;
    chunk_index_ = c.index;
  }
  if (!chunks_[c.chunk].empty()) return;
  chunks_[c.chunk] = std::move(c.bytes);
  chunks_received_++;
  MaybeInstallChunks();
}

void Gdm::MaybeInstallChunks() {
  if (mode_ != GdmMode::kCatchingUp || chunks_.empty() || chunk_index_ != sync_index_ ||
      chunks_received_ < chunks_.size())
    return;
  std::vector<uint8_t> all;
  for (auto& part : chunks_) all.insert(all.end(), part.begin(), part.end());
  chunks_.clear();
  chunks_received_ = 0;
  auto s = DecodeState(all);
  if (!s.ok() || s->index != sync_index_ || s->last_primary != view_->id) {
    return;  // a corrupt transfer: stale until the next view (docs/gdm.md "Known weaknesses")
  }
  InstallSnapshot(std::move(*s));
}

void Gdm::InstallSnapshot(GdmState s) {
  released_locally_.clear();
  state_ = std::move(s);
  lamport_ = std::max(lamport_, state_.index);
  replace_all_ = true;
  dirty_.clear();
  meta_dirty_ = true;
  snapshot_generation_++;
  durable_index_ = 0;  // nothing of the new state is durable yet
  Emit(StateReplaced{state_.index});
  SetMode(GdmMode::kActive);
  for (const auto& [id, item] : state_.items) {
    if (item.kind == ItemKind::kLock && item.holder == self_) Emit(LockAcquired{id, item.version});
  }
  std::deque<Delivered> held = std::move(buffered_);
  buffered_.clear();
  for (const Delivered& d : held) OnDelivered(d);
}

}  // namespace rain::membership
