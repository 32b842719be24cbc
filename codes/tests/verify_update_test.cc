// The shared Code::Update and Code::Verify (code.cc) over every code MakeCode builds: an update
// equals a re-encode, and Verify locates any single corrupted element's column.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "rain/codes/code.h"
#include "rain/core/rng.h"

namespace rain::codes {
namespace {

constexpr uint64_t kSeed = 0x7665726966ULL;
constexpr size_t kElementBytes = 33;  // odd, so no kernel gets an aligned length for free

std::vector<std::string> Specs() {
  return {"xcode:5", "xcode:7", "bcode:6", "bcode:7", "rs:4+2", "rs:10+4"};
}

class OwnedStripe {
 public:
  OwnedStripe(const Code& code, size_t element_bytes) : element_bytes_(element_bytes) {
    for (int c = 0; c < code.columns(); ++c) {
      columns_.emplace_back(static_cast<size_t>(code.rows()) * element_bytes);
    }
    for (auto& c : columns_) pointers_.push_back(c.data());
  }
  StripeView view() const { return {pointers_, element_bytes_}; }
  std::vector<std::vector<uint8_t>>& columns() { return columns_; }
  uint8_t* Element(Cell c) { return view().Element(c); }

 private:
  size_t element_bytes_;
  std::vector<std::vector<uint8_t>> columns_;
  std::vector<uint8_t*> pointers_;
};

// A random data stripe of `code`, encoded.
OwnedStripe RandomEncoded(const Code& code, Rng& rng) {
  OwnedStripe s(code, kElementBytes);
  for (int i = 0; i < code.data_elements(); ++i) {
    rng.Fill({s.Element(code.DataCell(i)), kElementBytes});
  }
  code.Encode(s.view());
  return s;
}

class EveryCode : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::printf("seed=%llu spec=%s\n", static_cast<unsigned long long>(kSeed), GetParam().c_str());
    auto made = MakeCode(GetParam());
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    code_ = std::move(made).value();
  }
  std::unique_ptr<Code> code_;
};

TEST_P(EveryCode, UpdateOfEveryDataElementEqualsReencode) {
  Rng rng(kSeed);
  OwnedStripe s = RandomEncoded(*code_, rng);
  for (int i = 0; i < code_->data_elements(); ++i) {
    const Cell cell = code_->DataCell(i);
    std::vector<uint8_t> fresh(kElementBytes);
    rng.Fill(fresh);
    auto changed = code_->Update(s.view(), cell, fresh);
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
    EXPECT_EQ(*changed, code_->ParityCellsOf(cell));
    OwnedStripe reencoded(*code_, kElementBytes);
    reencoded.columns() = s.columns();
    code_->Encode(reencoded.view());
    ASSERT_EQ(s.columns(), reencoded.columns())
        << "after updating cell (" << cell.row << ", " << cell.column << ")";
  }
}

TEST_P(EveryCode, UpdateRejectsParityCellsAndWrongSizes) {
  Rng rng(kSeed);
  OwnedStripe s = RandomEncoded(*code_, rng);
  std::vector<uint8_t> fresh(kElementBytes);
  for (int c = 0; c < code_->columns(); ++c) {
    for (int r = 0; r < code_->rows(); ++r) {
      if (code_->Kind({r, c}) != CellKind::kParity) continue;
      EXPECT_EQ(code_->Update(s.view(), {r, c}, fresh).status().code(),
                StatusCode::kInvalidArgument);
    }
  }
  std::vector<uint8_t> short_element(kElementBytes - 1);
  EXPECT_EQ(code_->Update(s.view(), code_->DataCell(0), short_element).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(EveryCode, VerifyLocatesEveryCorruptElementsColumn) {
  Rng rng(kSeed);
  OwnedStripe s = RandomEncoded(*code_, rng);
  ASSERT_TRUE(code_->Verify(s.view()).consistent);
  for (int c = 0; c < code_->columns(); ++c) {
    for (int r = 0; r < code_->rows(); ++r) {
      uint8_t* byte = s.Element({r, c}) + rng.Below(kElementBytes);
      const uint8_t flip = static_cast<uint8_t>(rng.Between(1, 255));
      *byte ^= flip;
      VerifyReport report = code_->Verify(s.view());
      EXPECT_FALSE(report.consistent) << "cell (" << r << ", " << c << ")";
      EXPECT_EQ(report.corrupt_column, c) << "cell (" << r << ", " << c << ")";
      *byte ^= flip;
    }
  }
  EXPECT_TRUE(code_->Verify(s.view()).consistent);
}

INSTANTIATE_TEST_SUITE_P(Codes, EveryCode, ::testing::ValuesIn(Specs()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& ch : name) {
                             if (ch == ':' || ch == '+') ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace rain::codes
