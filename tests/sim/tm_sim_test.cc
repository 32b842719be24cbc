// The Transport Manager under the deterministic simulator: swarm runs over many seeds with the TM
// invariants of DESIGN.md §4 checked after every step, plus a few fixed scenarios.
//
// Invariants (checked as events happen; the checker reports the first violation):
//  - a message is delivered at most once (across receiver restarts too) and only whole: every
//    payload carries its id, stream, sequence number, length and CRC32C, checked byte-exact;
//  - per (sender incarnation, channel) at one receiver incarnation, delivered in send order;
//  - a send reported delivered was delivered (the receiver's delivery precedes the sender's ack);
//  - every send gets exactly one outcome (never two), and, checked at the end, eventually one
//    (unless the sender crashed);
//  - liveness: messages sent after the faults stopped (links healed, nodes back, no loss) are
//    all delivered and reported delivered.
// Swarm: each seed picks 2–4 nodes, 1–2 addresses each, and a random fault mix (sim/swarm.h).
// RAIN_SEED=N replays seed N; RAIN_SEEDS=N runs N seeds (default 1000).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "rain/comm/transport.h"
#include "rain/core/codec.h"
#include "rain/core/crc32c.h"
#include "rain/sim/simulator.h"
#include "rain/sim/swarm.h"

namespace rain::sim {
namespace {

using comm::Address;
using comm::ChannelId;
using comm::MessageId;
using comm::SendOutcome;
using comm::Strategy;
using comm::Transport;
using comm::TransportOptions;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint16_t kPort = 7000;
constexpr ChannelId kChannels[] = {ChannelId{1}, ChannelId{2}};
constexpr size_t kPayloadHeaderBytes = 8 + 4 + 8 + 2 + 8 + 4 + 4;

Address ToAddress(Endpoint e) {
  uint32_t n = ToInt(e.node);
  return Address::Ipv4(10, e.iface, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n), kPort);
}

std::optional<Endpoint> ToEndpoint(const Address& a) {
  if (a.family != Address::Family::kIpv4 || a.ip[0] != 10 || a.port != kPort) return std::nullopt;
  return Endpoint{NodeId{static_cast<uint32_t>(a.ip[2]) << 8 | a.ip[3]}, a.ip[1]};
}

// ---- the record of everything sent and delivered in one run, and the invariant checks ----

struct SendRecord {
  NodeId from;
  uint64_t from_incarnation;
  NodeId to;
  ChannelId channel;
  MessageId id;
  Instant sent_at;
  bool calm = false;  // sent after the faults stopped: must be delivered
  int outcomes = 0;
  std::optional<SendOutcome> outcome;
  int deliveries = 0;
};

class TmRecorder {
 public:
  // Builds the payload of the next message from (from, incarnation) on `channel` and records it.
  std::vector<uint8_t> NewPayload(NodeId from, uint64_t inc, NodeId to, ChannelId channel,
                                  size_t size, Rng& rng, uint64_t* global_id) {
    *global_id = next_global_id_++;
    uint64_t seq = ++stream_seq_[{from, inc, ToInt(channel), to}];
    std::vector<uint8_t> body(size > kPayloadHeaderBytes ? size - kPayloadHeaderBytes : 0);
    rng.Fill(body);
    Writer w(kPayloadHeaderBytes + body.size());
    w.U64(*global_id);
    w.U32(ToInt(from));
    w.U64(inc);
    w.U16(ToInt(channel));
    w.U64(seq);
    w.U32(static_cast<uint32_t>(body.size()));
    w.U32(Crc32c(body));
    w.Bytes(body);
    return w.Take();
  }
  void Sent(uint64_t global_id, SendRecord r) {
    by_message_[{r.from, r.from_incarnation, ToInt(r.id)}] = global_id;
    sends_[global_id] = r;
  }

