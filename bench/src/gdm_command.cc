// `rain bench gdm` on the command line: flags and exit statuses.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "rain/bench/gdm_bench.h"
#include "rain/bench/report.h"

namespace rain::bench {

void AddGdmBenchCommand(CLI::App& bench, int* exit_status) {
  struct Flags {
    GdmBenchOptions options;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = bench.add_subcommand(
      "gdm",
      "Local raind clusters: the seed workload (10,000 x 1 KiB items, 500 updates/s per node) on 2 "
      "and 5 nodes with CPU % per node (and the same daemons' idle CPU), commit latency p50/p99; "
      "the maximum sustained update rate; leader failover (kill -9 the leader)");
  GdmBenchOptions& o = flags->options;
  cmd->add_flag("--json", flags->json, "Print one JSON object and nothing else");
  cmd->add_option("--nodes", o.cluster_sizes,
                  "Cluster sizes for the seed workload (default 2,5; repeat or comma-separate)")
      ->delimiter(',')
      ->check(CLI::Range(1, 64));
  cmd->add_option("--seconds", o.seconds, "Seed-workload window per cluster (default 30)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--idle-seconds", o.idle_seconds,
                  "Idle CPU window on the same daemons (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--items", o.items, "Items (default 10000)")->check(CLI::Range(1, 10'000'000));
  cmd->add_option("--item-bytes", o.item_bytes, "Item size (default 1024)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--rate", o.rate_per_node, "Seed updates/s per node (default 500)")
      ->check(CLI::Range(1, 10'000'000));
  cmd->add_option("--failover-nodes", o.failover_nodes,
                  "Cluster size for the max rate and leader failover (default 5; >= 3, the "
                  "survivors of a kill must be a majority; 0 skips both); the seed cluster of "
                  "that size is reused")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--max-rate-seconds", o.max_rate_seconds,
                  "Max-rate window, every node writing with rate 0 (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--window", o.window, "Commands in flight per node (default 1024)")
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--trials", o.trials, "Leader failover trials (default 5)")
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--fsync-floor-seconds", o.fsync_floor_seconds,
                  "How long to measure the CPU of a 4 KiB write + fdatasync every 10 ms, the "
                  "floor under the seed-load CPU (default 3; 0 skips)")
      ->check(CLI::Range(0.0, 600.0));
  cmd->add_option("--raind", o.raind_path, "The raind binary (default: next to rain, then PATH)");
  cmd->add_option("--extra-toml", o.extra_toml, "Appended to every raind.toml");
  cmd->add_flag("--keep-dir", o.keep_dir, "Keep the cluster directories (configs, logs)");
  cmd->callback([flags, exit_status] {
    std::error_code ec;
    std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    std::FILE* progress = isatty(STDERR_FILENO) ? stderr : nullptr;
    auto report = RunGdmBench(flags->options, self, progress);
    if (!report.ok()) {
      std::fprintf(stderr, "rain bench gdm: %s\n", report.status().ToString().c_str());
      const StatusCode code = report.status().code();
      *exit_status = code == StatusCode::kInvalidArgument ? 2
                     : code == StatusCode::kAborted       ? 130
                                                          : 1;
      return;
    }
    if (flags->json) {
      WriteJson(stdout, GdmBenchJson(*report));
    } else {
      std::fputs(FormatGdmTable(*report).c_str(), stdout);
    }
  });
}

}  // namespace rain::bench
