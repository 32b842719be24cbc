// The GDM journal: how a member makes PersistBatches durable with one append and one fdatasync,
// and checkpoints their net effect into RocksDB later (docs/gdm.md §5 "Storage").
//
// Why: one synced RocksDB WriteBatch per group cost a skip-list insert and a software CRC32C
// (the Debian build's Slow_CRC32) per 1 KiB update, half of all CPU at the maximum update rate
// (docs/benchmarks.md "The GDM journal"). A journal record costs a copy and a hardware CRC32C,
// and the checkpoint writes each item once however often it changed (10,000 items take ~60,000
// updates per 32 MB journal at the seed load).
//
// A journal file is records back to back:
//   u32 payload_bytes | u32 crc32c(payload) | payload
// payload (version 1):
//   u8 version | u32 batch_count (>= 1) | batch_count x (
//     u64 ticket | u8 replace_all (0|1) | u32 op_count | op_count x (
//       u8 present (1: EncodeItem follows | 0: u64 id of a deleted item) ) |
//     u32 meta_bytes | EncodeState(meta) with no items )
// One record per group of batches the storage thread writes; the file is only appended to, so
// only its last record can be torn by a crash. This file is the pure part (encode, scan, fold),
// fuzzed by fuzz_gdm_journal; the files and the checkpoint are RocksDbGdmStorage's.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "rain/membership/gdm_types.h"

namespace rain::membership {

inline constexpr uint8_t kJournalVersion = 1;
inline constexpr size_t kJournalRecordHeaderBytes = 8;

// One record holding `batches` (in order), header included.
std::vector<uint8_t> EncodeJournalRecord(std::span<const PersistBatch> batches);

// How a scan of a journal file ended.
enum class JournalEnd : uint8_t {
  kClean,    // every byte belongs to a good record
  kTorn,     // the bytes from `valid_bytes` on are an incomplete or mis-checksummed record: what
             // a crash during the last append leaves (fine at the end of the newest file only)
  kCorrupt,  // a record's checksum holds but its payload does not decode: never a crash's doing
};

struct JournalScan {
  std::vector<PersistBatch> batches;  // of the good records, in order
  size_t valid_bytes = 0;             // the good records' length: where the next append goes
  JournalEnd end = JournalEnd::kClean;
  std::string why;  // for kTorn / kCorrupt: what was wrong, at which offset
};

// Decodes the records of one journal file, stopping at the first bad one. Never fails otherwise.
JournalScan ScanJournal(std::span<const uint8_t> file);

// The net effect of a run of batches: what a checkpoint writes. Adding a batch keeps only each
// item's newest value; a replace_all batch forgets the items added before it.
struct JournalDelta {
  bool replace_all = false;  // the store's items are replaced by `items`' values
  std::unordered_map<ItemId, std::optional<Item>> items;  // newest value; nullopt: deleted
  std::optional<GdmState> meta;                           // the newest meta (no items)
  uint64_t batches = 0;

  void Add(PersistBatch&& batch);
  // Applies the delta on top of `state` (a state loaded from an older checkpoint).
  void ApplyTo(GdmState& state) const;
  bool empty() const { return batches == 0; }
};

}  // namespace rain::membership