  void Delivered(NodeId at, uint64_t at_inc, const comm::MessageDelivered& m) {
    Reader r(m.bytes);
    uint64_t gid = r.U64("global_id");
    NodeId from{r.U32("from")};
    uint64_t inc = r.U64("incarnation");
    uint16_t channel = r.U16("channel");
    uint64_t seq = r.U64("seq");
    uint32_t len = r.U32("len");
    uint32_t crc = r.U32("crc");
    std::span<const uint8_t> body = r.Bytes(len, "body");
    if (!r.ok() || r.remaining() != 0) {
      return Fail("a delivered message is not whole: " + r.status().ToString() + ", " +
                  std::to_string(m.bytes.size()) + " bytes");
    }
    if (Crc32c(body) != crc)
      return Fail("a delivered message has a bad CRC (global id " + std::to_string(gid) + ")");
    auto it = sends_.find(gid);
    if (it == sends_.end()) return Fail("delivered a message nobody sent: " + std::to_string(gid));
    SendRecord& s = it->second;
    if (from != m.from || from != s.from || inc != s.from_incarnation || at != s.to ||
        channel != ToInt(m.channel) || channel != ToInt(s.channel)) {
      return Fail("message " + std::to_string(gid) + " delivered at " + ToString(at) + " from " +
                  ToString(m.from) + " ch " + std::to_string(ToInt(m.channel)) + " but was sent " +
                  ToString(s.from) + "->" + ToString(s.to) + " ch " +
                  std::to_string(ToInt(s.channel)));
    }
    if (++s.deliveries > 1) {
      return Fail("message " + std::to_string(gid) + " delivered " + std::to_string(s.deliveries) +
                  " times (at " + ToString(at) + " incarnation " + std::to_string(at_inc) + ")");
    }
    uint64_t& last = delivered_seq_[{at, at_inc, from, inc, channel}];
    if (seq <= last) {
      return Fail("out of order at " + ToString(at) + ": stream " + ToString(from) + "#" +
                  std::to_string(inc) + " ch " + std::to_string(channel) + " delivered seq " +
                  std::to_string(seq) + " after " + std::to_string(last));
    }
    last = seq;
  }

  void Completed(NodeId at, uint64_t at_inc, const comm::SendCompleted& c) {
    auto key = std::make_tuple(at, at_inc, ToInt(c.id));
    auto it = by_message_.find(key);
    if (it == by_message_.end()) {
      return Fail("SendCompleted for an unknown message id " + std::to_string(ToInt(c.id)) +
                  " at " + ToString(at));
    }
    SendRecord& s = sends_.at(it->second);
    if (++s.outcomes > 1) {
      return Fail("message " + std::to_string(it->second) + " got " + std::to_string(s.outcomes) +
                  " outcomes");
    }
    s.outcome = c.outcome;
    if (c.to != s.to || c.channel != s.channel) {
      return Fail("SendCompleted names the wrong peer or channel for " +
                  std::to_string(it->second));
    }
    if (c.outcome == SendOutcome::kDelivered && s.deliveries == 0) {
      return Fail("message " + std::to_string(it->second) + " " + ToString(s.from) + "->" +
                  ToString(s.to) + " reported delivered but never delivered");
    }
  }

  // End of run: every send by a sender still running has one outcome; calm sends delivered.
  Status Final(const std::function<uint64_t(NodeId)>& incarnation_now, bool want_calm) const {
    if (!violation_.ok()) return violation_;
    for (const auto& [gid, s] : sends_) {
      bool sender_alive = incarnation_now(s.from) == s.from_incarnation;
      if (sender_alive && s.outcomes != 1) {
        return InternalError("message " + std::to_string(gid) + " " + ToString(s.from) + "->" +
                             ToString(s.to) + " has no outcome at the end of the run");
      }
      if (want_calm && s.calm && (s.outcome != SendOutcome::kDelivered || s.deliveries != 1)) {
        return InternalError(
            "liveness: message " + std::to_string(gid) + " " + ToString(s.from) + "->" +
            ToString(s.to) + " sent after the faults stopped was not delivered (outcome " +
            (s.outcome ? (*s.outcome == SendOutcome::kDelivered ? "delivered" : "failed")
                       : "none") +
            ", " + std::to_string(s.deliveries) + " deliveries)");
      }
    }
    return Status::Ok();
  }

