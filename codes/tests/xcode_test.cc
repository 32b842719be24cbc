// X-code (research/CODES.md §1): lengths, the parity formulas, the worked n = 5 example; and the
// behaviour every XOR array code shares (X-code and B-code alike, in one parameterized suite):
// every 1- and 2-column erasure decodes, partial decodes write only erased columns, three
// erasures are DataLoss, parity lists and delta updates match re-encoding.
#include "rain/codes/xcode.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "rain/codes/bcode.h"
#include "rain/core/rng.h"

namespace rain::codes {
namespace {

// A stripe that owns its columns.
struct TestStripe {
  std::vector<std::vector<uint8_t>> columns;
  std::vector<uint8_t*> pointers;
  size_t element_bytes;

  TestStripe(const Code& code, size_t element_bytes) : element_bytes(element_bytes) {
    for (int c = 0; c < code.columns(); ++c) {
      columns.emplace_back(static_cast<size_t>(code.rows()) * element_bytes);
    }
    for (auto& col : columns) pointers.push_back(col.data());
  }
  TestStripe(const TestStripe& other) : columns(other.columns), element_bytes(other.element_bytes) {
    for (auto& col : columns) pointers.push_back(col.data());
  }
  TestStripe& operator=(const TestStripe&) = delete;

  StripeView view() const { return {pointers, element_bytes}; }
  uint8_t* at(Cell c) { return view().Element(c); }
  bool SameElement(const TestStripe& other, Cell c) const {
    return std::memcmp(view().Element(c), other.view().Element(c), element_bytes) == 0;
  }
};

// Random data, zero parity, then encoded.
TestStripe EncodedRandomStripe(const Code& code, size_t element_bytes, Rng& rng) {
  TestStripe s(code, element_bytes);
  for (int i = 0; i < code.data_elements(); ++i) {
    rng.Fill(std::span<uint8_t>(s.at(code.DataCell(i)), element_bytes));
  }
  code.Encode(s.view());
  return s;
}

std::unique_ptr<Code> MakeForTest(const std::string& spec) {
  int n = std::stoi(spec.substr(spec.find(':') + 1));
  if (spec.starts_with("xcode")) {
    auto code = XCode::Make(n);
    EXPECT_TRUE(code.ok()) << code.status().ToString();
    return std::move(code).value();
  }
  auto code = BCode::Make(n);
  EXPECT_TRUE(code.ok()) << code.status().ToString();
  return std::move(code).value();
}

std::vector<std::vector<int>> PatternsOfOneAndTwo(int columns) {
  std::vector<std::vector<int>> out;
  for (int a = 0; a < columns; ++a) {
    out.push_back({a});
    for (int b = a + 1; b < columns; ++b) out.push_back({a, b});
  }
  return out;
}

void FillErased(TestStripe& s, const Code& code, const std::vector<int>& erased, Rng& rng) {
  for (int c : erased) rng.Fill(s.columns[static_cast<size_t>(c)]);
  (void)code;
}

const size_t kElementSizes[] = {1, 3, 64, 4096 + 7};

class XorCodes : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { code_ = MakeForTest(GetParam()); }
  std::unique_ptr<Code> code_;
};

TEST_P(XorCodes, EveryOneAndTwoColumnErasureDecodes) {
  const Code& code = *code_;
  for (size_t element_bytes : kElementSizes) {
    const uint64_t seed = 100 + element_bytes;
    SCOPED_TRACE("seed=" + std::to_string(seed) +
                 " element_bytes=" + std::to_string(element_bytes));
    Rng rng(seed);
    TestStripe original = EncodedRandomStripe(code, element_bytes, rng);
    for (const std::vector<int>& erased : PatternsOfOneAndTwo(code.columns())) {
      SCOPED_TRACE("erased " + std::to_string(erased.front()) + "," +
                   std::to_string(erased.back()));
      TestStripe s(original);
      FillErased(s, code, erased, rng);
      ASSERT_TRUE(code.Decode(s.view(), erased).ok());
      ASSERT_EQ(s.columns, original.columns);
    }
  }
}

TEST_P(XorCodes, DecodeCellsRestoresWantedCellsAndWritesNoSurvivingColumn) {
  const Code& code = *code_;
  for (size_t element_bytes : kElementSizes) {
    const uint64_t seed = 200 + element_bytes;
    SCOPED_TRACE("seed=" + std::to_string(seed) +
                 " element_bytes=" + std::to_string(element_bytes));
    Rng rng(seed);
    TestStripe original = EncodedRandomStripe(code, element_bytes, rng);
    for (const std::vector<int>& erased : PatternsOfOneAndTwo(code.columns())) {
      SCOPED_TRACE("erased " + std::to_string(erased.front()) + "," +
                   std::to_string(erased.back()));
      const int trials = element_bytes > 64 ? 1 : 3;  // large elements: fewer, for speed
      for (int trial = 0; trial < trials; ++trial) {
        std::vector<Cell> wanted;
        for (int c : erased) {
          for (int r = 0; r < code.rows(); ++r) {
            if (rng.Chance(0.3)) wanted.push_back({r, c});
          }
        }
        if (wanted.empty())
          wanted.push_back({static_cast<int>(rng.Below(code.rows())), erased.front()});
        TestStripe s(original);
        FillErased(s, code, erased, rng);
        // Garbage in the surviving columns too: decoding reads them but must not write them.
        TestStripe surviving_before(s);
        ASSERT_TRUE(code.DecodeCells(s.view(), erased, wanted).ok());
        for (Cell w : wanted) {
          ASSERT_TRUE(s.SameElement(original, w)) << "cell " << w.row << "," << w.column;
        }
        for (int c = 0; c < code.columns(); ++c) {
          if (std::find(erased.begin(), erased.end(), c) != erased.end()) continue;
          ASSERT_EQ(s.columns[static_cast<size_t>(c)],
                    surviving_before.columns[static_cast<size_t>(c)])
              << "wrote surviving column " << c;
        }
      }
    }
  }
}

// Elements longer than the longest strip (16 KiB), with a ragged last strip: the schedules run
// strip by strip and must join up.
TEST_P(XorCodes, LargeElementsSpanSeveralStrips) {
  const Code& code = *code_;
  const size_t element_bytes = 3 * 16384 + 13;
  const uint64_t seed = 900;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  TestStripe original = EncodedRandomStripe(code, element_bytes, rng);
  // Encoding agrees with single-byte encodes of the same data at a few offsets.
  for (size_t offset : {size_t{0}, size_t{16384}, element_bytes - 1}) {
    TestStripe one(code, 1);
    for (int c = 0; c < code.columns(); ++c) {
      for (int r = 0; r < code.rows(); ++r) *one.at({r, c}) = original.at({r, c})[offset];
    }
    code.Encode(one.view());
    for (int c = 0; c < code.columns(); ++c) {
      for (int r = 0; r < code.rows(); ++r) {
        ASSERT_EQ(*one.at({r, c}), original.at({r, c})[offset]) << offset;
      }
    }
  }
  for (int trial = 0; trial < 4; ++trial) {
    int a = static_cast<int>(rng.Below(code.columns()));
    int b = (a + 1 + static_cast<int>(rng.Below(code.columns() - 1))) % code.columns();
    std::vector<int> erased = {a, b};
    TestStripe s(original);
    FillErased(s, code, erased, rng);
    if (trial == 0) {
      const Cell wanted[] = {{code.rows() - 1, a}};
      ASSERT_TRUE(code.DecodeCells(s.view(), erased, wanted).ok());
      ASSERT_TRUE(s.SameElement(original, wanted[0]));
    }
    ASSERT_TRUE(code.Decode(s.view(), erased).ok());
    ASSERT_EQ(s.columns, original.columns) << "erased " << a << "," << b;
  }
}

TEST_P(XorCodes, ThreeErasuresAreDataLossAndTouchNothing) {
  const Code& code = *code_;
  Rng rng(300);
  TestStripe original = EncodedRandomStripe(code, 64, rng);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<int> all(static_cast<size_t>(code.columns()));
    for (int c = 0; c < code.columns(); ++c) all[static_cast<size_t>(c)] = c;
    for (size_t i = 0; i < 3; ++i) {
      std::swap(all[i], all[i + rng.Below(all.size() - i)]);
    }
    std::vector<int> erased(all.begin(), all.begin() + 3);
    TestStripe s(original);
    EXPECT_EQ(code.Decode(s.view(), erased).code(), StatusCode::kDataLoss);
    const Cell wanted[] = {{0, erased[0]}};
    EXPECT_EQ(code.DecodeCells(s.view(), erased, wanted).code(), StatusCode::kDataLoss);
    ASSERT_EQ(s.columns, original.columns);
  }
}

