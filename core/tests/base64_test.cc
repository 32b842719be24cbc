#include "rain/core/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rain/core/rng.h"

namespace rain {
namespace {

std::string Decoded(std::string_view text) {
  auto r = Base64Decode(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  if (!r.ok()) return "<error>";
  return std::string(r->begin(), r->end());
}

TEST(Base64, Rfc4648TestVectors) {
  const std::pair<std::string_view, std::string_view> kVectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Decoded(encoded), plain);
  }
}

TEST(Base64, EveryByteValueAndLengthRoundTrips) {
  Rng rng(7);
  for (size_t n = 0; n < 300; ++n) {
    std::vector<uint8_t> data(n);
    rng.Fill(data);
    std::string text = Base64Encode(data);
    EXPECT_EQ(text.size(), Base64EncodedSize(n));
    auto back = Base64Decode(text);
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(*back, data) << n;
  }
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
  // '+' and '/' (not the URL-safe '-' and '_') are the standard alphabet's last two.
  EXPECT_EQ(Base64Encode(std::vector<uint8_t>{0xFB, 0xFF}), "+/8=");
}

TEST(Base64, BadInputIsInvalidArgument) {
  const std::string_view kBad[] = {
      "Zg",         // length not a multiple of 4
      "Zg=",        // idem
      "Z===",       // three pad characters
      "====",       // only padding
      "Zg==Zg==",   // padding in the middle
      "Zm9v Zg==",  // whitespace
      "Zm9\n",      // newline
      "Zm-_",       // URL-safe alphabet
      "Zh==",       // non-zero padding bits ('h' leaves bits set after 'f')
      "Zm9=",       // idem for the two-byte case
      "Z=g=",       // '=' before a data character
  };
  for (std::string_view text : kBad) {
    auto r = Base64Decode(text);
    ASSERT_FALSE(r.ok()) << "accepted " << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(Base64, RandomGarbageNeverCrashes) {
  Rng rng(11);
  for (int i = 0; i < 20000; ++i) {
    // Mostly alphabet and '=' so some inputs decode; sometimes any byte.
    static constexpr std::string_view kChars =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    std::string text(rng.Below(13), '\0');
    for (char& c : text) {
      c = rng.Chance(0.9) ? kChars[rng.Below(kChars.size())] : static_cast<char>(rng.Below(256));
    }
    auto r = Base64Decode(text);
    if (r.ok()) {
      EXPECT_EQ(Base64Encode(*r), text);  // an accepted text is the canonical one
    }
  }
}

}  // namespace
}  // namespace rain