  bool AllSettled(const std::function<uint64_t(NodeId)>& incarnation_now) const {
    for (const auto& [gid, s] : sends_) {
      if (incarnation_now(s.from) == s.from_incarnation && s.outcomes == 0) return false;
    }
    return true;
  }

  const Status& violation() const { return violation_; }
  size_t sends() const { return sends_.size(); }
  size_t delivered_count() const {
    size_t n = 0;
    for (const auto& [gid, s] : sends_) n += s.deliveries > 0;
    return n;
  }
  size_t failed_count() const {
    size_t n = 0;
    for (const auto& [gid, s] : sends_) n += s.outcome == SendOutcome::kFailed;
    return n;
  }
  void Fail(std::string what) {
    if (violation_.ok()) violation_ = InternalError(std::move(what));
  }

 private:
  uint64_t next_global_id_ = 1;
  std::map<std::tuple<NodeId, uint64_t, uint16_t, NodeId>, uint64_t> stream_seq_;
  std::map<uint64_t, SendRecord> sends_;
  std::map<std::tuple<NodeId, uint64_t, uint64_t>, uint64_t> by_message_;
  std::map<std::tuple<NodeId, uint64_t, NodeId, uint64_t, uint16_t>, uint64_t> delivered_seq_;
  Status violation_;
};

// ---- the adapter: one Transport in the simulator ----

struct TmWorldOptions {
  std::vector<NodeId> nodes;
  int iface_count = 1;
  TransportOptions base;  // self, incarnation and addresses are filled per node
};

class TmNode : public NodeAdapter {
 public:
  TmNode(const NodeConfig& c, const TmWorldOptions& w, TmRecorder* recorder)
      : self_(c.node), incarnation_(c.incarnation), recorder_(recorder), rng_(c.rng) {
    TransportOptions o = w.base;
    o.self = c.node;
    o.incarnation = c.incarnation;
    o.local_addresses.clear();
    for (int i = 0; i < c.iface_count; ++i) {
      o.local_addresses.push_back(ToAddress({c.node, static_cast<uint8_t>(i)}));
    }
    Result<Transport> t = Transport::Create(o);
    RAIN_CHECK(t.ok(), t.status().ToString().c_str());
    tm_.emplace(std::move(t).value());
    for (NodeId peer : w.nodes) {
      if (peer == self_) continue;
      std::vector<Address> addrs;
      for (int i = 0; i < c.iface_count; ++i) {
        addrs.push_back(ToAddress({peer, static_cast<uint8_t>(i)}));
      }
      Status s = tm_->AddTarget(peer, addrs);
      RAIN_CHECK(s.ok(), s.ToString().c_str());
    }
    for (ChannelId ch : kChannels) {
      Status s = tm_->RegisterChannel(ch, "sim" + std::to_string(ToInt(ch)));
      RAIN_CHECK(s.ok(), s.ToString().c_str());
    }
  }

  void HandleDatagram(Instant now, Endpoint local, Endpoint remote,
                      std::span<const uint8_t> bytes) override {
    tm_->HandleDatagram(now, ToAddress(local), ToAddress(remote), bytes);
  }
  void HandleTimeout(Instant now) override { tm_->HandleTimeout(now); }
  std::optional<Datagram> PollTransmit(Instant now) override {
    if (!split_.empty()) {
      Datagram d = std::move(split_.back());
      split_.pop_back();
      return d;
    }
    std::optional<comm::Transmit> t = tm_->PollTransmit(now);
    if (!t) return std::nullopt;
    std::optional<Endpoint> from = ToEndpoint(t->local);
    std::optional<Endpoint> to = ToEndpoint(t->remote);
    if (!from || !to || from->node != self_) {
      recorder_->Fail("transmit with an address the simulator did not give: " +
                      t->local.ToString() + " -> " + t->remote.ToString());
      return std::nullopt;
    }
    // A GSO batch is several datagrams back to back; the network carries them one by one.
    size_t seg = t->segment_bytes == 0 ? t->bytes.size() : t->segment_bytes;
    std::vector<Datagram> parts;
    for (size_t off = 0; off < t->bytes.size(); off += seg) {
      size_t n = std::min(seg, t->bytes.size() - off);
      parts.push_back(Datagram{*from, *to, {t->bytes.begin() + off, t->bytes.begin() + off + n}});
    }
    if (parts.empty()) parts.push_back(Datagram{*from, *to, {}});
    for (size_t i = parts.size(); i-- > 1;) split_.push_back(std::move(parts[i]));
    return std::move(parts[0]);
  }
  std::optional<Instant> PollDeadline() override { return tm_->PollDeadline(); }
  void DrainEvents(Instant) override {
    while (std::optional<comm::Event> e = tm_->PollEvent()) {
      if (auto* m = std::get_if<comm::MessageDelivered>(&*e)) {
        recorder_->Delivered(self_, incarnation_, *m);
      } else if (auto* c = std::get_if<comm::SendCompleted>(&*e)) {
        recorder_->Completed(self_, incarnation_, *c);
      }
    }
  }

