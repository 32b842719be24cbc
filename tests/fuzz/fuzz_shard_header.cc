// Fuzzes the shard header decoder (rain/codes/shard_format.h) with whole shard-file prefixes: a
// header and, after it, the start of the blocks.
//
// Properties: DecodeShardHeader never crashes, never reads out of bounds and never allocates from
// a decoded length; a header it accepts re-encodes to exactly the bytes it came from (every byte
// of a version-1 header is determined by the decoded fields, so there is one encoding); its code
// agrees with its geometry; and the block layout arithmetic on it cannot overflow. The element
// CRC check then runs over whatever block bytes the input holds, as `rain codes verify` would.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "rain/codes/shard_format.h"

namespace {

void Require(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rain::codes;
  std::span<const uint8_t> input(data, size);
  rain::Result<ShardHeader> decoded = DecodeShardHeader(input);
  if (!decoded.ok()) {
    Require(!decoded.status().message().empty());
    return 0;
  }
  const ShardHeader& h = *decoded;
  Require(size >= kShardHeaderBytes);
  std::vector<uint8_t> again = EncodeShardHeader(h);
  Require(again.size() == kShardHeaderBytes);
  Require(std::memcmp(again.data(), data, kShardHeaderBytes) == 0);

  rain::Result<std::unique_ptr<Code>> code = ValidateShardHeader(h);
  Require(code.ok());
  Require((*code)->columns() == h.columns && (*code)->rows() == h.rows);
  Require(h.column >= 0 && h.column < h.columns);
  // The limits keep every size a reader computes from the header well inside 64 bits.
  Require(h.BlockBytes() <= kShardStripeBytesMax + kShardRowsMax * kShardElementCrcBytes);
  Require(h.ShardFileBytes() >= kShardHeaderBytes);
  Require(h.ShardFileBytes() < (uint64_t{1} << 62));

  // Check the elements the input holds, like verify does, bounded by the input size.
  const uint64_t block_bytes = h.BlockBytes();
  const uint64_t body = size - kShardHeaderBytes;
  for (uint64_t stripe = 0; stripe < h.stripe_count && (stripe + 1) * block_bytes <= body;
       ++stripe) {
    const uint8_t* block = data + h.BlockOffset(stripe);
    for (int row = 0; row < h.rows; ++row) {
      std::span<const uint8_t> element(
          block + h.ElementsOffsetInBlock() + static_cast<uint64_t>(row) * h.element_bytes,
          h.element_bytes);
      (void)ShardElementCrc(h.set_id, stripe, h.column, row, element);
    }
  }
  return 0;
}
