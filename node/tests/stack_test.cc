// NodeStack routing: real Transports and GCMs wired back to back in memory (a virtual clock, a
// lossless network with a fixed one-way delay, datagrams routed by address), driven exactly like
// the TransportDriver drives them: events -> stack, Flush, transmits, events out.
#include "rain/node/stack.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "../src/load.h"
#include "rain/comm/transport.h"
#include "rain/membership/gdm_storage.h"

namespace rain::node {
namespace {

using namespace std::chrono_literals;
using membership::StableState;

constexpr Duration kOneWay = 50us;

class MemoryStorage : public StableStorage {
 public:
  Status Save(const StableState& s) override {
    if (fail) return IoError("disk full (test)", 28);
    saved.push_back(s);
    return Status::Ok();
  }
  std::vector<StableState> saved;
  bool fail = false;
};

class MemoryEpochStorage : public EpochStorage {
 public:
  Status SaveEpoch(uint64_t epoch) override {
    saved.push_back(epoch);
    return Status::Ok();
  }
  std::vector<uint64_t> saved;
};

struct Node {
  NodeId id;
  // The data layer (Net(n, /*data=*/true)).
  membership::MemoryGdmStorage gdm_storage;
  MemoryEpochStorage epoch_storage;
  bool hold_persists = false;  // keep GDM batches unapplied (a slow disk)
  std::deque<membership::PersistBatch> held;
  std::vector<membership::GdmEvent> gdm_events;
  std::vector<election::ElectionEvent> election_events;
  std::optional<comm::Transport> tm;
  std::unique_ptr<NodeStack> stack;
  MemoryStorage storage;
  std::vector<membership::Event> events;
  bool crashed = false;
  // Set when the storage holds the state at the moment this node's output left.
  bool persisted_before_send = true;
};

struct InFlight {
  Instant at;
  comm::Transmit t;
};

class Net {
 public:
  explicit Net(int n, bool data = false) {
    for (int i = 1; i <= n; ++i) {
      auto node = std::make_unique<Node>();
      node->id = NodeId{static_cast<uint32_t>(i)};
      comm::TransportOptions o;
      o.self = node->id;
      o.incarnation = 1;
      o.cluster_id = 7;
      o.local_addresses = Addresses(i);
      o.cluster_key.fill(3);
      Result<comm::Transport> tm = comm::Transport::Create(o);
      EXPECT_TRUE(tm.ok()) << tm.status().ToString();
      node->tm.emplace(std::move(*tm));
      nodes_.push_back(std::move(node));
    }
    std::vector<NodeId> eligible;
    for (auto& n : nodes_) eligible.push_back(n->id);
    for (auto& n : nodes_) {
      for (auto& p : nodes_) {
        if (p->id != n->id) {
          EXPECT_TRUE(n->tm->AddTarget(p->id, Addresses(static_cast<int>(ToInt(p->id)))).ok());
        }
      }
      NodeStackOptions so;
      so.gcm = {.self = n->id, .eligible = eligible, .cluster_id = 99};
      Result<std::unique_ptr<NodeStack>> s =
          data ? NodeStack::Create(*n->tm, so, Rng(ToInt(n->id)), now_, StableState{}, &n->storage,
                                   DataLayerStart{.epoch_storage = &n->epoch_storage})
               : NodeStack::Create(*n->tm, so, Rng(ToInt(n->id)), now_, StableState{}, &n->storage);
      EXPECT_TRUE(s.ok()) << s.status().ToString();
      n->stack = std::move(*s);
    }
    for (auto& n : nodes_) Pump(*n);
  }

  static std::vector<comm::Address> Addresses(int i) {
    return {comm::Address::Ipv4(10, 0, 0, static_cast<uint8_t>(i), 7000),
            comm::Address::Ipv4(10, 0, 1, static_cast<uint8_t>(i), 7000)};
  }

  Node& node(int i) { return *nodes_[static_cast<size_t>(i - 1)]; }
  Instant now() const { return now_; }

