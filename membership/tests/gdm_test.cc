// Named GDM behaviours: wire round trips and refusals, and scenarios on GdmSim (the GCM harness
// with a simulated disk): replication of whole and partial writes, writes refused outside a
// primary view, transactions all or nothing, locks (FIFO, lost by a departed holder), fencing
// epochs, chunked state transfer to a rejoining node, acknowledged writes surviving a crash of
// every node, and the RocksDB Storage round trip.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "gdm_sim.h"
#include "rain/core/crc32c.h"
#include "rain/membership/gdm_storage_rocksdb.h"

namespace rain::membership::testing {
namespace {

Duration Ms(int64_t ms) { return std::chrono::milliseconds(ms); }
std::vector<uint8_t> B(const std::string& s) { return {s.begin(), s.end()}; }
std::string S(const Result<std::vector<uint8_t>>& r) {
  return r.ok() ? std::string(r->begin(), r->end()) : "<" + r.status().ToString() + ">";
}
const NodeId n1{1}, n2{2}, n3{3};

// --- Wire ---

TEST(GdmWire, EveryMessageRoundTrips) {
  ViewId v{3, n1, 9, n2};
  std::vector<GdmMessage> msgs = {
      CommitMsg{n2,
                5,
                7,
                11,
                {ItemOp{OpKind::kWriteAt, 42, ItemKind::kData, 3, B("abc")},
                 ItemOp{OpKind::kCreate, 0, ItemKind::kLock, 0, {}}}},
      SummaryMsg{n3, v, ViewId{2, n1, 1, n1}, 77, 0xdeadbeef},
      SnapshotChunkMsg{n1 == n1 ? v : v, 78, 1, 3, B("chunk")},
      DurableAckMsg{v, 99},
  };
  for (const GdmMessage& m : msgs) {
    auto bytes = EncodeGdm(7, m);
    auto back = DecodeGdm(7, bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == m);
    // Every truncation is refused, never a crash.
    for (size_t cut = 0; cut < bytes.size(); ++cut)
      EXPECT_FALSE(DecodeGdm(7, std::span(bytes).first(cut)).ok());
    EXPECT_EQ(DecodeGdm(8, bytes).status().code(), StatusCode::kFailedPrecondition);
    bytes.back() ^= 1;
    EXPECT_EQ(DecodeGdm(7, bytes).status().code(), StatusCode::kCorruption);
  }
}

TEST(GdmWire, StateRoundTrips) {
  GdmState s;
  s.items[1] = Item{ItemKind::kData, 4, B("x"), kNoNode, {}};
  s.items[2] = Item{ItemKind::kLock, 5, {}, n2, {n3, n1}};
  s.index = 9, s.digest = 1234, s.epoch = 3, s.leader = n1, s.last_primary = ViewId{1, n1, 2, n1};
  auto back = DecodeState(EncodeState(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
}

// A snapshot's chunks are whole State encodings cut at item boundaries, so a stale member
// decodes and takes in each chunk as it arrives instead of the whole state in one turn (a 30 MB
// state decoded and installed at once stalled raind's I/O thread past the peers' failure bound).
TEST(GdmWire, SnapshotChunksAreWholeStatesCutAtItems) {
  GdmState s;
  for (int i = 1; i <= 12; ++i)
    s.items[ItemId(i * 7)] =
        Item{ItemKind::kData, uint64_t(i), B(std::string(10 * i, 'a')), kNoNode, {}};
  s.items[3] = Item{ItemKind::kLock, 2, {}, n2, {n3, n1}};
  s.items[200] = Item{ItemKind::kData, 9, B(std::string(300, 'z')), kNoNode, {}};  // > a chunk
  s.index = 99, s.digest = 1234, s.epoch = 3, s.leader = n1, s.last_primary = ViewId{4, n1, 2, n1};
  const ViewId v{4, n1, 2, n1};
  auto chunks = EncodeSnapshotChunks(7, v, s, 64);
  ASSERT_GT(chunks.size(), 4u);
  GdmState s_meta = s;
  s_meta.items.clear();
  GdmState all = s_meta;
  ItemId last = 0;
  for (uint32_t i = 0; i < chunks.size(); ++i) {
    auto m = DecodeGdm(7, chunks[i]);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const auto& c = std::get<SnapshotChunkMsg>(*m);
    EXPECT_EQ(c.view, v);
    EXPECT_EQ(c.index, s.index);
    EXPECT_EQ(c.chunk, i);
    EXPECT_EQ(c.count, chunks.size());
    auto part = DecodeState(c.bytes);
    ASSERT_TRUE(part.ok()) << "chunk " << i << ": " << part.status().ToString();
    GdmState meta = *part;
    meta.items.clear();
    EXPECT_EQ(meta, s_meta);
    ASSERT_FALSE(part->items.empty());
    // Several items share a chunk only within its size (a 60-byte State header, then items).
    if (part->items.size() > 1) {
      EXPECT_LE(c.bytes.size() - 60, 64u);
    }
    std::vector<ItemId> ids;
    for (const auto& entry : part->items) ids.push_back(entry.first);
    std::sort(ids.begin(), ids.end());
    EXPECT_GT(ids.front(), last);  // ascending ids, no item in two chunks
    last = ids.back();
    all.items.merge(part->items);
  }
  EXPECT_EQ(all, s);
  // An empty state is one chunk with no items.
  auto one = EncodeSnapshotChunks(7, v, GdmState{}, 64);
  ASSERT_EQ(one.size(), 1u);
  auto m = DecodeGdm(7, one[0]);
  ASSERT_TRUE(m.ok());
  auto empty = DecodeState(std::get<SnapshotChunkMsg>(*m).bytes);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->items.empty());
}

TEST(GdmWire, SingleWriteViewMatchesTheFullDecoder) {
  CommitMsg w{n2, 5, 3, 11, {ItemOp{OpKind::kWrite, 42, ItemKind::kData, 0, B("value")}}};
  auto bytes = EncodeGdm(7, w);
  auto view = DecodeGdmView(7, bytes);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  auto* v = std::get_if<SingleWriteView>(&*view);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->ToCommit(), w);
  EXPECT_EQ(v->bytes.data(), bytes.data() + bytes.size() - 5);  // a view, not a copy
  EXPECT_EQ(GdmBodyCrc(bytes), Crc32c(std::span(bytes).subspan(kGdmHeaderBytes)));
  // Everything else comes back fully decoded, as DecodeGdm gives it.
  std::vector<GdmMessage> others = {
      CommitMsg{n2, 6, 0, 12, {ItemOp{OpKind::kWriteAt, 42, ItemKind::kData, 1, B("x")}}},
      CommitMsg{n2, 7, 0, 13, {w.ops[0], w.ops[0]}},
      CommitMsg{n2, 8, 0, 14, {ItemOp{OpKind::kCreate, 42, ItemKind::kLock, 0, {}}}},
      // Non-canonical kWrites (fields a whole write ignores, set): found by fuzz_gdm_wire, whose
      // view had dropped them and so meant a different message than DecodeGdm's.
      CommitMsg{n2, 9, 0, 15, {ItemOp{OpKind::kWrite, 42, ItemKind::kData, 7, B("y")}}},
      CommitMsg{n2, 10, 0, 16, {ItemOp{OpKind::kWrite, 42, ItemKind::kLock, 0, B("z")}}},
      DurableAckMsg{ViewId{3, n1, 9, n2}, 99},
  };
  for (const GdmMessage& m : others) {
    auto back = DecodeGdmView(7, EncodeGdm(7, m));
    ASSERT_TRUE(back.ok());
    ASSERT_TRUE(std::holds_alternative<GdmMessage>(*back));
    EXPECT_TRUE(std::get<GdmMessage>(*back) == m);
  }
  // Refusals are DecodeGdm's: truncation, another cluster, a damaged value, a wrong length.
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(DecodeGdmView(7, std::span(bytes).first(cut)).ok());
  EXPECT_EQ(DecodeGdmView(8, bytes).status().code(), StatusCode::kFailedPrecondition);
  auto damaged = bytes;
  damaged.back() ^= 1;
  EXPECT_EQ(DecodeGdmView(7, damaged).status().code(), StatusCode::kCorruption);
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(DecodeGdmView(7, longer).ok());
}

// --- One Gdm driven by hand: a two-member view whose other member (n2) is simulated ---

struct Manual {
  explicit Manual(GdmOptions o) : g(n1, o) {
    (void)g.HandleGcmEvent(now, ViewInstalled{v});
    auto c = g.PollGcmCommand();  // our summary
    Deliver(n1, std::get<GcmMulticast>(*c).payload);
    Deliver(n2, EncodeGdm(7, SummaryMsg{n2, v.id, ViewId{}, 0, 0}));
    EXPECT_EQ(g.mode(), GdmMode::kActive);
    Acks();  // the sync point's report (durable index 0)
  }
  void Deliver(NodeId from, std::vector<uint8_t> payload) {
    (void)g.HandleGcmEvent(now,
                           Delivered{from, v.id, ++seq, Service::kSafe, true, std::move(payload)});
  }
  // Issues a write here and delivers it back (the GCM's total order of one sender).
  OpId Write(ItemId id, std::vector<uint8_t> bytes) {
    auto op = g.Write(now, id, std::move(bytes));
    EXPECT_TRUE(op.ok());
    Deliver(n1, std::get<GcmMulticast>(*g.PollGcmCommand()).payload);
    return *op;
  }
  // The durable indexes this node reported since the last call.
  std::vector<uint64_t> Acks() {
    std::vector<uint64_t> out;
    while (auto c = g.PollGcmCommand()) {
      auto m = DecodeGdm(7, std::get<GcmSend>(*c).payload);
      out.push_back(std::get<DurableAckMsg>(*m).index);
    }
    return out;
  }
  std::optional<Status> Outcome(OpId op) {
    while (auto e = g.PollEvent()) {
      if (auto* c = std::get_if<OpCompleted>(&*e)) outcomes[c->op] = c->status;
    }
    auto it = outcomes.find(op);
    return it == outcomes.end() ? std::nullopt : std::optional<Status>(it->second);
  }
  Instant now{};
  View v{ViewId{1, n1, 1, n1}, {n1, n2}, true, {}};
  uint64_t seq = 0;
  Gdm g;
  std::map<OpId, Status> outcomes;
};

TEST(GdmPersist, GroupCommitHoldsBatchesWhileOneIsAtTheDisk) {
  Manual m(GdmOptions{.cluster_id = 7, .max_persists_in_flight = 1});
  auto first = m.g.PollPersist();  // the sync point
  ASSERT_TRUE(first.has_value());
  m.Deliver(n2, EncodeGdm(7, CommitMsg{n2, 1, 0, 1, {ItemOp{OpKind::kCreate, 10}}}));
  OpId a = m.Write(10, B("a"));
  OpId b = m.Write(10, B("bb"));
  EXPECT_FALSE(m.g.PollPersist().has_value());  // the first batch is still at the disk
  m.g.HandlePersisted(m.now, first->ticket, Status::Ok());
  EXPECT_EQ(m.Acks(), std::vector<uint64_t>{first->meta.index});
  auto second = m.g.PollPersist();
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->items.size(), 1u);  // item 10, written three times, once in the batch
  EXPECT_EQ(second->items[0].second->bytes, B("bb"));
  EXPECT_EQ(second->meta.index, m.g.state().index);
  m.g.HandlePersisted(m.now, second->ticket, Status::Ok());
  EXPECT_EQ(m.Acks(), std::vector<uint64_t>{second->meta.index});
  EXPECT_FALSE(m.Outcome(a).has_value());  // n2 has not reported yet
  (void)m.g.HandleGcmEvent(
      m.now,
      membership::Received{n2, true, EncodeGdm(7, DurableAckMsg{m.v.id, second->meta.index})});
  EXPECT_TRUE(m.Outcome(a).has_value() && m.Outcome(a)->ok());
  EXPECT_TRUE(m.Outcome(b).has_value() && m.Outcome(b)->ok());
}

TEST(GdmPersist, OneAckForBatchesReportedTogether) {
  Manual m(GdmOptions{.cluster_id = 7});
  m.Deliver(n2, EncodeGdm(7, CommitMsg{n2, 1, 0, 1, {ItemOp{OpKind::kCreate, 10}}}));
  std::vector<PersistBatch> batches;
  while (auto b = m.g.PollPersist()) batches.push_back(std::move(*b));
  OpId a = m.Write(10, B("a"));
  while (auto b = m.g.PollPersist()) batches.push_back(std::move(*b));
  OpId b = m.Write(10, B("b"));
  while (auto b = m.g.PollPersist()) batches.push_back(std::move(*b));
  ASSERT_EQ(batches.size(), 3u);
  m.g.HandlePersistedThrough(m.now, batches[1].ticket, Status::Ok());
  EXPECT_EQ(m.Acks(), std::vector<uint64_t>{batches[1].meta.index});
  (void)m.g.HandleGcmEvent(
      m.now,
      membership::Received{n2, true, EncodeGdm(7, DurableAckMsg{m.v.id, batches[2].meta.index})});
  EXPECT_TRUE(m.Outcome(a).has_value() && m.Outcome(a)->ok());
  EXPECT_FALSE(m.Outcome(b).has_value());  // not durable here yet
  m.g.HandlePersistedThrough(m.now, batches[2].ticket, Status::Ok());
  EXPECT_EQ(m.Acks(), std::vector<uint64_t>{batches[2].meta.index});
  EXPECT_TRUE(m.Outcome(b).has_value() && m.Outcome(b)->ok());
}

TEST(GdmPersist, AShrunkValueGivesBackItsBuffer) {
  Manual m(GdmOptions{.cluster_id = 7});
  m.Deliver(n2, EncodeGdm(7, CommitMsg{n2, 1, 0, 1, {ItemOp{OpKind::kCreate, 10}}}));
  m.Write(10, std::vector<uint8_t>(100000, 1));
  m.Write(10, B("small"));
  EXPECT_EQ(m.g.Find(10)->bytes, B("small"));
  EXPECT_LT(m.g.Find(10)->bytes.capacity(), 100000u);
}

// --- Scenarios ---

struct Fixture {
  explicit Fixture(int nodes = 3, GdmOptions o = GdmOptions{.cluster_id = 7})
      : sim(GdmSimConfig{.nodes = nodes, .seed = 5, .gdm = o}) {
    EXPECT_TRUE(sim.RunUntil([&] { return sim.AllActiveAndEqual(); }, Ms(2000)));
  }
  // Runs the command at n and waits for its outcome.
  Status Run(NodeId n, const GdmSim::Command& cmd, std::string checked = "") {
    auto op = sim.Do(n, cmd, std::move(checked));
    if (!op.ok()) return op.status();
    if (!sim.RunUntil([&] { return sim.Outcome(n, *op).has_value(); }, Ms(2000)))
      return DeadlineExceededError("no outcome");
    return *sim.Outcome(n, *op);
  }
  // Crashes `down`, then creates items 1..count ("value-<i>" and 40 x) at n1 without it.
  void CreateWhileDown(NodeId down, int count) {
    sim.Crash(down);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.AllActiveAndEqual(); }, Ms(2000)));
    for (int i = 1; i <= count; ++i) {
      std::string v = "value-" + std::to_string(i) + std::string(40, 'x');
      ASSERT_TRUE(Run(
                      n1, [&](Gdm& g, Instant t) { return g.Create(t, ItemId(i), B(v)); }, v)
                      .ok());
    }
  }
  GdmSim sim;
};

