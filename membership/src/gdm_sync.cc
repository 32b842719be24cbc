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
// A state's fields without its items (what every snapshot chunk repeats).
GdmState MetaOf(const GdmState& s) {
  GdmState m;
  m.index = s.index;
  m.digest = s.digest;
  m.epoch = s.epoch;
  m.leader = s.leader;
  m.last_primary = s.last_primary;
  return m;
}
bool SameMeta(const GdmState& a, const GdmState& b) {
  return a.index == b.index && a.digest == b.digest && a.epoch == b.epoch && a.leader == b.leader &&
         a.last_primary == b.last_primary;
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

// The donor's snapshot is the state right after the sync point, sent in chunks of whole items
// in id order. Encoding 30 MB in the sync point's input stalled raind's I/O thread past the
// peers' failure bound (docs/gdm.md "Known weaknesses"), so only the first
// snapshot_chunks_in_flight chunks are encoded here, and one more each time the first stale
// member acknowledges one. Until its chunk is encoded, an item changed after the sync point
// keeps its sync-point value aside (KeepForSnapshot), so every chunk is of the same state.
void Gdm::SendSnapshot(const std::vector<NodeId>& to) {
  Outgoing& out = outgoing_;
  out = Outgoing{};
  out.to = to;
  out.meta = MetaOf(state_);
  std::vector<std::pair<ItemId, size_t>> sized;
  sized.reserve(state_.items.size());
  for (const auto& [id, item] : state_.items) sized.emplace_back(id, EncodedItemBytes(item));
  std::sort(sized.begin(), sized.end());
  std::vector<size_t> sizes;
  sizes.reserve(sized.size());
  out.ids.reserve(sized.size());
  for (const auto& [id, bytes] : sized) {
    out.ids.push_back(id);
    sizes.push_back(bytes);
  }
  out.begin = CutSnapshotChunks(sizes, std::max<size_t>(1, options_.snapshot_chunk_bytes));
  snapshot_to_.insert(to.begin(), to.end());
  const size_t count = out.begin.size() - 1;
  const size_t first = options_.snapshot_chunks_in_flight == 0
                           ? count
                           : std::min(count, options_.snapshot_chunks_in_flight);
  for (size_t i = 0; i < first; ++i) SendNextChunk();
}

void Gdm::SendNextChunk() {
  Outgoing& out = outgoing_;
  if (out.begin.empty() || out.next + 1 >= out.begin.size()) return;  // none, or all encoded
  const uint32_t count = static_cast<uint32_t>(out.begin.size() - 1);
  const size_t first = out.begin[out.next], end = out.begin[out.next + 1];
  std::vector<std::pair<ItemId, const Item*>> items;
  items.reserve(end - first);
  for (size_t i = first; i < end; ++i) {
    const ItemId id = out.ids[i];
    auto kept = out.kept.find(id);
    if (kept != out.kept.end()) {
      items.emplace_back(id, &kept->second);
      continue;
    }
    auto it = state_.items.find(id);
    RAIN_CHECK(it != state_.items.end(), "gdm: a snapshot item changed without its value kept");
    items.emplace_back(id, &it->second);
  }
  std::vector<uint8_t> chunk =
      EncodeSnapshotChunk(options_.cluster_id, view_->id, out.meta, out.next, count, items);
  for (size_t i = first; i < end; ++i) out.kept.erase(out.ids[i]);
  out.next++;
  commands_.push_back(GcmSend{out.to, chunk, /*notify_delivered=*/true});
  snapshot_sent_.push_back(std::move(chunk));
}

// Called before item `id` changes: if it is in a chunk not encoded yet, its sync-point value is
// kept for that chunk (once; a later change must not overwrite it).
void Gdm::KeepForSnapshot(ItemId id) {
  Outgoing& out = outgoing_;
  if (out.begin.empty() || out.next + 1 >= out.begin.size()) return;
  if (out.kept.count(id) ||
      !std::binary_search(out.ids.begin() + static_cast<ptrdiff_t>(out.begin[out.next]),
                          out.ids.end(), id))
    return;
  auto it = state_.items.find(id);
  RAIN_CHECK(it != state_.items.end(), "gdm: a snapshot item vanished without its value kept");
  out.kept.emplace(id, it->second);
}

void Gdm::OnSendDelivered(NodeId to, const std::shared_ptr<const std::vector<uint8_t>>& payload) {
  if (!view_ || outgoing_.to.empty() || to != outgoing_.to.front() || !payload) return;
  if (!IsChunkSentThisView(*payload)) return;  // an ack, or an older view's chunk
  SendNextChunk();
}

// snapshot_sent_ is emptied at every view, so presence there is "a chunk of this view's
// snapshot"; the type byte first keeps acks and other messages from any comparison.
bool Gdm::IsChunkSentThisView(const std::vector<uint8_t>& payload) const {
  return payload.size() > 1 && payload[1] == static_cast<uint8_t>(GdmMsgType::kSnapshotChunk) &&
         std::find(snapshot_sent_.begin(), snapshot_sent_.end(), payload) != snapshot_sent_.end();
}

void Gdm::OnChunk(NodeId, SnapshotChunkMsg c) {
  // A chunk may arrive before this node reached the sync point itself (the donor delivered the
  // last summary first): it is taken in all the same, and installed once the node is stale.
  if (!view_ || c.view != view_->id) return;
  if (mode_ != GdmMode::kSyncing && mode_ != GdmMode::kCatchingUp) return;
  Incoming& in = incoming_;
  if (in.have.empty() || in.index != c.index || in.have.size() != c.count) {
    in = Incoming{};
    in.index = c.index;
    in.have.assign(c.count, false);
  }
  if (in.have[c.chunk]) return;
  // Each chunk is a State encoding of its own: decoded, checked and merged now, so the work of
  // this input is one chunk's. One that does not fit the others is dropped, and the snapshot
  // never completes: stale until the next view (docs/gdm.md "Known weaknesses").
  auto part = DecodeState(c.bytes);
  if (!part.ok() || part->index != c.index) return;
  if (!in.state) {
    in.state = MetaOf(*part);
  } else if (!SameMeta(*part, *in.state)) {
    return;
  }
  for (const auto& [id, item] : part->items) {
    if (in.state->items.count(id)) return;  // an item in two chunks
  }
  for (const auto& [id, item] : part->items) in.persist.emplace_back(id, item);
  in.state->items.merge(part->items);
  in.have[c.chunk] = true;
  in.received++;
  MaybeInstallChunks();
}

Gdm::SnapshotProgress Gdm::snapshot_progress() const {
  return SnapshotProgress{incoming_.received, static_cast<uint32_t>(incoming_.have.size()),
                          incoming_.state ? incoming_.state->items.size() : 0};
}

void Gdm::MaybeInstallChunks() {
  Incoming& in = incoming_;
  if (mode_ != GdmMode::kCatchingUp || in.have.empty() || in.index != sync_index_ ||
      in.received < in.have.size())
    return;
  if (in.state->last_primary != view_->id) {
    in = Incoming{};
    return;  // not this view's snapshot: stale until the next view
  }
  GdmState s = std::move(*in.state);
  std::vector<std::pair<ItemId, std::optional<Item>>> persist = std::move(in.persist);
  in = Incoming{};
  InstallSnapshot(std::move(s), std::move(persist));
}

void Gdm::InstallSnapshot(GdmState s, std::vector<std::pair<ItemId, std::optional<Item>>> persist) {
  released_locally_.clear();
  state_ = std::move(s);
  lamport_ = std::max(lamport_, state_.index);
  replace_all_ = true;
  snapshot_items_ = std::move(persist);
  dirty_.clear();
  dirty_unique_ = 0;
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
