// Base64 (RFC 4648 §4, the standard alphabet with '=' padding): how binary values travel in the
// JSON of raind's control endpoint (docs/raind.md §3.1, `value_b64`) and in the `rain` CLI.
//
// Strict on decode: the input must be a whole number of 4-character groups, only alphabet
// characters, padding only at the end, and the unused bits of the last group zero — so every
// byte string has exactly one accepted encoding and a typo is an error, not different data.
// No whitespace or line breaks are accepted.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rain/core/result.h"

namespace rain {

// The encoded length of `n` bytes: 4 * ceil(n / 3).
constexpr size_t Base64EncodedSize(size_t n) { return (n + 2) / 3 * 4; }

// Encodes `bytes`; the empty input gives "". Never fails.
std::string Base64Encode(std::span<const uint8_t> bytes);

// Encodes the bytes of `text`.
std::string Base64Encode(std::string_view text);

// Decodes `text`. InvalidArgument (naming the offending position) when the length is not a
// multiple of 4, a character is outside the alphabet, '=' appears anywhere but the last one or
// two positions, or the padding bits are not zero. Never crashes on any input.
Result<std::vector<uint8_t>> Base64Decode(std::string_view text);

}  // namespace rain