TEST(Gdm, WritesWholeAndPartialReachEveryMember) {
  Fixture f;
  EXPECT_TRUE(f.Run(n1, [](Gdm& g, Instant t) { return g.Create(t, 10, B("hello")); }).ok());
  EXPECT_TRUE(f.Run(n2, [](Gdm& g, Instant t) { return g.WriteAt(t, 10, 5, B(" world")); }).ok());
  EXPECT_TRUE(f.Run(n3, [](Gdm& g, Instant t) { return g.WriteAt(t, 10, 0, B("J")); }).ok());
  f.sim.RunFor(Ms(20));
  for (NodeId n : f.sim.ids()) {
    EXPECT_EQ(S(f.sim.gdm(n).Read(10)), "Jello world");
    EXPECT_EQ(S(f.sim.gdm(n).Read(10, 6, 3)), "wor");
  }
  EXPECT_EQ(f.Run(n1, [](Gdm& g, Instant t) { return g.WriteAt(t, 10, 99, B("x")); }).code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(f.Run(n1, [](Gdm& g, Instant t) { return g.Create(t, 10, B("again")); }).code(),
            StatusCode::kAlreadyExists);
  EXPECT_TRUE(f.Run(n2, [](Gdm& g, Instant t) { return g.Delete(t, 10); }).ok());
  f.sim.RunFor(Ms(20));
  EXPECT_EQ(f.sim.gdm(n3).Read(10).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(f.sim.violations().empty()) << f.sim.Report();
}

TEST(Gdm, UniqueIdsDifferAcrossNodes) {
  Fixture f;
  auto a = f.sim.Do(n1, [](Gdm& g, Instant t) { return g.GenUniqueId(t); });
  auto b = f.sim.Do(n2, [](Gdm& g, Instant t) { return g.GenUniqueId(t); });
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(f.sim.RunUntil(
      [&] { return f.sim.Outcome(n1, *a).has_value() && f.sim.Outcome(n2, *b).has_value(); },
      Ms(1000)));
  EXPECT_TRUE(f.sim.Outcome(n1, *a)->ok());
  EXPECT_TRUE(f.sim.Outcome(n2, *b)->ok());
}

TEST(Gdm, NonPrimaryRefusesWritesAndSaysStale) {
  Fixture f;
  f.sim.cluster().Partition({{n1}, {n2, n3}});
  ASSERT_TRUE(
      f.sim.RunUntil([&] { return f.sim.gdm(n1).mode() == GdmMode::kNonPrimary; }, Ms(2000)));
  EXPECT_TRUE(f.sim.gdm(n1).stale());
  auto op = f.sim.Do(n1, [](Gdm& g, Instant t) { return g.Create(t, 1, B("x")); });
  EXPECT_EQ(op.status().code(), StatusCode::kUnavailable);
  // The majority side goes on.
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.sim.gdm(n2).mode() == GdmMode::kActive; }, Ms(2000)));
  EXPECT_TRUE(f.Run(n2, [](Gdm& g, Instant t) { return g.Create(t, 1, B("x")); }).ok());
  f.sim.cluster().HealAll();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.sim.AllActiveAndEqual(); }, Ms(3000)))
      << f.sim.Report();
  EXPECT_EQ(S(f.sim.gdm(n1).Read(1)), "x");
}

