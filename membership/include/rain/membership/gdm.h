// The Group Data Manager (GDM): shared data items mirrored on every member of a primary view,
// as the Raincore GDM (research/RAINCORE.md §1), layered on the GCM and written sans-IO.
//
// Inputs: the GCM's events (HandleGcmEvent), Storage completions (HandlePersisted), commands.
// Outputs: GCM commands (PollGcmCommand: multicasts and point-to-point sends), persist batches
// for the Storage seam (PollPersist), and events (PollEvent: the seed's callbacks). The host
// (docs/gdm.md "What the host must do") feeds every Gcm event in, runs every output, and
// drains all outputs after every input. No clock, thread, socket or randomness inside.
//
// Every mutation (a write, a transaction, a lock operation) is one GCM multicast, applied by
// every member in the GCM's total order and stamped with the apply index (the Lamport clock),
// so members hold identical items after the same message. Writes are accepted only in a primary
// view after its sync point (state summaries exchanged, stale members given a snapshot). A
// command completes ok only when its change is durable (fsync'd) on every member of the view:
// members report their durable index to the view after each persist (docs/gdm.md
// "Durability"). Seed names: GDM_SharedData_new/delete/read/write -> Create/Delete/Read/
// Write/WriteAt, GDM_genUniqueID -> GenUniqueId, the data callbacks -> ItemCreated/ItemDeleted/
// ItemChanged, GDM_Lock_create/acquire/release/destroy -> CreateLock/AcquireLock/ReleaseLock/
// DestroyLock (acquire calls back through LockAcquired; GDM_Lock_wait is the daemon's blocking
// wait on that event).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "rain/core/result.h"
#include "rain/membership/gdm_types.h"
#include "rain/membership/gdm_wire.h"

namespace rain::membership {

class Gdm {
 public:
  // `restored` is what Storage held at start (LoadState); empty on first start. The GDM starts
  // in kNoView until the GCM installs a view.
  Gdm(NodeId self, GdmOptions options, GdmState restored = {});
  ~Gdm();
  Gdm(const Gdm&) = delete;
  Gdm& operator=(const Gdm&) = delete;

  // --- Inputs ---
  // Every event the Gcm emits, in order. Delivered/Received payloads that are not GDM messages
  // (another user of the GCM) are ignored; malformed ones are dropped with the status.
  Status HandleGcmEvent(Instant now, const Event& e);
  // The Storage seam finished the persist `ticket` (batches complete in ticket order). A failed
  // persist stops acknowledgements for good (StorageFailed event).
  void HandlePersisted(Instant now, uint64_t ticket, const Status& status);
  // The Storage seam finished every persist up to and including `ticket` at once (a storage
  // that coalesces batches into one write): one DurableAck for all of them instead of one per
  // batch. `ticket` must be at least the oldest batch in flight.
  void HandlePersistedThrough(Instant now, uint64_t ticket, const Status& status);
  // The Gcm refused a multicast the GDM asked for (queue full, too large): its command fails.
  void HandleCommandRefused(OpId op, const Status& status);

  // --- Commands (each returns an OpId; OpCompleted follows) ---
  // Unavailable when this node is not in an active primary view (the caller retries later),
  // ResourceExhausted past max_pending_ops, InvalidArgument past max_item_bytes.
  // `fence`: the election epoch the caller acts under; a write whose fence is not the replicated
  // epoch when it is applied fails with FailedPrecondition (0: unfenced).
  Result<OpId> Create(Instant now, ItemId id, std::vector<uint8_t> bytes, uint64_t fence = 0);
  Result<OpId> Delete(Instant now, ItemId id, uint64_t fence = 0);
  Result<OpId> Write(Instant now, ItemId id, std::vector<uint8_t> bytes, uint64_t fence = 0);
  // Writes `bytes` at `offset` (offset <= current size; the value grows as needed).
  Result<OpId> WriteAt(Instant now, ItemId id, uint64_t offset, std::vector<uint8_t> bytes,
                       uint64_t fence = 0);
  // A cluster-wide unique id, named by OpCompleted::item.
  Result<OpId> GenUniqueId(Instant now);

  // Locks are items of kind kLock. Acquire queues this node (FIFO); LockAcquired follows when
  // granted. Release hands the lock to the next waiter (or withdraws a wait). A holder that
  // leaves the view loses its locks at the next primary view's sync point.
  Result<OpId> CreateLock(Instant now, ItemId id);
  Result<OpId> DestroyLock(Instant now, ItemId id);
  Result<OpId> AcquireLock(Instant now, ItemId id);
  Result<OpId> ReleaseLock(Instant now, ItemId id);

