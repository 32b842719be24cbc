// raind's data_dir files: the GCM stable state survives a restart bit for bit, damage is
// detected, and the incarnation only grows.
#include "rain/node/stable_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace rain::node {
namespace {

namespace fs = std::filesystem;

class StableStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("raind_stable_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

membership::StableState Sample() {
  membership::StableState s;
  s.promised = {.epoch = 7, .node = NodeId{3}};
  s.last_view = {.epoch = 7, .ringer = NodeId{3}, .seq = 1234567890123ull, .creator = NodeId{2}};
  s.known_primary = {.epoch = 6, .ringer = NodeId{1}, .seq = 99, .creator = NodeId{1}};
  return s;
}

TEST_F(StableStoreTest, SaveThenLoadRoundTrips) {
  FileStableStorage storage((dir_ / "gcm.state").string());
  Result<membership::StableState> fresh = storage.Load();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, membership::StableState{});
  ASSERT_TRUE(storage.Save(Sample()).ok());
  // A new object, as after a restart.
  Result<membership::StableState> loaded = FileStableStorage(storage.path()).Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded, Sample());
  EXPECT_FALSE(fs::exists(storage.path() + ".tmp"));
  membership::StableState next = Sample();
  next.promised.epoch = 8;
  ASSERT_TRUE(storage.Save(next).ok());
  EXPECT_EQ(*storage.Load(), next);
}

TEST_F(StableStoreTest, EveryDamagedByteIsDetected) {
  const std::string good = EncodeStableState(Sample());
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_EQ(DecodeStableState(bad).status().code(), StatusCode::kCorruption) << "byte " << i;
  }
  EXPECT_EQ(DecodeStableState(good.substr(0, good.size() - 1)).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(DecodeStableState("").status().code(), StatusCode::kCorruption);
  // A damaged file is an error, not a fresh start.
  std::ofstream(dir_ / "gcm.state") << "garbage";
  EXPECT_EQ(FileStableStorage((dir_ / "gcm.state").string()).Load().status().code(),
            StatusCode::kCorruption);
}

TEST_F(StableStoreTest, ElectionEpochRoundTripsAndDamageIsDetected) {
  FileEpochStorage storage((dir_ / "election.state").string());
  EXPECT_EQ(*storage.Load(), 0u);  // first start
  ASSERT_TRUE(storage.SaveEpoch(41).ok());
  ASSERT_TRUE(storage.SaveEpoch(42).ok());
  EXPECT_EQ(*FileEpochStorage((dir_ / "election.state").string()).Load(), 42u);
  EXPECT_FALSE(fs::exists(dir_ / "election.state.tmp"));
  const std::string good = EncodeElectionEpoch(42);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_EQ(DecodeElectionEpoch(bad).status().code(), StatusCode::kCorruption) << "byte " << i;
  }
  std::ofstream(dir_ / "election.state") << "garbage";
  EXPECT_EQ(storage.Load().status().code(), StatusCode::kCorruption);
}

TEST_F(StableStoreTest, IncarnationGrowsAcrossRestartsEvenIfTheClockStepsBack) {
  Result<uint64_t> a = NextIncarnation(dir_.string(), 1000);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 1000u);
  Result<uint64_t> b = NextIncarnation(dir_.string(), 10);  // the clock went back
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, 1001u);
  Result<uint64_t> c = NextIncarnation(dir_.string(), 5000);
  EXPECT_EQ(*c, 5000u);
  // A wiped data_dir still gets a growing value from the clock.
  fs::remove(dir_ / "incarnation");
  EXPECT_EQ(*NextIncarnation(dir_.string(), 6000), 6000u);
  std::ofstream(dir_ / "incarnation") << "twelve\n";
  EXPECT_EQ(NextIncarnation(dir_.string(), 1).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace rain::node
