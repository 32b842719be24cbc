// Packet authentication and replay rejection (docs/transport.md §"Authentication").
//
// Construction: AES-256 GMAC over the whole packet (header + frames), a 16-byte tag (gmac.h:
// libsodium for short packets, OpenSSL for long ones, the same function; needs AES-NI + PCLMUL,
// Transport::Create refuses to run without them). Chosen because it was the fastest real MAC
// measured on our hardware at both ends of the packet-size range (docs/transport.md §3 has the
// table: ≈70 ns for 64 bytes, ≈6.4 GB/s on 64 KB packets), and packets need integrity and
// authenticity, not secrecy (DESIGN.md §2).
//
// Keys: the cluster key never touches a packet. Each (sender node, incarnation) has its own
// packet key, K = BLAKE2b-256(key = cluster key, "rain-tm-v1" ‖ cluster id ‖ node ‖ incarnation).
// Nonce (12 bytes) = destination node (u32 LE) ‖ packet number (u64 LE). A sender numbers its
// packets per destination from 1 and never reuses a number within an incarnation, and a new
// incarnation means a new key, so no (key, nonce) pair ever repeats — GCM's one hard rule.
//
// Replays: each receiver keeps, per peer incarnation, a sliding window over packet numbers (the
// highest seen plus a bitmap of the last N, as IPsec ESP / WireGuard); a packet number seen
// before or older than the window is rejected. Packets of an older incarnation are rejected
// outright.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "gmac.h"
#include "rain/core/ids.h"

namespace rain::comm {

inline constexpr size_t kMacBytes = kGmacTagBytes;

// True when this CPU runs the AES-GCM construction (AES-NI + PCLMUL).
bool PacketAuthAvailable();

// The GMAC nonce of a packet: destination node (u32 LE) ‖ packet number (u64 LE).
std::array<uint8_t, kGmacNonceBytes> PacketNonce(NodeId dst, uint64_t packet_number);

class PacketKey {
 public:
  PacketKey(const std::array<uint8_t, 32>& cluster_key, uint32_t cluster_id, NodeId node,
            uint64_t incarnation);

  // Writes the packet's MAC (kMacBytes) to tag_out. Not thread-safe (gmac.h).
  void Seal(std::span<const uint8_t> authenticated, NodeId dst, uint64_t packet_number,
            std::span<uint8_t> tag_out) const;
  // True when `tag` is the MAC of the packet under this key (constant-time comparison).
  bool Verify(std::span<const uint8_t> authenticated, NodeId dst, uint64_t packet_number,
              std::span<const uint8_t> tag) const;

 private:
  Gmac gmac_;
};

class ReplayWindow {
 public:
  explicit ReplayWindow(uint32_t window_packets);

  // True when `packet_number` has not been accepted and is not older than the window.
  bool Fresh(uint64_t packet_number) const;
  // Records an authenticated packet number (Fresh must have held).
  void Accept(uint64_t packet_number);

 private:
  std::vector<uint64_t> bits_;  // ring of window bits, indexed by packet_number mod size
  uint64_t size_ = 0;           // bits_.size() * 64
  uint64_t highest_ = 0;        // 0: nothing accepted (packet numbers start at 1)
};

}  // namespace rain::comm