TEST(Gdm, TransactionIsAllOrNothing) {
  Fixture f;
  EXPECT_TRUE(f.Run(n1, [](Gdm& g, Instant t) { return g.Create(t, 1, B("a0")); }).ok());
  // Second write names a missing item: nothing of the transaction is applied.
  Status st = f.Run(n2, [](Gdm& g, Instant t) -> Result<OpId> {
    TxnId x = *g.Begin();
    EXPECT_TRUE(g.TxnWrite(x, 1, B("a1")).ok());
    EXPECT_TRUE(g.TxnWrite(x, 2, B("b1")).ok());
    return g.Commit(t, x);
  });
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(S(f.sim.gdm(n3).Read(1)), "a0");
  st = f.Run(n2, [](Gdm& g, Instant t) -> Result<OpId> {
    TxnId x = *g.Begin();
    EXPECT_TRUE(g.TxnCreate(x, 2, B("b2")).ok());
    EXPECT_TRUE(g.TxnWrite(x, 1, B("a2")).ok());
    EXPECT_TRUE(g.TxnWriteAt(x, 2, 1, B("!")).ok());
    return g.Commit(t, x);
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  f.sim.RunFor(Ms(20));
  EXPECT_EQ(S(f.sim.gdm(n3).Read(1)), "a2");
  EXPECT_EQ(S(f.sim.gdm(n3).Read(2)), "b!");
  EXPECT_EQ(f.sim.gdm(n3).Find(1)->version, f.sim.gdm(n3).Find(2)->version);  // one stamp
  TxnId x = *f.sim.gdm(n1).Begin();
  EXPECT_TRUE(f.sim.gdm(n1).TxnWrite(x, 1, B("never")).ok());
  EXPECT_TRUE(f.sim.gdm(n1).Abort(x).ok());
  EXPECT_EQ(f.sim.gdm(n1).Commit(f.sim.now(), x).status().code(), StatusCode::kNotFound);
}

TEST(Gdm, LockIsFifoAndLostByAHolderThatLeaves) {
  Fixture f;
  ASSERT_TRUE(f.Run(n1, [](Gdm& g, Instant t) { return g.CreateLock(t, 7); }).ok());
  ASSERT_TRUE(f.Run(n1, [](Gdm& g, Instant t) { return g.AcquireLock(t, 7); }).ok());
  EXPECT_TRUE(f.sim.gdm(n1).HoldsLock(7));
  ASSERT_TRUE(f.Run(n2, [](Gdm& g, Instant t) { return g.AcquireLock(t, 7); }).ok());
  ASSERT_TRUE(f.Run(n3, [](Gdm& g, Instant t) { return g.AcquireLock(t, 7); }).ok());
  EXPECT_FALSE(f.sim.gdm(n2).HoldsLock(7));
  EXPECT_EQ(f.Run(n2, [](Gdm& g, Instant t) { return g.AcquireLock(t, 7); }).code(),
            StatusCode::kFailedPrecondition);  // already waiting
  f.sim.Crash(n1);  // the holder leaves: n2 (first waiter) gets it at the next sync point
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.sim.gdm(n2).HoldsLock(7); }, Ms(2000)))
      << f.sim.Report();
  EXPECT_FALSE(f.sim.gdm(n3).HoldsLock(7));
  ASSERT_TRUE(f.Run(n2, [](Gdm& g, Instant t) { return g.ReleaseLock(t, 7); }).ok());
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.sim.gdm(n3).HoldsLock(7); }, Ms(1000)));
  EXPECT_TRUE(f.Run(n3, [](Gdm& g, Instant t) { return g.DestroyLock(t, 7); }).ok());
  EXPECT_TRUE(f.sim.violations().empty()) << f.sim.Report();
}

