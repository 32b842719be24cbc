#include "rain/core/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>

namespace rain {

uint32_t Crc32c(std::span<const uint8_t> bytes, uint32_t crc) {
  // crc32_iscsi works on the register without the final inversion, and takes an int length;
  // wrap it so the result is the standard CRC32C (check value 0xE3069283 for "123456789") and
  // any length works.
  constexpr size_t kPieceBytes = size_t{1} << 30;
  uint32_t reg = ~crc;
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kPieceBytes);
    reg = crc32_iscsi(const_cast<uint8_t*>(bytes.data()), static_cast<int>(n), reg);
    bytes = bytes.subspan(n);
  }
  return ~reg;
}

}  // namespace rain
