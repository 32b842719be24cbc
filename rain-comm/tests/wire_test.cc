// Unit tests of the pieces below the Transport: wire codec, MAC, replay window, link monitor.
#include "rain/comm/wire.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  // A long packet (the OpenSSL half): a flipped bit anywhere, or a cut tail, is rejected.
  std::vector<uint8_t> big = testing::Pattern(65'000 - kMacBytes, 4);
  k.Seal(big, NodeId{6}, 12, tag);
  EXPECT_TRUE(k.Verify(big, NodeId{6}, 12, tag));
  for (size_t at : {size_t{0}, size_t{8191}, big.size() - 1}) {
    big[at] ^= 0x80;
    EXPECT_FALSE(k.Verify(big, NodeId{6}, 12, tag)) << at;
    big[at] ^= 0x80;
  }
  EXPECT_FALSE(k.Verify(std::span<const uint8_t>(big.data(), big.size() - 1), NodeId{6}, 12, tag));
  tag[15] ^= 1;
  EXPECT_FALSE(k.Verify(big, NodeId{6}, 12, tag));
}

std::vector<uint8_t> Hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string ToHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

std::string GmacHex(const Gmac& g, std::span<const uint8_t> message, std::string_view nonce_hex,
                    Gmac::Backend backend) {
  const std::vector<uint8_t> nonce = Hex(nonce_hex);
  std::array<uint8_t, kGmacTagBytes> tag;
  g.Tag(message, std::span<const uint8_t, kGmacNonceBytes>(nonce.data(), kGmacNonceBytes), tag,
        backend);
  return ToHex(tag);
}

// Both implementations against published AES-256-GCM vectors with an empty plaintext: NIST CAVP
// gcmEncryptExtIV256 (PTlen 0, AADlen 128, Count 0) and McGrew–Viega test case 13 (all zero).
TEST(Gmac, BothImplementationsMatchPublishedVectors) {
  ASSERT_TRUE(Gmac::Available());
  std::array<uint8_t, kGmacKeyBytes> key;
  const std::vector<uint8_t> nist_key =
      Hex("78dc4e0aaf52d935c3c01eea57428f00ca1fd475f5da86a49c8dd73d68c8e223");
  std::copy(nist_key.begin(), nist_key.end(), key.begin());
  const Gmac nist(key);
  const std::vector<uint8_t> aad = Hex("b96baa8c1c75a671bfb2d08d06be5f36");
  const Gmac zero(std::array<uint8_t, kGmacKeyBytes>{});
  for (Gmac::Backend b : {Gmac::Backend::kSodium, Gmac::Backend::kOpenSsl, Gmac::Backend::kAuto}) {
    EXPECT_EQ(GmacHex(nist, aad, "d79cf22d504cc793c3fb6c8a", b),
              "3e5d486aa2e30b22e040b85723a06e76");
    EXPECT_EQ(GmacHex(zero, {}, "000000000000000000000000", b), "530f8afbc74536b9a963b4f1c4cb738b");
  }
}

// The two implementations compute one function: a packet's tag must not depend on which one the
// sender's length picked, at every length around the switch-over and at the loopback maximum.
TEST(Gmac, ImplementationsAgreeAtEveryLength) {
  std::array<uint8_t, kGmacKeyBytes> key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 13 + 5);
  const Gmac g(key);
  const std::vector<uint8_t> data = testing::Pattern(65'000, 11);
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 300; ++n) lengths.push_back(n);
  for (size_t n = kGmacOpenSslMinBytes - 40; n <= kGmacOpenSslMinBytes + 40; ++n) {
    lengths.push_back(n);
  }
  lengths.insert(lengths.end(), {1'400, 4'097, 20'000, 64'999, 65'000});
  for (size_t n : lengths) {
    const std::span<const uint8_t> m(data.data(), n);
    const std::string nonce = "0102030405060708090a0b" + ToHex(std::vector<uint8_t>{uint8_t(n)});
    EXPECT_EQ(GmacHex(g, m, nonce, Gmac::Backend::kSodium),
              GmacHex(g, m, nonce, Gmac::Backend::kOpenSsl))
        << n << " bytes";
  }
}

// Tags pinned from the construction of wire version 1 (computed with libsodium before the OpenSSL
// half existed): a change of key derivation, nonce layout or MAC would break interoperability
// between nodes of different builds, and must come with a new wire version.
TEST(Auth, KnownAnswers) {
  const PacketKey k(testing::TestKey(), 1, NodeId{5}, 99);
  const std::vector<std::pair<size_t, std::string>> cases = {
      {0, "ecfa1d46ab6c568fbe0ce96dfdfbdcd0"},
      {64, "cb15f756a36ea0bfbb6e83eee962399f"},
      {1'000, "9c2d763a6b0ae6ed4e3c736aba1e15f2"},
      {20'000, "77ada77562e505801e464adab4e5f11d"},  // long enough for the OpenSSL half
  };
  for (const auto& [n, want] : cases) {
    std::vector<uint8_t> packet(n);
    for (size_t i = 0; i < n; ++i) packet[i] = static_cast<uint8_t>(i * 7 + 1);
    std::array<uint8_t, kMacBytes> tag;
    k.Seal(packet, NodeId{6}, 10, tag);
    EXPECT_EQ(ToHex(tag), want) << n << " bytes";
    EXPECT_TRUE(k.Verify(packet, NodeId{6}, 10, tag));
  }
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
