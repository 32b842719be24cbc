// The GDM journal (gdm_journal.h) and the storage built on it (gdm_storage_rocksdb.h): records
// round-trip and torn tails are told from corruption; the store keeps every acknowledged batch
// across reopen, checkpoints (each item once) and crashes at the points that matter: a torn
// last append, a checkpoint whose journal file was not yet deleted, a bad older file.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "rain/core/crc32c.h"
#include "rain/membership/gdm_journal.h"
#include "rain/membership/gdm_storage_rocksdb.h"

namespace rain::membership::testing {
namespace {

namespace fs = std::filesystem;

const NodeId n1{1}, n2{2};

Item Data(uint64_t version, size_t bytes, uint8_t fill) {
  return Item{ItemKind::kData, version, std::vector<uint8_t>(bytes, fill), kNoNode, {}};
}

PersistBatch Batch(uint64_t ticket, std::vector<std::pair<ItemId, std::optional<Item>>> items,
                   bool replace_all = false) {
  PersistBatch b;
  b.ticket = ticket;
  b.replace_all = replace_all;
  b.items = std::move(items);
  b.meta.index = ticket;
  b.meta.epoch = 3;
  b.meta.leader = n1;
  return b;
}

// Applies `b` to `model` the way a store must.
void Model(GdmState& model, const PersistBatch& b) {
  if (b.replace_all) model.items.clear();
  for (const auto& [id, item] : b.items) {
    if (item) {
      model.items.insert_or_assign(id, *item);
    } else {
      model.items.erase(id);
    }
  }
  auto items = std::move(model.items);
  model = b.meta;
  model.items = std::move(items);
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/gdm-journal-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl), nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

std::vector<fs::path> JournalFiles(const std::string& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir + "/journal")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void WriteAll(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::unique_ptr<RocksDbGdmStorage> OpenOrDie(const std::string& dir,
                                             RocksDbGdmStorageOptions o = {}) {
  auto s = RocksDbGdmStorage::Open(dir, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

void ExpectState(RocksDbGdmStorage& storage, const GdmState& model) {
  auto loaded = storage.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->items.size(), model.items.size());
  EXPECT_TRUE(*loaded == model) << "index " << loaded->index << " vs " << model.index;
}

TEST(GdmJournal, RecordsRoundTripAndATornTailIsNotCorruption) {
  std::vector<PersistBatch> batches = {
      Batch(1, {{7, Data(1, 100, 7)}, {8, std::nullopt}}),
      Batch(2, {{9, Item{ItemKind::kLock, 2, {}, n2, {n1}}}}, true)};
  std::vector<uint8_t> file = EncodeJournalRecord(std::span(batches).subspan(0, 1));
  const size_t first = file.size();
  std::vector<uint8_t> second = EncodeJournalRecord(std::span(batches).subspan(1));
  file.insert(file.end(), second.begin(), second.end());

  JournalScan whole = ScanJournal(file);
  EXPECT_EQ(whole.end, JournalEnd::kClean) << whole.why;
  EXPECT_EQ(whole.valid_bytes, file.size());
  ASSERT_EQ(whole.batches.size(), 2u);
  EXPECT_TRUE(whole.batches[0] == batches[0]);
  EXPECT_TRUE(whole.batches[1] == batches[1]);

  // Every cut inside the second record is a torn tail that keeps the first record.
  for (size_t cut = first + 1; cut < file.size(); cut += 7) {
    JournalScan s = ScanJournal(std::span(file).first(cut));
    EXPECT_EQ(s.end, JournalEnd::kTorn) << cut;
    EXPECT_EQ(s.valid_bytes, first);
    EXPECT_EQ(s.batches.size(), 1u);
  }
  // A flipped payload byte fails the checksum (torn); a payload with a good checksum that does
  // not decode is corruption.
  std::vector<uint8_t> flipped = file;
  flipped[first + 20] ^= 1;
  EXPECT_EQ(ScanJournal(flipped).end, JournalEnd::kTorn);
  std::vector<uint8_t> bad = {1, 0, 0, 0, 0, 0, 0, 0, 9};  // version 9
  const uint32_t crc = Crc32c(std::span<const uint8_t>(bad).subspan(8));
  for (int i = 0; i < 4; ++i) bad[4 + i] = static_cast<uint8_t>(crc >> (8 * i));
  JournalScan c = ScanJournal(bad);
  EXPECT_EQ(c.end, JournalEnd::kCorrupt);
  EXPECT_NE(c.why.find("version"), std::string::npos) << c.why;
}

TEST(GdmJournal, DeltaKeepsTheNewestValueAndReplaceAllForgetsOlderItems) {
  JournalDelta d;
  d.Add(Batch(1, {{1, Data(1, 4, 1)}, {2, Data(1, 4, 2)}}));
  d.Add(Batch(2, {{1, Data(2, 4, 3)}, {2, std::nullopt}}));
  ASSERT_EQ(d.items.size(), 2u);
  EXPECT_EQ(d.items.at(1)->version, 2u);
  EXPECT_FALSE(d.items.at(2).has_value());
  d.Add(Batch(3, {{5, Data(3, 4, 5)}}, true));
  EXPECT_TRUE(d.replace_all);
  EXPECT_EQ(d.items.size(), 1u);
  GdmState s;
  s.items.emplace(99, Data(1, 1, 9));
  d.ApplyTo(s);
  EXPECT_EQ(s.items.size(), 1u);
  EXPECT_EQ(s.index, 3u);
}

TEST(GdmStorage, JournalOnlyWritesSurviveAReopen) {
  TempDir dir;
  GdmState model;
  {
    auto st = OpenOrDie(dir.path);
    for (uint64_t t = 1; t <= 20; ++t) {
      PersistBatch b = Batch(t, {{t % 7, Data(t, 1024, static_cast<uint8_t>(t))}});
      Model(model, b);
      ASSERT_TRUE(st->Apply(b).ok());
    }
    ExpectState(*st, model);
    EXPECT_EQ(st->Stats().checkpoints, 0u);
    EXPECT_EQ(st->Stats().journal_records, 20u);
  }
  auto st = OpenOrDie(dir.path);
  ExpectState(*st, model);
  // Open checkpointed the old file and deleted it; only the new, empty file is left.
  EXPECT_EQ(st->Stats().checkpoints, 1u);
  ASSERT_EQ(JournalFiles(dir.path).size(), 1u);
  EXPECT_EQ(fs::file_size(JournalFiles(dir.path)[0]), 0u);
}

TEST(GdmStorage, SmallJournalsCheckpointEachItemOnce) {
  TempDir dir;
  GdmState model;
  RocksDbGdmStorageOptions o;
  o.journal_bytes = 16 * 1024;
  {
    auto st = OpenOrDie(dir.path, o);
    for (uint64_t t = 1; t <= 300; ++t) {
      std::vector<PersistBatch> group;
      group.push_back(Batch(2 * t - 1, {{t % 10, Data(t, 1024, 1)}}));
      group.push_back(
          Batch(2 * t, {{100 + t % 5, Data(t, 512, 2)}, {t % 10 + 1, std::nullopt}}, t % 97 == 0));
      for (const PersistBatch& b : group) Model(model, b);
      ASSERT_TRUE(st->ApplyAll(group).ok());
      if (t % 50 == 0) ExpectState(*st, model);  // journal + checkpoint in flight + database
    }
    ASSERT_TRUE(st->WaitForCheckpoint().ok());
    const RocksDbGdmStorageStats stats = st->Stats();
    EXPECT_GE(stats.checkpoints, 3u);
    // 600 batches changed 16 ids; each checkpoint wrote each changed id once.
    EXPECT_LE(stats.checkpoint_items, stats.checkpoints * 16);
    ExpectState(*st, model);
    // Only the files not yet checkpointed are left.
    EXPECT_LE(JournalFiles(dir.path).size(), 2u);
  }
  auto st = OpenOrDie(dir.path, o);
  ExpectState(*st, model);
}

TEST(GdmStorage, ATornLastAppendIsDroppedAndEverythingBeforeItKept) {
  TempDir dir;
  GdmState model;
  {
    auto st = OpenOrDie(dir.path);
    for (uint64_t t = 1; t <= 3; ++t) {
      PersistBatch b = Batch(t, {{t, Data(t, 300, 1)}});
      Model(model, b);
      ASSERT_TRUE(st->Apply(b).ok());
    }
  }
  // A crash in the middle of the fourth append: half its record reached the file.
  ASSERT_EQ(JournalFiles(dir.path).size(), 1u);
  std::vector<PersistBatch> fourth = {Batch(4, {{4, Data(4, 300, 1)}})};
  std::vector<uint8_t> rec = EncodeJournalRecord(fourth);
  std::vector<uint8_t> bytes = ReadAll(JournalFiles(dir.path)[0]);
  bytes.insert(bytes.end(), rec.begin(), rec.begin() + static_cast<long>(rec.size() / 2));
  WriteAll(JournalFiles(dir.path)[0], bytes);
  auto st = OpenOrDie(dir.path);
  ExpectState(*st, model);
  // And the store goes on from there.
  PersistBatch b = Batch(5, {{5, Data(5, 10, 5)}});
  Model(model, b);
  ASSERT_TRUE(st->Apply(b).ok());
  ExpectState(*st, model);
}

TEST(GdmStorage, ReplayingAnAlreadyCheckpointedFileChangesNothing) {
  // A crash after a checkpoint's flush but before its journal file was deleted leaves that
  // file; the replay at the next Open must land on the same state.
  TempDir dir;
  GdmState model;
  fs::path saved = fs::path(dir.path) / "saved.log";
  {
    auto st = OpenOrDie(dir.path);
    for (uint64_t t = 1; t <= 10; ++t) {
      PersistBatch b = Batch(t, {{t % 3, Data(t, 64, 1)}, {t % 4 + 10, std::nullopt}}, t == 6);
      Model(model, b);
      ASSERT_TRUE(st->Apply(b).ok());
    }
    fs::copy_file(JournalFiles(dir.path)[0], saved);
  }
  fs::path old_name;
  {
    auto st = OpenOrDie(dir.path);  // checkpoints file 1, deletes it, journals into file 2
    old_name = fs::path(dir.path) / "journal" / "0000000000000001.log";
    ASSERT_FALSE(fs::exists(old_name));
    for (uint64_t t = 11; t <= 15; ++t) {
      PersistBatch b = Batch(t, {{t % 3, Data(t, 64, 2)}});
      Model(model, b);
      ASSERT_TRUE(st->Apply(b).ok());
    }
  }
  fs::copy_file(saved, old_name);
  auto st = OpenOrDie(dir.path);
  ExpectState(*st, model);
}

TEST(GdmStorage, ABadRecordInAnOlderFileRefusesToOpen) {
  TempDir dir;
  {
    auto st = OpenOrDie(dir.path);
    for (uint64_t t = 1; t <= 3; ++t) ASSERT_TRUE(st->Apply(Batch(t, {{t, Data(t, 64, 1)}})).ok());
  }
  // Two files, the older one damaged inside its first record: acknowledged writes are lost,
  // which must stop the node rather than start it without them.
  const fs::path first = JournalFiles(dir.path)[0];
  std::vector<uint8_t> bytes = ReadAll(first);
  WriteAll(fs::path(dir.path) / "journal" / "0000000000000002.log", bytes);
  bytes[12] ^= 0xff;
  WriteAll(first, bytes);
  auto st = RocksDbGdmStorage::Open(dir.path);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), StatusCode::kCorruption) << st.status().ToString();
  EXPECT_NE(st.status().ToString().find("0000000000000001.log"), std::string::npos)
      << st.status().ToString();
}

}  // namespace
}  // namespace rain::membership::testing
