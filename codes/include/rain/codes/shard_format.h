// The on-disk format of a shard file, written by `rain codes encode` and read by `decode` and
// `verify` (docs/shard-format.md has the byte-exact layout, the versioning rules and what each
// error means).
//
// A file is cut into stripes of Code::DataBytes(element_bytes) bytes, laid into each stripe in the
// code's data order (code.h), the last stripe zero-padded. Column c of every stripe goes to shard
// file c: a fixed 128-byte header, then one *block* per stripe. A block is the column's `rows`
// element CRC32Cs (u32 each) followed by its `rows` elements. Every element CRC is seeded with the
// element's position (set id, stripe, column, row), so an element that lands in the wrong place,
// or comes from another encode, fails its check just like a flipped bit.
//
// This file is the pure format: header encode/decode (rain::Writer/Reader), validation against
// named limits and against the code, the block layout arithmetic and the element CRC. No file
// I/O: tools/rain/shard_*.cc do that. Everything here is a free function and thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rain/codes/code.h"
#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::codes {

// "RAINSHRD": the first eight bytes of every shard file, in every format version.
inline constexpr std::array<uint8_t, 8> kShardMagic = {'R', 'A', 'I', 'N', 'S', 'H', 'R', 'D'};
// The only format version this build writes and reads (docs/shard-format.md, "Versioning").
inline constexpr uint16_t kShardFormatVersion = 1;
// The fixed size of a version-1 header, its CRC32C included.
inline constexpr size_t kShardHeaderBytes = 128;
// Bytes of one element CRC32C in a block.
inline constexpr size_t kShardElementCrcBytes = 4;
// The code spec ("xcode:5", "rs:10+4") is stored NUL-padded in a field of this size.
inline constexpr size_t kShardSpecBytesMax = 32;
inline constexpr size_t kShardSetIdBytes = 16;

// Limits a header must satisfy before anything is allocated from it. They bound what a hostile or
// corrupt header can make a reader allocate (one stripe: columns × rows × element bytes).
inline constexpr uint32_t kShardElementBytesMax = 64u << 20;  // 64 MiB per element
inline constexpr uint64_t kShardStripeBytesMax = 256u << 20;  // 256 MiB per stripe, all columns
inline constexpr uint64_t kShardFileBytesMax = uint64_t{1} << 50;  // 1 PiB per encoded file
inline constexpr int kShardColumnsMax = 255;                       // Reed-Solomon k + m <= 255
inline constexpr int kShardRowsMax = 64;
// The element size `encode` picks when none is given: large enough for sequential I/O, cut down
// for small files so that a tiny file does not produce large shards.
inline constexpr uint32_t kShardDefaultElementBytes = 64u << 10;

// A random id shared by every shard of one encode, so that shards of two encodes (even of the
// same file with the same code) are never combined.
struct ShardSetId {
  std::array<uint8_t, kShardSetIdBytes> bytes{};
  std::string ToHex() const;  // 32 lower-case hex digits
  friend bool operator==(const ShardSetId&, const ShardSetId&) = default;
  friend auto operator<=>(const ShardSetId&, const ShardSetId&) = default;
};

// The decoded header of one shard file.
struct ShardHeader {
  std::string spec;            // the code's canonical spec, Code::Spec()
  int columns = 0;             // == code columns
  int rows = 0;                // == code rows
  int column = 0;              // which column this shard holds, 0 .. columns-1
  uint32_t element_bytes = 0;  // bytes per element, >= 1
  uint64_t file_bytes = 0;     // exact size of the encoded file
  uint64_t stripe_count = 0;   // ceil(file_bytes / data bytes per stripe); 0 for an empty file
  ShardSetId set_id;

  // Bytes of one stripe's block in this shard: rows CRCs, then rows elements.
  uint64_t BlockBytes() const {
    return static_cast<uint64_t>(rows) * (kShardElementCrcBytes + element_bytes);
  }
  // File offset of stripe `stripe`'s block.
  uint64_t BlockOffset(uint64_t stripe) const { return kShardHeaderBytes + stripe * BlockBytes(); }
  // Offsets inside a block.
  uint64_t CrcOffsetInBlock(int row) const {
    return static_cast<uint64_t>(row) * kShardElementCrcBytes;
  }
  uint64_t ElementsOffsetInBlock() const {
    return static_cast<uint64_t>(rows) * kShardElementCrcBytes;
  }
  // The exact size of a complete, well-formed shard file.
  uint64_t ShardFileBytes() const { return BlockOffset(stripe_count); }
  // True when `other` belongs to the same encode: same set id, code, geometry and file size
  // (the column may differ).
  bool SameSetAs(const ShardHeader& other) const;
};

// The geometry of one encode, before any header exists.
struct ShardPlan {
  uint32_t element_bytes = 0;
  uint64_t stripe_data_bytes = 0;  // Code::DataBytes(element_bytes)
  uint64_t stripe_count = 0;
};

// The element size `encode` uses when the user gives none: at most kShardDefaultElementBytes (and
// small enough for one stripe to stay within kShardStripeBytesMax), as few stripes as that allows,
// and the file spread evenly over them, so a small file fills about one stripe and the last
// stripe's padding is under one byte per data element.
uint32_t DefaultShardElementBytes(const Code& code, uint64_t file_bytes);

// Plans an encode of `file_bytes` bytes with `element_bytes` per element. InvalidArgument when
// the file or the element is larger than the limits allow or one stripe would exceed
// kShardStripeBytesMax.
Result<ShardPlan> PlanShards(const Code& code, uint64_t file_bytes, uint32_t element_bytes);

// The header of column `column` for a plan. The result passes ValidateShardHeader.
ShardHeader MakeShardHeader(const Code& code, const ShardPlan& plan, uint64_t file_bytes,
                            const ShardSetId& set_id, int column);

// Checks every field of a header against the limits and against its code: the spec must be one
// that MakeCode accepts, in canonical form; columns and rows must be the code's; the column in
// range; stripe_count exactly what file_bytes needs. Returns the code on success; Corruption
// naming the field otherwise.
Result<std::unique_ptr<Code>> ValidateShardHeader(const ShardHeader& header);

// The kShardHeaderBytes bytes of a header. The header must be valid (checked: a bug otherwise).
std::vector<uint8_t> EncodeShardHeader(const ShardHeader& header);

// True when `bytes` starts with kShardMagic: the file claims to be a shard file, so any error
// from DecodeShardHeader means a damaged (not a foreign) file.
bool HasShardMagic(std::span<const uint8_t> bytes);

// Decodes and validates a header from the first bytes of a shard file (extra bytes after the
// header are ignored). Hostile-input safe: never allocates from a decoded length. Errors:
// Corruption (not a shard file, truncated header, bad header CRC, field out of range or
// inconsistent with its code), Unimplemented (a format version this build does not read).
Result<ShardHeader> DecodeShardHeader(std::span<const uint8_t> bytes);

// The CRC32C stored for one element: the element's bytes, seeded with a CRC of its position
// (set id, stripe, column, row), so a misplaced element fails too.
uint32_t ShardElementCrc(const ShardSetId& set_id, uint64_t stripe, int column, int row,
                         std::span<const uint8_t> element);

}  // namespace rain::codes
