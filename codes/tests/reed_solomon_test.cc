// ReedSolomon: encode against a scalar GF(2^8) oracle, every erasure pattern of small codes,
// random patterns of wide ones, delta updates, verify, and the decode-plan cache.
#include "rain/codes/reed_solomon.h"

#include <gtest/gtest.h>
#include <isa-l/erasure_code.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

#include "rain/core/rng.h"

namespace rain::codes {
namespace {

constexpr uint64_t kSeed = 0x52532d697361ULL;  // printed by every test that draws from it

// A stripe that owns its columns.
class TestStripe {
 public:
  TestStripe(const Code& code, size_t element_bytes)
      : element_bytes_(element_bytes),
        columns_(static_cast<size_t>(code.columns()),
                 std::vector<uint8_t>(static_cast<size_t>(code.rows()) * element_bytes)) {
    for (auto& c : columns_) pointers_.push_back(c.data());
  }
  StripeView view() const { return {pointers_, element_bytes_}; }
  std::vector<uint8_t>& column(int c) { return columns_[static_cast<size_t>(c)]; }
  const std::vector<std::vector<uint8_t>>& columns() const { return columns_; }
  void FillData(const Code& code, Rng& rng) {
    for (int c = 0; c < code.columns(); ++c) {
      if (code.Kind({0, c}) == CellKind::kData) rng.Fill(column(c));
    }
  }

 private:
  size_t element_bytes_;
  std::vector<std::vector<uint8_t>> columns_;
  std::vector<uint8_t*> pointers_;
};

std::unique_ptr<ReedSolomon> MakeRs(int k, int m) {
  auto made = ReedSolomon::Make(k, m);
  RAIN_CHECK(made.ok(), "test code");
  return std::move(made).value();
}

// The parity of column p computed byte by byte with gf_mul: independent of ISA-L's tables.
std::vector<uint8_t> ScalarParity(const ReedSolomon& rs, const TestStripe& s, int p) {
  std::vector<uint8_t> out(s.columns()[0].size(), 0);
  for (int d = 0; d < rs.k(); ++d) {
    uint8_t g = rs.Coefficient(p, d);
    const auto& col = s.columns()[static_cast<size_t>(d)];
    for (size_t b = 0; b < out.size(); ++b) out[b] ^= gf_mul(g, col[b]);
  }
  return out;
}

// Calls f on every subset of {0..n-1} with 1..max_size elements.
void ForEachSubset(int n, int max_size, const std::function<void(const std::vector<int>&)>& f) {
  std::vector<int> current;
  std::function<void(int)> walk = [&](int next) {
    if (!current.empty()) f(current);
    if (static_cast<int>(current.size()) == max_size) return;
    for (int c = next; c < n; ++c) {
      current.push_back(c);
      walk(c + 1);
      current.pop_back();
    }
  };
  walk(0);
}

std::vector<int> RandomSubset(Rng& rng, int n, int size) {
  std::vector<int> all(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
  for (int i = 0; i < size; ++i) {
    std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(rng.Between(i, n - 1))]);
  }
  all.resize(static_cast<size_t>(size));
  return all;
}

// Erases `erased` (overwriting with junk), decodes, and expects the original stripe back.
void ExpectRestores(const ReedSolomon& rs, TestStripe& s, const std::vector<int>& erased) {
  const auto original = s.columns();
  for (int c : erased) std::fill(s.column(c).begin(), s.column(c).end(), uint8_t{0xA5});
  ASSERT_TRUE(rs.Decode(s.view(), erased).ok());
  for (int c = 0; c < rs.columns(); ++c) {
    ASSERT_EQ(s.column(c), original[static_cast<size_t>(c)])
        << rs.Spec() << " column " << c << " after erasing " << ::testing::PrintToString(erased);
  }
}

TEST(ReedSolomon, MakeRejectsImpossibleGeometry) {
  for (auto [k, m] : std::vector<std::pair<int, int>>{
           {0, 1}, {1, 0}, {-1, 2}, {4, -2}, {254, 2}, {2, 254}, {255, 1}, {1000, 1}}) {
    auto made = ReedSolomon::Make(k, m);
    ASSERT_FALSE(made.ok()) << k << "+" << m;
    EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ReedSolomon::Make(1, 1).ok());
  EXPECT_TRUE(ReedSolomon::Make(253, 2).ok());
  EXPECT_TRUE(ReedSolomon::Make(1, 254).ok());
}

TEST(ReedSolomon, GeometryAndSpec) {
  auto rs = MakeRs(10, 4);
  EXPECT_EQ(rs->Spec(), "rs:10+4");
  EXPECT_EQ(rs->columns(), 14);
  EXPECT_EQ(rs->rows(), 1);
  EXPECT_EQ(rs->max_erasures(), 4);
  EXPECT_EQ(rs->data_elements(), 10);
  for (int c = 0; c < 14; ++c) {
    EXPECT_EQ(rs->Kind({0, c}), c < 10 ? CellKind::kData : CellKind::kParity);
  }
  EXPECT_EQ(rs->DataCell(3), (Cell{0, 3}));
}

TEST(ReedSolomon, EncodeMatchesScalarOracleAtOddSizes) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  Rng rng(kSeed);
  for (auto [k, m] : std::vector<std::pair<int, int>>{{1, 1}, {4, 2}, {6, 3}, {10, 4}, {17, 5}}) {
    auto rs = MakeRs(k, m);
    for (size_t bytes : {size_t{1}, size_t{3}, size_t{31}, size_t{32}, size_t{33}, size_t{64},
                         size_t{1000}, size_t{4097}}) {
      TestStripe s(*rs, bytes);
      s.FillData(*rs, rng);
      rs->Encode(s.view());
      for (int p = k; p < k + m; ++p) {
        ASSERT_EQ(s.column(p), ScalarParity(*rs, s, p)) << rs->Spec() << " bytes " << bytes;
      }
    }
  }
}

