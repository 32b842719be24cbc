#include <gtest/gtest.h>

#include "rain/core/codec.h"

namespace rain {
namespace {

TEST(Codec, RoundTripIsLittleEndian) {
  Writer w;
  w.U8(0x01);
  w.U16(0x0203);
  w.U32(0x04050607);
  w.U64(0x08090a0b0c0d0e0fULL);
  w.LengthPrefixed("rain");
  const std::vector<uint8_t> expected_prefix = {0x01, 0x03, 0x02, 0x07, 0x06, 0x05, 0x04, 0x0f,
                                                0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08};
  ASSERT_GE(w.size(), expected_prefix.size());
  EXPECT_TRUE(std::equal(expected_prefix.begin(), expected_prefix.end(), w.bytes().begin()));

  Reader r(w.bytes());
  EXPECT_EQ(r.U8("a"), 0x01);
  EXPECT_EQ(r.U16("b"), 0x0203);
  EXPECT_EQ(r.U32("c"), 0x04050607u);
  EXPECT_EQ(r.U64("d"), 0x08090a0b0c0d0e0fULL);
  EXPECT_EQ(r.LengthPrefixed(16, "name"), "rain");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Codec, TruncationIsStickyAndNamesTheField) {
  std::vector<uint8_t> bytes = {1, 2, 3};
  Reader r(bytes);
  EXPECT_EQ(r.U16("magic"), 0x0201);
  EXPECT_EQ(r.U32("length"), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.U8("later"), 0);  // sticky: no further reads succeed
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("'length'"), std::string::npos);
}

TEST(Codec, LengthPrefixOverLimitIsRefused) {
  Writer w;
  w.LengthPrefixed(std::string(100, 'x'));
  Reader r(w.bytes());
  EXPECT_EQ(r.LengthPrefixed(10, "name"), "");
  EXPECT_FALSE(r.ok());
}

TEST(Codec, LengthPrefixLargerThanInputIsRefused) {
  Writer w;
  w.U32(0xffffffffu);  // claims 4 GiB follow
  Reader r(w.bytes());
  EXPECT_EQ(r.LengthPrefixed(UINT32_MAX, "blob"), "");
  EXPECT_FALSE(r.ok());
}

TEST(Codec, ExpectFailsWithMessage) {
  std::vector<uint8_t> bytes = {9};
  Reader r(bytes);
  r.Expect(r.U8("version") == 1, "unsupported version");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unsupported version");
}

TEST(Codec, PatchU32OverwritesInPlace) {
  Writer w;
  w.U32(0);
  w.U8(7);
  w.PatchU32(0, 0xdeadbeef);
  Reader r(w.bytes());
  EXPECT_EQ(r.U32("x"), 0xdeadbeefu);
}

}  // namespace
}  // namespace rain
