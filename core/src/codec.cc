#include "rain/core/codec.h"

#include "rain/core/assert.h"

namespace rain {

void Writer::PatchU32(size_t offset, uint32_t v) {
  RAIN_CHECK(offset + 4 <= bytes_.size(), "PatchU32 past the end");
  for (int i = 0; i < 4; ++i) bytes_[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

bool Reader::Need(size_t n, const char* field) {
  if (!status_.ok()) return false;
  if (bytes_.size() - offset_ < n) {
    status_ = CorruptionError("truncated at field '" + std::string(field) + "' (offset " +
                              std::to_string(offset_) + ", needs " + std::to_string(n) +
                              " bytes, " + std::to_string(bytes_.size() - offset_) + " left)");
    return false;
  }
  return true;
}

uint8_t Reader::U8(const char* field) {
  if (!Need(1, field)) return 0;
  return bytes_[offset_++];
}

uint64_t Reader::Le(int n, const char* field) {
  if (!Need(static_cast<size_t>(n), field)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(bytes_[offset_ + i]) << (8 * i);
  offset_ += static_cast<size_t>(n);
  return v;
}

std::span<const uint8_t> Reader::Bytes(size_t n, const char* field) {
  if (!Need(n, field)) return {};
  auto out = bytes_.subspan(offset_, n);
  offset_ += n;
  return out;
}

std::string Reader::LengthPrefixed(size_t max_bytes, const char* field) {
  uint32_t n = U32(field);
  if (!ok()) return {};
  if (n > max_bytes) {
    Expect(false, "field '" + std::string(field) + "' is " + std::to_string(n) +
                      " bytes, the limit is " + std::to_string(max_bytes));
    return {};
  }
  auto b = Bytes(n, field);
  return std::string(b.begin(), b.end());
}

void Reader::Expect(bool cond, const std::string& message) {
  if (status_.ok() && !cond) status_ = CorruptionError(message);
}

}  // namespace rain
