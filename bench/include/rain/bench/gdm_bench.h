// `rain bench gdm`: the GDM and the election of real raind processes on one machine (issue 5
// item 6; docs/benchmarks.md §"GDM"). Each cluster is a `rain local`-style cluster in a temporary
// directory (the BenchCluster of `rain bench membership`), driven through the daemons' control
// sockets (docs/raind.md §3.1: `gdm_load`, `gdm_stats`, `status`, `watch`):
//
//  - seed workload (the Raincore paper's Figure B): node 1 creates `items` items of `item_bytes`,
//    then every node overwrites items picked at random from that range at `rate_per_node`
//    updates/s for `seconds`, on each cluster size of `cluster_sizes` (2 and 5). CPU % per node
//    is utime + stime from /proc/<pid>/stat over the load window; the same nodes' idle CPU is
//    measured in the same run over `idle_seconds` just before the load (items created, nothing
//    written), because an idle raind already spends about 1 % on token visits and the paper's
//    < 1 % (our target 0.2 %) has to be read against that floor. Commit latency (OpCompleted −
//    issue, i.e. durable on every member) p50 = median of the nodes' p50, p99 = the worst node's.
//  - maximum sustained update rate: every node of a `failover_nodes` cluster writes with rate 0
//    (as fast as `window` commands in flight allow) for `max_rate_seconds`; the rate is the summed
//    completions ÷ (the last completion − the load request).
//  - leader failover: kill -9 the leader that `status` names; the time until every survivor's
//    `watch` stream reports a leader with a higher epoch. `trials` times, restarting the killed
//    node (and waiting for every GDM to be active again) between trials; each kill comes
//    0.5-1.5 s after that (KillPhaseDelay), at a uniformly spread token position, and the
//    survivors' token-loss counters tell whether the leader died holding the token. Needs >= 3
//    nodes: after the kill the survivors must still be a majority of the eligible nodes.
// Every daemon and the directory are gone when a Run* call returns, also on errors and signals.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rain/core/result.h"

namespace rain::bench {

struct GdmBenchOptions {
  std::vector<int> cluster_sizes = {2, 5};  // seed workload on each
  double seconds = 30;                      // seed-workload window
  double idle_seconds = 10;                 // idle CPU window on the same nodes
  int items = 10000;
  int item_bytes = 1024;
  int rate_per_node = 500;  // updates/s per node in the seed workload
  int failover_nodes = 5;   // cluster for max rate and failover; 0 skips both
  double max_rate_seconds = 10;
  // Commands in flight per node (gdm_load's window). 1024: with 256 the rate was the client's
  // limit, not the cluster's (5 x 256 in flight / 40 ms commit = 32,000/s with CPUs to spare);
  // 1024 and 4096 both give the CPU-bound rate (docs/benchmarks.md, 2026-12-03).
  int window = 1024;
  int trials = 5;  // leader failover trials
  // The fsync floor (GdmBenchReport::fsync_floor_cpu_pct) is measured over this long; 0 skips.
  double fsync_floor_seconds = 3;
  std::string raind_path;  // "" = next to the rain binary, then PATH
  std::string extra_toml;  // [membership]/[transport] overrides for every node
  bool keep_dir = false;
};

// One cluster size's seed workload.
// The storage thread's synced writes (one journal record + fdatasync each) over a load window,
// from gdm_stats' persist_* fields: a commit waits for one on every member, so these are the
// disk's share of the commit latency (the local nodes share one disk).
struct GdmPersistFigures {
  double writes_per_s = 0;  // per node, median node
  double ms_p50 = 0;        // median of the nodes' p50
  double ms_p99 = 0;        // worst node's p99
};

struct GdmSeedRow {
  int nodes = 0;
  double seconds = 0;                // the measured load window
  std::vector<double> cpu_pct;       // per node, over the load window
  std::vector<double> idle_cpu_pct;  // per node, same daemons, idle window
  double commit_ms_p50 = 0;
  double commit_ms_p99 = 0;
  int64_t completed = 0;     // summed over nodes
  int64_t failed = 0;        // completed with an error (Aborted etc.)
  int64_t unavailable = 0;   // refused with Unavailable and retried
  double updates_per_s = 0;  // completed ÷ window, all nodes
  GdmPersistFigures persist;
};

struct GdmBenchReport {
  std::string machine;
  std::string loadavg_start;  // /proc/loadavg before and after: the machine is shared
  std::string loadavg_end;
  int items = 0;
  int item_bytes = 0;
  int rate_per_node = 0;
  std::vector<GdmSeedRow> seed;
  // The CPU % of one thread that makes a 4 KiB append durable (write + fdatasync) every 10 ms
  // on this machine's disk (the temp dir's) and does nothing else: what any member pays to keep
  // a 10 ms commit p99 with a synced write per commit, the floor under the seed-load CPU.
  // Negative when not measured.
  double fsync_floor_cpu_pct = -1;
  // Max rate and failover; absent (nodes 0) when skipped.
  int failover_nodes = 0;
  int window = 0;
  double max_updates_per_s = 0;
  double max_rate_commit_ms_p50 = 0;
  double max_rate_commit_ms_p99 = 0;
  GdmPersistFigures max_rate_persist;
  int64_t max_rate_failed = 0;
  std::vector<double> failover_ms;  // one per trial: kill -9 -> every survivor knows a new leader
  // The same trials' membership failover: kill -9 -> every survivor installed a view without the
  // leader. The election's share of a trial is failover_ms - failover_view_ms (ElectionMs).
  std::vector<double> failover_view_ms;
  // Per trial: the leader died holding the token, so the survivors waited for TokenLossTimeout
  // and regenerated the ring (the slow path); otherwise its predecessor's pass failed.
  std::vector<bool> failover_token_lost;
};

// Per trial, how long after the last survivor's view without the leader the last survivor knew
// the new leader.
std::vector<double> ElectionMs(const GdmBenchReport& report);

// Runs the benchmark. Progress lines go to `progress` (may be null). `rain_path` is the running
// rain binary (raind is looked up next to it). Errors: InvalidArgument for bad options, NotFound
// without raind, DeadlineExceeded when a cluster does not converge or a load does not finish,
// Aborted on SIGINT/SIGTERM.
Result<GdmBenchReport> RunGdmBench(const GdmBenchOptions& options, const std::string& rain_path,
                                   std::FILE* progress);

// The busiest node's figure (the per-node figures are in the JSON too); 0 for none.
double BusiestNode(const std::vector<double>& per_node);

// The table with issue 5's targets and a verdict per figure, and the idle floor next to the CPU.
std::string FormatGdmTable(const GdmBenchReport& report);
// {"seed_workload": [{"nodes", "cpu_pct_per_node", "idle_cpu_pct_per_node", "commit_ms_p50",
// "commit_ms_p99", ...extras}], "max_updates_per_s", "leader_failover_ms", ...extras}; the
// per-node CPU figures are the busiest node's; max rate and failover are null when not measured.
nlohmann::ordered_json GdmBenchJson(const GdmBenchReport& report);

// Adds `gdm` under `rain bench`; sets the exit status through `exit_status` (0 ok, 1 failure,
// 2 usage, 130 interrupted).
void AddGdmBenchCommand(CLI::App& bench, int* exit_status);

}  // namespace rain::bench
