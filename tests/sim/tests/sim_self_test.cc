// Tests of the simulator itself, on a toy stop-and-wait protocol written here: it proves the
// simulator is generic (no real protocol involved) and that its faults, clock, crash/restart,
// checkers, limits and seeded replay behave as documented in docs/simulator.md.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rain/sim/simulator.h"
#include "rain/sim/swarm.h"

namespace rain::sim {
namespace {

using std::chrono::milliseconds;

// Toy protocol: node 1 sends `count` numbered messages to node 2, one at a time, retrying every
// 10 ms and alternating interfaces; node 2 acks every copy and delivers each number once, in order.
struct ToyLog {
  std::map<NodeId, std::vector<uint32_t>> delivered;  // per receiver
  uint32_t acked = 0;
};

class ToyNode : public NodeAdapter {
 public:
  ToyNode(const NodeConfig& c, ToyLog* log, uint32_t count)
      : self_(c.node), ifaces_(c.iface_count), log_(log), count_(count) {}

  void HandleDatagram(Instant now, Endpoint local, Endpoint remote,
                      std::span<const uint8_t> bytes) override {
    if (bytes.size() != 5) return;
    uint32_t n = bytes[1] | bytes[2] << 8 | bytes[3] << 16 | static_cast<uint32_t>(bytes[4]) << 24;
    if (bytes[0] == 'D') {
      if (n == expected_) {
        log_->delivered[self_].push_back(n);
        ++expected_;
      }
      if (n < expected_) out_.push_back(Make('A', n, local, remote));
    } else if (bytes[0] == 'A' && self_ == NodeId{1} && n == next_) {
      ++next_;
      log_->acked = next_;
      retry_at_ = now;  // send the next one right away
    }
  }
  void HandleTimeout(Instant now) override {
    if (self_ != NodeId{1} || next_ >= count_) {
      retry_at_.reset();
      return;
    }
    uint8_t iface = static_cast<uint8_t>(tries_++ % ifaces_);
    out_.push_back(Make('D', next_, Endpoint{self_, iface}, Endpoint{NodeId{2}, iface}));
    retry_at_ = now + milliseconds(10);
  }
  std::optional<Datagram> PollTransmit(Instant) override {
    if (out_.empty()) return std::nullopt;
    Datagram d = std::move(out_.front());
    out_.pop_front();
    return d;
  }
  std::optional<Instant> PollDeadline() override {
    if (self_ == NodeId{1} && next_ < count_ && !retry_at_) return Instant{};  // start now
    return retry_at_;
  }
  void DrainEvents(Instant) override {}

 private:
  static Datagram Make(char kind, uint32_t n, Endpoint from, Endpoint to) {
    return Datagram{
        from,
        to,
        {static_cast<uint8_t>(kind), static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8),
         static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 24)}};
  }
  NodeId self_;
  int ifaces_;
  ToyLog* log_;
  uint32_t count_;
  uint32_t next_ = 0;
  uint32_t expected_ = 0;
  uint64_t tries_ = 0;
  std::optional<Instant> retry_at_;
  std::deque<Datagram> out_;
};

struct ToyRun {
  std::unique_ptr<ToyLog> log = std::make_unique<ToyLog>();
  std::unique_ptr<Simulator> sim;
};

ToyRun MakeToy(uint64_t seed, int ifaces, uint32_t count) {
  ToyRun run;
  ToyLog* log = run.log.get();
  SimOptions o{.seed = seed, .iface_count = ifaces};
  run.sim = std::make_unique<Simulator>(
      o, [log, count](const NodeConfig& c) { return std::make_unique<ToyNode>(c, log, count); });
  run.sim->AddNode(NodeId{1});
  run.sim->AddNode(NodeId{2});
  run.sim->AddChecker("in order, at most once", [log](Instant) {
    for (auto& [node, got] : log->delivered) {
      for (size_t i = 0; i < got.size(); ++i) {
        if (got[i] != i)
          return InternalError("delivered " + std::to_string(got[i]) + " at " + std::to_string(i));
      }
    }
    return Status::Ok();
  });
  return run;
}

TEST(Sim, DeliversEverythingOnACleanNetwork) {
  ToyRun r = MakeToy(1, 1, 50);
  ASSERT_TRUE(r.sim->RunUntil(r.sim->now() + std::chrono::seconds(5)).ok());
  EXPECT_EQ(r.log->delivered[NodeId{2}].size(), 50u);
  EXPECT_EQ(r.log->acked, 50u);
}

TEST(Sim, SameSeedReplaysExactlyAndOtherSeedsDiffer) {
  auto trace = [](uint64_t seed) {
    ToyRun r = MakeToy(seed, 2, 200);
    r.sim->network().SetAllLinks(
        LinkParams{.loss = 0.2, .duplicate = 0.1, .reorder = 0.2, .jitter = milliseconds(1)});
    EXPECT_TRUE(r.sim->RunUntil(r.sim->now() + std::chrono::seconds(30)).ok());
    const NetworkStats& s = r.sim->network().stats();
    return std::to_string(s.sent) + "/" + std::to_string(s.lost) + "/" +
           std::to_string(s.duplicated) + "/" + std::to_string(r.sim->steps()) + "/" +
           std::to_string(r.log->acked);
  };
  EXPECT_EQ(trace(7), trace(7));
  EXPECT_NE(trace(7), trace(8));
}

