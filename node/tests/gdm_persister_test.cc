// raind's GDM storage thread: batches queued together are written as one synced journal record,
// in ticket order, and the result equals applying them one by one (replace_all included).
#include "../src/gdm_persister.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>

namespace rain::node {
namespace {

using membership::Item;
using membership::PersistBatch;

PersistBatch Batch(uint64_t ticket, std::vector<std::pair<uint64_t, std::optional<Item>>> items,
                   bool replace_all = false) {
  PersistBatch b{.ticket = ticket, .replace_all = replace_all, .items = std::move(items)};
  b.meta.index = ticket * 10;
  return b;
}

Item Value(uint8_t v) { return Item{.version = v, .bytes = {v, v}}; }

TEST(GdmPersister, CoalescedBatchesAreDurableInTicketOrder) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("raind_persister_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto storage = membership::RocksDbGdmStorage::Open(dir.string());
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint64_t> reported;
  {
    GdmPersister p(storage->get(), [&](std::vector<uint64_t> tickets, const Status& s) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      std::lock_guard<std::mutex> lock(mu);
      reported.insert(reported.end(), tickets.begin(), tickets.end());
      cv.notify_all();
    });
    std::vector<PersistBatch> batches;
    batches.push_back(Batch(1, {{1, Value(1)}, {2, Value(2)}}));
    batches.push_back(Batch(2, {{2, std::nullopt}, {3, Value(3)}}));
    batches.push_back(Batch(3, {{4, Value(4)}}, /*replace_all=*/true));  // a snapshot
    batches.push_back(Batch(4, {{4, Value(5)}, {6, Value(6)}}));
    for (PersistBatch& b : batches) ASSERT_TRUE(p.Submit(b));
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return reported.size() == 4; }));
    EXPECT_EQ(reported, (std::vector<uint64_t>{1, 2, 3, 4}));
    GdmPersistStats st = p.Stats();
    EXPECT_GE(st.groups, 1u);
    EXPECT_LE(st.groups, 4u);
    EXPECT_EQ(st.batches, 4u);
    // Every group was a synced write that took some time; the figures are ordered.
    EXPECT_GT(st.write_us_max, 0u);
    EXPECT_LE(st.write_us_p50, st.write_us_p99);
    EXPECT_LE(st.write_us_p99, st.write_us_max);
    p.ResetStats();
    st = p.Stats();
    EXPECT_EQ(st.batches, 0u);
    EXPECT_EQ(st.groups, 0u);
    EXPECT_EQ(st.write_us_max, 0u);
  }
  Result<membership::GdmState> loaded = (*storage)->Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->index, 40u);        // the last batch's meta
  ASSERT_EQ(loaded->items.size(), 2u);  // the snapshot dropped 1 and 3
  EXPECT_EQ(loaded->items.at(4), Value(5));
  EXPECT_EQ(loaded->items.at(6), Value(6));
  storage->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rain::node
