#include "gmac.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <climits>

#include "rain/core/assert.h"

namespace rain::comm {

struct Gmac::State {
  // libsodium: ~512 bytes of expanded key and GHASH powers, 16-byte aligned.
  crypto_aead_aes256gcm_state sodium;
  // OpenSSL: keyed once; each call only sets the nonce, which resets the GCM state.
  EVP_CIPHER_CTX* openssl = nullptr;

  ~State() {
    EVP_CIPHER_CTX_free(openssl);
    sodium_memzero(&sodium, sizeof sodium);
  }
};

bool Gmac::Available() {
  static const bool available = [] {
    return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() == 1;
  }();
  return available;
}

Gmac::Gmac(const std::array<uint8_t, kGmacKeyBytes>& key) : state_(std::make_unique<State>()) {
  RAIN_CHECK(Available(), "AES-GCM unavailable; Transport::Create should refuse");
  crypto_aead_aes256gcm_beforenm(&state_->sodium, key.data());
  state_->openssl = EVP_CIPHER_CTX_new();
  RAIN_CHECK(state_->openssl != nullptr, "EVP_CIPHER_CTX_new");
  RAIN_CHECK(
      EVP_EncryptInit_ex(state_->openssl, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) == 1,
      "EVP_EncryptInit_ex(aes-256-gcm)");
}

Gmac::~Gmac() = default;
Gmac::Gmac(Gmac&&) noexcept = default;
Gmac& Gmac::operator=(Gmac&&) noexcept = default;

void Gmac::Tag(std::span<const uint8_t> message, std::span<const uint8_t, kGmacNonceBytes> nonce,
               std::span<uint8_t, kGmacTagBytes> tag_out, Backend backend) const {
  if (backend == Backend::kAuto) {
    backend = message.size() >= kGmacOpenSslMinBytes ? Backend::kOpenSsl : Backend::kSodium;
  }
  if (backend == Backend::kSodium) {
    unsigned long long tag_len = 0;
    uint8_t empty = 0;  // the plaintext is empty; libsodium wants non-null pointers anyway
    crypto_aead_aes256gcm_encrypt_detached_afternm(&empty, tag_out.data(), &tag_len, &empty, 0,
                                                   message.data(), message.size(), nullptr,
                                                   nonce.data(), &state_->sodium);
    return;
  }
  RAIN_CHECK(message.size() <= INT_MAX, "GMAC message too long for OpenSSL");
  EVP_CIPHER_CTX* ctx = state_->openssl;
  int len = 0;
  // These calls fail only on a misuse of the API (wrong lengths), which would be a bug here.
  RAIN_CHECK(EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) == 1, "GMAC nonce");
  if (!message.empty()) {
    RAIN_CHECK(EVP_EncryptUpdate(ctx, nullptr, &len, message.data(),
                                 static_cast<int>(message.size())) == 1,
               "GMAC update");
  }
  uint8_t no_output[16];  // GCM's final step writes nothing; the pointer must be valid anyway
  RAIN_CHECK(EVP_EncryptFinal_ex(ctx, no_output, &len) == 1, "GMAC final");
  RAIN_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGmacTagBytes),
                                 tag_out.data()) == 1,
             "GMAC tag");
}

bool Gmac::Check(std::span<const uint8_t> message, std::span<const uint8_t, kGmacNonceBytes> nonce,
                 std::span<const uint8_t, kGmacTagBytes> tag) const {
  std::array<uint8_t, kGmacTagBytes> expected;
  Tag(message, nonce, expected);
  return sodium_memcmp(expected.data(), tag.data(), kGmacTagBytes) == 0;
}

}  // namespace rain::comm
