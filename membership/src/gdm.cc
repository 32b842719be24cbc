// Gdm plumbing: construction, the GCM event dispatch, view changes, command issue and
// completion, outputs. Applying commits is in gdm_items.cc, locks in gdm_locks.cc, transactions
// in gdm_txn.cc, state transfer in gdm_sync.cc, durability in gdm_durability.cc.
//
// Design (docs/gdm.md): Raincore's GDM (research/RAINCORE.md §1) on our GCM. Deviations from the
// paper: locks are granted by applying ordered multicasts, not by the GCM's token-based master
// lock (one master lock cannot serve many item locks); the Lamport stamp of a change is its
// apply index (identical at every member) rather than the sender's clock; writes need a primary
// view (the paper's GDM had no partitions to worry about).
#include "rain/membership/gdm.h"

#include <algorithm>

#include "rain/core/assert.h"

namespace rain::membership {

const char* ToString(GdmMode m) {
  switch (m) {
    case GdmMode::kNoView:
      return "no-view";
    case GdmMode::kNonPrimary:
      return "non-primary";
    case GdmMode::kSyncing:
      return "syncing";
    case GdmMode::kCatchingUp:
      return "catching-up";
    case GdmMode::kActive:
      return "active";
  }
  return "?";
}

Gdm::Gdm(NodeId self, GdmOptions options, GdmState restored)
    : self_(self), options_(options), state_(std::move(restored)) {
  durable_index_ = state_.index;  // what Storage returned is durable by definition
  lamport_ = state_.index;
}

Gdm::~Gdm() = default;

void Gdm::SetMode(GdmMode m) {
  if (m == mode_) return;
  if (mode_ == GdmMode::kActive) {
    // Locks held here are no longer usable: the next primary view's sync point decides whether
    // this node keeps them (LockAcquired again) or not.
    for (const auto& [id, item] : state_.items) {
      if (item.kind == ItemKind::kLock && item.holder == self_ && !released_locally_.count(id))
        Emit(LockLost{id});
    }
  }
  mode_ = m;
  Emit(ModeChanged{m});
}

Status Gdm::HandleGcmEvent(Instant, const Event& e) {
  if (auto* v = std::get_if<ViewInstalled>(&e)) {
    OnView(v->view);
  } else if (auto* d = std::get_if<Delivered>(&e)) {
    if (!view_ || d->view != view_->id) return Status::Ok();  // not ours to apply
    if (mode_ == GdmMode::kCatchingUp) {
      if (buffered_.size() >= options_.max_buffered_while_catching_up)
        return ResourceExhaustedError("gdm: too many deliveries while catching up");
      buffered_.push_back(*d);
      return Status::Ok();
    }
    OnDelivered(*d);
  } else if (auto* r = std::get_if<membership::Received>(&e)) {
    auto m = DecodeGdm(options_.cluster_id, r->payload);
    if (!m.ok()) return m.status();
    if (auto* c = std::get_if<SnapshotChunkMsg>(&*m)) {
      OnChunk(r->from, std::move(*c));
    } else if (auto* a = std::get_if<DurableAckMsg>(&*m)) {
      OnAck(r->from, *a);
    }
  } else if (auto* f = std::get_if<DirectSendFailed>(&e)) {
    OnSendFailed(f->to, f->payload);
  } else if (auto* ok = std::get_if<DirectSendDelivered>(&e)) {
    OnSendDelivered(ok->to, ok->payload);
  }
  return Status::Ok();
}

void Gdm::OnView(const View& v) {
  view_ = v;
  summaries_.clear();
  buffered_.clear();
  incoming_ = Incoming{};
  sync_index_ = 0;
  epoch_announced_ = false;
  acks_.clear();
  snapshot_sent_.clear();
  snapshot_to_.clear();
  outgoing_ = Outgoing{};
  resends_ = 0;
  chunk_resends_ = 0;
  if (!v.primary) {
    // The view cannot learn that every member of the primary side synced what was applied here.
    FailAppliedPending(
        AbortedError("gdm: view changed to non-primary before the write was "
                     "durable everywhere; outcome unknown"));
    SetMode(GdmMode::kNonPrimary);
    return;
  }
  SetMode(GdmMode::kSyncing);
  StartSync();
}

void Gdm::OnDelivered(const Delivered& d) {
  auto decoded = DecodeGdmView(options_.cluster_id, d.payload);
  if (!decoded.ok()) return;  // another GCM user's message, or garbage: nothing to apply
  uint32_t crc = GdmBodyCrc(d.payload);
  if (auto* w = std::get_if<SingleWriteView>(&*decoded)) {
    // The hot path: the value goes from the payload into the item with one copy.
    lamport_ = std::max(lamport_, w->lamport);
    if (mode_ == GdmMode::kActive && ApplySingleWrite(d.sender, *w, crc)) return;
    CommitMsg c = w->ToCommit();
    OnCommit(d.sender, c, crc);
    return;
  }
  GdmMessage& m = std::get<GdmMessage>(*decoded);
  if (auto* s = std::get_if<SummaryMsg>(&m)) {
    if (mode_ == GdmMode::kSyncing && s->view == view_->id) OnSummary(d.sender, *s);
    return;
  }
  auto* c = std::get_if<CommitMsg>(&m);
  if (c == nullptr) return;
  lamport_ = std::max(lamport_, c->lamport);
  OnCommit(d.sender, *c, crc);
}

void Gdm::OnCommit(NodeId sender, CommitMsg& c, uint32_t crc) {
  if (mode_ != GdmMode::kActive) {
    // Every member refuses it alike: all are before the sync point, or none is primary.
    if (sender == self_)
      Complete(c.op, UnavailableError(std::string("gdm: write ordered while ") + ToString(mode_) +
                                      "; retry"));
    return;
  }
  ApplyCommit(sender, c, crc);
}

Result<OpId> Gdm::Issue(std::vector<ItemOp> ops, uint64_t fence) {
  if (mode_ != GdmMode::kActive)
    return UnavailableError(std::string("gdm: writes need an active primary view (now ") +
                            ToString(mode_) + ")");
  if (storage_failed_) return FailedPreconditionError("gdm: storage failed");
  if (pending_.size() >= options_.max_pending_ops)
    return ResourceExhaustedError("gdm: too many pending commands");
  if (ops.empty() || ops.size() > options_.max_ops_per_txn)
    return InvalidArgumentError("gdm: a commit needs 1..max_ops_per_txn writes");
  for (const ItemOp& o : ops) {
    if (o.bytes.size() > options_.max_item_bytes || o.offset > options_.max_item_bytes)
      return InvalidArgumentError("gdm: value larger than max_item_bytes");
  }
  OpId op = next_op_++;
  CommitMsg m{
      .origin = self_, .op = op, .fence = fence, .lamport = ++lamport_, .ops = std::move(ops)};
  SendSafe(EncodeGdm(options_.cluster_id, m), op);
  pending_[op] = Pending{};
  return op;
}

void Gdm::SendSafe(std::vector<uint8_t> payload, OpId op) {
  // Safe delivery: a write is applied only once every member holds it (docs/gdm.md).
  GcmMulticast& m =
      std::get<GcmMulticast>(commands_.emplace_back(std::in_place_type<GcmMulticast>));
  m.payload = std::move(payload);
  m.service = Service::kSafe;
  m.op = op;
}

void Gdm::Complete(OpId op, Status st, ItemId item) {
  auto it = pending_.find(op);
  if (it == pending_.end()) return;
  if (item == 0) item = it->second.item;
  pending_.erase(it);
  Emit(OpCompleted{op, std::move(st), item});
}

void Gdm::HandleCommandRefused(OpId op, const Status& status) { Complete(op, status); }

Result<OpId> Gdm::Create(Instant /*now*/, ItemId id, std::vector<uint8_t> bytes, uint64_t fence) {
  return Issue({ItemOp{.kind = OpKind::kCreate, .item = id, .bytes = std::move(bytes)}}, fence);
}
Result<OpId> Gdm::Delete(Instant /*now*/, ItemId id, uint64_t fence) {
  return Issue({ItemOp{.kind = OpKind::kDelete, .item = id}}, fence);
}
Result<OpId> Gdm::Write(Instant /*now*/, ItemId id, std::vector<uint8_t> bytes, uint64_t fence) {
  return Issue({ItemOp{.kind = OpKind::kWrite, .item = id, .bytes = std::move(bytes)}}, fence);
}
Result<OpId> Gdm::WriteAt(Instant /*now*/, ItemId id, uint64_t offset, std::vector<uint8_t> bytes,
                          uint64_t fence) {
  return Issue(
      {ItemOp{.kind = OpKind::kWriteAt, .item = id, .offset = offset, .bytes = std::move(bytes)}},
      fence);
}
Result<OpId> Gdm::GenUniqueId(Instant /*now*/) {
  return Issue({ItemOp{.kind = OpKind::kAllocId}}, 0);
}

Result<std::vector<uint8_t>> Gdm::Read(ItemId id, uint64_t offset, uint64_t length) const {
  const Item* item = Find(id);
  if (item == nullptr) return NotFoundError("gdm: no item " + std::to_string(id));
  if (offset > item->bytes.size()) return OutOfRangeError("gdm: read past the end");
  uint64_t n = std::min<uint64_t>(length, item->bytes.size() - offset);
  return std::vector<uint8_t>(item->bytes.begin() + static_cast<ptrdiff_t>(offset),
                              item->bytes.begin() + static_cast<ptrdiff_t>(offset + n));
}

const Item* Gdm::Find(ItemId id) const {
  auto it = state_.items.find(id);
  return it == state_.items.end() ? nullptr : &it->second;
}

// g++ 12 at -O3 reports the moved-from variant's vector as maybe-uninitialized here (a false
// positive on std::variant moves, like the GCC PR 105651 family the build already works around).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
std::optional<GcmCommand> Gdm::PollGcmCommand() {
  if (commands_.empty()) return std::nullopt;
  std::optional<GcmCommand> c(std::move(commands_.front()));
  commands_.pop_front();
  return c;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

std::optional<GdmEvent> Gdm::PollEvent() {
  if (events_.empty()) return std::nullopt;
  GdmEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace rain::membership
