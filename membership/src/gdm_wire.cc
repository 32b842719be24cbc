// Encoders and decoders of the GDM messages and of items and states (gdm_wire.h). Byte layouts
// are in docs/gdm.md "Wire format"; keep the two in step.
#include "rain/membership/gdm_wire.h"

#include <algorithm>
#include <string>

#include "frame.h"
#include "rain/core/crc32c.h"

static_assert(rain::membership::kGdmHeaderBytes == rain::membership::internal::kFrameHeaderBytes);

namespace rain::membership {
namespace {

// Reader::Expect takes a std::string, built (and, past 15 characters, heap-allocated) on every
// call; the decoders run per delivered message, so they build the message only on failure.
void Check(Reader& r, bool cond, const char* message) {
  if (!cond) r.Expect(false, message);
}

void PutBytes(Writer& w, const std::vector<uint8_t>& b) {
  w.U32(static_cast<uint32_t>(b.size()));
  w.Bytes(b);
}
std::vector<uint8_t> GetBytes(Reader& r, const char* field) {
  uint32_t n = r.U32(field);
  if (n > kGdmWireMaxBytes) r.Expect(false, std::string(field) + ": too long");
  if (!r.ok()) return {};
  auto s = r.Bytes(n, field);
  return std::vector<uint8_t>(s.begin(), s.end());
}

void PutCommit(Writer& w, const CommitMsg& m) {
  w.U32(ToInt(m.origin));
  w.U64(m.op);
  w.U64(m.fence);
  w.U64(m.lamport);
  w.U32(static_cast<uint32_t>(m.ops.size()));
  for (const ItemOp& o : m.ops) {
    w.U8(static_cast<uint8_t>(o.kind));
    w.U64(o.item);
    w.U8(static_cast<uint8_t>(o.item_kind));
    w.U64(o.offset);
    PutBytes(w, o.bytes);
  }
}
CommitMsg GetCommit(Reader& r) {
  CommitMsg m;
  m.origin = NodeId{r.U32("origin")};
  m.op = r.U64("op");
  m.fence = r.U64("fence");
  m.lamport = r.U64("lamport");
  uint32_t n = r.U32("op_count");
  Check(r, n >= 1 && n <= kGdmWireMaxOps && n <= r.remaining() / 22, "op_count out of range");
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    ItemOp o;
    uint8_t kind = r.U8("op.kind");
    Check(r, kind >= 1 && kind <= 7, "op.kind out of range");
    o.kind = static_cast<OpKind>(kind);
    o.item = r.U64("op.item");
    uint8_t ik = r.U8("op.item_kind");
    Check(r, ik == 1 || ik == 2, "op.item_kind out of range");
    o.item_kind = static_cast<ItemKind>(ik);
    o.offset = r.U64("op.offset");
    o.bytes = GetBytes(r, "op.bytes");
    m.ops.push_back(std::move(o));
  }
  return m;
}

}  // namespace

void EncodeViewId(Writer& w, const ViewId& v) {
  w.U64(v.epoch);
  w.U32(ToInt(v.ringer));
  w.U64(v.seq);
  w.U32(ToInt(v.creator));
}
ViewId DecodeViewId(Reader& r) {
  ViewId v;
  v.epoch = r.U64("view.epoch");
  v.ringer = NodeId{r.U32("view.ringer")};
  v.seq = r.U64("view.seq");
  v.creator = NodeId{r.U32("view.creator")};
  return v;
}

void EncodeItem(Writer& w, ItemId id, const Item& item) {
  w.U64(id);
  w.U8(static_cast<uint8_t>(item.kind));
  w.U64(item.version);
  w.U32(ToInt(item.holder));
  w.U16(static_cast<uint16_t>(item.waiters.size()));
  for (NodeId n : item.waiters) w.U32(ToInt(n));
  PutBytes(w, item.bytes);
}