TEST_P(XorCodes, BadErasureListsAreInvalidArgument) {
  const Code& code = *code_;
  Rng rng(301);
  TestStripe s = EncodedRandomStripe(code, 8, rng);
  const int out_of_range[] = {code.columns()};
  const int negative[] = {-1};
  const int repeated[] = {1, 1};
  EXPECT_EQ(code.Decode(s.view(), out_of_range).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(code.Decode(s.view(), negative).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(code.Decode(s.view(), repeated).code(), StatusCode::kInvalidArgument);
  const int erased[] = {0};
  const Cell surviving[] = {{0, 1}};
  EXPECT_EQ(code.DecodeCells(s.view(), erased, surviving).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(code.Decode(s.view(), std::span<const int>()).ok());
}

TEST_P(XorCodes, ParityCellsOfAreTwoParitiesInOtherColumnsAndExactlyTheDependentOnes) {
  const Code& code = *code_;
  Rng rng(400);
  TestStripe original = EncodedRandomStripe(code, 4, rng);
  for (int i = 0; i < code.data_elements(); ++i) {
    Cell d = code.DataCell(i);
    SCOPED_TRACE("data cell " + std::to_string(d.row) + "," + std::to_string(d.column));
    std::vector<Cell> parities = code.ParityCellsOf(d);
    ASSERT_EQ(parities.size(), 2u);
    EXPECT_NE(parities[0].column, parities[1].column);
    for (Cell p : parities) {
      EXPECT_EQ(code.Kind(p), CellKind::kParity);
      EXPECT_NE(p.column, d.column);
    }
    // Flip the data element and re-encode: exactly those parities change.
    TestStripe s(original);
    s.at(d)[0] ^= 0x5A;
    code.Encode(s.view());
    std::vector<Cell> changed;
    for (int c = 0; c < code.columns(); ++c) {
      for (int r = 0; r < code.rows(); ++r) {
        if (code.Kind({r, c}) == CellKind::kParity && !s.SameElement(original, {r, c})) {
          changed.push_back({r, c});
        }
      }
    }
    std::vector<Cell> sorted = parities;
    std::sort(sorted.begin(), sorted.end());
    std::sort(changed.begin(), changed.end());
    EXPECT_EQ(changed, sorted);
  }
  for (int c = 0; c < code.columns(); ++c) {
    for (int r = 0; r < code.rows(); ++r) {
      if (code.Kind({r, c}) == CellKind::kParity) {
        EXPECT_TRUE(code.ParityCellsOf({r, c}).empty());
      }
    }
  }
}

TEST_P(XorCodes, UpdateEqualsReencode) {
  const Code& code = *code_;
  for (size_t element_bytes : {size_t{1}, size_t{3}, size_t{4096 + 7}}) {
    const uint64_t seed = 500 + element_bytes;
    SCOPED_TRACE("seed=" + std::to_string(seed));
    Rng rng(seed);
    TestStripe s = EncodedRandomStripe(code, element_bytes, rng);
    for (int trial = 0; trial < 10; ++trial) {
      Cell d = code.DataCell(static_cast<int>(rng.Below(code.data_elements())));
      std::vector<uint8_t> fresh(element_bytes);
      rng.Fill(fresh);
      Result<std::vector<Cell>> changed = code.Update(s.view(), d, fresh);
      ASSERT_TRUE(changed.ok());
      EXPECT_EQ(*changed, code.ParityCellsOf(d));
      TestStripe reencoded(s);
      code.Encode(reencoded.view());
      ASSERT_EQ(s.columns, reencoded.columns);
      ASSERT_TRUE(std::equal(fresh.begin(), fresh.end(), s.at(d)));
    }
  }
}

TEST_P(XorCodes, VerifyLocatesOneCorruptColumn) {
  const Code& code = *code_;
  Rng rng(600);
  TestStripe s = EncodedRandomStripe(code, 16, rng);
  EXPECT_TRUE(code.Verify(s.view()).consistent);
  s.columns[1][5] ^= 0x01;
  VerifyReport report = code.Verify(s.view());
  EXPECT_FALSE(report.consistent);
  ASSERT_TRUE(report.corrupt_column.has_value());
  EXPECT_EQ(*report.corrupt_column, 1);
}

TEST_P(XorCodes, ConcurrentDecodesShareTheScheduleCache) {
  const Code& code = *code_;
  Rng rng(700);
  const TestStripe original = EncodedRandomStripe(code, 256, rng);
  auto worker = [&](int first) {
    for (const std::vector<int>& erased : PatternsOfOneAndTwo(code.columns())) {
      if (erased.front() % 2 != first) continue;
      TestStripe s(original);
      for (int c : erased)
        std::fill(s.columns[static_cast<size_t>(c)].begin(),
                  s.columns[static_cast<size_t>(c)].end(), 0xEE);
      EXPECT_TRUE(code.Decode(s.view(), erased).ok());
      EXPECT_EQ(s.columns, original.columns);
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
}

INSTANTIATE_TEST_SUITE_P(AllSmallLengths, XorCodes,
                         testing::Values("xcode:5", "xcode:7", "xcode:11", "xcode:13", "bcode:4",
                                         "bcode:5", "bcode:6", "bcode:7", "bcode:10", "bcode:11",
                                         "bcode:12", "bcode:13"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), ':', '_');
                           return name;
                         });

// --- X-code specifics ---

TEST(XCode, RefusesNonPrimeAndOutOfRangeLengths) {
  for (int n : {1, 2, 3, 4, 6, 9, 15, 33, -1, 0, 25, 32}) {
    Result<std::unique_ptr<XCode>> code = XCode::Make(n);
    ASSERT_FALSE(code.ok()) << n;
    EXPECT_EQ(code.status().code(), StatusCode::kInvalidArgument) << n;
    EXPECT_NE(code.status().message().find("xcode length " + std::to_string(n)), std::string::npos);
  }
  EXPECT_NE(XCode::Make(6).status().message().find("not prime"), std::string::npos);
  EXPECT_NE(XCode::Make(6).status().message().find("5, 7, 11, 13"), std::string::npos);
}

TEST(XCode, AcceptsEveryPrimeFrom5To31) {
  for (int n : {5, 7, 11, 13, 17, 19, 23, 29, 31}) {
    Result<std::unique_ptr<XCode>> code = XCode::Make(n);
    ASSERT_TRUE(code.ok()) << n;
    EXPECT_EQ((*code)->Spec(), "xcode:" + std::to_string(n));
    EXPECT_EQ((*code)->columns(), n);
    EXPECT_EQ((*code)->rows(), n);
    EXPECT_EQ((*code)->max_erasures(), 2);
    EXPECT_EQ((*code)->data_elements(), n * (n - 2));
  }
}

TEST(XCode, EncodeFollowsTheDiagonalFormulas) {
  for (int n : {5, 7, 13, 31}) {
    auto code = MakeForTest("xcode:" + std::to_string(n));
    Rng rng(800 + n);
    SCOPED_TRACE("n=" + std::to_string(n) + " seed=" + std::to_string(800 + n));
    TestStripe s = EncodedRandomStripe(*code, 5, rng);
    auto mod = [n](int x) { return ((x % n) + n) % n; };
    for (int i = 0; i < n; ++i) {
      for (size_t b = 0; b < 5; ++b) {
        uint8_t p = 0, q = 0;
        for (int k = 0; k <= n - 3; ++k) {
          p ^= s.at({k, mod(i + k + 2)})[b];
          q ^= s.at({k, mod(i - k - 2)})[b];
        }
        ASSERT_EQ(s.at({n - 2, i})[b], p) << "P_" << i;
        ASSERT_EQ(s.at({n - 1, i})[b], q) << "Q_" << i;
      }
    }
    // Data cell (k, j) is in P_<j-k-2> and Q_<j+k+2>.
    for (int k = 0; k <= n - 3; ++k) {
      for (int j = 0; j < n; ++j) {
        std::vector<Cell> expected = {{n - 2, mod(j - k - 2)}, {n - 1, mod(j + k + 2)}};
        EXPECT_EQ(code->ParityCellsOf({k, j}), expected);
      }
    }
  }
}

// CODES.md §1, worked example n = 5: one byte per element, rows 0-2 data, rows 3-4 P and Q.
const uint8_t kGoldenN5[5][5] = {
    {0xa5, 0x4d, 0xca, 0x18, 0x25}, {0x30, 0xbb, 0x1d, 0x6d, 0x13}, {0x2c, 0xde, 0xd6, 0x23, 0x7b},
    {0xdc, 0x27, 0xcb, 0xc8, 0x73}, {0xdb, 0x9e, 0x95, 0x06, 0x5d},
};

TEST(XCode, GoldenN5Encode) {
  auto code = MakeForTest("xcode:5");
  TestStripe s(*code, 1);
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 5; ++c) *s.at({r, c}) = kGoldenN5[r][c];
  }
  code->Encode(s.view());
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 5; ++c) EXPECT_EQ(*s.at({r, c}), kGoldenN5[r][c]) << r << "," << c;
  }
}

TEST(XCode, GoldenN5ErasureOfColumns1And3) {
  auto code = MakeForTest("xcode:5");
  TestStripe s(*code, 1);
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 5; ++c) *s.at({r, c}) = kGoldenN5[r][c];
  }
  for (int r = 0; r < 5; ++r) *s.at({r, 1}) = *s.at({r, 3}) = 0;
  const int erased[] = {1, 3};
  ASSERT_TRUE(code->Decode(s.view(), erased).ok());
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 5; ++c) EXPECT_EQ(*s.at({r, c}), kGoldenN5[r][c]) << r << "," << c;
  }
  // One cell with the example's first peeling step: (1,3) <- P0 = (3,0)^(0,2)^(2,4) = 6d.
  TestStripe t(*code, 1);
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 5; ++c) *t.at({r, c}) = (c == 1 || c == 3) ? 0 : kGoldenN5[r][c];
  }
  const Cell wanted[] = {{1, 3}};
  ASSERT_TRUE(code->DecodeCells(t.view(), erased, wanted).ok());
  EXPECT_EQ(*t.at({1, 3}), 0x6d);
}

}  // namespace
}  // namespace rain::codes