  // Sends one recorded message; returns false if the TM refused it (queue full).
  bool Send(Instant now, NodeId to, ChannelId channel, size_t size, Strategy strategy, bool calm) {
    uint64_t gid = 0;
    std::vector<uint8_t> payload =
        recorder_->NewPayload(self_, incarnation_, to, channel, size, rng_, &gid);
    Result<MessageId> id = tm_->SendReliable(now, to, channel, std::move(payload), strategy);
    if (!id.ok()) {
      if (id.status().code() != StatusCode::kResourceExhausted) {
        recorder_->Fail("SendReliable refused: " + id.status().ToString());
      }
      return false;
    }
    recorder_->Sent(gid, SendRecord{.from = self_,
                                    .from_incarnation = incarnation_,
                                    .to = to,
                                    .channel = channel,
                                    .id = *id,
                                    .sent_at = now,
                                    .calm = calm});
    return true;
  }
  Transport& tm() { return *tm_; }

 private:
  NodeId self_;
  uint64_t incarnation_;
  TmRecorder* recorder_;
  Rng rng_;
  std::optional<Transport> tm_;
  std::vector<Datagram> split_;  // rest of a GSO batch, last first
};

TransportOptions SimTransportOptions() {
  TransportOptions o;
  o.cluster_id = 0x5349;
  for (size_t i = 0; i < o.cluster_key.size(); ++i) o.cluster_key[i] = static_cast<uint8_t>(i);
  o.local_addresses = {ToAddress({NodeId{1}, 0})};  // replaced per node
  return o;
}

// A world: simulator + recorder + TM nodes.
struct TmWorld {
  std::unique_ptr<TmRecorder> recorder = std::make_unique<TmRecorder>();
  TmWorldOptions world;
  std::unique_ptr<Simulator> sim;