  // Transactions: writes are kept here until Commit publishes them as one multicast, applied
  // all or nothing (any failing write fails the whole commit). Abort discards. Begin:
  // ResourceExhausted past max_open_txns; the others NotFound for an unknown txn.
  Result<TxnId> Begin();
  Status TxnCreate(TxnId txn, ItemId id, std::vector<uint8_t> bytes);
  Status TxnWrite(TxnId txn, ItemId id, std::vector<uint8_t> bytes);
  Status TxnWriteAt(TxnId txn, ItemId id, uint64_t offset, std::vector<uint8_t> bytes);
  Status TxnDelete(TxnId txn, ItemId id);
  Result<OpId> Commit(Instant now, TxnId txn, uint64_t fence = 0);
  Status Abort(TxnId txn);

  // --- Queries (local, never block) ---
  // The item's bytes [offset, offset + length) (clamped to its size). NotFound if absent,
  // OutOfRange if offset > size. While stale() the value may be old.
  Result<std::vector<uint8_t>> Read(ItemId id, uint64_t offset = 0,
                                    uint64_t length = UINT64_MAX) const;
  const Item* Find(ItemId id) const;
  // True unless the state is current for an active primary view.
  bool stale() const { return mode_ != GdmMode::kActive; }
  GdmMode mode() const { return mode_; }
  // Does this node hold lock `id` (granted and not released locally)?
  bool HoldsLock(ItemId id) const;
  const GdmState& state() const { return state_; }
  uint64_t durable_index() const { return durable_index_; }
  // The donor's snapshot as received so far in this view (docs/gdm.md "State transfer"): each
  // chunk is decoded and taken in when it arrives; all zero when none is under way.
  struct SnapshotProgress {
    uint32_t chunks = 0;       // taken in
    uint32_t chunk_count = 0;  // in the snapshot
    uint64_t items = 0;        // taken in
  };
  SnapshotProgress snapshot_progress() const;
  uint64_t lamport() const { return lamport_; }
  NodeId self() const { return self_; }

  // --- Outputs ---
  std::optional<GcmCommand> PollGcmCommand();
  std::optional<PersistBatch> PollPersist();
  std::optional<GdmEvent> PollEvent();

 private:
  struct Pending {               // a command issued here
    uint64_t applied_index = 0;  // 0: not applied yet
    ViewId applied_view;
    ItemId item = 0;
  };

  // gdm.cc: plumbing and views
  void Emit(GdmEvent e) { events_.push_back(std::move(e)); }
  void SetMode(GdmMode m);
  void OnView(const View& v);
  void OnDelivered(const Delivered& d);
  void OnCommit(NodeId sender, CommitMsg& c, uint32_t crc);
  void OnSendFailed(NodeId to, const std::shared_ptr<const std::vector<uint8_t>>& payload);
  Result<OpId> Issue(std::vector<ItemOp> ops, uint64_t fence);
  void Complete(OpId op, Status st, ItemId item = 0);
  void SendSafe(std::vector<uint8_t> payload, OpId op);

  // gdm_items.cc: applying a commit (all or nothing)
  // `crc`: the commit's frame checksum, which the digest chains (GdmBodyCrc).
  void ApplyCommit(NodeId sender, CommitMsg& m, uint32_t crc);
  bool ApplySingleWrite(NodeId sender, const SingleWriteView& w, uint32_t crc);
  void MarkApplied(OpId op, uint64_t index, ItemId item);
  void Touch(ItemId id);
  void CompactDirty();
  void BumpIndex(uint32_t crc);

  // gdm_locks.cc
  void PurgeLocks(const std::vector<NodeId>& members);

  // gdm_sync.cc: state summaries, the sync point, snapshots
  void StartSync();
  void OnSummary(NodeId from, const SummaryMsg& s);
  void SyncPoint();
  void SendSnapshot(const std::vector<NodeId>& to);
  void SendNextChunk();
  void KeepForSnapshot(ItemId id);
  void OnSendDelivered(NodeId to, const std::shared_ptr<const std::vector<uint8_t>>& payload);
  bool IsChunkSentThisView(const std::vector<uint8_t>& payload) const;
  void OnChunk(NodeId from, SnapshotChunkMsg c);
  void MaybeInstallChunks();
  void InstallSnapshot(GdmState s, std::vector<std::pair<ItemId, std::optional<Item>>> persist);

