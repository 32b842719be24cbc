// The shard file format: header codec, validation and element CRCs (shard_format.h,
// docs/shard-format.md).
#include "rain/codes/shard_format.h"

#include <algorithm>
#include <string_view>

#include "rain/core/assert.h"
#include "rain/core/codec.h"
#include "rain/core/crc32c.h"

namespace rain::codes {
namespace {

// Header field offsets (docs/shard-format.md). The reserved tail pads the header to a fixed size
// so that a reader needs one small read and every block offset is a plain product.
constexpr size_t kSpecOffset = 64;
constexpr size_t kReservedTailOffset = kSpecOffset + kShardSpecBytesMax;  // 96
constexpr size_t kHeaderCrcOffset = kShardHeaderBytes - 4;                // 124
constexpr size_t kReservedTailBytes = kHeaderCrcOffset - kReservedTailOffset;
static_assert(kReservedTailOffset == 96 && kReservedTailBytes == 28);
static_assert(kShardHeaderBytes == 128);

bool IsSpecChar(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '+';
}

bool AllZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

Status FieldError(const std::string& field, const std::string& what) {
  return CorruptionError("shard header field '" + field + "' " + what);
}

}  // namespace

std::string ShardSetId::ToHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

bool ShardHeader::SameSetAs(const ShardHeader& other) const {
  return set_id == other.set_id && spec == other.spec && columns == other.columns &&
         rows == other.rows && element_bytes == other.element_bytes &&
         file_bytes == other.file_bytes && stripe_count == other.stripe_count;
}

uint32_t DefaultShardElementBytes(const Code& code, uint64_t file_bytes) {
  const uint64_t data_elements = static_cast<uint64_t>(code.data_elements());
  const uint64_t cells = static_cast<uint64_t>(code.columns()) * code.rows();
  const uint64_t max_element_bytes = std::max<uint64_t>(
      1, std::min<uint64_t>(kShardDefaultElementBytes, kShardStripeBytesMax / cells));
  // As few stripes as the largest element allows, then the element size that spreads the file
  // evenly over them: the padding stays below one byte per data element, instead of up to a
  // whole stripe when the file is just over a multiple of the stripe size.
  const uint64_t per_stripe_max = data_elements * max_element_bytes;
  const uint64_t stripes =
      std::max<uint64_t>(1, (file_bytes + per_stripe_max - 1) / per_stripe_max);
  const uint64_t per_stripe = data_elements * stripes;
  const uint64_t element_bytes = std::max<uint64_t>(1, (file_bytes + per_stripe - 1) / per_stripe);
  return static_cast<uint32_t>(std::min(element_bytes, max_element_bytes));
}

Result<ShardPlan> PlanShards(const Code& code, uint64_t file_bytes, uint32_t element_bytes) {
  if (file_bytes > kShardFileBytesMax) {
    return InvalidArgumentError("file of " + std::to_string(file_bytes) +
                                " bytes is larger than the shard format allows (" +
                                std::to_string(kShardFileBytesMax) + ")");
  }
  if (element_bytes < 1 || element_bytes > kShardElementBytesMax) {
    return InvalidArgumentError("element size " + std::to_string(element_bytes) +
                                " is outside 1.." + std::to_string(kShardElementBytesMax));
  }
  const uint64_t cells = static_cast<uint64_t>(code.columns()) * code.rows();
  if (cells * element_bytes > kShardStripeBytesMax) {
    return InvalidArgumentError("element size " + std::to_string(element_bytes) + " makes a " +
                                code.Spec() + " stripe of " +
                                std::to_string(cells * element_bytes) + " bytes, the limit is " +
                                std::to_string(kShardStripeBytesMax));
  }
  ShardPlan plan;
  plan.element_bytes = element_bytes;
  plan.stripe_data_bytes = code.DataBytes(element_bytes);
  plan.stripe_count = (file_bytes + plan.stripe_data_bytes - 1) / plan.stripe_data_bytes;
  return plan;
}

ShardHeader MakeShardHeader(const Code& code, const ShardPlan& plan, uint64_t file_bytes,
                            const ShardSetId& set_id, int column) {
  ShardHeader h;
  h.spec = code.Spec();
  h.columns = code.columns();
  h.rows = code.rows();
  h.column = column;
  h.element_bytes = plan.element_bytes;
  h.file_bytes = file_bytes;
  h.stripe_count = plan.stripe_count;
  h.set_id = set_id;
  return h;
}

Result<std::unique_ptr<Code>> ValidateShardHeader(const ShardHeader& h) {
  // Range checks first, so that nothing below multiplies or allocates from a wild value.
  if (h.spec.empty() || h.spec.size() > kShardSpecBytesMax ||
      !std::all_of(h.spec.begin(), h.spec.end(), [](char c) { return IsSpecChar(c); })) {
    return FieldError("spec", "is not a code spec");
  }
  if (h.columns < 2 || h.columns > kShardColumnsMax) {
    return FieldError("columns", "is " + std::to_string(h.columns) + ", outside 2.." +
                                     std::to_string(kShardColumnsMax));
  }
  if (h.rows < 1 || h.rows > kShardRowsMax) {
    return FieldError(
        "rows", "is " + std::to_string(h.rows) + ", outside 1.." + std::to_string(kShardRowsMax));
  }
  if (h.column < 0 || h.column >= h.columns) {
    return FieldError("column", "is " + std::to_string(h.column) + " but the code has " +
                                    std::to_string(h.columns) + " columns");
  }
  if (h.element_bytes < 1 || h.element_bytes > kShardElementBytesMax) {
    return FieldError("element_bytes", "is " + std::to_string(h.element_bytes) + ", outside 1.." +
                                           std::to_string(kShardElementBytesMax));
  }
  if (static_cast<uint64_t>(h.columns) * h.rows * h.element_bytes > kShardStripeBytesMax) {
    return FieldError("element_bytes", "makes a stripe larger than " +
                                           std::to_string(kShardStripeBytesMax) + " bytes");
  }
  if (h.file_bytes > kShardFileBytesMax) {
    return FieldError("file_bytes", "is " + std::to_string(h.file_bytes) + ", larger than " +
                                        std::to_string(kShardFileBytesMax));
  }
  Result<std::unique_ptr<Code>> code = MakeCode(h.spec);
  if (!code.ok()) {
    return FieldError("spec", "'" + h.spec + "' is not a code: " + code.status().message());
  }
  const Code& c = **code;
  if (c.Spec() != h.spec) {
    return FieldError("spec", "'" + h.spec + "' is not in canonical form ('" + c.Spec() + "')");
  }
  if (c.columns() != h.columns || c.rows() != h.rows) {
    return FieldError("columns/rows", "are " + std::to_string(h.columns) + "x" +
                                          std::to_string(h.rows) + " but " + h.spec + " is " +
                                          std::to_string(c.columns()) + "x" +
                                          std::to_string(c.rows()));
  }
  // Both fit in 64 bits: file_bytes <= 2^50 and a stripe's data bytes <= 2^28.
  const uint64_t stripe_data_bytes = c.DataBytes(h.element_bytes);
  const uint64_t want_stripes = (h.file_bytes + stripe_data_bytes - 1) / stripe_data_bytes;
  if (h.stripe_count != want_stripes) {
    return FieldError("stripe_count", "is " + std::to_string(h.stripe_count) + " but a file of " +
                                          std::to_string(h.file_bytes) + " bytes needs " +
                                          std::to_string(want_stripes));
  }
  return code;
}

std::vector<uint8_t> EncodeShardHeader(const ShardHeader& h) {
  RAIN_CHECK(ValidateShardHeader(h).ok(), "encoding an invalid shard header");
  Writer w(kShardHeaderBytes);
  w.Bytes(std::span<const uint8_t>(kShardMagic));
  w.U16(kShardFormatVersion);
  w.U16(static_cast<uint16_t>(kShardHeaderBytes));
  w.U32(0);  // flags: none defined in version 1
  w.Bytes(std::span<const uint8_t>(h.set_id.bytes));
  w.U16(static_cast<uint16_t>(h.column));
  w.U16(static_cast<uint16_t>(h.columns));
  w.U16(static_cast<uint16_t>(h.rows));
  w.U16(static_cast<uint16_t>(h.spec.size()));
  w.U32(h.element_bytes);
  w.U32(0);  // reserved
  w.U64(h.file_bytes);
  w.U64(h.stripe_count);
  RAIN_CHECK(w.size() == kSpecOffset, "shard header layout");
  w.Bytes(h.spec);
  for (size_t i = h.spec.size(); i < kShardSpecBytesMax + kReservedTailBytes; ++i) w.U8(0);
  RAIN_CHECK(w.size() == kHeaderCrcOffset, "shard header layout");
  w.U32(0);
  w.PatchU32(kHeaderCrcOffset, Crc32c(std::span<const uint8_t>(w.bytes()).first(kHeaderCrcOffset)));
  RAIN_CHECK(w.size() == kShardHeaderBytes, "shard header layout");
  return w.Take();
}

bool HasShardMagic(std::span<const uint8_t> bytes) {
  return bytes.size() >= kShardMagic.size() &&
         std::equal(kShardMagic.begin(), kShardMagic.end(), bytes.begin());
}

Result<ShardHeader> DecodeShardHeader(std::span<const uint8_t> bytes) {
  if (!HasShardMagic(bytes)) return CorruptionError("not a shard file (no RAINSHRD magic)");
  Reader r(bytes);
  r.Bytes(kShardMagic.size(), "magic");
  const uint16_t version = r.U16("version");
  const uint16_t header_bytes = r.U16("header_bytes");
  if (!r.ok()) return r.status();
  // The version decides everything after it, so it is checked before the CRC: a newer shard
  // gets "upgrade rain", not "corrupt".
  if (version != kShardFormatVersion) {
    return UnimplementedError("shard format version " + std::to_string(version) +
                              " is not readable by this rain (it reads version " +
                              std::to_string(kShardFormatVersion) + ")");
  }
  if (header_bytes != kShardHeaderBytes) {
    return FieldError("header_bytes", "is " + std::to_string(header_bytes) + ", version 1 has " +
                                          std::to_string(kShardHeaderBytes));
  }
  if (bytes.size() < kShardHeaderBytes) {
    return CorruptionError("shard header truncated: " + std::to_string(bytes.size()) +
                           " bytes, a header has " + std::to_string(kShardHeaderBytes));
  }
  const uint32_t want_crc = Crc32c(bytes.first(kHeaderCrcOffset));
  const uint32_t flags = r.U32("flags");
  ShardHeader h;
  std::span<const uint8_t> set_id = r.Bytes(kShardSetIdBytes, "set_id");
  h.column = r.U16("column");
  h.columns = r.U16("columns");
  h.rows = r.U16("rows");
  const uint16_t spec_bytes = r.U16("spec_bytes");
  h.element_bytes = r.U32("element_bytes");
  const uint32_t reserved = r.U32("reserved");
  h.file_bytes = r.U64("file_bytes");
  h.stripe_count = r.U64("stripe_count");
  std::span<const uint8_t> spec_field = r.Bytes(kShardSpecBytesMax, "spec");
  std::span<const uint8_t> reserved_tail = r.Bytes(kReservedTailBytes, "reserved_tail");
  const uint32_t crc = r.U32("header_crc32c");
  if (!r.ok()) return r.status();
  if (crc != want_crc) return CorruptionError("shard header CRC32C mismatch");
  // Past the CRC the bytes are what some writer wrote; the checks below catch writers that do
  // not follow this version (or a forged CRC).
  if (flags != 0) return FieldError("flags", "has unknown bits set");
  if (reserved != 0 || !AllZero(reserved_tail)) return FieldError("reserved", "is not zero");
  if (spec_bytes < 1 || spec_bytes > kShardSpecBytesMax) {
    return FieldError("spec_bytes", "is " + std::to_string(spec_bytes) + ", outside 1.." +
                                        std::to_string(kShardSpecBytesMax));
  }
  if (!AllZero(spec_field.subspan(spec_bytes))) {
    return FieldError("spec", "has bytes after its length");
  }
  std::copy(set_id.begin(), set_id.end(), h.set_id.bytes.begin());
  h.spec.assign(spec_field.begin(), spec_field.begin() + spec_bytes);
  Result<std::unique_ptr<Code>> code = ValidateShardHeader(h);
  if (!code.ok()) return code.status();
  return h;
}

uint32_t ShardElementCrc(const ShardSetId& set_id, uint64_t stripe, int column, int row,
                         std::span<const uint8_t> element) {
  std::array<uint8_t, kShardSetIdBytes + 12> position{};
  std::copy(set_id.bytes.begin(), set_id.bytes.end(), position.begin());
  for (int i = 0; i < 8; ++i) position[16 + i] = static_cast<uint8_t>(stripe >> (8 * i));
  for (int i = 0; i < 2; ++i) position[24 + i] = static_cast<uint8_t>(column >> (8 * i));
  for (int i = 0; i < 2; ++i) position[26 + i] = static_cast<uint8_t>(row >> (8 * i));
  return Crc32c(element, Crc32c(position));
}

}  // namespace rain::codes