bool DecodeItem(Reader& r, ItemId& id, Item& item) {
  id = r.U64("item.id");
  uint8_t kind = r.U8("item.kind");
  Check(r, kind == 1 || kind == 2, "item.kind out of range");
  item.kind = static_cast<ItemKind>(kind);
  item.version = r.U64("item.version");
  item.holder = NodeId{r.U32("item.holder")};
  uint16_t n = r.U16("item.waiters");
  Check(r, n <= kGdmWireMaxWaiters && n <= r.remaining() / 4, "item.waiters: too many");
  item.waiters.clear();
  for (uint16_t i = 0; i < n && r.ok(); ++i) item.waiters.push_back(NodeId{r.U32("item.waiter")});
  item.bytes = GetBytes(r, "item.bytes");
  return r.ok();
}

namespace {

// The State encoding's fields before the items, with `count` items to follow.
void PutStateHeader(Writer& w, const GdmState& s, uint64_t count) {
  w.U64(s.index);
  w.U64(s.digest);
  w.U64(s.epoch);
  w.U32(ToInt(s.leader));
  EncodeViewId(w, s.last_primary);
  w.U64(count);
}
constexpr size_t kStateHeaderBytes = 8 + 8 + 8 + 4 + 24 + 8;
// SnapshotChunk body before its Bytes: ViewId, index, chunk, count, then the u32 length.
constexpr size_t kChunkFieldsBytes = 24 + 8 + 4 + 4 + 4;

// The state's items in ascending id order (encodings are deterministic; the map is not).
std::vector<std::pair<ItemId, const Item*>> SortedItems(const GdmState& s) {
  std::vector<std::pair<ItemId, const Item*>> items;
  items.reserve(s.items.size());
  for (const auto& [id, item] : s.items) items.emplace_back(id, &item);
  std::sort(items.begin(), items.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return items;
}

}  // namespace

size_t EncodedItemBytes(const Item& item) {
  return 8 + 1 + 8 + 4 + 2 + 4 * item.waiters.size() + 4 + item.bytes.size();
}

std::vector<uint8_t> EncodeState(const GdmState& s) {
  Writer w;
  PutStateHeader(w, s, s.items.size());
  for (const auto& [id, item] : SortedItems(s)) EncodeItem(w, id, *item);
  return w.Take();
}

std::vector<size_t> CutSnapshotChunks(std::span<const size_t> item_bytes, size_t chunk_bytes) {
  // A chunk closes once its items reach chunk_bytes (an item larger than that is a chunk of its
  // own); an empty state is one chunk with no items.
  std::vector<size_t> begin = {0};
  size_t bytes = 0;
  for (size_t i = 0; i < item_bytes.size(); ++i) {
    if (bytes > 0 && bytes + item_bytes[i] > chunk_bytes) {
      begin.push_back(i);
      bytes = 0;
    }
    bytes += item_bytes[i];
  }
  begin.push_back(item_bytes.size());
  return begin;
}

std::vector<uint8_t> EncodeSnapshotChunk(uint64_t cluster_id, const ViewId& view,
                                         const GdmState& meta, uint32_t chunk, uint32_t count,
                                         std::span<const std::pair<ItemId, const Item*>> items) {
  size_t state_bytes = kStateHeaderBytes;
  for (const auto& [id, item] : items) state_bytes += EncodedItemBytes(*item);
  // One pass straight into the frame: no whole-state buffer, no copy of it per chunk.
  Writer w(kGdmHeaderBytes + kChunkFieldsBytes + state_bytes);
  internal::BeginFrame(w, kGdmWireVersion, static_cast<uint8_t>(GdmMsgType::kSnapshotChunk),
                       cluster_id);
  EncodeViewId(w, view);
  w.U64(meta.index);
  w.U32(chunk);
  w.U32(count);
  w.U32(static_cast<uint32_t>(state_bytes));
  PutStateHeader(w, meta, items.size());
  for (const auto& [id, item] : items) EncodeItem(w, id, *item);
  return internal::SealFrame(w);
}

std::vector<std::vector<uint8_t>> EncodeSnapshotChunks(uint64_t cluster_id, const ViewId& view,
                                                       const GdmState& s, size_t chunk_bytes) {
  const std::vector<std::pair<ItemId, const Item*>> items = SortedItems(s);
  std::vector<size_t> sizes;
  sizes.reserve(items.size());
  for (const auto& [id, item] : items) sizes.push_back(EncodedItemBytes(*item));
  const std::vector<size_t> begin = CutSnapshotChunks(sizes, chunk_bytes);
  const uint32_t count = static_cast<uint32_t>(begin.size() - 1);
  std::vector<std::vector<uint8_t>> chunks;
  chunks.reserve(count);
  for (uint32_t c = 0; c < count; ++c) {
    chunks.push_back(
        EncodeSnapshotChunk(cluster_id, view, s, c, count,
                            std::span(items).subspan(begin[c], begin[c + 1] - begin[c])));
  }
  return chunks;
}

Result<GdmState> DecodeState(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  GdmState s;
  s.index = r.U64("index");
  s.digest = r.U64("digest");
  s.epoch = r.U64("epoch");
  s.leader = NodeId{r.U32("leader")};
  s.last_primary = DecodeViewId(r);
  uint64_t n = r.U64("item_count");
  Check(r, n <= r.remaining() / 27, "item_count out of range");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    ItemId id = 0;
    Item item;
    if (!DecodeItem(r, id, item)) break;
    Check(r, s.items.emplace(id, std::move(item)).second, "duplicate item");
  }
  Check(r, r.remaining() == 0, "trailing bytes");
  if (!r.ok()) return r.status();
  return s;
}

