// The TM packet codec (docs/transport.md §"Wire format").
#include "rain/comm/wire.h"

#include <algorithm>
#include <limits>
#include <string>

namespace rain::comm::wire {
namespace {

// Reader::Expect builds its message eagerly; this builds it only on failure (hot path).
void Check(Reader& r, bool cond, const char* message) {
  if (!cond) [[unlikely]]
    r.Expect(false, message);
}

uint32_t ClampU32(uint64_t v) {
  return static_cast<uint32_t>(std::min<uint64_t>(v, std::numeric_limits<uint32_t>::max()));
}

}  // namespace

void EncodeHeader(Writer& w, const PacketHeader& h) {
  w.U16(kMagic);
  w.U8(kVersion);
  w.U8(h.flags);
  w.U32(h.cluster_id);
  w.U32(ToInt(h.src));
  w.U32(ToInt(h.dst));
  w.U64(h.src_incarnation);
  w.U64(h.dst_incarnation);
  w.U64(h.packet_number);
}

size_t AckFrameBytes(const AckFrame& f) {
  return kAckFrameFixedBytes + (f.range_count > 0 ? f.range_count - 1 : 0) * kAckRangeBytes;
}

void EncodeAck(Writer& w, const AckFrame& f) {
  w.U8(static_cast<uint8_t>(FrameType::kAck));
  w.U32(f.ack_delay_us);
  w.U64(f.window_bytes);
  const AckRange& first = f.ranges[0];
  w.U64(first.high);
  w.U16(f.range_count);
  w.U32(ClampU32(first.high - first.low));
  uint64_t prev_low = first.low;
  for (uint16_t i = 1; i < f.range_count; ++i) {
    const AckRange& r = f.ranges[i];
    // gap: packets between this range and the previous one, minus one (≥ 0 since disjoint).
    w.U32(ClampU32(prev_low - r.high - 2));
    w.U32(ClampU32(r.high - r.low));
    prev_low = r.low;
  }
}

void EncodeData(Writer& w, const DataFrame& f) {
  w.U8(static_cast<uint8_t>(FrameType::kData));
  w.U16(ToInt(f.channel));
  w.U64(f.channel_seq);
  w.U32(ClampU32(f.channel_seq - f.channel_low));
  w.U64(f.stream_offset);
  w.U32(ClampU32(f.stream_offset - f.stream_low));
  w.U64(f.logical_time);
  w.U32(f.message_bytes);
  w.U32(f.fragment_offset);
  w.U32(static_cast<uint32_t>(f.payload.size()));
  w.Bytes(f.payload);
}

void EncodeDatagram(Writer& w, const DatagramFrame& f) {
  w.U8(static_cast<uint8_t>(FrameType::kDatagram));
  w.U16(ToInt(f.channel));
  w.U64(f.logical_time);
  w.U32(static_cast<uint32_t>(f.payload.size()));
  w.Bytes(f.payload);
}

void EncodePing(Writer& w, const PingFrame& f) {
  w.U8(static_cast<uint8_t>(FrameType::kPing));
  w.U64(f.ping_id);
  w.U32(f.transitions);
}

void EncodePong(Writer& w, const PongFrame& f) {
  w.U8(static_cast<uint8_t>(FrameType::kPong));
  w.U64(f.ping_id);
  w.U32(f.transitions);
}

Result<PacketView> DecodePacket(std::span<const uint8_t> datagram) {
  if (datagram.size() < kHeaderBytes + kMacBytes) {
    return CorruptionError("TM packet of " + std::to_string(datagram.size()) +
                           " bytes is shorter than header and MAC");
  }
  Reader r(datagram);
  PacketView v;
  const uint16_t magic = r.U16("magic");
  Check(r, magic == kMagic, "TM packet: bad magic");
  const uint8_t version = r.U8("version");
  if (version != kVersion)
    r.Expect(false, "TM packet: unsupported version " + std::to_string(version));
  v.header.flags = r.U8("flags");
  Check(r, v.header.flags == 0, "TM packet: unknown flags");
  v.header.cluster_id = r.U32("cluster_id");
  v.header.src = NodeId{r.U32("src")};
  v.header.dst = NodeId{r.U32("dst")};
  v.header.src_incarnation = r.U64("src_incarnation");
  v.header.dst_incarnation = r.U64("dst_incarnation");
  v.header.packet_number = r.U64("packet_number");
  if (!r.ok()) return r.status();
  const size_t body_end = datagram.size() - kMacBytes;
  v.authenticated = datagram.subspan(0, body_end);
  v.frames = datagram.subspan(kHeaderBytes, body_end - kHeaderBytes);
  v.mac = datagram.subspan(body_end, kMacBytes);
  if (v.frames.empty()) return CorruptionError("TM packet without frames");
  return v;
}

bool FrameReader::Next(Frame& out) {
  Reader& r = reader_;
  if (!r.ok() || r.remaining() == 0) return false;
  const uint8_t type = r.U8("frame type");
  switch (static_cast<FrameType>(type)) {
    case FrameType::kAck: {
      AckFrame f;
      f.ack_delay_us = r.U32("ack delay");
      f.window_bytes = r.U64("ack window");
      const uint64_t largest = r.U64("ack largest");
      f.range_count = r.U16("ack range count");
      const uint32_t first_len = r.U32("ack first range");
      Check(r, f.range_count >= 1 && f.range_count <= kAckRangesWireMax,
            "TM ack: range count out of [1, 64]");
      Check(r, first_len <= largest, "TM ack: first range below packet number 0");
      if (!r.ok()) return false;
      f.ranges[0] = AckRange{largest - first_len, largest};
      uint64_t prev_low = largest - first_len;
      for (uint16_t i = 1; i < f.range_count; ++i) {
        const uint32_t gap = r.U32("ack gap");
        const uint32_t len = r.U32("ack range");
        // high = prev_low - gap - 2 must be ≥ len (so low ≥ 0).
        Check(r, prev_low >= uint64_t{gap} + 2 + len, "TM ack: range below packet number 0");
        if (!r.ok()) return false;
        const uint64_t high = prev_low - gap - 2;
        f.ranges[i] = AckRange{high - len, high};
        prev_low = high - len;
      }
      if (!r.ok()) return false;
      out = f;
      return true;
    }
    case FrameType::kData: {
      DataFrame f;
      f.channel = ChannelId{r.U16("data channel")};
      f.channel_seq = r.U64("data channel seq");
      const uint32_t channel_low_delta = r.U32("data channel low");
      f.stream_offset = r.U64("data stream offset");
      const uint32_t stream_low_delta = r.U32("data stream low");
      f.logical_time = r.U64("data logical time");
      f.message_bytes = r.U32("data message bytes");
      f.fragment_offset = r.U32("data fragment offset");
      const uint32_t n = r.U32("data fragment bytes");
      Check(r, f.channel_seq >= 1 && channel_low_delta <= f.channel_seq - 1,
            "TM data: channel seq or low out of range");
      Check(r, stream_low_delta <= f.stream_offset, "TM data: stream low below 0");
      Check(r, uint64_t{f.fragment_offset} + n <= f.message_bytes,
            "TM data: fragment past the end of its message");
      Check(r, f.stream_offset <= std::numeric_limits<uint64_t>::max() - f.message_bytes,
            "TM data: stream offset overflows");
      if (!r.ok()) return false;
      f.channel_low = f.channel_seq - channel_low_delta;
      f.stream_low = f.stream_offset - stream_low_delta;
      f.payload = r.Bytes(n, "data payload");
      if (!r.ok()) return false;
      out = f;
      return true;
    }
    case FrameType::kDatagram: {
      DatagramFrame f;
      f.channel = ChannelId{r.U16("datagram channel")};
      f.logical_time = r.U64("datagram logical time");
      const uint32_t n = r.U32("datagram bytes");
      f.payload = r.Bytes(n, "datagram payload");
      if (!r.ok()) return false;
      out = f;
      return true;
    }
    case FrameType::kPing:
    case FrameType::kPong: {
      const uint64_t id = r.U64("ping id");
      const uint32_t t = r.U32("ping transitions");
      if (!r.ok()) return false;
      if (static_cast<FrameType>(type) == FrameType::kPing) {
        out = PingFrame{id, t};
      } else {
        out = PongFrame{id, t};
      }
      return true;
    }
  }
  r.Expect(false, "TM packet: unknown frame type " + std::to_string(type));
  return false;
}

}  // namespace rain::comm::wire