TEST(Gdm, StaleFencingEpochIsRefused) {
  Fixture f;
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.sim.election(n3).current().has_value(); }, Ms(1000)));
  auto lead = *f.sim.election(n3).current();
  EXPECT_EQ(lead.leader, n1);  // lowest id of the primary view
  EXPECT_TRUE(f.sim.election(n1).IsLeader());
  uint64_t e = lead.epoch;
  EXPECT_TRUE(f.Run(n1, [&](Gdm& g, Instant t) { return g.Create(t, 1, B("a"), e); }).ok());
  f.sim.Crash(n3);  // a new primary view: a new epoch
  ASSERT_TRUE(f.sim.RunUntil(
      [&] {
        auto c = f.sim.election(n1).current();
        return c && c->epoch > e;
      },
      Ms(2000)));
  EXPECT_EQ(f.sim.election(n1).CheckEpoch(e).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.Run(n1, [&](Gdm& g, Instant t) { return g.Write(t, 1, B("old"), e); }).code(),
            StatusCode::kFailedPrecondition);
  uint64_t e2 = f.sim.election(n1).current()->epoch;
  EXPECT_TRUE(f.Run(n1, [&](Gdm& g, Instant t) { return g.Write(t, 1, B("new"), e2); }).ok());
}

// The TM fails every message queued to a peer at once. The donor used to answer each failed chunk
// with the whole snapshot again (n failures -> n x n chunks: 64 x 30 MB queued at one raind, which
// stalled and took the ring down with it); now each failed chunk is re-sent alone, once.
TEST(Gdm, FailedSnapshotChunksAreResentOneForOne) {
  Manual m(GdmOptions{.cluster_id = 7, .snapshot_chunk_bytes = 64, .snapshot_chunks_in_flight = 0});
  for (int i = 1; i <= 10; ++i) {
    auto op = m.g.Create(m.now, ItemId(i), B(std::string(50, static_cast<char>('a' + i))));
    ASSERT_TRUE(op.ok());
    m.Deliver(n1, std::get<GcmMulticast>(*m.g.PollGcmCommand()).payload);
  }
  while (m.g.PollGcmCommand()) {
  }
  // A new view of the same two members, where n2 reports an older state: n1 is the donor.
  m.v = View{ViewId{2, n1, 1, n1}, {n1, n2}, true, {}};
  (void)m.g.HandleGcmEvent(m.now, ViewInstalled{m.v});
  m.Deliver(n1, std::get<GcmMulticast>(*m.g.PollGcmCommand()).payload);
  m.Deliver(n2, EncodeGdm(7, SummaryMsg{n2, m.v.id, ViewId{}, 0, 0}));
  std::vector<std::vector<uint8_t>> chunks;
  while (auto c = m.g.PollGcmCommand()) {
    auto* send = std::get_if<GcmSend>(&*c);
    ASSERT_NE(send, nullptr);
    auto msg = DecodeGdm(7, send->payload);
    ASSERT_TRUE(msg.ok());
    if (std::holds_alternative<SnapshotChunkMsg>(*msg)) {
      EXPECT_EQ(send->to, std::vector<NodeId>{n2});
      chunks.push_back(send->payload);
    }
  }
  ASSERT_GT(chunks.size(), 4u);
  for (const auto& chunk : chunks) {
    auto failed = std::make_shared<const std::vector<uint8_t>>(chunk);
    ASSERT_TRUE(m.g.HandleGcmEvent(m.now, DirectSendFailed{n2, failed}).ok());
  }
  std::vector<std::vector<uint8_t>> resent;
  while (auto c = m.g.PollGcmCommand()) {
    auto* send = std::get_if<GcmSend>(&*c);
    ASSERT_NE(send, nullptr);
    EXPECT_EQ(send->to, std::vector<NodeId>{n2});
    resent.push_back(send->payload);
  }
  EXPECT_EQ(resent, chunks);  // one for one, in the order they failed
  // A chunk of another view's snapshot is of no use to anyone: not re-sent.
  std::vector<uint8_t> old = EncodeGdm(7, SnapshotChunkMsg{ViewId{1, n1, 1, n1}, 3, 0, 1, B("x")});
  ASSERT_TRUE(m.g.HandleGcmEvent(
                     m.now, DirectSendFailed{n2, std::make_shared<const std::vector<uint8_t>>(old)})
                  .ok());
  EXPECT_FALSE(m.g.PollGcmCommand().has_value());
}