  TmWorld(uint64_t seed, int nodes, int ifaces, TransportOptions base = SimTransportOptions()) {
    for (int i = 1; i <= nodes; ++i) world.nodes.push_back(NodeId{static_cast<uint32_t>(i)});
    world.iface_count = ifaces;
    world.base = base;
    TmRecorder* rec = recorder.get();
    const TmWorldOptions* w = &world;
    sim = std::make_unique<Simulator>(
        SimOptions{.seed = seed, .iface_count = ifaces},
        [rec, w](const NodeConfig& c) { return std::make_unique<TmNode>(c, *w, rec); });
    for (NodeId n : world.nodes) sim->AddNode(n);
    sim->AddChecker("TM invariants", [rec](Instant) { return rec->violation(); });
  }
  TmNode* Node(NodeId n) { return static_cast<TmNode*>(sim->Adapter(n)); }
  // Schedules a send at `at` from `from` (skipped if `from` is down then).
  void SendAt(Instant at, NodeId from, NodeId to, ChannelId ch, size_t size, Strategy st,
              bool calm) {
    ++scheduled_sends;
    sim->At(at, [this, from, to, ch, size, st, calm] {
      --scheduled_sends;
      if (TmNode* n = Node(from)) n->Send(sim->now(), to, ch, size, st, calm);
    });
  }
  // Every scheduled send has happened and every send has its outcome.
  bool Settled() { return scheduled_sends == 0 && recorder->AllSettled(IncarnationNow()); }
  int scheduled_sends = 0;
  std::function<uint64_t(NodeId)> IncarnationNow() {
    return [this](NodeId n) { return sim->IsUp(n) ? sim->Incarnation(n) : 0; };
  }
};

size_t RandomMessageBytes(Rng& rng) {
  double u = rng.Unit();
  if (u < 0.70) return static_cast<size_t>(rng.Between(kPayloadHeaderBytes, 1500));
  if (u < 0.92) return static_cast<size_t>(rng.Between(1500, 16 << 10));
  if (u < 0.99) return static_cast<size_t>(rng.Between(16 << 10, 128 << 10));
  return static_cast<size_t>(rng.Between(128 << 10, 1 << 20));
}

struct SeedSummary {
  std::string mix;
  int nodes = 0;
  int ifaces = 0;
};

// One swarm run. Bounded: faults for 3 s of virtual time, a 3 s settle, calm sends, and at most
// 90 s of virtual time in all.
Status RunTmSeed(uint64_t seed, SeedSummary* summary) {
  Rng rng(seed);
  const int nodes = static_cast<int>(rng.Between(2, 4));
  const int ifaces = static_cast<int>(rng.Between(1, 2));
  TmWorld w(seed, nodes, ifaces);
  FaultMix mix = RandomFaultMix(rng, /*allow_crashes=*/true);
  summary->mix = mix.ToString();
  summary->nodes = nodes;
  summary->ifaces = ifaces;

  const Instant t0 = w.sim->now();
  const Instant faults_end = t0 + seconds(3);
  const Instant calm_start = faults_end + seconds(3);
  // Calm phase: no loss, no bandwidth limit; duplication, reordering and jitter stay.
  LinkParams calm = mix.link;
  calm.loss = 0;
  calm.bandwidth_bytes_per_s = 0;
  ScheduleFaults(*w.sim, mix, t0, faults_end, calm);

  auto pick_peer = [&](NodeId from) {
    NodeId to = from;
    while (to == from) to = w.world.nodes[rng.Below(w.world.nodes.size())];
    return to;
  };
  for (NodeId from : w.world.nodes) {
    int during = static_cast<int>(rng.Between(2, 10));
    for (int i = 0; i < during; ++i) {
      Instant at = t0 + Duration(rng.Between(0, (faults_end - t0).count()));
      Strategy st = rng.Chance(0.3) ? Strategy::kParallel : Strategy::kSequential;
      w.SendAt(at, from, pick_peer(from), kChannels[rng.Below(2)], RandomMessageBytes(rng), st,
               false);
    }
    int after = static_cast<int>(rng.Between(1, 4));
    for (int i = 0; i < after; ++i) {
      Instant at = calm_start + Duration(rng.Between(0, milliseconds(500).count()));
      Strategy st = rng.Chance(0.3) ? Strategy::kParallel : Strategy::kSequential;
      w.SendAt(at, from, pick_peer(from), kChannels[rng.Below(2)], RandomMessageBytes(rng), st,
               true);
    }
  }
  const Instant end = t0 + seconds(90);
  auto inc = w.IncarnationNow();
  // Run past the last scheduled send, then until every send has its outcome.
  RAIN_RETURN_IF_ERROR(w.sim->RunUntil(calm_start + seconds(1)));
  RAIN_RETURN_IF_ERROR(w.sim->RunUntil(end, [&] { return w.Settled(); }));
  return w.recorder->Final(inc, /*want_calm=*/true);
}

TEST(TmSim, SwarmInvariants) {
  SeedPlan plan = SeedsFromEnv(1000);
  auto start = std::chrono::steady_clock::now();
  SeedReport report = RunSeeds(plan, "TmSim.SwarmInvariants", [&](uint64_t seed) -> Status {
    SeedSummary summary;
    Status s = RunTmSeed(seed, &summary);
    if (plan.replay || !s.ok()) {
      std::fprintf(stderr, "seed %llu: %d nodes x %d addresses, %s: %s\n",
                   static_cast<unsigned long long>(seed), summary.nodes, summary.ifaces,
                   summary.mix.c_str(), s.ok() ? "ok" : s.ToString().c_str());
    }
    return s;
  });
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "TmSim.SwarmInvariants: %llu seeds in %.1f s, %zu failed\n",
               static_cast<unsigned long long>(report.runs), secs, report.failed_seeds.size());
  EXPECT_TRUE(report.failed_seeds.empty())
      << "first failing seed " << report.failed_seeds.front() << ": " << report.first_failure;
}