std::vector<uint8_t> EncodeGdm(uint64_t cluster_id, const GdmMessage& m) {
  Writer w(64);
  internal::BeginFrame(w, kGdmWireVersion, static_cast<uint8_t>(m.index() + 1), cluster_id);
  if (auto* c = std::get_if<CommitMsg>(&m)) {
    PutCommit(w, *c);
  } else if (auto* s = std::get_if<SummaryMsg>(&m)) {
    w.U32(ToInt(s->origin));
    EncodeViewId(w, s->view);
    EncodeViewId(w, s->last_primary);
    w.U64(s->index);
    w.U64(s->digest);
  } else if (auto* k = std::get_if<SnapshotChunkMsg>(&m)) {
    EncodeViewId(w, k->view);
    w.U64(k->index);
    w.U32(k->chunk);
    w.U32(k->count);
    PutBytes(w, k->bytes);
  } else if (auto* a = std::get_if<DurableAckMsg>(&m)) {
    EncodeViewId(w, a->view);
    w.U64(a->index);
  }
  return internal::SealFrame(w);
}

namespace {

// The body of a message whose header `r` has read and checked (the frame's type byte `type`).
Result<GdmMessage> DecodeBody(Reader& r, uint8_t type) {
  GdmMessage m;
  switch (static_cast<GdmMsgType>(type)) {
    case GdmMsgType::kCommit:
      m = GetCommit(r);
      break;
    case GdmMsgType::kSummary: {
      SummaryMsg s;
      s.origin = NodeId{r.U32("origin")};
      s.view = DecodeViewId(r);
      s.last_primary = DecodeViewId(r);
      s.index = r.U64("index");
      s.digest = r.U64("digest");
      m = s;
      break;
    }
    case GdmMsgType::kSnapshotChunk: {
      SnapshotChunkMsg k;
      k.view = DecodeViewId(r);
      k.index = r.U64("index");
      k.chunk = r.U32("chunk");
      k.count = r.U32("count");
      Check(r, k.chunk < k.count, "chunk out of range");
      k.bytes = GetBytes(r, "chunk.bytes");
      m = std::move(k);
      break;
    }
    case GdmMsgType::kDurableAck: {
      DurableAckMsg a;
      a.view = DecodeViewId(r);
      a.index = r.U64("index");
      m = a;
      break;
    }
    default:
      return CorruptionError("gdm: unknown message type " + std::to_string(type));
  }
  Check(r, r.remaining() == 0, "trailing bytes");
  if (!r.ok()) return r.status();
  return m;
}

// Little-endian field at `p` (compiles to one load).
template <typename T>
T LoadLe(const uint8_t* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(T{p[i]} << (8 * i));
  return v;
}

// Where the fields of a one-op Commit sit (the header, then PutCommit's layout).
constexpr size_t kOriginAt = kGdmHeaderBytes, kOpAt = kOriginAt + 4, kFenceAt = kOpAt + 8,
                 kLamportAt = kFenceAt + 8, kCountAt = kLamportAt + 8, kKindAt = kCountAt + 4,
                 kItemAt = kKindAt + 1, kItemKindAt = kItemAt + 8, kOffsetAt = kItemKindAt + 1,
                 kLengthAt = kOffsetAt + 8, kValueAt = kLengthAt + 4;

// A well-formed Commit of exactly one kWrite op, read by fixed offsets (the Reader's checked
// field-by-field calls were a quarter of the apply cost) and without copying the value. False for
// anything else — another message, a transaction, a malformed or damaged frame — which the full
// decoder then decodes or refuses with its error.
bool PeekSingleWrite(uint64_t cluster_id, std::span<const uint8_t> bytes, SingleWriteView& v) {
  if (bytes.size() < kValueAt) return false;
  const uint8_t* p = bytes.data();
  if (p[0] != kGdmWireVersion || p[1] != static_cast<uint8_t>(GdmMsgType::kCommit) ||
      LoadLe<uint16_t>(p + 2) != 0 || LoadLe<uint64_t>(p + 4) != cluster_id)
    return false;
  // Only the canonical encoding (EncodeGdm's: item_kind kData, offset 0, both unused by a kWrite)
  // takes the fast path, so the view means exactly what the full decoder returns; any other
  // spelling of the same write is decoded, and applied identically, by the full decoder.
  if (LoadLe<uint32_t>(p + kCountAt) != 1 || p[kKindAt] != static_cast<uint8_t>(OpKind::kWrite) ||
      p[kItemKindAt] != static_cast<uint8_t>(ItemKind::kData) ||
      LoadLe<uint64_t>(p + kOffsetAt) != 0)
    return false;
  uint32_t n = LoadLe<uint32_t>(p + kLengthAt);
  if (n > kGdmWireMaxBytes || bytes.size() - kValueAt != n) return false;
  if (Crc32c(bytes.subspan(kGdmHeaderBytes)) != LoadLe<uint32_t>(p + 12)) return false;
  v.origin = NodeId{LoadLe<uint32_t>(p + kOriginAt)};
  v.op = LoadLe<uint64_t>(p + kOpAt);
  v.fence = LoadLe<uint64_t>(p + kFenceAt);
  v.lamport = LoadLe<uint64_t>(p + kLamportAt);
  v.item = LoadLe<uint64_t>(p + kItemAt);
  v.bytes = bytes.subspan(kValueAt);
  return true;
}

}  // namespace

