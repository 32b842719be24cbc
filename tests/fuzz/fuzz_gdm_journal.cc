// Fuzzes the GDM journal's reader (rain/membership/gdm_journal.h): what raind reads back from
// its own disk at start, which a crash, a full disk or a bad sector can leave in any shape.
// Properties: no crash or sanitizer report on any input; the good prefix it reports is a whole
// number of records that scan clean on their own to the same batches; whatever it accepts
// survives a round trip through EncodeJournalRecord; folding it into a JournalDelta and
// applying that to a state does not crash.
// The checksum would make almost every input fail at once, so the first byte picks the mode:
// even = a raw file, odd = the rest is one record's payload, framed with a valid header by the
// fuzzer (so the payload decoder sees the bytes).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "rain/core/crc32c.h"
#include "rain/membership/gdm_journal.h"

namespace {

void CheckFile(std::span<const uint8_t> file) {
  using namespace rain::membership;
  JournalScan scan = ScanJournal(file);
  if (scan.valid_bytes > file.size()) std::abort();
  if ((scan.end == JournalEnd::kClean) != (scan.valid_bytes == file.size())) std::abort();
  if (scan.end != JournalEnd::kClean && scan.why.empty()) std::abort();
  JournalScan prefix = ScanJournal(file.first(scan.valid_bytes));
  if (prefix.end != JournalEnd::kClean || !(prefix.batches == scan.batches)) std::abort();
  if (!scan.batches.empty()) {
    std::vector<uint8_t> again = EncodeJournalRecord(scan.batches);
    JournalScan round = ScanJournal(again);
    if (round.end != JournalEnd::kClean || !(round.batches == scan.batches)) std::abort();
  }
  JournalDelta delta;
  for (PersistBatch& b : scan.batches) delta.Add(std::move(b));
  GdmState state;
  delta.ApplyTo(state);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> rest(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    CheckFile(rest);
    return 0;
  }
  std::vector<uint8_t> file(8);
  const uint32_t len = static_cast<uint32_t>(rest.size());
  const uint32_t crc = rain::Crc32c(rest);
  for (int i = 0; i < 4; ++i) {
    file[i] = static_cast<uint8_t>(len >> (8 * i));
    file[4 + i] = static_cast<uint8_t>(crc >> (8 * i));
  }
  file.insert(file.end(), rest.begin(), rest.end());
  CheckFile(file);
  return 0;
}