TEST(TmSim, CleanNetworkDeliversAllSizesInOrder) {
  TmWorld w(11, 2, 1);
  Instant t = w.sim->now();
  const size_t sizes[] = {kPayloadHeaderBytes, 100, 1400, 1401, 4000, 65536, 1 << 20, 3000000};
  for (size_t i = 0; i < 40; ++i) {
    w.SendAt(t + milliseconds(i), NodeId{1}, NodeId{2}, kChannels[i % 2], sizes[i % 8],
             Strategy::kSequential, true);
  }
  auto inc = w.IncarnationNow();
  ASSERT_TRUE(w.sim->RunUntil(t + seconds(60), [&] { return w.Settled(); }).ok());
  Status s = w.recorder->Final(inc, true);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(w.recorder->delivered_count(), 40u);
}

TEST(TmSim, CutOfOneAddressMovesTrafficWithoutLoss) {
  TmWorld w(12, 2, 2);
  Instant t = w.sim->now();
  for (size_t i = 0; i < 60; ++i) {
    w.SendAt(t + milliseconds(10 * i), NodeId{1}, NodeId{2}, kChannels[0], 20000,
             Strategy::kSequential, true);
  }
  const Instant cut = t + milliseconds(200);
  w.sim->At(cut, [&] { w.sim->network().Cut(Endpoint{NodeId{1}, 0}, Endpoint{NodeId{2}, 0}); });
  // The longest pause between two deliveries after the cut (virtual time: no CPU noise).
  size_t seen = 0;
  Instant last = cut;
  Duration pause_max = Duration::zero();
  w.sim->AddChecker("pause after the cut", [&](Instant now) {
    if (now >= cut && w.recorder->delivered_count() != seen) {
      pause_max = std::max(pause_max, now - last);
      last = now;
    }
    seen = w.recorder->delivered_count();
    return Status::Ok();
  });
  auto inc = w.IncarnationNow();
  ASSERT_TRUE(w.sim->RunUntil(t + seconds(60), [&] { return w.Settled(); }).ok());
  Status s = w.recorder->Final(inc, true);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(w.recorder->failed_count(), 0u);
  // docs/transport.md §6: traffic moves within about one RTO (here rto_min, 20 ms: the simulated
  // RTT is 0.2 ms) plus the loss-detection delay. Messages are sent every 10 ms, so the pause
  // also holds the 10 ms spacing. Target: 3 RTOs.
  const Duration rto = SimTransportOptions().rto_min;
  std::fprintf(stderr, "one of two addresses cut: longest pause %lld us (3 RTOs = %lld us)\n",
               static_cast<long long>(
                   std::chrono::duration_cast<std::chrono::microseconds>(pause_max).count()),
               static_cast<long long>(
                   std::chrono::duration_cast<std::chrono::microseconds>(3 * rto).count()));
  EXPECT_LE(pause_max, 3 * rto + milliseconds(10));
}