TEST(Sim, CutOfOneAddressPairLeavesTheOtherWorking) {
  ToyRun r = MakeToy(3, 2, 20);
  r.sim->network().Cut(Endpoint{NodeId{1}, 0}, Endpoint{NodeId{2}, 0});
  ASSERT_TRUE(r.sim->RunUntil(r.sim->now() + std::chrono::seconds(5)).ok());
  EXPECT_EQ(r.log->acked, 20u);
  EXPECT_GT(r.sim->network().stats().cut, 0u);
}

TEST(Sim, PartitionStopsTrafficUntilHealed) {
  ToyRun r = MakeToy(4, 1, 5);
  r.sim->network().Partition({{NodeId{1}}});
  ASSERT_TRUE(r.sim->RunUntil(r.sim->now() + std::chrono::seconds(1)).ok());
  EXPECT_EQ(r.log->acked, 0u);
  r.sim->network().Heal();
  ASSERT_TRUE(r.sim->RunUntil(r.sim->now() + std::chrono::seconds(1)).ok());
  EXPECT_EQ(r.log->acked, 5u);
}

TEST(Sim, CrashAndRestartGiveAFreshIncarnation) {
  ToyRun r = MakeToy(5, 1, 3);
  EXPECT_EQ(r.sim->Incarnation(NodeId{2}), 1u);
  r.sim->Crash(NodeId{2});
  EXPECT_FALSE(r.sim->IsUp(NodeId{2}));
  EXPECT_EQ(r.sim->Adapter(NodeId{2}), nullptr);
  ASSERT_TRUE(r.sim->RunUntil(r.sim->now() + milliseconds(200)).ok());
  EXPECT_EQ(r.log->acked, 0u);
  r.sim->Restart(NodeId{2});
  EXPECT_EQ(r.sim->Incarnation(NodeId{2}), 2u);
  ASSERT_TRUE(r.sim->RunUntil(r.sim->now() + milliseconds(200)).ok());
  EXPECT_EQ(r.log->acked, 3u);
}

TEST(Sim, BandwidthLimitDelaysArrivals) {
  Network net(
      NetworkOptions{.defaults = {.delay = Duration::zero(), .bandwidth_bytes_per_s = 1'000'000}},
      Rng(1));
  Instant t0 = FromNanos(0);
  for (int i = 0; i < 10; ++i) {
    net.Send(t0, Datagram{{NodeId{1}, 0}, {NodeId{2}, 0}, std::vector<uint8_t>(1000)});
  }
  Instant last = t0;
  while (auto when = net.NextArrival()) {
    last = *when;
    ASSERT_TRUE(net.PopArrival(*when).has_value());
  }
  EXPECT_EQ(last - t0, milliseconds(10));  // 10 x 1000 B at 1 MB/s
}

TEST(Sim, CheckerFailureStopsTheRun) {
  ToyRun r = MakeToy(6, 1, 100);
  ToyLog* log = r.log.get();
  r.sim->AddChecker("fails at 10", [log](Instant) {
    return log->acked >= 10 ? InternalError("ten acked") : Status::Ok();
  });
  Status s = r.sim->RunUntil(r.sim->now() + std::chrono::seconds(5));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("fails at 10"), std::string::npos) << s.ToString();
  EXPECT_EQ(log->acked, 10u);
}

class StuckNode : public NodeAdapter {
 public:
  void HandleDatagram(Instant, Endpoint, Endpoint, std::span<const uint8_t>) override {}
  void HandleTimeout(Instant) override {}
  std::optional<Datagram> PollTransmit(Instant) override { return std::nullopt; }
  std::optional<Instant> PollDeadline() override { return Instant{}; }  // always due
  void DrainEvents(Instant) override {}
};

TEST(Sim, ADeadlineThatNeverMovesFailsTheRun) {
  Simulator sim(SimOptions{.steps_at_one_instant_max = 1000},
                [](const NodeConfig&) { return std::make_unique<StuckNode>(); });
  sim.AddNode(NodeId{1});
  Status s = sim.RunUntil(sim.now() + std::chrono::seconds(1));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("does not advance"), std::string::npos) << s.ToString();
}

TEST(Sim, SwarmOfToyRuns) {
  SeedPlan plan = SeedsFromEnv(200);
  SeedReport report = RunSeeds(plan, "Sim.SwarmOfToyRuns", [](uint64_t seed) -> Status {
    ToyRun r = MakeToy(seed, 2, 30);
    Rng rng(seed);
    FaultMix mix = RandomFaultMix(rng, /*allow_crashes=*/false);
    Instant t0 = r.sim->now();
    ScheduleFaults(*r.sim, mix, t0, t0 + std::chrono::seconds(2), LinkParams{});
    RAIN_RETURN_IF_ERROR(r.sim->RunUntil(t0 + std::chrono::seconds(10)));
    if (r.log->acked != 30) {
      return InternalError("liveness: " + std::to_string(r.log->acked) + "/30 acked; " +
                           mix.ToString());
    }
    return Status::Ok();
  });
  EXPECT_TRUE(report.failed_seeds.empty()) << report.first_failure;
  EXPECT_EQ(report.runs, plan.seeds.size());
}

}  // namespace
}  // namespace rain::sim