// The donor encodes snapshot_chunks_in_flight chunks at the sync point and one more per chunk the
// stale member acknowledges; items changed after the sync point go out with their sync-point
// values. The stale member takes each chunk in as it arrives and installs the state with the
// last one. So no input encodes or decodes more than a chunk (a 30 MB state encoded, then
// decoded and installed, in one input each stalled raind's I/O thread past the peers' failure
// bound). The replace_all batch carries the snapshot's items, copied chunk by chunk, then what
// was applied after it.
TEST(Gdm, SnapshotGoesOutAndComesInAChunkPerInput) {
  const GdmOptions o{.cluster_id = 7, .snapshot_chunk_bytes = 64, .snapshot_chunks_in_flight = 3};
  Manual m(o);
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(m.g.Create(m.now, ItemId(i), B(std::string(50, static_cast<char>('a' + i)))).ok());
    m.Deliver(n1, std::get<GcmMulticast>(*m.g.PollGcmCommand()).payload);
  }
  while (m.g.PollGcmCommand()) {
  }
  // A new view {n1, n2} where n2 is a fresh node with no state: n1 is the donor.
  m.v = View{ViewId{2, n1, 1, n1}, {n1, n2}, true, {}};
  Gdm stale(n2, o);
  auto both = [&](NodeId from, const std::vector<uint8_t>& payload) {
    Delivered d{from, m.v.id, ++m.seq, Service::kSafe, true, payload};
    ASSERT_TRUE(m.g.HandleGcmEvent(m.now, d).ok());
    ASSERT_TRUE(stale.HandleGcmEvent(m.now, d).ok());
  };
  // The chunks the donor asked to send since the last call (acks ignored).
  auto sent = [&] {
    std::vector<std::vector<uint8_t>> out;
    while (auto c = m.g.PollGcmCommand()) {
      auto* send = std::get_if<GcmSend>(&*c);
      if (send == nullptr) continue;
      auto msg = DecodeGdm(7, send->payload);
      if (!std::holds_alternative<SnapshotChunkMsg>(*msg)) continue;
      EXPECT_EQ(send->to, std::vector<NodeId>{n2});
      EXPECT_TRUE(send->notify_delivered);
      out.push_back(send->payload);
    }
    return out;
  };
  (void)m.g.HandleGcmEvent(m.now, ViewInstalled{m.v});
  (void)stale.HandleGcmEvent(m.now, ViewInstalled{m.v});
  auto summary1 = std::get<GcmMulticast>(*m.g.PollGcmCommand()).payload;
  auto summary2 = std::get<GcmMulticast>(*stale.PollGcmCommand()).payload;
  both(n1, summary1);
  both(n2, summary2);
  EXPECT_EQ(stale.mode(), GdmMode::kCatchingUp);
  std::deque<std::vector<uint8_t>> chunks;
  for (auto& c : sent()) chunks.push_back(std::move(c));
  ASSERT_EQ(chunks.size(), 3u);  // the window, not the whole state
  const GdmState at_sync = m.g.state();
  // After the sync point: a write to an item and a delete of another, both in chunks not encoded
  // yet; the stale member holds the deliveries until the snapshot is in.
  ASSERT_TRUE(m.g.Write(m.now, 9, B("after")).ok());
  both(n1, std::get<GcmMulticast>(*m.g.PollGcmCommand()).payload);
  ASSERT_TRUE(m.g.Delete(m.now, 10).ok());
  both(n1, std::get<GcmMulticast>(*m.g.PollGcmCommand()).payload);
  EXPECT_TRUE(sent().empty());
  while (stale.PollPersist()) {
  }
  GdmState received = at_sync;
  received.items.clear();
  uint32_t taken = 0;
  while (!chunks.empty()) {
    auto chunk = std::make_shared<const std::vector<uint8_t>>(std::move(chunks.front()));
    chunks.pop_front();
    ASSERT_TRUE(stale.HandleGcmEvent(m.now, Received{n1, true, *chunk}).ok());
    auto part = DecodeState(std::get<SnapshotChunkMsg>(*DecodeGdm(7, *chunk)).bytes);
    ASSERT_TRUE(part.ok());
    received.items.merge(part->items);
    ++taken;
    if (stale.mode() == GdmMode::kCatchingUp) {
      EXPECT_EQ(stale.snapshot_progress().chunks, taken);
      EXPECT_EQ(stale.snapshot_progress().items, received.items.size());
    }
    // The acknowledgement lets the donor encode exactly one more chunk.
    ASSERT_TRUE(m.g.HandleGcmEvent(m.now, DirectSendDelivered{n2, chunk}).ok());
    auto more = sent();
    EXPECT_LE(more.size(), 1u);
    for (auto& c : more) chunks.push_back(std::move(c));
  }
  EXPECT_EQ(taken, 10u);
  EXPECT_EQ(received, at_sync);  // every chunk is of the sync point's state
  EXPECT_EQ(stale.mode(), GdmMode::kActive);
  EXPECT_EQ(stale.snapshot_progress().chunks, 0u);
  EXPECT_EQ(stale.state(), m.g.state());
  EXPECT_EQ(S(stale.Read(9)), "after");
  EXPECT_EQ(stale.Find(10), nullptr);
  auto b = stale.PollPersist();
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->replace_all);
  EXPECT_EQ(b->items.size(), 12u);  // the snapshot's 10, then items 9 and 10 again
  MemoryGdmStorage disk;
  ASSERT_TRUE(disk.Apply(*b).ok());
  EXPECT_EQ(*disk.Load(), stale.state());
}

