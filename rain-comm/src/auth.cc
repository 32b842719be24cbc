#include "auth.h"

#include <cstring>

#include "rain/core/assert.h"
#include "rain/core/codec.h"

namespace rain::comm {
namespace {

void Nonce(NodeId dst, uint64_t packet_number, uint8_t out[12]) {
  const uint32_t d = ToInt(dst);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(d >> (8 * i));
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<uint8_t>(packet_number >> (8 * i));
}

}  // namespace

bool PacketAuthAvailable() {
  static const bool available = [] {
    return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() == 1;
  }();
  return available;
}

PacketKey::PacketKey(const std::array<uint8_t, 32>& cluster_key, uint32_t cluster_id, NodeId node,
                     uint64_t incarnation)
    : state_(std::make_unique<crypto_aead_aes256gcm_state>()) {
  RAIN_CHECK(PacketAuthAvailable(), "AES-GCM unavailable; Transport::Create should refuse");
  Writer info(32);
  info.Bytes(std::string_view("rain-tm-v1"));
  info.U32(cluster_id);
  info.U32(ToInt(node));
  info.U64(incarnation);
  uint8_t key[32];
  crypto_generichash(key, sizeof key, info.bytes().data(), info.size(), cluster_key.data(),
                     cluster_key.size());
  crypto_aead_aes256gcm_beforenm(state_.get(), key);
  sodium_memzero(key, sizeof key);
}

void PacketKey::Seal(std::span<const uint8_t> authenticated, NodeId dst, uint64_t packet_number,
                     std::span<uint8_t> tag_out) const {
  RAIN_CHECK(tag_out.size() == kMacBytes, "MAC size");
  uint8_t nonce[12];
  Nonce(dst, packet_number, nonce);
  unsigned long long tag_len = 0;
  uint8_t empty = 0;  // the plaintext is empty; libsodium wants non-null pointers anyway
  crypto_aead_aes256gcm_encrypt_detached_afternm(&empty, tag_out.data(), &tag_len, &empty, 0,
                                                 authenticated.data(), authenticated.size(),
                                                 nullptr, nonce, state_.get());
}

bool PacketKey::Verify(std::span<const uint8_t> authenticated, NodeId dst, uint64_t packet_number,
                       std::span<const uint8_t> tag) const {
  if (tag.size() != kMacBytes) return false;
  uint8_t nonce[12];
  Nonce(dst, packet_number, nonce);
  uint8_t empty = 0;
  return crypto_aead_aes256gcm_decrypt_detached_afternm(&empty, nullptr, &empty, 0, tag.data(),
                                                        authenticated.data(), authenticated.size(),
                                                        nonce, state_.get()) == 0;
}

ReplayWindow::ReplayWindow(uint32_t window_packets)
    : bits_((window_packets + 63) / 64 + 1, 0), size_(bits_.size() * 64) {}

bool ReplayWindow::Fresh(uint64_t pn) const {
  if (pn == 0) return false;
  if (pn > highest_) return true;
  // Only the last size_ - 64 numbers are reliable (the word holding highest_ is shared).
  if (highest_ - pn >= size_ - 64) return false;
  return ((bits_[(pn / 64) % bits_.size()] >> (pn % 64)) & 1) == 0;
}

void ReplayWindow::Accept(uint64_t pn) {
  if (pn > highest_) {
    // Clear the words between the old and the new highest.
    uint64_t old_word = highest_ / 64;
    const uint64_t new_word = pn / 64;
    if (new_word - old_word >= bits_.size()) {
      std::fill(bits_.begin(), bits_.end(), 0);
    } else {
      while (old_word < new_word) {
        ++old_word;
        bits_[old_word % bits_.size()] = 0;
      }
    }
    highest_ = pn;
  }
  bits_[(pn / 64) % bits_.size()] |= uint64_t{1} << (pn % 64);
}

}  // namespace rain::comm
