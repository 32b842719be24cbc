// Fuzzes the TM packet decoder (rain/comm/wire.h) and a Transport's HandleDatagram
// (docs/transport.md §"Wire format").
//
// Three passes per input: (1) DecodePacket + FrameReader over the raw bytes; (2) the raw bytes
// as a datagram to a Transport (almost always rejected at the MAC, which must not crash); (3)
// the bytes as the frames of a packet from a known peer, sealed with a correct MAC computed here
// from the documented construction (BLAKE2b-derived per-incarnation key, AES-256-GCM over the
// packet as associated data, nonce = destination ‖ packet number) — so the frame handlers behind
// authentication are fuzzed too. Properties: no crash, no sanitizer report, the decoder never
// accepts a frame whose fragment runs past its message, and a second Transport instance keeps
// accepting genuine traffic afterwards (checked by stats, not by crashing).
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "rain/comm/transport.h"
#include "rain/comm/wire.h"
#include "rain/core/codec.h"

namespace {

using namespace rain;
using namespace rain::comm;

void Require(bool cond) {
  if (!cond) std::abort();
}

constexpr uint32_t kCluster = 42;
constexpr uint64_t kPeerIncarnation = 5;
constexpr uint64_t kOwnIncarnation = 7;

std::array<uint8_t, 32> Key() {
  std::array<uint8_t, 32> k;
  k.fill(7);
  return k;
}

Address Local() { return Address::Ipv4(127, 0, 0, 1, 7001); }
Address Remote() { return Address::Ipv4(127, 0, 0, 1, 7002); }

Transport MakeTransport() {
  TransportOptions o{.self = NodeId{1},
                     .incarnation = kOwnIncarnation,
                     .cluster_id = kCluster,
                     .cluster_key = Key(),
                     .local_addresses = {Local()},
                     .message_bytes_max = 1 << 20,
                     .send_queue_bytes_max = 4 << 20,
                     .recv_window_bytes = 1 << 20};
  auto t = Transport::Create(o);
  Require(t.ok());
  Transport tr = std::move(t).value();
  Require(tr.AddTarget(NodeId{2}, std::vector<Address>{Remote()}).ok());
  Require(tr.RegisterChannel(ChannelId{1}, "fuzz").ok());
  return tr;
}

// Seals header ‖ frames as node 2 (incarnation kPeerIncarnation) would.
std::vector<uint8_t> Seal(std::span<const uint8_t> frames, uint64_t packet_number) {
  Writer w;
  wire::EncodeHeader(w, wire::PacketHeader{.cluster_id = kCluster,
                                           .src = NodeId{2},
                                           .dst = NodeId{1},
                                           .src_incarnation = kPeerIncarnation,
                                           .dst_incarnation = kOwnIncarnation,
                                           .packet_number = packet_number});
  w.Bytes(frames);
  Writer info;
  info.Bytes(std::string_view("rain-tm-v1"));
  info.U32(kCluster);
  info.U32(2);
  info.U64(kPeerIncarnation);
  uint8_t key[32];
  const auto cluster_key = Key();
  crypto_generichash(key, sizeof key, info.bytes().data(), info.size(), cluster_key.data(),
                     cluster_key.size());
  uint8_t nonce[12] = {1, 0, 0, 0};  // destination node 1, then the packet number
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(packet_number >> (8 * i));
  std::vector<uint8_t> out = w.Take();
  uint8_t tag[16];
  unsigned long long tag_len = 0;
  uint8_t empty = 0;
  crypto_aead_aes256gcm_encrypt_detached(&empty, tag, &tag_len, &empty, 0, out.data(), out.size(),
                                         nullptr, nonce, key);
  out.insert(out.end(), tag, tag + 16);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = sodium_init() >= 0 && crypto_aead_aes256gcm_is_available();
  if (!ready) return 0;
  std::span<const uint8_t> input(data, size);

  // (1) The decoder.
  auto v = wire::DecodePacket(input);
  if (v.ok()) {
    wire::FrameReader r(v->frames);
    wire::Frame f;
    while (r.Next(f)) {
      if (auto* d = std::get_if<wire::DataFrame>(&f)) {
        Require(uint64_t{d->fragment_offset} + d->payload.size() <= d->message_bytes);
        Require(d->channel_low <= d->channel_seq && d->stream_low <= d->stream_offset);
      }
      if (auto* a = std::get_if<wire::AckFrame>(&f)) {
        Require(a->range_count >= 1 && a->range_count <= wire::kAckRangesWireMax);
        for (uint16_t i = 0; i < a->range_count; ++i)
          Require(a->ranges[i].low <= a->ranges[i].high);
      }
    }
  }
  wire::FrameReader frames_only(input);
  wire::Frame f;
  while (frames_only.Next(f)) {
  }

  // (2) Raw datagram; (3) the input as authenticated frames, twice (the second is a replay).
  static Transport t = MakeTransport();
  static uint64_t packet_number = 1;
  static const Instant start = FromNanos(1'000'000'000);
  static Instant now = start;
  now += std::chrono::microseconds(100);
  t.HandleDatagram(now, Local(), Remote(), input);
  const std::vector<uint8_t> sealed = Seal(input, packet_number++);
  const uint64_t replays = t.stats().rejected_replay;
  t.HandleDatagram(now, Local(), Remote(), sealed);
  t.HandleDatagram(now, Local(), Remote(), sealed);
  Require(t.stats().rejected_replay >= replays);
  t.HandleTimeout(now);
  while (t.PollTransmit(now)) {
  }
  while (t.PollEvent()) {
  }
  return 0;
}
