// CRC32C (Castagnoli), the checksum of every chunk element, shard and packet body.
// Backed by ISA-L's crc32_iscsi (PCLMULQDQ/SSE4.2 at run time).
#pragma once

#include <cstdint>
#include <span>

namespace rain {

// CRC32C of `bytes`, continuing from `crc` (pass the previous result to checksum in pieces).
// Crc32c(ab) == Crc32c(b, Crc32c(a)). The empty input gives 0.
uint32_t Crc32c(std::span<const uint8_t> bytes, uint32_t crc = 0);

}  // namespace rain
