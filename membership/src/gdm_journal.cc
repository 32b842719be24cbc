// The GDM journal's record codec and delta (gdm_journal.h).
#include "rain/membership/gdm_journal.h"

#include <string>

#include "rain/core/codec.h"
#include "rain/core/crc32c.h"
#include "rain/membership/gdm_wire.h"

namespace rain::membership {
namespace {

// Decodes one payload; false (with r failed) if it is not a version-1 payload.
bool DecodePayload(Reader& r, std::vector<PersistBatch>& out) {
  if (r.U8("version") != kJournalVersion) {
    r.Expect(false, "unknown journal version");
    return false;
  }
  const uint32_t batches = r.U32("batch_count");
  // Every batch takes more than 17 bytes (ticket, flag, op count, meta length, then the meta),
  // so a larger count is a lie, refused before anything is decoded.
  r.Expect(batches >= 1 && batches <= r.remaining() / 17, "batch_count out of range");
  for (uint32_t b = 0; b < batches && r.ok(); ++b) {
    PersistBatch batch;
    batch.ticket = r.U64("ticket");
    const uint8_t replace_all = r.U8("replace_all");
    r.Expect(replace_all <= 1, "replace_all out of range");
    batch.replace_all = replace_all == 1;
    const uint32_t ops = r.U32("op_count");
    r.Expect(ops <= r.remaining() / 9, "op_count out of range");
    for (uint32_t i = 0; i < ops && r.ok(); ++i) {
      const uint8_t present = r.U8("present");
      if (present == 1) {
        ItemId id = 0;
        Item item;
        if (!DecodeItem(r, id, item)) break;
        batch.items.emplace_back(id, std::move(item));
      } else {
        r.Expect(present == 0, "present out of range");
        batch.items.emplace_back(r.U64("deleted id"), std::nullopt);
      }
    }
    const uint32_t meta_bytes = r.U32("meta_bytes");
    std::span<const uint8_t> meta = r.Bytes(meta_bytes, "meta");
    if (!r.ok()) break;
    Result<GdmState> state = DecodeState(meta);
    if (!state.ok() || !state->items.empty()) {
      r.Expect(false, "bad meta");
      break;
    }
    batch.meta = std::move(*state);
    out.push_back(std::move(batch));
  }
  r.Expect(r.remaining() == 0, "trailing bytes in payload");
  return r.ok();
}

}  // namespace

std::vector<uint8_t> EncodeJournalRecord(std::span<const PersistBatch> batches) {
  size_t reserve = kJournalRecordHeaderBytes + 5;
  for (const PersistBatch& b : batches) {
    reserve += 80;
    for (const auto& entry : b.items)
      reserve += 40 + (entry.second ? entry.second->bytes.size() : 0);
  }
  Writer w(reserve);
  w.U32(0);  // payload_bytes and crc32c, patched below
  w.U32(0);
  w.U8(kJournalVersion);
  w.U32(static_cast<uint32_t>(batches.size()));
  for (const PersistBatch& b : batches) {
    w.U64(b.ticket);
    w.U8(b.replace_all ? 1 : 0);
    w.U32(static_cast<uint32_t>(b.items.size()));
    for (const auto& [id, item] : b.items) {
      if (item) {
        w.U8(1);
        EncodeItem(w, id, *item);
      } else {
        w.U8(0);
        w.U64(id);
      }
    }
    std::vector<uint8_t> meta = EncodeState(b.meta);
    w.U32(static_cast<uint32_t>(meta.size()));
    w.Bytes(meta);
  }
  const size_t payload_bytes = w.size() - kJournalRecordHeaderBytes;
  w.PatchU32(0, static_cast<uint32_t>(payload_bytes));
  w.PatchU32(4, Crc32c(std::span<const uint8_t>(w.bytes()).subspan(kJournalRecordHeaderBytes)));
  return w.Take();
}

JournalScan ScanJournal(std::span<const uint8_t> file) {
  JournalScan scan;
  size_t at = 0;
  // Ends the scan at the record starting at `at`; the message is built only here.
  auto stop = [&](JournalEnd end, const std::string& why) {
    scan.end = end;
    scan.why = why + " at offset " + std::to_string(at);
  };
  while (at < file.size()) {
    if (file.size() - at < kJournalRecordHeaderBytes) {
      stop(JournalEnd::kTorn, "incomplete record header");
      break;
    }
    Reader header(file.subspan(at, kJournalRecordHeaderBytes));
    const uint32_t len = header.U32("payload_bytes");
    const uint32_t crc = header.U32("crc32c");
    if (len > file.size() - at - kJournalRecordHeaderBytes) {
      stop(JournalEnd::kTorn, "record runs past the end of the file");
      break;
    }
    std::span<const uint8_t> payload = file.subspan(at + kJournalRecordHeaderBytes, len);
    if (len == 0 || Crc32c(payload) != crc) {
      stop(JournalEnd::kTorn, "record checksum mismatch");
      break;
    }
    Reader r(payload);
    std::vector<PersistBatch> batches;
    if (!DecodePayload(r, batches)) {
      stop(JournalEnd::kCorrupt, r.status().message());
      break;
    }
    for (PersistBatch& b : batches) scan.batches.push_back(std::move(b));
    at += kJournalRecordHeaderBytes + len;
    scan.valid_bytes = at;
  }
  return scan;
}

void JournalDelta::Add(PersistBatch&& batch) {
  if (batch.replace_all) {
    replace_all = true;
    items.clear();
  }
  for (auto& [id, item] : batch.items) items.insert_or_assign(id, std::move(item));
  meta = std::move(batch.meta);
  ++batches;
}

void JournalDelta::ApplyTo(GdmState& state) const {
  if (replace_all) state.items.clear();
  for (const auto& [id, item] : items) {
    if (item) {
      state.items.insert_or_assign(id, *item);
    } else {
      state.items.erase(id);
    }
  }
  if (meta) {
    auto kept = std::move(state.items);
    state = *meta;
    state.items = std::move(kept);
  }
}

}  // namespace rain::membership
