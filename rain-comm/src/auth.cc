#include "auth.h"

#include <sodium.h>

#include <cstring>

#include "rain/core/assert.h"
#include "rain/core/codec.h"

namespace rain::comm {
namespace {

std::array<uint8_t, kGmacKeyBytes> DerivePacketKey(const std::array<uint8_t, 32>& cluster_key,
                                                   uint32_t cluster_id, NodeId node,
                                                   uint64_t incarnation) {
  Writer info(32);
  info.Bytes(std::string_view("rain-tm-v1"));
  info.U32(cluster_id);
  info.U32(ToInt(node));
  info.U64(incarnation);
  std::array<uint8_t, kGmacKeyBytes> key;
  crypto_generichash(key.data(), key.size(), info.bytes().data(), info.size(), cluster_key.data(),
                     cluster_key.size());
  return key;
}

}  // namespace

bool PacketAuthAvailable() { return Gmac::Available(); }

std::array<uint8_t, kGmacNonceBytes> PacketNonce(NodeId dst, uint64_t packet_number) {
  std::array<uint8_t, kGmacNonceBytes> out;
  const uint32_t d = ToInt(dst);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(d >> (8 * i));
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<uint8_t>(packet_number >> (8 * i));
  return out;
}

PacketKey::PacketKey(const std::array<uint8_t, 32>& cluster_key, uint32_t cluster_id, NodeId node,
                     uint64_t incarnation)
    : gmac_([&] {
        RAIN_CHECK(PacketAuthAvailable(), "AES-GCM unavailable; Transport::Create should refuse");
        std::array<uint8_t, kGmacKeyBytes> key =
            DerivePacketKey(cluster_key, cluster_id, node, incarnation);
        Gmac gmac(key);
        sodium_memzero(key.data(), key.size());
        return gmac;
      }()) {}

void PacketKey::Seal(std::span<const uint8_t> authenticated, NodeId dst, uint64_t packet_number,
                     std::span<uint8_t> tag_out) const {
  RAIN_CHECK(tag_out.size() == kMacBytes, "MAC size");
  gmac_.Tag(authenticated, PacketNonce(dst, packet_number),
            std::span<uint8_t, kMacBytes>(tag_out.data(), kMacBytes));
}

bool PacketKey::Verify(std::span<const uint8_t> authenticated, NodeId dst, uint64_t packet_number,
                       std::span<const uint8_t> tag) const {
  if (tag.size() != kMacBytes) return false;
  return gmac_.Check(authenticated, PacketNonce(dst, packet_number),
                     std::span<const uint8_t, kMacBytes>(tag.data(), kMacBytes));
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
