#include "rain/sim/swarm.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>

namespace rain::sim {
namespace {

std::optional<uint64_t> EnvU64(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  char* end = nullptr;
  uint64_t x = std::strtoull(v, &end, 10);
  if (end == v || *end != '\0') {
    std::fprintf(stderr, "sim: ignoring %s='%s' (not a number)\n", name, v);
    return std::nullopt;
  }
  return x;
}

std::string SelfPath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "<test binary>";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

SeedPlan SeedsFromEnv(uint64_t default_count) {
  SeedPlan plan;
  if (std::optional<uint64_t> one = EnvU64("RAIN_SEED")) {
    plan.seeds.push_back(*one);
    plan.replay = true;
    return plan;
  }
  uint64_t count = EnvU64("RAIN_SEEDS").value_or(default_count);
  uint64_t base = EnvU64("RAIN_SEED_BASE").value_or(1);
  for (uint64_t i = 0; i < count; ++i) plan.seeds.push_back(base + i);
  return plan;
}

std::string ReplayCommand(uint64_t seed, const std::string& gtest_filter) {
  return "RAIN_SEED=" + std::to_string(seed) + " " + SelfPath() + " --gtest_filter=" + gtest_filter;
}

SeedReport RunSeeds(const SeedPlan& plan, const std::string& gtest_filter,
                    const std::function<Status(uint64_t seed)>& run, size_t failures_max) {
  SeedReport report;
  for (uint64_t seed : plan.seeds) {
    ++report.runs;
    Status s = run(seed);
    if (s.ok()) continue;
    if (report.failed_seeds.empty()) report.first_failure = s.ToString();
    report.failed_seeds.push_back(seed);
    std::fprintf(stderr, "\nSIM FAILURE seed=%llu: %s\n  replay: %s\n",
                 static_cast<unsigned long long>(seed), s.ToString().c_str(),
                 ReplayCommand(seed, gtest_filter).c_str());
    if (report.failed_seeds.size() >= failures_max) break;
  }
  return report;
}

std::string FaultMix::ToString() const {
  std::ostringstream o;
  o << "loss=" << link.loss << " dup=" << link.duplicate << " reorder=" << link.reorder
    << " delay_us=" << std::chrono::duration_cast<std::chrono::microseconds>(link.delay).count()
    << " jitter_us=" << std::chrono::duration_cast<std::chrono::microseconds>(link.jitter).count()
    << " bw_Bps=" << link.bandwidth_bytes_per_s << " cuts=" << cut_links
    << " partitions=" << partitions << " crashes=" << crashes;
  return o.str();
}

FaultMix RandomFaultMix(Rng& rng, bool allow_crashes) {
  FaultMix mix;
  // Each fault kind is present in about half the seeds; strengths vary widely so that both
  // "rare fault" and "hostile network" seeds occur.
  if (rng.Chance(0.5)) mix.link.loss = rng.Unit() * 0.2;
  if (rng.Chance(0.3)) mix.link.duplicate = rng.Unit() * 0.1;
  if (rng.Chance(0.4)) mix.link.reorder = rng.Unit() * 0.2;
  mix.link.delay = std::chrono::microseconds(rng.Between(20, 2000));
  if (rng.Chance(0.5)) mix.link.jitter = std::chrono::microseconds(rng.Between(0, 2000));
  if (rng.Chance(0.3)) {
    mix.link.bandwidth_bytes_per_s = static_cast<uint64_t>(rng.Between(2, 200)) << 20;  // MiB/s
  }
  mix.cut_links = rng.Chance(0.5);
  mix.partitions = rng.Chance(0.25);
  mix.crashes = allow_crashes && rng.Chance(0.25);
  return mix;
}

void ScheduleFaults(Simulator& sim, const FaultMix& mix, Instant from, Instant to,
                    const LinkParams& calm) {
  auto rng = std::make_shared<Rng>(sim.rng().Fork());
  const std::vector<NodeId> nodes = sim.Nodes();
  const int ifaces = sim.options().iface_count;
  sim.At(from, [&sim, link = mix.link] { sim.network().SetAllLinks(link); });

  std::vector<int> kinds;
  if (mix.cut_links) kinds.push_back(0);
  if (mix.partitions && nodes.size() > 1) kinds.push_back(1);
  if (mix.crashes && nodes.size() > 1) kinds.push_back(2);

  Instant t = from;
  while (!kinds.empty()) {
    t += Duration(rng->Between(1, mix.fault_gap_max.count()));
    if (t >= to) break;
    Duration len(rng->Between(1, mix.fault_duration_max.count()));
    Instant end = std::min(t + len, to);
    int kind = kinds[rng->Below(kinds.size())];
    if (kind == 0) {
      // One address pair between two nodes, like one NIC's cable.
      NodeId a = nodes[rng->Below(nodes.size())];
      NodeId b = nodes[rng->Below(nodes.size())];
      if (a == b) continue;
      uint8_t ia = static_cast<uint8_t>(rng->Below(ifaces));
      uint8_t ib = ifaces > 1 && rng->Chance(0.2) ? static_cast<uint8_t>(rng->Below(ifaces)) : ia;
      Endpoint ea{a, ia}, eb{b, ib};
      sim.At(t, [&sim, ea, eb] { sim.network().Cut(ea, eb); });
      sim.At(end, [&sim, ea, eb] { sim.network().Restore(ea, eb); });
    } else if (kind == 1) {
      std::vector<NodeId> side;
      for (NodeId n : nodes) {
        if (rng->Chance(0.5)) side.push_back(n);
      }
      sim.At(t, [&sim, side] { sim.network().Partition({side}); });
      sim.At(end, [&sim] { sim.network().Heal(); });
    } else {
      NodeId n = nodes[rng->Below(nodes.size())];
      sim.At(t, [&sim, n, nodes] {
        // Keep at least one node running: a run with everything down tests nothing.
        int up = 0;
        for (NodeId m : nodes) up += sim.IsUp(m) ? 1 : 0;
        if (up > 1) sim.Crash(n);
      });
      sim.At(end, [&sim, n] { sim.Restart(n); });
    }
  }
  sim.At(to, [&sim, nodes, calm] {
    sim.network().RestoreAllCuts();
    sim.network().Heal();
    sim.network().SetAllLinks(calm);
    for (NodeId n : nodes) sim.Restart(n);
  });
}

}  // namespace rain::sim