TEST(ReedSolomon, EveryErasurePatternRestoresTheStripe) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  Rng rng(kSeed);
  for (auto [k, m] : std::vector<std::pair<int, int>>{{4, 2}, {6, 3}, {10, 4}}) {
    auto rs = MakeRs(k, m);
    TestStripe s(*rs, 67);
    s.FillData(*rs, rng);
    rs->Encode(s.view());
    int patterns = 0;
    ForEachSubset(k + m, m, [&](const std::vector<int>& erased) {
      ++patterns;
      ExpectRestores(*rs, s, erased);
    });
    EXPECT_GT(patterns, k + m) << rs->Spec();
    // More patterns than the cache holds went through it, and it stayed bounded.
    EXPECT_LE(rs->CachedPlans(), ReedSolomon::kDecodePlanCacheEntries);
  }
}

TEST(ReedSolomon, WideCodesRestoreRandomPatterns) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  Rng rng(kSeed);
  for (auto [k, m, trials] : std::vector<std::tuple<int, int, int>>{{20, 4, 40}, {200, 55, 6}}) {
    auto rs = MakeRs(k, m);
    for (size_t bytes : {size_t{1}, size_t{4097}}) {
      TestStripe s(*rs, bytes);
      s.FillData(*rs, rng);
      rs->Encode(s.view());
      for (int t = 0; t < trials; ++t) {
        // Every other trial erases the maximum, the hardest case.
        int count = t % 2 == 0 ? m : static_cast<int>(rng.Between(1, m));
        ExpectRestores(*rs, s, RandomSubset(rng, k + m, count));
      }
    }
  }
}