Result<GdmMessage> DecodeGdm(uint64_t cluster_id, std::span<const uint8_t> bytes) {
  Reader r(bytes);
  RAIN_ASSIGN_OR_RETURN(uint8_t type,
                        internal::OpenFrame(r, bytes, kGdmWireVersion, cluster_id, "gdm"));
  return DecodeBody(r, type);
}

// g++ 12 reports the nested variant's vectors as maybe-uninitialized on the moves here (the
// false positive gdm.cc's PollGcmCommand works around too).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
Result<GdmMessageView> DecodeGdmView(uint64_t cluster_id, std::span<const uint8_t> bytes) {
  SingleWriteView v;
  if (PeekSingleWrite(cluster_id, bytes, v)) return GdmMessageView(v);
  RAIN_ASSIGN_OR_RETURN(GdmMessage m, DecodeGdm(cluster_id, bytes));
  return GdmMessageView(std::move(m));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

uint32_t GdmBodyCrc(std::span<const uint8_t> bytes) {
  uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) crc |= uint32_t{bytes[12 + static_cast<size_t>(i)]} << (8 * i);
  return crc;
}

CommitMsg SingleWriteView::ToCommit() const {
  return CommitMsg{
      .origin = origin,
      .op = op,
      .fence = fence,
      .lamport = lamport,
      .ops = {ItemOp{.kind = OpKind::kWrite, .item = item, .bytes = {bytes.begin(), bytes.end()}}}};
}

}  // namespace rain::membership
