// The TM packet format (docs/transport.md §"Wire format"): explicit little-endian codecs for the
// packet header and frames, bounds checked (DESIGN.md §3 rule 2).
//
// A packet is: header (40 bytes: magic, version, flags, cluster id, source and destination node
// and incarnation, packet number), then one or more frames, then a 16-byte MAC over everything
// before it (computed in auth, not here). Public so the fuzzer (tests/fuzz/fuzz_tm_packet.cc) and
// debugging tools can decode packets; the Transport is the only producer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "rain/comm/types.h"
#include "rain/core/codec.h"
#include "rain/core/ids.h"
#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::comm::wire {

inline constexpr uint16_t kMagic = 0x5452;  // "RT" on the wire
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderBytes = 40;
inline constexpr size_t kMacBytes = 16;
inline constexpr size_t kAckRangesWireMax = 64;  // hard cap of the decoder

struct PacketHeader {
  uint8_t flags = 0;  // reserved, 0
  uint32_t cluster_id = 0;
  NodeId src = kNoNode;
  NodeId dst = kNoNode;
  uint64_t src_incarnation = 0;
  uint64_t dst_incarnation = 0;  // 0: the sender does not know ours yet (pings and pongs only)
  uint64_t packet_number = 0;    // per (src, src_incarnation), never reused; the MAC nonce
};

enum class FrameType : uint8_t {
  kAck = 1,
  kData = 2,
  kDatagram = 3,
  kPing = 4,
  kPong = 5,
};

// Packet numbers [low, high] (inclusive) were received.
struct AckRange {
  uint64_t low = 0;
  uint64_t high = 0;
};

struct AckFrame {
  uint32_t ack_delay_us = 0;  // time the receiver held the largest before acking
  uint64_t window_bytes = 0;  // receiver's flow-control window (free buffer) for this sender
  uint16_t range_count = 0;   // ≥ 1; ranges[0] holds the largest; descending, disjoint
  std::array<AckRange, kAckRangesWireMax> ranges{};
};

// One fragment of a reliable message.
struct DataFrame {
  ChannelId channel{};
  uint64_t channel_seq = 0;    // per (sender incarnation, receiver incarnation, channel), from 1
  uint64_t channel_low = 0;    // every channel_seq below this is acked or abandoned (≤ seq)
  uint64_t stream_offset = 0;  // where the message starts in the per-peer byte stream
  uint64_t stream_low = 0;     // every stream byte below this is acked or abandoned
  uint64_t logical_time = 0;   // Lamport stamp
  uint32_t message_bytes = 0;  // whole message
  uint32_t fragment_offset = 0;
  std::span<const uint8_t> payload;  // fragment_offset + size ≤ message_bytes
};

struct DatagramFrame {
  ChannelId channel{};
  uint64_t logical_time = 0;
  std::span<const uint8_t> payload;
};

struct PingFrame {
  uint64_t ping_id = 0;
  uint32_t transitions = 0;  // link-monitor transitions committed by the sender on this path
};

struct PongFrame {
  uint64_t ping_id = 0;  // echoes the ping
  uint32_t transitions = 0;
};

using Frame = std::variant<AckFrame, DataFrame, DatagramFrame, PingFrame, PongFrame>;

// Encoded sizes (fixed parts), for packing.
inline constexpr size_t kDataFrameHeaderBytes = 1 + 2 + 8 + 4 + 8 + 4 + 8 + 4 + 4 + 4;  // 47
inline constexpr size_t kDatagramFrameHeaderBytes = 1 + 2 + 8 + 4;                      // 15
inline constexpr size_t kPingFrameBytes = 1 + 8 + 4;                                    // 13
inline constexpr size_t kAckFrameFixedBytes = 1 + 4 + 8 + 8 + 2 + 4;  // 27, with the first range
inline constexpr size_t kAckRangeBytes = 8;                           // gap,len
static_assert(kDataFrameHeaderBytes == 47);

void EncodeHeader(Writer& w, const PacketHeader& h);
void EncodeAck(Writer& w, const AckFrame& f);
// Writes the data frame header followed by f.payload.
void EncodeData(Writer& w, const DataFrame& f);
void EncodeDatagram(Writer& w, const DatagramFrame& f);
void EncodePing(Writer& w, const PingFrame& f);
void EncodePong(Writer& w, const PongFrame& f);
size_t AckFrameBytes(const AckFrame& f);

// Splits a datagram into header, frame bytes and MAC. Corruption when too short, wrong magic or
// version, or nonzero flags. Does not check the MAC or the cluster id.
struct PacketView {
  PacketHeader header;
  std::span<const uint8_t> authenticated;  // header + frames: what the MAC covers
  std::span<const uint8_t> frames;
  std::span<const uint8_t> mac;  // kMacBytes
};
Result<PacketView> DecodePacket(std::span<const uint8_t> datagram);

// Iterates the frames of a packet. Next() returns false at the end or on the first malformed
// frame; status() then says which (ok at a clean end). Spans point into the input.
class FrameReader {
 public:
  explicit FrameReader(std::span<const uint8_t> frames) : reader_(frames) {}
  bool Next(Frame& out);
  const Status& status() const { return reader_.status(); }

 private:
  Reader reader_;
};

}  // namespace rain::comm::wire