TEST(Gdm, RejoiningNodeGetsTheStateInChunks) {
  Fixture f(3, GdmOptions{.cluster_id = 7, .snapshot_chunk_bytes = 64});
  ASSERT_NO_FATAL_FAILURE(f.CreateWhileDown(n3, 20));
  f.sim.Restart(n3);
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.sim.AllActiveAndEqual(); }, Ms(3000)))
      << f.sim.Report();
  EXPECT_EQ(S(f.sim.gdm(n3).Read(20)), "value-20" + std::string(40, 'x'));
  f.sim.CheckAckedWrites();
  EXPECT_TRUE(f.sim.violations().empty()) << f.sim.Report();
}

// Writes go on while the rejoining node takes its snapshot a chunk at a time (a window of one
// chunk): items changed at the donor before their chunk is encoded must still go out with their
// sync-point values, or the new member's state differs (the sim checks replicas after every
// delivered message, and every acknowledged write at the end).
TEST(Gdm, WritesDuringAChunkedTransferLeaveIdenticalReplicas) {
  Fixture f(
      3, GdmOptions{.cluster_id = 7, .snapshot_chunk_bytes = 64, .snapshot_chunks_in_flight = 1});
  ASSERT_NO_FATAL_FAILURE(f.CreateWhileDown(n3, 30));
  f.sim.Restart(n3);
  int written = 0;
  for (int step = 0; step < 400 && (written < 20 || !f.sim.AllActiveAndEqual()); ++step) {
    const ItemId id = ItemId(30 - step % 30);  // from the top: chunks encoded last
    std::string v = "w" + std::to_string(step);
    if (f.sim
            .Do(
                n1, [&](Gdm& g, Instant t) { return g.Write(t, id, B(v)); }, v)
            .ok())
      written++;
    f.sim.RunFor(Ms(1));
  }
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.sim.AllActiveAndEqual(); }, Ms(3000)))
      << f.sim.Report();
  EXPECT_GE(written, 20);
  f.sim.CheckAckedWrites();
  EXPECT_TRUE(f.sim.violations().empty()) << f.sim.Report();
}