  // gdm_durability.cc: persist batches, durable acks, completions
  void OnAck(NodeId from, const DurableAckMsg& a);
  void BroadcastDurable();
  void CheckCompletions();
  void FailAppliedPending(const Status& st);

  NodeId self_;
  GdmOptions options_;
  GdmState state_;
  GdmMode mode_ = GdmMode::kNoView;
  std::optional<View> view_;
  uint64_t lamport_ = 0;

  // Commands issued here.
  OpId next_op_ = 1;
  std::map<OpId, Pending> pending_;
  TxnId next_txn_ = 1;
  std::map<TxnId, std::vector<ItemOp>> txns_;
  std::set<ItemId> released_locally_;  // released here, release not applied yet

  // Sync of the current primary view (gdm_sync.cc).
  std::map<NodeId, SummaryMsg> summaries_;
  std::deque<Delivered> buffered_;  // deliveries held while catching up
  // The snapshot being received: each chunk is decoded and merged as it arrives, so no input
  // decodes more than one chunk (docs/gdm.md "State transfer").
  struct Incoming {
    uint64_t index = 0;      // the snapshot's index (its chunks name it)
    std::vector<bool> have;  // per chunk; empty: no snapshot under way
    uint32_t received = 0;
    std::optional<GdmState> state;  // meta of the first chunk, items of every chunk so far
    // Copies of those items for the replace_all batch, made chunk by chunk too.
    std::vector<std::pair<ItemId, std::optional<Item>>> persist;
  };
  Incoming incoming_;
  // As donor: this view's snapshot, encoded a chunk at a time as the first stale member
  // acknowledges them (docs/gdm.md "State transfer").
  struct Outgoing {
    std::vector<NodeId> to;     // the stale members; to.front() paces
    GdmState meta;              // the state's fields at the sync point (no items)
    std::vector<ItemId> ids;    // the items at the sync point, ascending
    std::vector<size_t> begin;  // chunk k holds ids[begin[k], begin[k + 1])
    uint32_t next = 0;          // the next chunk to encode
    // Sync-point values of items changed since, kept until their chunk is encoded.
    std::unordered_map<ItemId, Item> kept;
  };
  Outgoing outgoing_;
  // As donor: the encoded chunks and who needs them, kept for re-sends (OnSendFailed).
  std::vector<std::vector<uint8_t>> snapshot_sent_;
  std::set<NodeId> snapshot_to_;
  size_t resends_ = 0;        // in this view
  size_t chunk_resends_ = 0;  // in this view: single failed chunks re-sent
  uint64_t sync_index_ = 0;   // the view's sync point (0: not reached)
  bool epoch_announced_ = false;

  // Durability (gdm_durability.cc).
  // Items changed since the last batch, with repeats until CompactDirty (sorted, unique).
  std::vector<ItemId> dirty_;
  size_t dirty_unique_ = 0;  // size after the last compaction
  static constexpr size_t kDirtyCompactFloor = 1024;
  // A value whose buffer is more than twice what a write needs, past this many bytes, is
  // reallocated rather than reused (a shrunk item keeps no large buffer).
  static constexpr size_t kShrinkSlackBytes = 4096;
  // (applied index, op) of commands issued here, in apply order: completions pop the front.
  std::deque<std::pair<uint64_t, OpId>> applied_;
  bool meta_dirty_ = false;
  bool replace_all_ = false;
  // The installed snapshot's items for the replace_all batch (copied as its chunks arrived, so
  // cutting the batch copies nothing); items changed since are in dirty_ and follow them.
  std::vector<std::pair<ItemId, std::optional<Item>>> snapshot_items_;
  uint64_t next_ticket_ = 1;
  struct InFlight {
    uint64_t ticket;
    uint64_t index;       // the state index the batch makes durable
    uint64_t generation;  // snapshot_generation_ when it was cut
  };
  std::deque<InFlight> in_flight_;
  uint64_t snapshot_generation_ = 0;
  uint64_t durable_index_ = 0;
  bool storage_failed_ = false;
  std::map<NodeId, uint64_t> acks_;  // durable index reported in the current view

  std::deque<GcmCommand> commands_;
  std::deque<GdmEvent> events_;
};

}  // namespace rain::membership
