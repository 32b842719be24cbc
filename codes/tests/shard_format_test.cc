// The shard file format (shard_format.h, docs/shard-format.md): the byte-exact header layout,
// validation of every field, and hostile input (truncations, bit flips, forged CRCs).
#include "rain/codes/shard_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rain/core/crc32c.h"
#include "rain/core/rng.h"

namespace rain::codes {
namespace {

std::unique_ptr<Code> MustMakeCode(const std::string& spec) {
  auto code = MakeCode(spec);
  EXPECT_TRUE(code.ok()) << spec << ": " << code.status().ToString();
  return std::move(code).value();
}

ShardSetId TestSetId(uint64_t seed) {
  ShardSetId id;
  Rng rng(seed);
  rng.Fill(id.bytes);
  return id;
}

ShardHeader TestHeader(const std::string& spec, uint64_t file_bytes, int column) {
  auto code = MustMakeCode(spec);
  auto plan = PlanShards(*code, file_bytes, DefaultShardElementBytes(*code, file_bytes));
  EXPECT_TRUE(plan.ok());
  return MakeShardHeader(*code, *plan, file_bytes, TestSetId(7), column);
}

uint64_t GetLe(const std::vector<uint8_t>& b, size_t offset, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(b[offset + i]) << (8 * i);
  return v;
}

void PutLe(std::vector<uint8_t>& b, size_t offset, int n, uint64_t v) {
  for (int i = 0; i < n; ++i) b[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

// Rewrites the header CRC so a test reaches the field checks behind it (a forged header).
void Reseal(std::vector<uint8_t>& b) {
  PutLe(b, 124, 4, Crc32c(std::span<const uint8_t>(b).first(124)));
}

TEST(ShardFormat, HeaderRoundTripsForEveryCodeFamily) {
  for (const char* spec : {"xcode:5", "xcode:7", "bcode:6", "bcode:7", "rs:10+4", "rs:1+1"}) {
    for (uint64_t file_bytes : {0ull, 1ull, 15ull, 1000ull, 123456789ull}) {
      auto code = MustMakeCode(spec);
      for (int column = 0; column < code->columns(); ++column) {
        ShardHeader h = TestHeader(spec, file_bytes, column);
        std::vector<uint8_t> bytes = EncodeShardHeader(h);
        ASSERT_EQ(bytes.size(), kShardHeaderBytes);
        auto back = DecodeShardHeader(bytes);
        ASSERT_TRUE(back.ok()) << spec << " " << back.status().ToString();
        EXPECT_EQ(back->spec, h.spec);
        EXPECT_EQ(back->columns, h.columns);
        EXPECT_EQ(back->rows, h.rows);
        EXPECT_EQ(back->column, column);
        EXPECT_EQ(back->element_bytes, h.element_bytes);
        EXPECT_EQ(back->file_bytes, file_bytes);
        EXPECT_EQ(back->stripe_count, h.stripe_count);
        EXPECT_EQ(back->set_id, h.set_id);
        EXPECT_TRUE(back->SameSetAs(h));
      }
    }
  }
}

TEST(ShardFormat, HeaderLayoutIsByteExact) {
  ShardHeader h = TestHeader("rs:10+4", 1000000, 3);
  std::vector<uint8_t> b = EncodeShardHeader(h);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 8), "RAINSHRD");
  EXPECT_EQ(GetLe(b, 8, 2), 1u);     // version
  EXPECT_EQ(GetLe(b, 10, 2), 128u);  // header_bytes
  EXPECT_EQ(GetLe(b, 12, 4), 0u);    // flags
  EXPECT_TRUE(std::equal(h.set_id.bytes.begin(), h.set_id.bytes.end(), b.begin() + 16));
  EXPECT_EQ(GetLe(b, 32, 2), 3u);   // column
  EXPECT_EQ(GetLe(b, 34, 2), 14u);  // columns
  EXPECT_EQ(GetLe(b, 36, 2), 1u);   // rows
  EXPECT_EQ(GetLe(b, 38, 2), 7u);   // spec_bytes
  EXPECT_EQ(GetLe(b, 40, 4), h.element_bytes);
  EXPECT_EQ(GetLe(b, 44, 4), 0u);
  EXPECT_EQ(GetLe(b, 48, 8), 1000000u);
  EXPECT_EQ(GetLe(b, 56, 8), h.stripe_count);
  EXPECT_EQ(std::string(b.begin() + 64, b.begin() + 71), "rs:10+4");
  for (size_t i = 71; i < 124; ++i) EXPECT_EQ(b[i], 0) << i;
  EXPECT_EQ(GetLe(b, 124, 4), Crc32c(std::span<const uint8_t>(b).first(124)));
}

TEST(ShardFormat, BlockLayoutArithmetic) {
  ShardHeader h = TestHeader("xcode:5", 0, 0);
  h.element_bytes = 100;
  h.stripe_count = 3;
  EXPECT_EQ(h.BlockBytes(), 5u * 104u);
  EXPECT_EQ(h.BlockOffset(0), 128u);
  EXPECT_EQ(h.BlockOffset(2), 128u + 2 * 520u);
  EXPECT_EQ(h.CrcOffsetInBlock(4), 16u);
  EXPECT_EQ(h.ElementsOffsetInBlock(), 20u);
  EXPECT_EQ(h.ShardFileBytes(), 128u + 3 * 520u);
}

TEST(ShardFormat, EveryTruncationIsAnError) {
  std::vector<uint8_t> b = EncodeShardHeader(TestHeader("xcode:5", 4242, 1));
  for (size_t n = 0; n < b.size(); ++n) {
    auto r = DecodeShardHeader(std::span<const uint8_t>(b).first(n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << n;
  }
}

TEST(ShardFormat, EveryBitFlipIsAnError) {
  std::vector<uint8_t> good = EncodeShardHeader(TestHeader("bcode:6", 99999, 5));
  for (size_t bit = 0; bit < 8 * good.size(); ++bit) {
    std::vector<uint8_t> b = good;
    b[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto r = DecodeShardHeader(b);
    EXPECT_FALSE(r.ok()) << "bit " << bit;
  }
}

TEST(ShardFormat, MagicTellsForeignFromDamaged) {
  std::vector<uint8_t> b = EncodeShardHeader(TestHeader("xcode:5", 10, 0));
  EXPECT_TRUE(HasShardMagic(b));
  EXPECT_FALSE(HasShardMagic(std::span<const uint8_t>(b).first(7)));
  std::string text = "hello, this is not a shard file at all";
  EXPECT_FALSE(HasShardMagic(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
}

TEST(ShardFormat, NewerVersionAsksForUpgrade) {
  std::vector<uint8_t> b = EncodeShardHeader(TestHeader("xcode:5", 10, 0));
  PutLe(b, 8, 2, 2);
  Reseal(b);
  auto r = DecodeShardHeader(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status().message().find("version 2"), std::string::npos);
}

TEST(ShardFormat, HeaderCrcMismatchIsCorruption) {
  std::vector<uint8_t> b = EncodeShardHeader(TestHeader("xcode:5", 10, 0));
  b[50] ^= 1;  // file_bytes
  auto r = DecodeShardHeader(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("CRC"), std::string::npos);
}

// A forged header (correct CRC, wrong fields) is refused field by field.
struct Forgery {
  const char* name;
  size_t offset;
  int width;
  uint64_t value;
  const char* message_part;
};

TEST(ShardFormat, ForgedFieldsAreRefused) {
  const std::vector<Forgery> forgeries = {
      {"header_bytes", 10, 2, 256, "header_bytes"},
      {"flags", 12, 4, 1, "flags"},
      {"column past the end", 32, 2, 5, "column"},
      {"columns disagree with code", 34, 2, 7, "columns"},
      {"columns zero", 34, 2, 0, "columns"},
      {"rows disagree with code", 36, 2, 4, "rows"},
      {"rows huge", 36, 2, 60000, "rows"},
      {"spec_bytes zero", 38, 2, 0, "spec_bytes"},
      {"spec_bytes huge", 38, 2, 33, "spec_bytes"},
      {"spec_bytes past spec", 38, 2, 9, "spec"},
      {"element_bytes zero", 40, 4, 0, "element_bytes"},
      {"element_bytes huge", 40, 4, 0xffffffff, "element_bytes"},
      {"stripe too large", 40, 4, 32u << 20, "element_bytes"},
      {"reserved", 44, 4, 1, "reserved"},
      {"file_bytes huge", 48, 8, ~uint64_t{0}, "file_bytes"},
      {"stripe_count wrong", 56, 8, 12345, "stripe_count"},
      {"stripe_count huge", 56, 8, ~uint64_t{0}, "stripe_count"},
      {"spec unknown", 64, 1, 'q', "spec"},
      {"spec not a spec char", 64, 1, 0xff, "spec"},
      {"reserved tail", 100, 1, 1, "reserved"},
  };
  const std::vector<uint8_t> good = EncodeShardHeader(TestHeader("xcode:5", 1000, 1));
  for (const Forgery& f : forgeries) {
    std::vector<uint8_t> b = good;
    PutLe(b, f.offset, f.width, f.value);
    Reseal(b);
    auto r = DecodeShardHeader(b);
    ASSERT_FALSE(r.ok()) << f.name;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << f.name;
    EXPECT_NE(r.status().message().find(f.message_part), std::string::npos)
        << f.name << ": " << r.status().ToString();
  }
}

TEST(ShardFormat, SpecMustBeCanonicalAndKnown) {
  for (const char* bad : {"xcode:4", "xcode:9", "bcode:9", "rs:0+4", "rs:200+100", "xcode:05",
                          "rs:10+04", "xcode", "raid:5"}) {
    std::vector<uint8_t> b = EncodeShardHeader(TestHeader("xcode:5", 0, 0));
    std::fill(b.begin() + 64, b.begin() + 96, 0);
    std::string spec = bad;
    std::copy(spec.begin(), spec.end(), b.begin() + 64);
    PutLe(b, 38, 2, spec.size());
    Reseal(b);
    auto r = DecodeShardHeader(b);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << bad;
  }
}

TEST(ShardFormat, PlanCountsStripesAndPadsTheLast) {
  auto code = MustMakeCode("xcode:5");  // 15 data elements per stripe
  auto plan = PlanShards(*code, 0, 4);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->stripe_data_bytes, 60u);
  EXPECT_EQ(plan->stripe_count, 0u);
  EXPECT_EQ(PlanShards(*code, 1, 4)->stripe_count, 1u);
  EXPECT_EQ(PlanShards(*code, 60, 4)->stripe_count, 1u);
  EXPECT_EQ(PlanShards(*code, 61, 4)->stripe_count, 2u);
  EXPECT_EQ(PlanShards(*code, 600, 1)->stripe_count, 40u);
  EXPECT_FALSE(PlanShards(*code, 10, 0).ok());
  EXPECT_FALSE(PlanShards(*code, 10, kShardElementBytesMax + 1).ok());
  EXPECT_FALSE(PlanShards(*code, kShardFileBytesMax + 1, 4096).ok());
  // xcode:31: 961 elements of 1 MiB is more than one stripe may hold.
  auto big = MustMakeCode("xcode:31");
  EXPECT_FALSE(PlanShards(*big, 10, 1u << 20).ok());
  EXPECT_TRUE(PlanShards(*big, 10, 64u << 10).ok());
}

TEST(ShardFormat, DefaultElementSizeShrinksForSmallFiles) {
  auto code = MustMakeCode("xcode:5");  // 15 data elements
  EXPECT_EQ(DefaultShardElementBytes(*code, 0), 1u);
  EXPECT_EQ(DefaultShardElementBytes(*code, 1), 1u);
  EXPECT_EQ(DefaultShardElementBytes(*code, 15), 1u);
  EXPECT_EQ(DefaultShardElementBytes(*code, 16), 2u);
  EXPECT_EQ(DefaultShardElementBytes(*code, 150000), 10000u);
  EXPECT_EQ(DefaultShardElementBytes(*code, uint64_t{1} << 40), kShardDefaultElementBytes);
  // Just over one full stripe: two stripes of half-size elements, not one full and one empty.
  EXPECT_EQ(DefaultShardElementBytes(*code, 15 * 65536 + 30), 32769u);
  for (const char* spec : {"xcode:31", "rs:200+55", "bcode:30"}) {
    auto c = MustMakeCode(spec);
    uint32_t eb = DefaultShardElementBytes(*c, uint64_t{1} << 40);
    EXPECT_TRUE(PlanShards(*c, uint64_t{1} << 40, eb).ok()) << spec;
  }
}

TEST(ShardFormat, ElementCrcIsBoundToPosition) {
  std::vector<uint8_t> element(100);
  Rng(3).Fill(element);
  const ShardSetId set = TestSetId(1);
  const uint32_t base = ShardElementCrc(set, 7, 2, 1, element);
  EXPECT_NE(base, ShardElementCrc(TestSetId(2), 7, 2, 1, element));
  EXPECT_NE(base, ShardElementCrc(set, 8, 2, 1, element));
  EXPECT_NE(base, ShardElementCrc(set, 7, 3, 1, element));
  EXPECT_NE(base, ShardElementCrc(set, 7, 2, 0, element));
  element[99] ^= 0x80;
  EXPECT_NE(base, ShardElementCrc(set, 7, 2, 1, element));
  element[99] ^= 0x80;
  // The documented definition: CRC32C of the element, seeded with the CRC32C of the 28-byte
  // position (set id, u64 stripe, u16 column, u16 row, little-endian).
  std::vector<uint8_t> position(set.bytes.begin(), set.bytes.end());
  position.resize(28, 0);
  PutLe(position, 16, 8, 7);
  PutLe(position, 24, 2, 2);
  PutLe(position, 26, 2, 1);
  EXPECT_EQ(base, Crc32c(element, Crc32c(position)));
}

TEST(ShardFormat, SameSetAsComparesEverythingButTheColumn) {
  ShardHeader a = TestHeader("xcode:5", 1000, 0);
  ShardHeader b = TestHeader("xcode:5", 1000, 3);
  EXPECT_TRUE(a.SameSetAs(b));
  b.set_id.bytes[15] ^= 1;
  EXPECT_FALSE(a.SameSetAs(b));
  ShardHeader c = TestHeader("xcode:5", 1001, 0);
  EXPECT_FALSE(a.SameSetAs(c));
}

TEST(ShardFormat, SetIdHex) {
  ShardSetId id;
  id.bytes[0] = 0xab;
  id.bytes[15] = 0x01;
  EXPECT_EQ(id.ToHex(), "ab000000000000000000000000000001");
}

}  // namespace
}  // namespace rain::codes