  void Pump(Node& n) {
    if (n.crashed) return;
    for (int round = 0; round < 1000; ++round) {
      bool progress = false;
      while (std::optional<comm::Event> e = n.tm->PollEvent()) {
        n.stack->HandleTransportEvent(*n.tm, now_, std::move(*e));
        progress = true;
      }
      if (n.stack->Flush(*n.tm, now_)) progress = true;
      // Persist-before-send: whatever leaves now must already be in the storage.
      bool sending = false;
      while (std::optional<comm::Transmit> t = n.tm->PollTransmit(now_)) {
        wire_.push_back({now_ + kOneWay, std::move(*t)});
        progress = sending = true;
      }
      if (sending && n.stack->health().ok()) {
        const StableState& want = n.stack->gcm().stable_state();
        bool ok = want == StableState{}
                      ? true
                      : (!n.storage.saved.empty() && n.storage.saved.back() == want);
        if (!ok) n.persisted_before_send = false;
      }
      while (std::optional<membership::Event> e = n.stack->PollEvent()) {
        n.events.push_back(std::move(*e));
      }
      while (std::optional<membership::GdmEvent> e = n.stack->PollGdmEvent()) {
        n.gdm_events.push_back(std::move(*e));
      }
      while (std::optional<election::ElectionEvent> e = n.stack->PollElectionEvent()) {
        n.election_events.push_back(std::move(*e));
      }
      while (std::optional<membership::PersistBatch> b = n.stack->PollPersist()) {
        n.held.push_back(std::move(*b));
      }
      if (!n.hold_persists && !n.held.empty()) {
        ReleasePersists(n);
        progress = true;
      }
      if (!progress) return;
    }
    ADD_FAILURE() << "node " << ToInt(n.id) << " never quiesced";
  }

  // Makes the node's held GDM batches durable, in ticket order, and reports them.
  void ReleasePersists(Node& n) {
    while (!n.held.empty()) {
      membership::PersistBatch b = std::move(n.held.front());
      n.held.pop_front();
      Status s = n.gdm_storage.Apply(b);
      n.stack->HandlePersisted(now_, b.ticket, s);
    }
  }

  // Runs the network until `done` or `limit` of virtual time.
  bool RunUntil(const std::function<bool()>& done, Duration limit) {
    Instant end = now_ + limit;
    while (now_ < end) {
      if (done()) return true;
      std::optional<Instant> next;
      auto consider = [&](std::optional<Instant> t) {
        if (t && (!next || *t < *next)) next = t;
      };
      for (auto& w : wire_) consider(w.at);
      for (auto& n : nodes_) {
        if (n->crashed) continue;
        consider(n->tm->PollDeadline());
        consider(n->stack->PollDeadline());
      }
      if (!next) return done();
      now_ = std::max(now_, *next);
      // Deliver what arrived.
      // Pump adds to wire_: deliver from a snapshot.
      std::deque<InFlight> arrived;
      arrived.swap(wire_);
      std::deque<InFlight> later;
      for (auto& w : arrived) {
        if (w.at > now_) {
          later.push_back(std::move(w));
          continue;
        }
        Node* to = Owner(w.t.remote);
        if (to == nullptr || to->crashed || Owner(w.t.local)->crashed) continue;
        to->tm->HandleDatagram(now_, w.t.remote, w.t.local, w.t.bytes);
        Pump(*to);
      }
      for (auto& w : later) wire_.push_back(std::move(w));
      for (auto& n : nodes_) {
        if (n->crashed) continue;
        std::optional<Instant> td = n->tm->PollDeadline();
        if (td && *td <= now_) n->tm->HandleTimeout(now_);
        std::optional<Instant> sd = n->stack->PollDeadline();
        if (sd && *sd <= now_) n->stack->HandleTimeout(*n->tm, now_);
        Pump(*n);
      }
    }
    return done();
  }

  std::optional<membership::View> LastView(int i) {
    std::optional<membership::View> v;
    for (const auto& e : node(i).events) {
      if (auto* vi = std::get_if<membership::ViewInstalled>(&e)) v = vi->view;
    }
    return v;
  }

  bool AllInstalled(std::vector<int> live, size_t members) {
    for (int i : live) {
      std::optional<membership::View> v = LastView(i);
      if (!v || v->members.size() != members) return false;
    }
    return true;
  }

 private:
  Node* Owner(const comm::Address& a) {
    for (auto& n : nodes_) {
      for (const comm::Address& x : Addresses(static_cast<int>(ToInt(n->id)))) {
        if (x == a) return n.get();
      }
    }
    return nullptr;
  }