TEST(TmSim, EveryAddressCutReportsFailureOnceWithinBound) {
  TransportOptions o = SimTransportOptions();
  TmWorld w(13, 2, 2, o);
  Instant t = w.sim->now();
  w.sim->network().Cut(Endpoint{NodeId{1}, 0}, Endpoint{NodeId{2}, 0});
  w.sim->network().Cut(Endpoint{NodeId{1}, 1}, Endpoint{NodeId{2}, 1});
  w.SendAt(t, NodeId{1}, NodeId{2}, kChannels[0], 5000, Strategy::kSequential, false);
  w.SendAt(t, NodeId{1}, NodeId{2}, kChannels[1], 100, Strategy::kParallel, false);
  auto inc = w.IncarnationNow();
  // The detection bound of docs/transport.md §6 (FailureDetectionBound), plus 1 s of slack. The
  // peer was never heard from: the messages must fail all the same.
  Duration bound = comm::FailureDetectionBound(o, 2) + seconds(1);
  ASSERT_TRUE(w.sim->RunUntil(t + bound, [&] { return w.Settled(); }).ok());
  EXPECT_TRUE(w.recorder->AllSettled(inc)) << "no failure reported within the bound";
  EXPECT_EQ(w.recorder->failed_count(), 2u);
  // And nothing more is reported later.
  ASSERT_TRUE(w.sim->RunUntil(w.sim->now() + seconds(20)).ok());
  Status s = w.recorder->Final(inc, false);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(TmSim, EveryAddressCutAfterContactFailsWithinBound) {
  TransportOptions o = SimTransportOptions();
  TmWorld w(14, 2, 2, o);
  Instant t = w.sim->now();
  w.SendAt(t, NodeId{1}, NodeId{2}, kChannels[0], 100, Strategy::kSequential, true);
  ASSERT_TRUE(w.sim->RunUntil(t + seconds(2), [&] { return w.Settled(); }).ok());
  ASSERT_EQ(w.recorder->delivered_count(), 1u);
  Instant cut = w.sim->now();
  w.sim->network().Cut(Endpoint{NodeId{1}, 0}, Endpoint{NodeId{2}, 0});
  w.sim->network().Cut(Endpoint{NodeId{1}, 1}, Endpoint{NodeId{2}, 1});
  w.SendAt(cut, NodeId{1}, NodeId{2}, kChannels[0], 5000, Strategy::kSequential, false);
  w.SendAt(cut, NodeId{1}, NodeId{2}, kChannels[1], 100, Strategy::kParallel, false);
  // docs/transport.md §6 (FailureDetectionBound), plus 1 s of slack.
  Duration bound = comm::FailureDetectionBound(o, 2) + seconds(1);
  ASSERT_TRUE(w.sim->RunUntil(cut + bound, [&] { return w.Settled(); }).ok());
  EXPECT_TRUE(w.Settled()) << "no failure reported within "
                           << std::chrono::duration_cast<milliseconds>(bound).count() << " ms";
  EXPECT_EQ(w.recorder->failed_count(), 2u);
  std::fprintf(
      stderr, "both addresses cut: failures reported after %lld ms (bound %lld ms)\n",
      static_cast<long long>(std::chrono::duration_cast<milliseconds>(w.sim->now() - cut).count()),
      static_cast<long long>(std::chrono::duration_cast<milliseconds>(bound).count()));
  Status s = w.recorder->Final(w.IncarnationNow(), false);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// As above, but the cut hits a stream of multi-packet messages (20 KB, 15 packets each) in flight.
TEST(TmSim, EveryAddressCutUnderLoadFailsWithinBound) {
  TransportOptions o = SimTransportOptions();
  TmWorld w(15, 2, 2, o);
  Instant t = w.sim->now();
  for (int i = 0; i < 200; ++i) {
    w.SendAt(t + milliseconds(i), NodeId{1}, NodeId{2}, kChannels[0], 20000, Strategy::kSequential,
             false);
  }
  const Instant cut = t + milliseconds(100);
  w.sim->At(cut, [&] {
    w.sim->network().Cut(Endpoint{NodeId{1}, 0}, Endpoint{NodeId{2}, 0});
    w.sim->network().Cut(Endpoint{NodeId{1}, 1}, Endpoint{NodeId{2}, 1});
  });
  Duration bound = comm::FailureDetectionBound(o, 2) + seconds(1);
  ASSERT_TRUE(w.sim->RunUntil(cut + bound, [&] { return w.recorder->failed_count() > 0; }).ok());
  std::fprintf(
      stderr, "both addresses cut under load: first failure after %lld ms (bound %lld)\n",
      static_cast<long long>(std::chrono::duration_cast<milliseconds>(w.sim->now() - cut).count()),
      static_cast<long long>(std::chrono::duration_cast<milliseconds>(bound).count()));
  EXPECT_GT(w.recorder->failed_count(), 0u) << "no failure within the bound";
  // Every send still gets exactly one outcome.
  ASSERT_TRUE(w.sim->RunUntil(w.sim->now() + seconds(600), [&] { return w.Settled(); }).ok());
  Status s = w.recorder->Final(w.IncarnationNow(), false);
  EXPECT_TRUE(s.ok()) << s.ToString() << " (" << w.recorder->sends() << " sent, "
                      << w.recorder->delivered_count() << " delivered, "
                      << w.recorder->failed_count() << " failed)";
}

// The checkers must be able to fail: feed them a duplicate, a reordering and a phantom ack.
TEST(TmSim, RecorderCatchesViolations) {
  Rng rng(1);
  auto payload_of = [&](TmRecorder& r, uint64_t* gid) {
    return r.NewPayload(NodeId{1}, 1, NodeId{2}, kChannels[0], 100, rng, gid);
  };
  auto record = [](TmRecorder& r, uint64_t gid, uint64_t id) {
    r.Sent(gid, SendRecord{.from = NodeId{1},
                           .from_incarnation = 1,
                           .to = NodeId{2},
                           .channel = kChannels[0],
                           .id = MessageId{id}});
  };
  {
    TmRecorder r;
    uint64_t g;
    auto p = payload_of(r, &g);
    record(r, g, 1);
    comm::MessageDelivered m{.from = NodeId{1}, .channel = kChannels[0], .bytes = p};
    r.Delivered(NodeId{2}, 1, m);
    EXPECT_TRUE(r.violation().ok());
    r.Delivered(NodeId{2}, 1, m);
    EXPECT_FALSE(r.violation().ok()) << "duplicate not caught";
  }
  {
    TmRecorder r;
    uint64_t g1, g2;
    auto p1 = payload_of(r, &g1);
    auto p2 = payload_of(r, &g2);
    record(r, g1, 1);
    record(r, g2, 2);
    r.Delivered(NodeId{2}, 1, {.from = NodeId{1}, .channel = kChannels[0], .bytes = p2});
    r.Delivered(NodeId{2}, 1, {.from = NodeId{1}, .channel = kChannels[0], .bytes = p1});
    EXPECT_FALSE(r.violation().ok()) << "reordering not caught";
  }
  {
    TmRecorder r;
    uint64_t g;
    auto p = payload_of(r, &g);
    p[p.size() - 1] ^= 1;
    record(r, g, 1);
    r.Delivered(NodeId{2}, 1, {.from = NodeId{1}, .channel = kChannels[0], .bytes = p});
    EXPECT_FALSE(r.violation().ok()) << "corruption not caught";
  }
  {
    TmRecorder r;
    uint64_t g;
    (void)payload_of(r, &g);
    record(r, g, 1);
    comm::SendCompleted c{.id = MessageId{1},
                          .to = NodeId{2},
                          .channel = kChannels[0],
                          .outcome = SendOutcome::kDelivered};
    r.Completed(NodeId{1}, 1, c);
    EXPECT_FALSE(r.violation().ok()) << "ack of an undelivered message not caught";
  }
  {
    TmRecorder r;
    uint64_t g;
    (void)payload_of(r, &g);
    record(r, g, 1);
    comm::SendCompleted c{.id = MessageId{1},
                          .to = NodeId{2},
                          .channel = kChannels[0],
                          .outcome = SendOutcome::kFailed};
    r.Completed(NodeId{1}, 1, c);
    EXPECT_TRUE(r.violation().ok());
    r.Completed(NodeId{1}, 1, c);
    EXPECT_FALSE(r.violation().ok()) << "second outcome not caught";
  }
}

}  // namespace
}  // namespace rain::sim
