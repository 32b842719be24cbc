// Types of the Group Data Manager (GDM, research/RAINCORE.md §1): item ids, items, the
// replicated state every member of a primary view holds, the GDM's events (the seed's
// callbacks), the GCM commands it asks its host to run, and its limits.
//
// The GDM is layered on the GCM (rain::membership::Gcm); gdm.h has the class, docs/gdm.md the
// protocol. Nothing here does I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "rain/core/ids.h"
#include "rain/core/status.h"
#include "rain/membership/gcm.h"
#include "rain/membership/view.h"

namespace rain::membership {

// A shared data item's id, unique cluster-wide. Callers pick ids for named items (a lock, a
// table); GenUniqueId() and Create(kAutoId, ...) allocate ids with kAutoIdBit set, made from the
// replicated apply index, so they never collide with each other.
using ItemId = uint64_t;
inline constexpr ItemId kAutoId = 0;
inline constexpr ItemId kAutoIdBit = 1ull << 63;

// A command's handle, returned by every mutating call and named again in its OpCompleted.
using OpId = uint64_t;
using TxnId = uint64_t;

enum class ItemKind : uint8_t { kData = 1, kLock = 2 };

// One item of the replicated state. `version` is the apply index of the last change: the GDM's
// Lamport clock (every member gives the same write the same stamp, and causally later writes
// get larger stamps).
struct Item {
  ItemKind kind = ItemKind::kData;
  uint64_t version = 0;
  std::vector<uint8_t> bytes;
  // Locks only: the holder (kNoNode when free) and the FIFO of waiters.
  NodeId holder = kNoNode;
  std::vector<NodeId> waiters;
  friend bool operator==(const Item&, const Item&) = default;
};

// What a member holds and persists. `index` counts applied mutations (writes, transactions,
// lock operations, view sync points) since the cluster's first start; `digest` chains a hash
// of each applied mutation, so two members with equal (index, digest) applied the same
// sequence. `epoch`/`leader`: the election's fencing epoch and the leader it names, advanced at
// the sync point of every primary view (docs/election.md). `last_primary`: the newest primary
// view whose sync point this state includes (not replicated: a per-member fact, persisted with
// the state it describes).
struct GdmState {
  // A hash map: with 10,000 items an ordered map's lookups (cache misses down a tree) were most
  // of the apply cost (docs/benchmarks.md). Encodings sort by id, so bytes stay deterministic.
  std::unordered_map<ItemId, Item> items;
  uint64_t index = 0;
  uint64_t digest = 0;
  uint64_t epoch = 0;
  NodeId leader = kNoNode;
  ViewId last_primary;
  friend bool operator==(const GdmState&, const GdmState&) = default;
};

// Why reads may be stale and writes are refused.
enum class GdmMode : uint8_t {
  kNoView,      // no view installed yet
  kNonPrimary,  // the view holds no majority: reads may be stale, writes fail (Unavailable)
  kSyncing,     // primary view, exchanging state summaries: writes wait for the sync point
  kCatchingUp,  // primary view, receiving the donor's snapshot: reads are stale
  kActive,      // primary view, state current
};
const char* ToString(GdmMode m);

// --- Events (the seed's callbacks: new / deleted / changed data, lock acquired) ---
struct ItemCreated {
  ItemId id = 0;
  ItemKind kind = ItemKind::kData;
};
struct ItemDeleted {
  ItemId id = 0;
};
struct ItemChanged {
  ItemId id = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t version = 0;
};
// The whole state was replaced by a donor's snapshot (state transfer): re-read what you cache.
struct StateReplaced {
  uint64_t index = 0;
};
// A command issued here finished. ok: applied and durable on every member of the view.
// Unavailable: refused (no primary view, or issued before the view's sync point); retry later.
// Aborted: the outcome is unknown (the view changed before every member confirmed it durable);
// read and retry at a higher level. Other codes: the write was applied nowhere (NotFound,
// AlreadyExists, OutOfRange, FailedPrecondition for a stale fencing epoch or a lock misuse).
struct OpCompleted {
  OpId op = 0;
  Status status;
  ItemId item = 0;  // the item created or the id allocated (auto ids)
};
// The lock was granted to this node (the seed's acquire callback) or taken away (its holder
// left the view, or the state was replaced).
struct LockAcquired {
  ItemId lock = 0;
  uint64_t version = 0;
};
struct LockLost {
  ItemId lock = 0;
};
struct ModeChanged {
  GdmMode mode = GdmMode::kNoView;
};
// A primary view's sync point is durable on every member: `leader` leads `view` with fencing
// epoch `epoch` (the election module turns this into its LeaderChanged).
struct EpochDurable {
  ViewId view;
  uint64_t epoch = 0;
  NodeId leader = kNoNode;
};
// The Storage seam failed a persist: the GDM stops acknowledging writes (nothing is acked that
// is not durable). The host should restart the node.
struct StorageFailed {
  Status status;
};

using GdmEvent = std::variant<ItemCreated, ItemDeleted, ItemChanged, StateReplaced, OpCompleted,
                              LockAcquired, LockLost, ModeChanged, EpochDurable, StorageFailed>;

// --- What the host must run on the GCM ---
struct GcmMulticast {
  std::vector<uint8_t> payload;
  Service service = Service::kAgreed;
  OpId op = 0;  // the command it carries (0: protocol traffic); see HandleCommandRefused
};
struct GcmSend {
  std::vector<NodeId> to;
  std::vector<uint8_t> payload;
  // Send with notify_delivered and feed each DirectSendDelivered back (snapshot chunks: the
  // donor encodes the next chunk when one is acknowledged, docs/gdm.md "State transfer").
  bool notify_delivered = false;
};
using GcmCommand = std::variant<GcmMulticast, GcmSend>;

struct GdmOptions {
  uint64_t cluster_id = 0;
  size_t max_item_bytes = 1u << 20;          // one item's value (bigger: InvalidArgument)
  size_t max_ops_per_txn = 1024;             // writes in one transaction
  size_t max_open_txns = 1024;               // Begin() beyond: ResourceExhausted
  size_t max_pending_ops = 65536;            // issued, not completed: ResourceExhausted
  size_t snapshot_chunk_bytes = 256u << 10;  // state transfer chunk
  // Snapshot chunks a donor encodes at the sync point; after that, one more each time the first
  // stale member acknowledges one (DirectSendDelivered), so no input encodes more than a chunk.
  // 0: every chunk at the sync point (the whole state in one input).
  size_t snapshot_chunks_in_flight = 4;
  size_t max_buffered_while_catching_up = 1u << 16;  // deliveries held until the snapshot lands
  size_t max_lock_waiters = 64;
  // Re-sends after DirectSendFailed, per view: acks (and, for a failure that does not name its
  // message, the whole snapshot) this many times; a failed snapshot chunk is re-sent alone, up
  // to this many times the snapshot's chunk count.
  size_t max_resends_per_view = 64;
  // Group commit: PollPersist hands out no new batch while this many are at the Storage seam
  // (0: no limit, a batch after every input). Changes made meanwhile go into the next batch, so
  // a busy node fsyncs, copies and acknowledges once per disk round trip rather than once per
  // update. The host must drain PollPersist after HandlePersisted (it drains after every input).
  size_t max_persists_in_flight = 0;
};

// What a Storage persist writes: the items changed since the previous persist (nullopt =
// deleted) and the state's meta fields. `replace_all`: drop every stored item first (a snapshot).
// Entries apply in order; an id may appear twice (a snapshot's item, then its change applied
// after the snapshot in the same batch), and the later entry wins.
struct PersistBatch {
  uint64_t ticket = 0;
  bool replace_all = false;
  std::vector<std::pair<ItemId, std::optional<Item>>> items;
  GdmState meta;  // index, digest, epoch, leader, last_primary (items left empty)
  friend bool operator==(const PersistBatch&, const PersistBatch&) = default;
};

}  // namespace rain::membership
