#include "rain/core/base64.h"

#include <array>

namespace rain {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kInvalid = 0xFF;

constexpr std::array<uint8_t, 256> MakeDecodeTable() {
  std::array<uint8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (uint8_t i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = i;
  return table;
}
constexpr std::array<uint8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

std::string Base64Encode(std::span<const uint8_t> bytes) {
  std::string out;
  out.resize(Base64EncodedSize(bytes.size()));
  size_t o = 0;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = kAlphabet[(v >> 6) & 63];
    out[o++] = kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= uint32_t{bytes[i + 1]} << 8;
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  return out;
}

std::string Base64Encode(std::string_view text) {
  return Base64Encode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Result<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return InvalidArgumentError("base64: length " + std::to_string(text.size()) +
                                " is not a multiple of 4");
  }
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t g = 0; g < text.size(); g += 4) {
    bool last = g + 4 == text.size();
    size_t data_chars = last ? 4 - pad : 4;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      uint8_t c = static_cast<uint8_t>(text[g + k]);
      uint8_t d = 0;
      if (k < data_chars) {
        d = kDecode[c];
        if (d == kInvalid) {
          return InvalidArgumentError("base64: invalid character at offset " +
                                      std::to_string(g + k));
        }
      } else if (c != '=') {
        return InvalidArgumentError("base64: bad padding at offset " + std::to_string(g + k));
      }
      v = (v << 6) | d;
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (data_chars >= 3) out.push_back(static_cast<uint8_t>(v >> 8));
    if (data_chars == 4) out.push_back(static_cast<uint8_t>(v));
    // Non-zero bits below the last byte would make a second encoding of the same bytes.
    uint32_t unused_mask = data_chars == 2 ? 0xFFFF : data_chars == 3 ? 0xFF : 0;
    if ((v & unused_mask) != 0) {
      return InvalidArgumentError("base64: non-zero padding bits at offset " + std::to_string(g));
    }
  }
  return out;
}

}  // namespace rain