TEST(ReedSolomon, MoreErasuresThanParityIsDataLossAndWritesNothing) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  Rng rng(kSeed);
  auto rs = MakeRs(6, 3);
  TestStripe s(*rs, 100);
  s.FillData(*rs, rng);
  rs->Encode(s.view());
  const auto original = s.columns();
  const int erased[] = {0, 2, 6, 8};
  Status st = rs->Decode(s.view(), erased);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.ToString();
  const Cell wanted[] = {{0, 0}};
  EXPECT_EQ(rs->DecodeCells(s.view(), erased, wanted).code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.columns(), original);
}

TEST(ReedSolomon, BadErasureListsAreInvalidArgument) {
  auto rs = MakeRs(4, 2);
  TestStripe s(*rs, 8);
  const int out_of_range[] = {6};
  const int negative[] = {-1};
  const int repeated[] = {1, 1};
  EXPECT_EQ(rs->Decode(s.view(), out_of_range).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rs->Decode(s.view(), negative).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rs->Decode(s.view(), repeated).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(rs->Decode(s.view(), {}).ok());
}

TEST(ReedSolomon, DecodeCellsRebuildsOnlyTheWantedColumns) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  Rng rng(kSeed);
  auto rs = MakeRs(10, 4);
  TestStripe s(*rs, 4097);
  s.FillData(*rs, rng);
  rs->Encode(s.view());
  const auto original = s.columns();
  const int erased[] = {1, 4, 11, 13};
  for (int c : erased) std::fill(s.column(c).begin(), s.column(c).end(), uint8_t{0x5A});
  const Cell wanted[] = {{0, 4}, {0, 13}};
  ASSERT_TRUE(rs->DecodeCells(s.view(), erased, wanted).ok());
  EXPECT_EQ(s.column(4), original[4]);
  EXPECT_EQ(s.column(13), original[13]);
  EXPECT_TRUE(
      std::all_of(s.column(1).begin(), s.column(1).end(), [](uint8_t b) { return b == 0x5A; }));
  EXPECT_TRUE(
      std::all_of(s.column(11).begin(), s.column(11).end(), [](uint8_t b) { return b == 0x5A; }));

  const Cell not_erased[] = {{0, 2}};
  EXPECT_EQ(rs->DecodeCells(s.view(), erased, not_erased).code(), StatusCode::kInvalidArgument);
  const Cell bad_row[] = {{1, 4}};
  EXPECT_EQ(rs->DecodeCells(s.view(), erased, bad_row).code(), StatusCode::kInvalidArgument);
}

TEST(ReedSolomon, UpdateOfEveryDataColumnEqualsReencode) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  Rng rng(kSeed);
  for (auto [k, m] : std::vector<std::pair<int, int>>{{4, 2}, {6, 3}, {10, 4}}) {
    auto rs = MakeRs(k, m);
    for (size_t bytes : {size_t{1}, size_t{3}, size_t{4097}}) {
      TestStripe s(*rs, bytes);
      s.FillData(*rs, rng);
      rs->Encode(s.view());
      for (int d = 0; d < k; ++d) {
        std::vector<uint8_t> fresh(bytes);
        rng.Fill(fresh);
        auto changed = rs->Update(s.view(), {0, d}, fresh);
        ASSERT_TRUE(changed.ok()) << changed.status().ToString();
        EXPECT_EQ(*changed, rs->ParityCellsOf({0, d}));
        EXPECT_EQ(s.column(d), fresh);
        TestStripe reencoded(*rs, bytes);
        for (int c = 0; c < k; ++c) reencoded.column(c) = s.column(c);
        rs->Encode(reencoded.view());
        EXPECT_EQ(s.columns(), reencoded.columns()) << rs->Spec() << " column " << d;
      }
    }
  }
}

