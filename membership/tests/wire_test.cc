// Wire format: round trips, the header layout, and refusal of malformed input.
#include <gtest/gtest.h>

#include "rain/core/rng.h"
#include "rain/membership/wire.h"

namespace rain::membership {
namespace {

Token SampleToken() {
  Token t;
  t.ballot = {7, NodeId{3}};
  t.hop_seq = 99;
  t.view = {7, NodeId{3}, 42, NodeId{2}};
  t.prev_primary = {6, NodeId{1}, 5, NodeId{1}};
  t.phase = TokenPhase::kReserve;
  t.primary = true;
  t.members = {NodeId{2}, NodeId{3}, NodeId{1}};
  t.msg_seq = 1000;
  t.aru = 990;
  t.aru_setter = NodeId{3};
  t.busy_hops = 6;
  t.rtr = {991, 995};
  t.lock_holder = NodeId{1};
  t.lock_queue = {NodeId{2}};
  t.records = {RecoveryRecord{NodeId{2}, {6, NodeId{1}, 5, NodeId{1}}, 17, {19, 20}},
               RecoveryRecord{NodeId{3}, {}, 0, {}}};
  return t;
}

TEST(Wire, TokenRoundTrips) {
  Token t = SampleToken();
  auto bytes = Encode(t, 77);
  auto m = Decode(bytes, 77);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(std::get<Token>(*m), t);
}

TEST(Wire, EveryMessageTypeRoundTrips) {
  std::vector<Message> all = {
      SampleToken(),
      DataBatch{{1, NodeId{1}, 2, NodeId{1}},
                {DataMessage{5, NodeId{2}, Service::kSafe, {1, 2, 3}},
                 DataMessage{6, NodeId{2}, Service::kAgreed, {}}}},
      Call911{{3, NodeId{4}}, Call911Mode::kMerge, {2, NodeId{1}, 9, NodeId{3}}, {}},
      Reply911{{3, NodeId{4}}, Reply911Kind::kDenyAlive, {2, NodeId{2}}, true, {}, {}},
      Probe{{1, NodeId{1}, 1, NodeId{1}}, false},
      Probe{{1, NodeId{1}, 1, NodeId{1}}, true},
      Wake{{1, NodeId{1}, 1, NodeId{1}}},
      Direct{{9, 8, 7}},
      TokenAlive{{4, NodeId{2}, 17, NodeId{3}}},
  };
  for (const Message& m : all) {
    auto back = Decode(Encode(m, 1), 1);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, m);
  }
}

TEST(Wire, HeaderIsVersionTypeFlagsClusterCrc) {
  auto bytes = Encode(Wake{{1, NodeId{2}, 3, NodeId{4}}}, 0x1122334455667788ULL);
  ASSERT_EQ(bytes.size(), kHeaderBytes + 24);
  EXPECT_EQ(bytes[0], kWireVersion);
  EXPECT_EQ(bytes[1], static_cast<uint8_t>(MsgType::kWake));
  EXPECT_EQ(bytes[2], 0);
  EXPECT_EQ(bytes[3], 0);
  EXPECT_EQ(bytes[4], 0x88);  // cluster id, little-endian
  EXPECT_EQ(bytes[11], 0x11);
  // Body: view id epoch u64 = 1 at offset 16.
  EXPECT_EQ(bytes[16], 1);
}

TEST(Wire, ForeignClusterIsRefused) {
  auto bytes = Encode(Wake{}, 1);
  auto m = Decode(bytes, 2);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kFailedPrecondition);
}

TEST(Wire, CorruptedBodyFailsTheChecksum) {
  auto bytes = Encode(SampleToken(), 1);
  bytes[30] ^= 0x40;
  auto m = Decode(bytes, 1);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kCorruption);
}

TEST(Wire, EveryTruncationIsAnErrorNotACrash) {
  auto bytes = Encode(SampleToken(), 1);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto m = Decode(std::span<const uint8_t>(bytes.data(), n), 1);
    EXPECT_FALSE(m.ok()) << "prefix of " << n << " bytes decoded";
  }
}

TEST(Wire, RandomBytesNeverCrashTheDecoder) {
  Rng rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> b(rng.Below(200));
    rng.Fill(b);
    if (b.size() >= 2) b[0] = kWireVersion;
    (void)Decode(b, 1).ok();
  }
  // Mutations of a valid token with a fixed-up checksum reach the body checks.
  auto good = Encode(SampleToken(), 1);
  for (int i = 0; i < 20000; ++i) {
    auto b = good;
    b[kHeaderBytes + rng.Below(b.size() - kHeaderBytes)] ^=
        static_cast<uint8_t>(1 + rng.Below(255));
    auto m = Decode(b, 1);
    EXPECT_FALSE(m.ok());  // checksum
  }
}

TEST(Wire, DuplicateMembersAreRefused) {
  Token t = SampleToken();
  t.members = {NodeId{1}, NodeId{1}};
  auto m = Decode(Encode(t, 1), 1);
  EXPECT_FALSE(m.ok());
}

}  // namespace
}  // namespace rain::membership