  Instant now_ = Instant(std::chrono::seconds(1000));
  std::vector<std::unique_ptr<Node>> nodes_;
  std::deque<InFlight> wire_;
};

TEST(NodeStack, TwoStacksFormOneViewAndPersistBeforeSending) {
  Net net(2);
  ASSERT_TRUE(net.RunUntil([&] { return net.AllInstalled({1, 2}, 2); }, 5s));
  EXPECT_EQ(net.LastView(1)->id, net.LastView(2)->id);
  EXPECT_TRUE(net.LastView(1)->primary);
  for (int i : {1, 2}) {
    EXPECT_FALSE(net.node(i).storage.saved.empty()) << "node " << i << " never persisted";
    EXPECT_EQ(net.node(i).storage.saved.back(), net.node(i).stack->gcm().stable_state());
    EXPECT_TRUE(net.node(i).persisted_before_send) << "node " << i;
    EXPECT_GT(net.node(i).stack->stats().gcm_messages_in, 0u);
    EXPECT_EQ(net.node(i).stack->stats().gcm_messages_rejected, 0u);
  }
}

TEST(NodeStack, MulticastIsDeliveredAtBothNodesInOneOrder) {
  Net net(2);
  ASSERT_TRUE(net.RunUntil([&] { return net.AllInstalled({1, 2}, 2); }, 5s));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        net.node(1 + i % 2).stack->gcm().Multicast(net.now(), {static_cast<uint8_t>(i)}).ok());
  }
  net.Pump(net.node(1));
  net.Pump(net.node(2));
  auto payloads = [&](int n) {
    std::vector<uint8_t> out;
    for (const auto& e : net.node(n).events) {
      if (auto* d = std::get_if<membership::Delivered>(&e)) out.push_back(d->payload.at(0));
    }
    return out;
  };
  ASSERT_TRUE(
      net.RunUntil([&] { return payloads(1).size() == 10 && payloads(2).size() == 10; }, 5s));
  EXPECT_EQ(payloads(1), payloads(2));
}

TEST(NodeStack, CrashedPeerIsRemovedThroughTransportFailure) {
  Net net(3);
  ASSERT_TRUE(net.RunUntil([&] { return net.AllInstalled({1, 2, 3}, 3); }, 5s));
  net.node(3).crashed = true;
  ASSERT_TRUE(net.RunUntil([&] { return net.AllInstalled({1, 2}, 2); }, 10s));
  EXPECT_TRUE(net.LastView(1)->primary);  // 2 of 3
  EXPECT_FALSE(net.LastView(1)->Contains(NodeId{3}));
  EXPECT_EQ(net.LastView(1)->id, net.LastView(2)->id);
}

TEST(NodeStack, StorageFailureSilencesTheNode) {
  Net net(2);
  net.node(2).storage.fail = true;
  net.RunUntil([&] { return !net.node(2).stack->health().ok(); }, 2s);
  EXPECT_EQ(net.node(2).stack->health().code(), StatusCode::kIoError);
  EXPECT_FALSE(net.node(2).stack->PollDeadline().has_value());
  // Node 2 promised nothing durable, so it must not be part of any view node 1 installs.
  net.RunUntil([] { return false; }, 2s);
  std::optional<membership::View> v = net.LastView(1);
  if (v) {
    EXPECT_FALSE(v->Contains(NodeId{2}));
  }
  EXPECT_FALSE(net.LastView(2).has_value());
}

// A Transport of node 1 with no peers, for Create's argument checks.
Result<comm::Transport> LoneTransport() {
  comm::TransportOptions o;
  o.self = NodeId{1};
  o.incarnation = 1;
  o.local_addresses = Net::Addresses(1);
  return comm::Transport::Create(o);
}

