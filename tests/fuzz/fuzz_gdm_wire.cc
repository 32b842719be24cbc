// Fuzzes the GDM wire decoders (rain/membership/gdm_wire.h, docs/gdm.md "Wire format"): the
// message decoder, the zero-copy view decoder of the apply path, and the state decoder used for
// snapshots and storage. Properties: no crash or sanitizer report on any input, whatever is
// accepted survives a round trip, and the view decoder accepts exactly what DecodeGdm accepts and
// means the same message by it.
// The checksum would make almost every input fail early, so the first byte picks the mode:
// even = a raw message (checksum and all), odd = the body of a message of type (byte 1), framed
// with a valid header by the fuzzer, or (type 0) a raw state, which is also cut into snapshot
// chunks that must decode back to it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>
#include <vector>

#include "rain/core/crc32c.h"
#include "rain/membership/gdm_wire.h"

namespace {
constexpr uint64_t kCluster = 42;

void CheckMessage(std::span<const uint8_t> bytes) {
  auto m = rain::membership::DecodeGdm(kCluster, bytes);
  auto view = rain::membership::DecodeGdmView(kCluster, bytes);
  if (!m.ok()) {
    if (view.ok()) std::abort();  // the fast path must not accept what the full decoder refuses
    return;
  }
  if (!view.ok()) std::abort();
  if (auto* w = std::get_if<rain::membership::SingleWriteView>(&*view)) {
    if (!(rain::membership::GdmMessage(w->ToCommit()) == *m)) std::abort();
  } else if (!(std::get<rain::membership::GdmMessage>(*view) == *m)) {
    std::abort();
  }
  auto again = rain::membership::DecodeGdm(kCluster, rain::membership::EncodeGdm(kCluster, *m));
  if (!again.ok() || !(*again == *m)) std::abort();
}

void CheckState(std::span<const uint8_t> bytes) {
  auto s = rain::membership::DecodeState(bytes);
  if (!s.ok()) return;
  auto again = rain::membership::DecodeState(rain::membership::EncodeState(*s));
  if (!again.ok() || !(*again == *s)) std::abort();
  // A state transfer of it: every chunk is a message and a State of its own, the chunks hold
  // disjoint items, and together they are the state.
  const rain::membership::ViewId view{1, rain::NodeId{1}, 2, rain::NodeId{1}};
  auto chunks = rain::membership::EncodeSnapshotChunks(kCluster, view, *s, 64);
  rain::membership::GdmState merged = *s;
  merged.items.clear();
  for (uint32_t i = 0; i < chunks.size(); ++i) {
    auto m = rain::membership::DecodeGdm(kCluster, chunks[i]);
    if (!m.ok()) std::abort();
    const auto* c = std::get_if<rain::membership::SnapshotChunkMsg>(&*m);
    if (c == nullptr || c->chunk != i || c->count != chunks.size() || c->index != s->index)
      std::abort();
    auto part = rain::membership::DecodeState(c->bytes);
    if (!part.ok()) std::abort();
    for (auto& [id, item] : part->items) {
      if (!merged.items.emplace(id, std::move(item)).second) std::abort();
    }
  }
  if (!(merged == *s)) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  if (size < 2 || (data[0] & 1) == 0) {
    CheckMessage(in);
    return 0;
  }
  std::span<const uint8_t> body = in.subspan(2);
  if (data[1] == 0) {
    CheckState(body);
    return 0;
  }
  std::vector<uint8_t> framed = {rain::membership::kGdmWireVersion, data[1], 0, 0};
  for (int i = 0; i < 8; ++i) framed.push_back(static_cast<uint8_t>(kCluster >> (8 * i)));
  uint32_t crc = rain::Crc32c(body);
  for (int i = 0; i < 4; ++i) framed.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  framed.insert(framed.end(), body.begin(), body.end());
  CheckMessage(framed);
  return 0;
}