TEST(Gdm, AcknowledgedWritesSurviveACrashOfEveryNode) {
  Fixture f;
  for (int i = 1; i <= 5; ++i) {
    std::string v = "w" + std::to_string(i);
    ASSERT_TRUE(f.Run(
                     NodeId(uint32_t(i % 3 + 1)),
                     [&](Gdm& g, Instant t) { return g.Create(t, ItemId(i), B(v)); }, v)
                    .ok());
  }
  for (NodeId n : f.sim.ids()) f.sim.Crash(n);  // unsynced disk writes are lost
  for (NodeId n : f.sim.ids()) f.sim.Restart(n);
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.sim.AllActiveAndEqual(); }, Ms(3000)))
      << f.sim.Report();
  f.sim.CheckAckedWrites();
  EXPECT_TRUE(f.sim.violations().empty()) << f.sim.Report();
  EXPECT_EQ(S(f.sim.gdm(n2).Read(5)), "w5");
}

TEST(GdmStorage, RocksDbPersistsAndReloads) {
  char tmpl[] = "/tmp/gdm-rocks-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  {
    auto db = RocksDbGdmStorage::Open(dir);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    PersistBatch b;
    b.ticket = 1;
    b.items.emplace_back(1, Item{ItemKind::kData, 1, B("one"), kNoNode, {}});
    b.items.emplace_back(2, Item{ItemKind::kLock, 1, {}, n2, {n3}});
    b.meta.index = 1, b.meta.epoch = 2, b.meta.leader = n1;
    ASSERT_TRUE((*db)->Apply(b).ok());
    PersistBatch d;
    d.ticket = 2;
    d.items.emplace_back(1, std::nullopt);
    d.meta.index = 2, d.meta.epoch = 2, d.meta.leader = n1;
    ASSERT_TRUE((*db)->Apply(d).ok());
  }
  auto db = RocksDbGdmStorage::Open(dir);
  ASSERT_TRUE(db.ok());
  auto s = (*db)->Load();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->index, 2u);
  EXPECT_EQ(s->items.size(), 1u);
  EXPECT_EQ(s->items.at(2).holder, n2);
  PersistBatch r;
  r.ticket = 3;
  r.replace_all = true;
  r.items.emplace_back(9, Item{ItemKind::kData, 3, B("nine"), kNoNode, {}});
  r.meta.index = 3;
  ASSERT_TRUE((*db)->Apply(r).ok());
  s = (*db)->Load();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->items.size(), 1u);
  EXPECT_EQ(s->items.count(9), 1u);
  db->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rain::membership::testing
