// B-code (research/CODES.md §2): accepted lengths, the geometry, and the worked p = 5 and p = 7
// layouts cell by cell. The erasure, partial-decode, DataLoss and update behaviour every B-code
// length shares with X-code is tested by the XorCodes suite in xcode_test.cc.
#include "rain/codes/bcode.h"

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace rain::codes {
namespace {

std::unique_ptr<BCode> MakeOrDie(int length) {
  Result<std::unique_ptr<BCode>> code = BCode::Make(length);
  EXPECT_TRUE(code.ok()) << code.status().ToString();
  return std::move(code).value();
}

TEST(BCode, AcceptsExactlyPAndPMinus1ForOddPrimesFrom5) {
  const std::vector<int> expected = {4,  5,  6,  7,  10, 11, 12, 13, 16,
                                     17, 18, 19, 22, 23, 28, 29, 30, 31};
  std::vector<int> accepted;
  for (int l = -1; l <= 40; ++l) {
    Result<std::unique_ptr<BCode>> code = BCode::Make(l);
    if (code.ok()) {
      accepted.push_back(l);
      EXPECT_EQ((*code)->Spec(), "bcode:" + std::to_string(l));
    } else {
      EXPECT_EQ(code.status().code(), StatusCode::kInvalidArgument) << l;
    }
  }
  EXPECT_EQ(accepted, expected);
}

TEST(BCode, RefusesBadLengthsWithAClearMessage) {
  for (int l : {3, 8, 9, 14, 15, 32}) {
    Result<std::unique_ptr<BCode>> code = BCode::Make(l);
    ASSERT_FALSE(code.ok()) << l;
    EXPECT_EQ(code.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(code.status().message().find("bcode length " + std::to_string(l)), std::string::npos);
    EXPECT_NE(code.status().message().find("4, 5, 6, 7, 10"), std::string::npos);
  }
}

TEST(BCode, Geometry) {
  for (int p : {5, 7, 11, 13, 17, 19, 23, 29, 31}) {
    const int n = (p - 1) / 2;
    const int edges = (p - 1) * (p - 2) / 2;  // K_{p-1} on 1..p-1
    auto odd = MakeOrDie(p);
    EXPECT_EQ(odd->prime(), p);
    EXPECT_EQ(odd->columns(), p);
    EXPECT_EQ(odd->rows(), n);
    EXPECT_EQ(odd->data_elements(), edges);
    auto even = MakeOrDie(p - 1);
    EXPECT_EQ(even->prime(), p);
    EXPECT_EQ(even->columns(), p - 1);
    EXPECT_EQ(even->rows(), n);
    EXPECT_EQ(even->data_elements(), edges - n);
    // The even length is the odd one without column 0.
    for (int r = 0; r < n; ++r) {
      for (int c = 0; c < p - 1; ++c)
        EXPECT_EQ(even->ElementAt({r, c}), odd->ElementAt({r, c + 1}));
    }
  }
}

// Parses a CODES.md layout table: "e14" is edge {1,4}, "P3" is parity P_3.
std::vector<std::vector<BCodeElement>> ParseTable(const std::vector<std::string>& rows) {
  std::vector<std::vector<BCodeElement>> table;
  for (const std::string& row : rows) {
    std::istringstream in(row);
    std::string label;
    table.emplace_back();
    while (in >> label) {
      if (label[0] == 'P') {
        table.back().push_back({true, label[1] - '0', -1});
      } else {
        table.back().push_back({false, label[1] - '0', label[2] - '0'});
      }
    }
  }
  return table;
}

// Checks a worked example: every cell holds the edge the table names, and with a distinct bit on
// every edge (so an XOR is exactly a set of edges), each P_v is the XOR of exactly the edges at v.
void CheckLayout(int length, const std::vector<std::string>& rows) {
  SCOPED_TRACE("length " + std::to_string(length));
  auto code = MakeOrDie(length);
  auto table = ParseTable(rows);
  ASSERT_EQ(static_cast<int>(table.size()), code->rows());
  std::vector<std::vector<uint8_t>> columns(static_cast<size_t>(code->columns()),
                                            std::vector<uint8_t>(code->rows() * 8u));
  std::vector<uint8_t*> pointers;
  for (auto& c : columns) pointers.push_back(c.data());
  StripeView view{pointers, 8};
  auto bit = [](int u, int w) { return uint64_t{1} << (u * 8 + w); };  // u < w <= 6
  for (int r = 0; r < code->rows(); ++r) {
    ASSERT_EQ(static_cast<int>(table[static_cast<size_t>(r)].size()), code->columns());
    for (int c = 0; c < code->columns(); ++c) {
      const BCodeElement& want = table[static_cast<size_t>(r)][static_cast<size_t>(c)];
      EXPECT_EQ(code->ElementAt({r, c}), want) << "cell " << r << "," << c;
      EXPECT_EQ(code->Kind({r, c}), want.parity ? CellKind::kParity : CellKind::kData);
      if (!want.parity) {
        uint64_t v = bit(want.u, want.w);
        std::memcpy(view.Element({r, c}), &v, 8);
      }
    }
  }
  code->Encode(view);
  const int p = code->prime();
  for (int r = 0; r < code->rows(); ++r) {
    for (int c = 0; c < code->columns(); ++c) {
      const BCodeElement& cell = table[static_cast<size_t>(r)][static_cast<size_t>(c)];
      if (!cell.parity) continue;
      uint64_t expected = 0;
      for (int w = 1; w < p; ++w) {
        if (w == cell.u) continue;
        if (length == p - 1 && w == p - cell.u) continue;  // e_{v,-v} lived in column 0
        expected |= bit(std::min(cell.u, w), std::max(cell.u, w));
      }
      uint64_t got;
      std::memcpy(&got, view.Element({r, c}), 8);
      EXPECT_EQ(got, expected) << "P" << cell.u;
    }
  }
}

TEST(BCode, GoldenLayoutP5) { CheckLayout(5, {"e14 e34 e13 e24 e12", "e23 P1  P2  P3  P4"}); }

TEST(BCode, GoldenLayoutP7) {
  CheckLayout(7, {"e16 e36 e13 e24 e35 e46 e14", "e25 e45 e56 e15 e26 e12 e23",
                  "e34 P1  P2  P3  P4  P5  P6"});
}

TEST(BCode, GoldenLayoutsOfTheEvenLengthsDropColumn0) {
  CheckLayout(4, {"e34 e13 e24 e12", "P1  P2  P3  P4"});
  CheckLayout(6, {"e36 e13 e24 e35 e46 e14", "e45 e56 e15 e26 e12 e23", "P1  P2  P3  P4  P5  P6"});
}

TEST(BCode, ParityCellsOfAnEdgeAreItsTwoVertices) {
  for (int length : {4, 5, 6, 7, 12, 13, 31}) {
    auto code = MakeOrDie(length);
    for (int i = 0; i < code->data_elements(); ++i) {
      Cell d = code->DataCell(i);
      BCodeElement e = code->ElementAt(d);
      std::vector<Cell> parities = code->ParityCellsOf(d);
      ASSERT_EQ(parities.size(), 2u);
      EXPECT_EQ(code->ElementAt(parities[0]), (BCodeElement{true, e.u, -1}));
      EXPECT_EQ(code->ElementAt(parities[1]), (BCodeElement{true, e.w, -1}));
    }
  }
}

// CODES.md §2: erasing columns 1 and 3 of the p = 5 and p = 7 examples.
TEST(BCode, WorkedErasuresOfColumns1And3) {
  for (int length : {5, 7}) {
    auto code = MakeOrDie(length);
    std::vector<std::vector<uint8_t>> columns(static_cast<size_t>(length),
                                              std::vector<uint8_t>(code->rows()));
    std::vector<uint8_t*> pointers;
    for (auto& c : columns) pointers.push_back(c.data());
    StripeView view{pointers, 1};
    for (int i = 0; i < code->data_elements(); ++i) {
      *view.Element(code->DataCell(i)) = static_cast<uint8_t>(0x11 * (i + 1) + i);
    }
    code->Encode(view);
    auto original = columns;
    std::fill(columns[1].begin(), columns[1].end(), 0);
    std::fill(columns[3].begin(), columns[3].end(), 0);
    const int erased[] = {1, 3};
    ASSERT_TRUE(code->Decode(view, erased).ok());
    EXPECT_EQ(columns, original) << "length " << length;
  }
}

}  // namespace
}  // namespace rain::codes
