// Wire format of the GDM's messages, carried inside GCM multicasts and point-to-point sends
// (byte layout in docs/gdm.md "Wire format"; DESIGN.md §3 rule 2).
//
// Every message starts with a 16-byte header, as the GCM's:
//   u8 version (=1) | u8 type | u16 flags (=0) | u64 cluster_id | u32 crc32c(body)
// then the body, little-endian, field by field. Decoders bound every count and length and
// return Corruption (FailedPrecondition for another cluster's message), never crash.
// Items are encoded the same way in messages, snapshots and on disk (EncodeItem).
#pragma once

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "rain/core/codec.h"
#include "rain/core/result.h"
#include "rain/membership/gdm_types.h"

namespace rain::membership {

inline constexpr uint8_t kGdmWireVersion = 1;
inline constexpr size_t kGdmHeaderBytes = 16;
inline constexpr size_t kGdmWireMaxOps = 1u << 16;
inline constexpr size_t kGdmWireMaxBytes = 64u << 20;
inline constexpr size_t kGdmWireMaxWaiters = 1024;

enum class GdmMsgType : uint8_t { kCommit = 1, kSummary = 2, kSnapshotChunk = 3, kDurableAck = 4 };

enum class OpKind : uint8_t {
  kCreate = 1,       // item, kind, bytes (AlreadyExists if present)
  kDelete = 2,       // item (NotFound if absent)
  kWrite = 3,        // item, bytes: replaces the whole value
  kWriteAt = 4,      // item, offset, bytes: offset <= size, extends the value
  kAllocId = 5,      // nothing: allocates kAutoIdBit | index
  kLockAcquire = 6,  // item: grant if free, else queue
  kLockRelease = 7,  // item: the sender must hold or wait; hands to the next waiter
};

struct ItemOp {
  OpKind kind = OpKind::kWrite;
  ItemId item = 0;
  ItemKind item_kind = ItemKind::kData;  // kCreate only
  uint64_t offset = 0;                   // kWriteAt only
  std::vector<uint8_t> bytes;
  friend bool operator==(const ItemOp&, const ItemOp&) = default;
};

// One command (a single write or a whole transaction): applied all or nothing.
struct CommitMsg {
  NodeId origin = kNoNode;  // the sender (makes every commit's bytes unique)
  OpId op = 0;              // the sender's handle
  uint64_t fence = 0;       // election epoch the sender acts under (0: no fencing)
  uint64_t lamport = 0;     // the sender's Lamport clock when issuing
  std::vector<ItemOp> ops;
  friend bool operator==(const CommitMsg&, const CommitMsg&) = default;
};
struct SummaryMsg {
  NodeId origin = kNoNode;
  ViewId view;
  ViewId last_primary;
  uint64_t index = 0;
  uint64_t digest = 0;
  friend bool operator==(const SummaryMsg&, const SummaryMsg&) = default;
};
struct SnapshotChunkMsg {
  ViewId view;
  uint64_t index = 0;  // of the snapshot
  uint32_t chunk = 0;
  uint32_t count = 0;
  std::vector<uint8_t> bytes;
  friend bool operator==(const SnapshotChunkMsg&, const SnapshotChunkMsg&) = default;
};
struct DurableAckMsg {
  ViewId view;
  uint64_t index = 0;
  friend bool operator==(const DurableAckMsg&, const DurableAckMsg&) = default;
};

using GdmMessage = std::variant<CommitMsg, SummaryMsg, SnapshotChunkMsg, DurableAckMsg>;

std::vector<uint8_t> EncodeGdm(uint64_t cluster_id, const GdmMessage& m);
Result<GdmMessage> DecodeGdm(uint64_t cluster_id, std::span<const uint8_t> bytes);

// A Commit of exactly one whole-value write (OpKind::kWrite), decoded without copying its value:
// `bytes` points into the decoded buffer, which must outlive the view. Most commits are one
// write; through this view the GDM copies the value once, from the delivered payload into the
// item (docs/gdm.md "Applying a commit").
struct SingleWriteView {
  NodeId origin = kNoNode;
  OpId op = 0;
  uint64_t fence = 0;
  uint64_t lamport = 0;
  ItemId item = 0;
  std::span<const uint8_t> bytes;
  // The same commit, owning its value (for the general apply path).
  CommitMsg ToCommit() const;
};
using GdmMessageView = std::variant<SingleWriteView, GdmMessage>;
// Checks and decodes `bytes` as DecodeGdm does (same errors), except that a single whole-value
// write comes back as a SingleWriteView into `bytes`.
Result<GdmMessageView> DecodeGdmView(uint64_t cluster_id, std::span<const uint8_t> bytes);
// The header's checksum (crc32c of the body) of a message that decoded ok: the GDM digests
// commits by it, so the payload is not hashed twice.
uint32_t GdmBodyCrc(std::span<const uint8_t> bytes);

// Item and whole-state encodings (snapshots and Storage values).
void EncodeItem(Writer& w, ItemId id, const Item& item);
bool DecodeItem(Reader& r, ItemId& id, Item& item);  // false: r failed
std::vector<uint8_t> EncodeState(const GdmState& s);
Result<GdmState> DecodeState(std::span<const uint8_t> bytes);
// A state transfer's SnapshotChunk frames (view `view`, snapshot index s.index): the items in
// ascending id order, cut at item boundaries once a chunk's items reach `chunk_bytes` (a larger
// item is a chunk of its own). Each chunk's bytes are a whole State encoding (s's meta fields
// and that chunk's items), so a receiver decodes and installs every chunk as it arrives
// (docs/gdm.md "State transfer"). Never empty: an empty state is one chunk with no items.
std::vector<std::vector<uint8_t>> EncodeSnapshotChunks(uint64_t cluster_id, const ViewId& view,
                                                       const GdmState& s, size_t chunk_bytes);
// The pieces of EncodeSnapshotChunks, for a donor that encodes its chunks one at a time:
// an item's record size in a State encoding; where each chunk's items begin (given every item's
// record size in id order; the last entry is the item count); and one chunk's frame, whose
// State carries `meta`'s fields (not its items) and `items` (ascending ids).
size_t EncodedItemBytes(const Item& item);
std::vector<size_t> CutSnapshotChunks(std::span<const size_t> item_bytes, size_t chunk_bytes);
std::vector<uint8_t> EncodeSnapshotChunk(uint64_t cluster_id, const ViewId& view,
                                         const GdmState& meta, uint32_t chunk, uint32_t count,
                                         std::span<const std::pair<ItemId, const Item*>> items);
void EncodeViewId(Writer& w, const ViewId& v);
ViewId DecodeViewId(Reader& r);

}  // namespace rain::membership