TEST(NodeStack, CreateRefusesABadConfig) {
  Result<comm::Transport> tm = LoneTransport();
  ASSERT_TRUE(tm.ok());
  MemoryStorage storage;
  NodeStackOptions so;
  so.gcm = {.self = NodeId{1}, .eligible = {NodeId{2}}};
  EXPECT_EQ(NodeStack::Create(*tm, so, Rng(1), Instant{}, {}, &storage).status().code(),
            StatusCode::kInvalidArgument);
  so.gcm.eligible = {NodeId{1}};
  EXPECT_EQ(NodeStack::Create(*tm, so, Rng(1), Instant{}, {}, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(NodeStack::Create(*tm, so, Rng(1), Instant{}, {}, &storage).ok());
  // The channel is taken now: a second stack on the same Transport is refused.
  EXPECT_EQ(NodeStack::Create(*tm, so, Rng(1), Instant{}, {}, &storage).status().code(),
            StatusCode::kAlreadyExists);
}

// --- The data layer: GDM and election on the stack ---

std::optional<Status> Completion(const Node& n, membership::OpId op) {
  for (const auto& e : n.gdm_events) {
    if (const auto* c = std::get_if<membership::OpCompleted>(&e); c && c->op == op) {
      return c->status;
    }
  }
  return std::nullopt;
}

bool AllActive(Net& net, std::vector<int> nodes) {
  for (int i : nodes) {
    if (net.node(i).stack->gdm()->mode() != membership::GdmMode::kActive) return false;
  }
  return true;
}

TEST(NodeStackData, WriteIsAppliedEverywhereAndCompletesOnlyOnceEveryMemberPersisted) {
  Net net(3, /*data=*/true);
  ASSERT_TRUE(net.RunUntil([&] { return AllActive(net, {1, 2, 3}); }, 10s));
  Node& slow = net.node(3);
  slow.hold_persists = true;  // node 3's disk does not finish
  membership::Gdm& gdm = *net.node(1).stack->gdm();
  // The stack's item limit (max_message_bytes less the header reserve) is the Gdm's.
  const size_t item_max = GdmItemBytesMax(membership::RingOptions{});
  EXPECT_EQ(gdm.Create(net.now(), 41, std::vector<uint8_t>(item_max + 1)).status().code(),
            StatusCode::kInvalidArgument);
  Result<membership::OpId> op = gdm.Create(net.now(), 42, {1, 2, 3});
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  net.Pump(net.node(1));
  auto applied_everywhere = [&] {
    for (int i : {1, 2, 3}) {
      Result<std::vector<uint8_t>> v = net.node(i).stack->gdm()->Read(42);
      if (!v.ok() || *v != std::vector<uint8_t>{1, 2, 3}) return false;
    }
    return true;
  };
  ASSERT_TRUE(net.RunUntil(applied_everywhere, 5s));
  net.RunUntil([] { return false; }, 200ms);
  EXPECT_FALSE(Completion(net.node(1), *op).has_value())
      << "completed before node 3 made the write durable";
  slow.hold_persists = false;
  net.Pump(slow);
  ASSERT_TRUE(net.RunUntil([&] { return Completion(net.node(1), *op).has_value(); }, 5s));
  EXPECT_TRUE(Completion(net.node(1), *op)->ok()) << Completion(net.node(1), *op)->ToString();
  for (int i : {1, 2, 3}) {
    EXPECT_EQ(net.node(i).stack->gdm()->state(), net.node(1).stack->gdm()->state()) << i;
    EXPECT_EQ(net.node(i).gdm_storage.durable().items.count(42), 1u) << i;
  }
}

TEST(NodeStackData, LeaderAndEpochAppearAndThePersistedEpochMatches) {
  Net net(3, /*data=*/true);
  auto leader_everywhere = [&] {
    for (int i : {1, 2, 3}) {
      if (!net.node(i).stack->election()->current()) return false;
    }
    return true;
  };
  ASSERT_TRUE(net.RunUntil(leader_everywhere, 10s));
  const election::Leadership l = *net.node(1).stack->election()->current();
  EXPECT_EQ(l.leader, NodeId{1});  // the lowest id of the view
  EXPECT_GE(l.epoch, 1u);
  for (int i : {1, 2, 3}) {
    Node& n = net.node(i);
    EXPECT_EQ(*n.stack->election()->current(), l) << i;
    EXPECT_EQ(n.stack->election()->IsLeader(), i == 1);
    ASSERT_FALSE(n.epoch_storage.saved.empty()) << i;
    EXPECT_EQ(n.epoch_storage.saved.back(), l.epoch) << i;
    bool changed = false;
    for (const auto& e : n.election_events) {
      if (const auto* c = std::get_if<election::LeaderChanged>(&e)) {
        changed = c->leadership == l && c->self_is_leader == (i == 1);
      }
    }
    EXPECT_TRUE(changed) << "node " << i << " reported no LeaderChanged for the leader";
  }
  // A write fenced with the current epoch succeeds; one with another epoch is refused (fence 0
  // means unfenced, and the first epoch is 1, so the wrong one is the next epoch).
  membership::Gdm& gdm = *net.node(2).stack->gdm();
  Result<membership::OpId> good = gdm.Create(net.now(), 7, {9}, l.epoch);
  Result<membership::OpId> stale = gdm.Write(net.now(), 7, {8}, l.epoch + 1);
  ASSERT_TRUE(good.ok() && stale.ok());
  net.Pump(net.node(2));
  ASSERT_TRUE(net.RunUntil(
      [&] { return Completion(net.node(2), *good) && Completion(net.node(2), *stale); }, 5s));
  EXPECT_TRUE(Completion(net.node(2), *good)->ok());
  EXPECT_EQ(Completion(net.node(2), *stale)->code(), StatusCode::kFailedPrecondition);
}

TEST(NodeStackData, NonPrimaryNodeRefusesWritesWithUnavailable) {
  Net net(3, /*data=*/true);
  ASSERT_TRUE(net.RunUntil([&] { return AllActive(net, {1, 2, 3}); }, 10s));
  net.node(2).crashed = true;
  net.node(3).crashed = true;
  // Node 1 alone is 1 of 3: a non-primary view.
  ASSERT_TRUE(net.RunUntil(
      [&] {
        std::optional<membership::View> v = net.LastView(1);
        return v && v->members.size() == 1;
      },
      10s));
  membership::Gdm& gdm = *net.node(1).stack->gdm();
  EXPECT_TRUE(gdm.stale());
  EXPECT_EQ(gdm.mode(), membership::GdmMode::kNonPrimary);
  Result<membership::OpId> op = gdm.Create(net.now(), 5, {1});
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(net.node(1).stack->election()->current().has_value());
}

TEST(NodeStackData, CreateRefusesAnItemLimitTheGcmCannotCarry) {
  Result<comm::Transport> tm = LoneTransport();
  ASSERT_TRUE(tm.ok());
  MemoryStorage storage;
  MemoryEpochStorage epochs;
  NodeStackOptions so;
  so.gcm = {.self = NodeId{1}, .eligible = {NodeId{1}}};
  DataLayerStart data{.epoch_storage = &epochs};
  data.gdm.max_item_bytes = so.gcm.options.max_message_bytes;  // no room for the header
  EXPECT_EQ(NodeStack::Create(*tm, so, Rng(1), Instant{}, {}, &storage, data).status().code(),
            StatusCode::kInvalidArgument);
  data.gdm.max_item_bytes = 0;
  data.epoch_storage = nullptr;
  EXPECT_EQ(NodeStack::Create(*tm, so, Rng(1), Instant{}, {}, &storage, data).status().code(),
            StatusCode::kInvalidArgument);
  data.epoch_storage = &epochs;
  Result<std::unique_ptr<NodeStack>> s =
      NodeStack::Create(*tm, so, Rng(1), Instant{}, {}, &storage, data);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(GdmItemBytesMax(so.gcm.options), so.gcm.options.max_message_bytes - 4096);
}

// A 5000 x 16 KiB flood built in one I/O turn (80 MB) stalled raind 100-160 ms, past the peers'
// failure bound, and the sender was removed from the view. The driver calls Flush again with
// the same `now` while anything progresses, so the byte budget must hold per `now`.
TEST(LoadGenerator, OneIoTurnHandsABoundedNumberOfBytes) {
  membership::Gcm gcm({.self = NodeId{1}, .eligible = {NodeId{1}}, .cluster_id = 99}, Rng(1),
                      Instant{});
  const Instant turn1 = Instant{} + 1ms;
  LoadGenerator big;
  big.Start(16384, 5000, membership::Service::kAgreed);
  ASSERT_TRUE(big.Pump(gcm, turn1));
  while (big.Pump(gcm, turn1)) {
  }
  uint64_t sent = big.Stats()["sent"].get<uint64_t>();
  EXPECT_GE(sent, 1u);
  EXPECT_LE(sent * 16384, kLoadBytesPerFlushMax);
  EXPECT_TRUE(big.Pump(gcm, turn1 + 1ms));  // the next turn goes on
  EXPECT_EQ(big.Stats()["sent"].get<uint64_t>(), 2 * sent);

  LoadGenerator small;
  small.Start(64, 5000, membership::Service::kAgreed);
  ASSERT_TRUE(small.Pump(gcm, turn1));
  EXPECT_EQ(small.Stats()["sent"].get<uint64_t>(), kLoadPerFlushMax);
}

}  // namespace
}  // namespace rain::node