TEST(ReedSolomon, ApplyDeltaIsAGfMultiplyByTheGeneratorCoefficient) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  Rng rng(kSeed);
  auto rs = MakeRs(6, 3);
  for (size_t bytes : {size_t{1}, size_t{33}, size_t{4097}}) {
    std::vector<uint8_t> delta(bytes), parity(bytes);
    rng.Fill(delta);
    rng.Fill(parity);
    for (int p = 6; p < 9; ++p) {
      for (int d = 0; d < 6; ++d) {
        std::vector<uint8_t> expected = parity;
        for (size_t b = 0; b < bytes; ++b) expected[b] ^= gf_mul(rs->Coefficient(p, d), delta[b]);
        std::vector<uint8_t> got = parity;
        rs->ApplyDelta({0, p}, {0, d}, delta.data(), got.data(), bytes);
        ASSERT_EQ(got, expected) << p << " " << d << " " << bytes;
      }
    }
  }
}

TEST(ReedSolomon, VerifyLocatesOneCorruptColumn) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  Rng rng(kSeed);
  for (auto [k, m] : std::vector<std::pair<int, int>>{{4, 2}, {6, 3}, {10, 4}}) {
    auto rs = MakeRs(k, m);
    TestStripe s(*rs, 129);
    s.FillData(*rs, rng);
    rs->Encode(s.view());
    EXPECT_TRUE(rs->Verify(s.view()).consistent);
    for (int c = 0; c < k + m; ++c) {
      const auto original = s.column(c);
      s.column(c)[rng.Below(129)] ^= static_cast<uint8_t>(rng.Between(1, 255));
      VerifyReport report = rs->Verify(s.view());
      EXPECT_FALSE(report.consistent);
      EXPECT_EQ(report.corrupt_column, c) << rs->Spec();
      s.column(c) = original;
    }
  }
}

TEST(ReedSolomon, VerifyWithOneParityDetectsButCannotLocate) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  Rng rng(kSeed);
  auto rs = MakeRs(4, 1);
  TestStripe s(*rs, 16);
  s.FillData(*rs, rng);
  rs->Encode(s.view());
  s.column(2)[5] ^= 0x40;
  VerifyReport report = rs->Verify(s.view());
  EXPECT_FALSE(report.consistent);
  EXPECT_FALSE(report.corrupt_column.has_value());
}

TEST(ReedSolomon, VerifyOfTwoCorruptColumns) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  Rng rng(kSeed);
  // Distance 5: no single column explains two bad ones, so none is claimed.
  auto wide = MakeRs(10, 4);
  // Distance 3: the word may lie one column from another codeword, so a claim can be wrong;
  // only the inconsistency is guaranteed.
  auto narrow = MakeRs(4, 2);
  for (int trial = 0; trial < 20; ++trial) {
    for (ReedSolomon* rs : {wide.get(), narrow.get()}) {
      TestStripe s(*rs, 64);
      s.FillData(*rs, rng);
      rs->Encode(s.view());
      for (int c : RandomSubset(rng, rs->columns(), 2)) {
        s.column(c)[rng.Below(64)] ^= static_cast<uint8_t>(rng.Between(1, 255));
      }
      VerifyReport report = rs->Verify(s.view());
      EXPECT_FALSE(report.consistent) << rs->Spec();
      if (rs == wide.get()) {
        EXPECT_FALSE(report.corrupt_column.has_value());
      }
    }
  }
}

TEST(ReedSolomon, ConcurrentDecodesShareTheCache) {
  std::printf("seed=%llu\n", static_cast<unsigned long long>(kSeed));
  auto rs = MakeRs(10, 4);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Rng rng(kSeed + static_cast<uint64_t>(t));
      TestStripe s(*rs, 256);
      s.FillData(*rs, rng);
      rs->Encode(s.view());
      const auto original = s.columns();
      for (int i = 0; i < 200; ++i) {
        auto erased = RandomSubset(rng, 14, static_cast<int>(rng.Between(1, 4)));
        for (int c : erased) std::fill(s.column(c).begin(), s.column(c).end(), uint8_t{0});
        if (!rs->Decode(s.view(), erased).ok() || s.columns() != original) {
          ++failures[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
  EXPECT_LE(rs->CachedPlans(), ReedSolomon::kDecodePlanCacheEntries);
}

}  // namespace
}  // namespace rain::codes
