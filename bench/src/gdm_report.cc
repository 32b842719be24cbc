// The table and JSON of `rain bench gdm`, with issue 5's targets next to the figures so the
// verdict is in the output. The CPU rows show the idle floor of the same daemons beside the
// loaded figure: the 0.2 % target is below what an idle raind already spends on token visits.
#include <algorithm>
#include <cstdio>

#include "rain/bench/gdm_bench.h"
#include "rain/bench/report.h"

namespace rain::bench {

namespace {

// Issue 5's targets.
constexpr double kCpuPctMax = 0.2;
constexpr double kUpdatesPerSMin = 50000;
constexpr double kCommitMsP99Max = 10;
// "New leader within the membership failover bound + 50 ms": the election may add at most 50 ms
// to the membership failover of the same trial (kill -> view without the leader), and that
// failover's own bound is issue 4's 150 ms median (docs/benchmarks.md, Membership).
constexpr double kElectionMsMax = 50;
constexpr double kMembershipFailoverMsMax = 150;

std::string Verdict(bool met) { return met ? "met" : "MISSED"; }

double MaxOf(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

std::string Each(const std::vector<double>& values, int decimals) {
  std::string out;
  for (double v : values) out += (out.empty() ? "" : " ") + FormatFixed(v, decimals);
  return out;
}

std::string Pair(const GdmPersistFigures& p) {
  return FormatFixed(p.ms_p50, 2) + " / " + FormatFixed(p.ms_p99, 2);
}

nlohmann::ordered_json Array(const std::vector<double>& values) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (double v : values) a.push_back(v);
  return a;
}

}  // namespace

double BusiestNode(const std::vector<double>& per_node) { return MaxOf(per_node); }

std::string FormatGdmTable(const GdmBenchReport& r) {
  std::string out = "# machine: " + r.machine + "; load average " + r.loadavg_start +
                    " at the start, " + r.loadavg_end + " at the end\n";
  out += "# seed workload: " + std::to_string(r.items) + " items of " +
         std::to_string(r.item_bytes) + " B, " + std::to_string(r.rate_per_node) +
         " updates/s per node; CPU = busiest node (utime+stime); idle = the same daemons, no "
         "writes, same run\n";
  out += "# commit = durable on every member; p50 = median of the nodes' p50, p99 = worst node\n";
  out +=
      "# synced write = one journal record + fdatasync on a node's storage thread (a commit waits "
      "for one on every member; local nodes share one disk); same p50 / p99 rule\n";
  if (r.fsync_floor_cpu_pct >= 0) {
    out +=
        "# fsync floor = CPU of one thread that only makes a 4 KiB append durable every 10 ms "
        "here: the least a member spends to keep a 10 ms commit p99 with a synced write per "
        "commit\n";
  }
  out += "\n";
  Table t;
  t.AddColumn("metric", Table::Align::kLeft);
  t.AddColumn("ours", Table::Align::kRight);
  t.AddColumn("target", Table::Align::kLeft);
  t.AddColumn("verdict", Table::Align::kLeft);
  const bool floor_measured = r.fsync_floor_cpu_pct >= 0;
  const bool floor_above = floor_measured && r.fsync_floor_cpu_pct > kCpuPctMax;
  if (floor_measured) {
    t.AddRow({"fsync floor: CPU % of a 4 KiB write + fdatasync / 10 ms",
              FormatFixed(r.fsync_floor_cpu_pct, 2), "",
              floor_above ? "above the CPU target" : ""});
    t.AddSeparator();
  }
  for (const GdmSeedRow& row : r.seed) {
    const std::string n = std::to_string(row.nodes) + " nodes: ";
    const double cpu = BusiestNode(row.cpu_pct);
    const double idle = BusiestNode(row.idle_cpu_pct);
    std::string why;
    if (idle > kCpuPctMax) why += " (idle alone is above it";
    if (floor_above)
      why += why.empty() ? " (the fsync floor is above it" : "; so is the fsync floor";
    if (!why.empty()) why += ")";
    t.AddRow({n + "CPU % per node, loaded", FormatFixed(cpu, 2), "<= 0.2 (paper: < 1)",
              Verdict(cpu <= kCpuPctMax) + why});
    t.AddRow({n + "CPU % per node, idle", FormatFixed(idle, 2), "", ""});
    t.AddRow({n + "CPU % loaded - idle", FormatFixed(cpu - idle, 2), "", ""});
    t.AddRow({n + "CPU % each node, loaded", Each(row.cpu_pct, 2), "", ""});
    t.AddRow({n + "CPU % each node, idle", Each(row.idle_cpu_pct, 2), "", ""});
    t.AddRow({n + "commit ms p50", FormatFixed(row.commit_ms_p50, 2), "", ""});
    t.AddRow({n + "commit ms p99", FormatFixed(row.commit_ms_p99, 2), "<= 10",
              Verdict(row.commit_ms_p99 <= kCommitMsP99Max)});
    t.AddRow({n + "synced writes/s per node", FormatFixed(row.persist.writes_per_s, 0), "", ""});
    t.AddRow({n + "synced write ms p50 / p99", Pair(row.persist), "", ""});
    t.AddRow({n + "updates/s done (all nodes)", FormatFixed(row.updates_per_s, 0),
              std::to_string(row.nodes * r.rate_per_node) + " asked", ""});
    t.AddRow({n + "failed / unavailable",
              std::to_string(row.failed) + " / " + std::to_string(row.unavailable), "", ""});
    t.AddSeparator();
  }
  if (r.failover_nodes != 0) {
    const std::string n = std::to_string(r.failover_nodes) + " nodes: ";
    t.AddRow({n + "max updates/s (window " + std::to_string(r.window) + ")",
              FormatFixed(r.max_updates_per_s, 0), ">= 50000",
              Verdict(r.max_updates_per_s >= kUpdatesPerSMin)});
    t.AddRow({n + "  commit ms p50 / p99 at max",
              FormatFixed(r.max_rate_commit_ms_p50, 2) + " / " +
                  FormatFixed(r.max_rate_commit_ms_p99, 2),
              "", ""});
    t.AddRow({n + "  synced writes/s per node at max",
              FormatFixed(r.max_rate_persist.writes_per_s, 0), "", ""});
    t.AddRow({n + "  synced write ms p50 / p99 at max", Pair(r.max_rate_persist), "", ""});
    if (!r.failover_ms.empty()) {
      const std::vector<double> added = ElectionMs(r);
      const double view_median = Median(r.failover_view_ms);
      t.AddRow({n + "leader failover ms median", FormatFixed(Median(r.failover_ms), 1),
                "<= view + 50", Verdict(Median(added) <= kElectionMsMax)});
      t.AddRow({n + "leader failover ms max", FormatFixed(MaxOf(r.failover_ms), 1), "", ""});
      t.AddRow({n + "leader failover ms each", Each(r.failover_ms, 0), "", ""});
      t.AddRow({n + "  of which view without it, median", FormatFixed(view_median, 1), "<= 150",
                Verdict(view_median <= kMembershipFailoverMsMax)});
      t.AddRow({n + "  view without it, each", Each(r.failover_view_ms, 0), "", ""});
      t.AddRow({n + "  leader after the view, each", Each(added, 0), "<= 50", ""});
      const auto lost =
          std::count(r.failover_token_lost.begin(), r.failover_token_lost.end(), true);
      t.AddRow({n + "  trials where the token died with it",
                std::to_string(lost) + " of " + std::to_string(r.failover_token_lost.size()),
                "~1 in " + std::to_string(r.failover_nodes), ""});
    }
  }
  return out + t.Render();
}

std::vector<double> ElectionMs(const GdmBenchReport& r) {
  std::vector<double> out;
  for (size_t i = 0; i < r.failover_ms.size() && i < r.failover_view_ms.size(); ++i) {
    out.push_back(r.failover_ms[i] - r.failover_view_ms[i]);
  }
  return out;
}

nlohmann::ordered_json GdmBenchJson(const GdmBenchReport& r) {
  nlohmann::ordered_json doc;
  doc["seed_workload"] = nlohmann::ordered_json::array();
  for (const GdmSeedRow& row : r.seed) {
    nlohmann::ordered_json j;
    j["nodes"] = row.nodes;
    j["cpu_pct_per_node"] = BusiestNode(row.cpu_pct);
    j["idle_cpu_pct_per_node"] = BusiestNode(row.idle_cpu_pct);
    j["commit_ms_p50"] = row.commit_ms_p50;
    j["commit_ms_p99"] = row.commit_ms_p99;
    j["cpu_pct_each"] = Array(row.cpu_pct);
    j["idle_cpu_pct_each"] = Array(row.idle_cpu_pct);
    j["updates_per_s"] = row.updates_per_s;
    j["failed"] = row.failed;
    j["unavailable"] = row.unavailable;
    j["seconds"] = row.seconds;
    j["persist_writes_per_s"] = row.persist.writes_per_s;
    j["persist_ms_p50"] = row.persist.ms_p50;
    j["persist_ms_p99"] = row.persist.ms_p99;
    doc["seed_workload"].push_back(j);
  }
  const bool fault_run = r.failover_nodes != 0;
  doc["max_updates_per_s"] = fault_run ? nlohmann::ordered_json(r.max_updates_per_s) : nullptr;
  doc["leader_failover_ms"] = r.failover_ms.empty() ? nlohmann::ordered_json(nullptr)
                                                    : nlohmann::ordered_json(Median(r.failover_ms));
  doc["leader_failover_ms_max"] = r.failover_ms.empty()
                                      ? nlohmann::ordered_json(nullptr)
                                      : nlohmann::ordered_json(MaxOf(r.failover_ms));
  doc["leader_failover_ms_each"] = Array(r.failover_ms);
  doc["leader_failover_view_ms_each"] = Array(r.failover_view_ms);
  doc["leader_election_ms_each"] = Array(ElectionMs(r));
  doc["leader_failover_token_lost_each"] = r.failover_token_lost;
  doc["max_rate_nodes"] = r.failover_nodes;
  doc["max_rate_window"] = r.window;
  doc["max_rate_commit_ms_p50"] = r.max_rate_commit_ms_p50;
  doc["max_rate_commit_ms_p99"] = r.max_rate_commit_ms_p99;
  doc["max_rate_failed"] = r.max_rate_failed;
  doc["max_rate_persist_writes_per_s"] = r.max_rate_persist.writes_per_s;
  doc["max_rate_persist_ms_p50"] = r.max_rate_persist.ms_p50;
  doc["max_rate_persist_ms_p99"] = r.max_rate_persist.ms_p99;
  doc["fsync_floor_cpu_pct"] = r.fsync_floor_cpu_pct >= 0
                                   ? nlohmann::ordered_json(r.fsync_floor_cpu_pct)
                                   : nlohmann::ordered_json(nullptr);
  doc["items"] = r.items;
  doc["item_bytes"] = r.item_bytes;
  doc["rate_per_node"] = r.rate_per_node;
  doc["machine"] = r.machine;
  doc["loadavg_start"] = r.loadavg_start;
  doc["loadavg_end"] = r.loadavg_end;
  return doc;
}

}  // namespace rain::bench
