#include <gtest/gtest.h>

#include <string_view>

#include "rain/core/crc32c.h"
#include "rain/core/rng.h"

namespace rain {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc32c, StandardCheckValues) {
  EXPECT_EQ(Crc32c(AsBytes("123456789")), 0xE3069283u);
  EXPECT_EQ(Crc32c({}), 0u);
  // RFC 3720 B.4: 32 bytes of zeros.
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);
}

TEST(Crc32c, IncrementalEqualsWhole) {
  Rng rng(42);
  std::vector<uint8_t> data(10000);
  rng.Fill(data);
  uint32_t whole = Crc32c(data);
  for (size_t cut : {0ul, 1ul, 7ul, 4096ul, 9999ul, 10000ul}) {
    std::span<const uint8_t> s(data);
    EXPECT_EQ(Crc32c(s.subspan(cut), Crc32c(s.first(cut))), whole) << "cut " << cut;
  }
}

}  // namespace
}  // namespace rain
