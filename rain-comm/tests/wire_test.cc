// Unit tests of the pieces below the Transport: wire codec, MAC, replay window, link monitor.
#include "rain/comm/wire.h"

#include <gtest/gtest.h>

#include "auth.h"
#include "harness.h"
#include "link_monitor.h"

namespace rain::comm {
namespace {

TEST(Wire, HeaderAndFramesRoundTrip) {
  Writer w;
  wire::EncodeHeader(w, wire::PacketHeader{.cluster_id = 9,
                                           .src = NodeId{3},
                                           .dst = NodeId{4},
                                           .src_incarnation = 77,
                                           .dst_incarnation = 88,
                                           .packet_number = 1234});
  wire::AckFrame ack;
  ack.ack_delay_us = 5;
  ack.window_bytes = 1 << 20;
  ack.range_count = 3;
  ack.ranges[0] = {90, 100};
  ack.ranges[1] = {50, 60};
  ack.ranges[2] = {0, 10};
  wire::EncodeAck(w, ack);
  const std::vector<uint8_t> payload = testing::Pattern(33, 1);
  wire::DataFrame d{.channel = ChannelId{2},
                    .channel_seq = 10,
                    .channel_low = 7,
                    .stream_offset = 5000,
                    .stream_low = 4000,
                    .logical_time = 55,
                    .message_bytes = 100,
                    .fragment_offset = 60,
                    .payload = payload};
  wire::EncodeData(w, d);
  wire::EncodePing(w, wire::PingFrame{11, 3});
  for (size_t i = 0; i < wire::kMacBytes; ++i) w.U8(0xee);
  const std::vector<uint8_t> bytes = w.Take();

  auto v = wire::DecodePacket(bytes);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->header.cluster_id, 9u);
  EXPECT_EQ(v->header.src, NodeId{3});
  EXPECT_EQ(v->header.dst_incarnation, 88u);
  EXPECT_EQ(v->header.packet_number, 1234u);
  EXPECT_EQ(v->mac.size(), wire::kMacBytes);
  wire::FrameReader r(v->frames);
  wire::Frame f;
  ASSERT_TRUE(r.Next(f));
  auto& a = std::get<wire::AckFrame>(f);
  ASSERT_EQ(a.range_count, 3);
  EXPECT_EQ(a.ranges[0].low, 90u);
  EXPECT_EQ(a.ranges[1].high, 60u);
  EXPECT_EQ(a.ranges[1].low, 50u);
  EXPECT_EQ(a.ranges[2].low, 0u);
  EXPECT_EQ(a.ranges[2].high, 10u);
  ASSERT_TRUE(r.Next(f));
  auto& dd = std::get<wire::DataFrame>(f);
  EXPECT_EQ(dd.channel_seq, 10u);
  EXPECT_EQ(dd.channel_low, 7u);
  EXPECT_EQ(dd.stream_low, 4000u);
  EXPECT_EQ(dd.fragment_offset, 60u);
  EXPECT_TRUE(std::equal(dd.payload.begin(), dd.payload.end(), payload.begin()));
  ASSERT_TRUE(r.Next(f));
  EXPECT_EQ(std::get<wire::PingFrame>(f).ping_id, 11u);
  EXPECT_FALSE(r.Next(f));
  EXPECT_TRUE(r.status().ok());
}

TEST(Wire, RejectsShortWrongMagicAndVersion) {
  std::vector<uint8_t> b(wire::kHeaderBytes + wire::kMacBytes, 0);
  EXPECT_FALSE(wire::DecodePacket(std::span<const uint8_t>(b).first(10)).ok());
  EXPECT_EQ(wire::DecodePacket(b).status().code(), StatusCode::kCorruption);  // magic 0
  Writer w;
  wire::EncodeHeader(w, wire::PacketHeader{});
  auto h = w.Take();
  h[2] = 9;  // version
  h.resize(h.size() + 20, 1);
  EXPECT_FALSE(wire::DecodePacket(h).ok());
}

TEST(Wire, FragmentPastItsMessageIsMalformed) {
  Writer w;
  std::vector<uint8_t> p(10);
  wire::EncodeData(w, wire::DataFrame{.channel_seq = 1, .message_bytes = 5, .payload = p});
  auto b = w.Take();
  wire::FrameReader r(b);
  wire::Frame f;
  EXPECT_FALSE(r.Next(f));
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

TEST(Auth, SealVerifyAndTamper) {
  ASSERT_TRUE(PacketAuthAvailable());
  PacketKey k(testing::TestKey(), 1, NodeId{5}, 99);
  std::vector<uint8_t> packet = testing::Pattern(1000, 3);
  uint8_t tag[kMacBytes];
  k.Seal(packet, NodeId{6}, 10, tag);
  EXPECT_TRUE(k.Verify(packet, NodeId{6}, 10, tag));
  EXPECT_FALSE(k.Verify(packet, NodeId{6}, 11, tag));  // other packet number
  EXPECT_FALSE(k.Verify(packet, NodeId{7}, 10, tag));  // other destination
  packet[500] ^= 1;
  EXPECT_FALSE(k.Verify(packet, NodeId{6}, 10, tag));
  packet[500] ^= 1;
  PacketKey other_incarnation(testing::TestKey(), 1, NodeId{5}, 100);
  EXPECT_FALSE(other_incarnation.Verify(packet, NodeId{6}, 10, tag));
  PacketKey other_cluster_key(testing::TestKey(8), 1, NodeId{5}, 99);
  EXPECT_FALSE(other_cluster_key.Verify(packet, NodeId{6}, 10, tag));
}

TEST(ReplayWindow, RejectsRepeatsAndTooOld) {
  ReplayWindow w(128);
  EXPECT_FALSE(w.Fresh(0));
  for (uint64_t pn : {5, 3, 9, 4}) {
    ASSERT_TRUE(w.Fresh(pn)) << pn;
    w.Accept(pn);
  }
  EXPECT_FALSE(w.Fresh(3));
  EXPECT_FALSE(w.Fresh(9));
  EXPECT_TRUE(w.Fresh(6));
  w.Accept(1000);
  EXPECT_FALSE(w.Fresh(6));  // now older than the window
  EXPECT_TRUE(w.Fresh(999));
  w.Accept(999);
  EXPECT_FALSE(w.Fresh(999));
  w.Accept(1'000'000);
  EXPECT_TRUE(w.Fresh(1'000'000 - 10));
  EXPECT_FALSE(w.Fresh(1000));
}

TEST(LinkMonitor, CommitsOnlyWhileNotAhead) {
  TransportOptions o;
  LinkMonitor m(o);
  Instant t{};
  EXPECT_FALSE(m.up());
  // Two answered pings → up (t = 1); peer still at 0, so we lead by one.
  for (int i = 0; i < 2; ++i) {
    const uint64_t id = m.OnPingDue(t);
    ASSERT_TRUE(m.OnPong(id, 0, t + std::chrono::milliseconds(1)).has_value());
  }
  EXPECT_TRUE(m.Evaluate());
  EXPECT_TRUE(m.up());
  EXPECT_EQ(m.transitions_local(), 1u);
  // Pings now go unanswered: DOWN may be committed while leading by one (t = 2, lead 2).
  for (int i = 0; i < 2; ++i) m.OnPingDue(t);
  EXPECT_FALSE(m.Evaluate());  // only 1 missed so far (the first ping due judges nothing)
  m.OnPingDue(t);
  m.OnPingDue(t);
  EXPECT_TRUE(m.Evaluate());
  EXPECT_FALSE(m.up());
  EXPECT_EQ(m.transitions_local(), 2u);
  // Pongs return, but UP waits until the peer has caught up (we lead by two).
  for (int i = 0; i < 3; ++i) {
    const uint64_t id = m.OnPingDue(t);
    ASSERT_TRUE(m.OnPong(id, 0, t).has_value());
  }
  EXPECT_FALSE(m.Evaluate());
  EXPECT_FALSE(m.up());
  m.OnRemoteTransitions(2);
  EXPECT_TRUE(m.Evaluate());
  EXPECT_TRUE(m.up());
  EXPECT_EQ(m.transitions_local(), 3u);
  // The peer ran two ahead (UP then DOWN while we heard nothing): catch up through both.
  LinkMonitor behind(o);
  behind.OnRemoteTransitions(2);
  EXPECT_TRUE(behind.Evaluate());
  EXPECT_TRUE(behind.up());
  EXPECT_TRUE(behind.Evaluate());
  EXPECT_FALSE(behind.up());
  EXPECT_FALSE(behind.Evaluate());
}

}  // namespace
}  // namespace rain::comm
