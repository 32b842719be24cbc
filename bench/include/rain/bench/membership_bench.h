// `rain bench membership`: the GCM of real raind processes on one machine (docs/benchmarks.md
// §"Membership"; targets from issue 4, compared with Corosync 3.1.7 measured on this machine).
//
// A local cluster of `nodes` raind (tools/rain/local_cluster.h) in a temporary directory, driven
// through each daemon's control socket (docs/raind.md §3):
//  - failover: SIGKILL one node (CLOCK_MONOTONIC read just before the kill); the time until the
//    last survivor's `watch` stream shows a view without it. Then restart it; join = start → the
//    moment every node had installed the view with it (`installed_mono_ns` of the agreed view).
//    The victim rotates over the nodes, so about 1/n of the kills hit the token holder.
//  - ordered multicast throughput of 64 B, 1 KiB and 16 KiB messages from one sender and from
//    all senders (`mcast`), at the slowest receiver: delivered messages ÷ (its last delivery −
//    the moment the load was requested), from `mcast_stats`.
//  - latency at low load: a paced trickle of 64-byte messages from every node in turn; p50 is the
//    median of the receivers' p50, p99 the largest receiver p99 (`latency_us_*` of mcast_stats:
//    delivery − send stamp, one machine, one monotonic clock).
//  - idle CPU: utime + stime of each daemon (/proc/<pid>/stat) over a quiet window; the figure
//    is the busiest node's.
//  - soak (a separate mode): no faults for a while, optionally with busy-loop processes hogging
//    every CPU; every view change is counted, and a view that lacks a node is a false removal.
// Daemons run detached (their own sessions), so every exit path — errors and SIGINT/SIGTERM
// included — kills them and removes the directory.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rain/core/result.h"

namespace rain::bench {

struct MembershipBenchOptions {
  int nodes = 5;
  int trials = 10;  // failover/join trials
  std::vector<size_t> mcast_sizes = {64, 1 << 10, 16 << 10};
  // Per throughput row, split among the senders. 200,000 so that a row lasts about a second at
  // 1 KiB: with 20,000 the first token visit and the last rotation (tens of ms) were a third of
  // a 1 KiB row and halved its rate on the 2026-12-03 machine (35,629 vs 101,918 msgs/s).
  int mcast_messages = 200000;
  size_t mcast_bytes_per_row_max = 128ull << 20;  // fewer messages for big sizes
  int latency_messages = 300;                     // the trickle's length
  int latency_interval_ms = 5;  // its pacing: 200 messages/s over the whole cluster
  double idle_seconds = 5;      // idle CPU window
  double soak_seconds = 0;      // > 0: soak mode only
  int hog_procs = 0;            // busy-loop processes during the soak
  std::string raind_path;       // "" = next to the rain binary, then PATH
  std::string extra_toml;       // [membership]/[transport] overrides for every node
  bool keep_dir = false;        // leave the cluster directory (for debugging)
};

struct McastRow {
  size_t msg_bytes = 0;
  std::string senders;  // "one" or "all"
  int messages = 0;
  double msgs_per_s = 0;  // at the slowest receiver
  double mb_per_s = 0;    // 1e6 payload bytes per second, same receiver
  std::string error;      // not empty: the row failed (e.g. a view change); no figures
};

struct MembershipBenchReport {
  int nodes = 0;
  std::string machine;
  std::vector<double> failover_ms;  // one per trial
  std::vector<double> join_ms;
  std::vector<McastRow> mcast;
  double latency_ms_p50 = 0;
  double latency_ms_p99 = 0;
  std::vector<double> idle_cpu_pct;  // per node
};

struct MembershipSoakReport {
  int nodes = 0;
  double seconds = 0;
  int hog_procs = 0;
  int view_changes = 0;             // view events seen after the first common view, all nodes
  int false_removals = 0;           // of those, views lacking a node (nobody failed)
  std::vector<std::string> events;  // "node 3: view 7.2.14.1 [1 2 3 5] at +12.3 s"
};

// Runs the benchmark (failover/join, multicast, latency, idle CPU). Progress lines go to
// `progress` (may be null). `rain_path` is the running rain binary (raind is looked up next to
// it). Errors: InvalidArgument for bad options, NotFound without raind, DeadlineExceeded when
// the cluster does not converge, Aborted on SIGINT/SIGTERM; every process and the directory are
// gone when it returns.
Result<MembershipBenchReport> RunMembershipBench(const MembershipBenchOptions& options,
                                                 const std::string& rain_path, std::FILE* progress);
// The soak mode (options.soak_seconds > 0); same contract as RunMembershipBench.
Result<MembershipSoakReport> RunMembershipSoak(const MembershipBenchOptions& options,
                                               const std::string& rain_path, std::FILE* progress);

std::string FormatMembershipTable(const MembershipBenchReport& report);
// {"nodes", "failover_ms_p50", "failover_ms_p99", "join_ms_p50", "mcast": [{"msg_bytes",
// "senders", "msgs_per_s", "mb_per_s"}], "latency_ms_p50", "latency_ms_p99", "idle_cpu_pct"},
// keys in this order; idle_cpu_pct is the busiest node's; a failed row's rates are null.
nlohmann::ordered_json MembershipBenchJson(const MembershipBenchReport& report);
std::string FormatSoakTable(const MembershipSoakReport& report);
// {"nodes", "soak_s", "cpu_hog_procs", "view_changes", "false_removals"}.
nlohmann::ordered_json MembershipSoakJson(const MembershipSoakReport& report);

// Adds `membership` under `rain bench`. Sets the exit status through `exit_status` (0 ok,
// 1 failure, 2 usage, 130 interrupted).
void AddMembershipBenchCommand(CLI::App& bench, int* exit_status);

}  // namespace rain::bench
