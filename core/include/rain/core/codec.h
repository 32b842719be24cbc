// Explicit little-endian wire and file codecs with bounds checks (DESIGN.md §3 rule 2).
//
// Every wire format and on-disk header in RAIN is written field by field with Writer and read
// with Reader; no struct is ever memcpy'd onto the wire. Reader is sticky: the first read past
// the end (or a failed Expect) marks it failed, later reads return zeros, and status() names the
// field that did not fit. Decoders therefore read every field, then check status() once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rain/core/status.h"

namespace rain {

class Writer {
 public:
  Writer() = default;
  explicit Writer(size_t reserve_bytes) { bytes_.reserve(reserve_bytes); }

  void U8(uint8_t v) { bytes_.push_back(v); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void Bytes(std::span<const uint8_t> b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  void Bytes(std::string_view s) { bytes_.insert(bytes_.end(), s.begin(), s.end()); }
  // A u32 length followed by the bytes.
  void LengthPrefixed(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Bytes(s);
  }
  // Overwrites a u32 at `offset` (for lengths and checksums known only at the end).
  void PatchU32(size_t offset, uint32_t v);

  size_t size() const { return bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::vector<uint8_t> Take() { return std::move(bytes_); }

 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> bytes_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  // Each read names its field so that a short buffer gives "truncated at field 'x'".
  uint8_t U8(const char* field);
  uint16_t U16(const char* field) { return static_cast<uint16_t>(Le(2, field)); }
  uint32_t U32(const char* field) { return static_cast<uint32_t>(Le(4, field)); }
  uint64_t U64(const char* field) { return Le(8, field); }
  // A view of the next n bytes (empty on failure); valid as long as the input buffer.
  std::span<const uint8_t> Bytes(size_t n, const char* field);
  // A u32 length (at most max_bytes) then that many bytes.
  std::string LengthPrefixed(size_t max_bytes, const char* field);

  // Marks the reader failed with `message` unless `cond` holds. For magic numbers, versions and
  // value ranges checked while reading.
  void Expect(bool cond, const std::string& message);

  size_t offset() const { return offset_; }
  size_t remaining() const { return ok() ? bytes_.size() - offset_ : 0; }
  bool ok() const { return status_.ok(); }
  // Ok, or Corruption naming the first field that failed.
  const Status& status() const { return status_; }

 private:
  uint64_t Le(int n, const char* field);
  bool Need(size_t n, const char* field);

  std::span<const uint8_t> bytes_;
  size_t offset_ = 0;
  Status status_;
};

}  // namespace rain
