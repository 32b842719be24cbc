// `rain bench membership` on the command line: flags, the soak mode, exit statuses.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "rain/bench/membership_bench.h"

namespace rain::bench {

namespace {

// --quick: a smoke run that still exercises every measurement (CTest, ASan build).
constexpr int kQuickMcastMessages = 300;
constexpr int kQuickLatencyMessages = 40;
constexpr double kQuickIdleSeconds = 1;
constexpr size_t kQuickBytesPerRowMax = 256 << 10;  // 16 messages of 16 KiB

void PrintJson(const nlohmann::ordered_json& doc) {
  std::string text = doc.dump();  // ordered_json keeps the documented key order
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

int ExitFor(const Status& status) {
  if (status.code() == StatusCode::kInvalidArgument) return 2;
  if (status.code() == StatusCode::kAborted) return 130;
  return 1;
}

}  // namespace

void AddMembershipBenchCommand(CLI::App& bench, int* exit_status) {
  struct Flags {
    MembershipBenchOptions options;
    bool json = false;
    bool quick = false;
    bool cpu_hog = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = bench.add_subcommand(
      "membership",
      "A local cluster of raind: failover (kill -9) and join times, ordered multicast msgs/s and "
      "MB/s (64 B, 1 KiB, 16 KiB; one and all senders), 64-byte latency at low load, idle CPU; "
      "or --soak: view changes during an idle (or CPU-saturated) period");
  MembershipBenchOptions& o = flags->options;
  cmd->add_flag("--json", flags->json, "Print one JSON object and nothing else");
  cmd->add_option("--nodes", o.nodes, "Cluster size (default 5)")->check(CLI::Range(2, 64));
  cmd->add_option("--trials", o.trials, "Failover/join trials (default 10)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--mcast-messages", o.mcast_messages,
                  "Messages per throughput row (default 200000; fewer for 16 KiB: <= 128 MiB)")
      ->check(CLI::Range(2, 10'000'000));
  cmd->add_option("--latency-messages", o.latency_messages,
                  "Paced 64-byte messages for the latency row (default 300, one per 5 ms)")
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--idle-seconds", o.idle_seconds, "Idle CPU window (default 5)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_flag(
      "--quick", flags->quick,
      "Smoke run: 300 messages (<= 256 KiB) per multicast row, 40 latency messages, 1 s idle");
  cmd->add_option("--soak", o.soak_seconds,
                  "Soak mode: run idle this many seconds and count view changes / false removals")
      ->check(CLI::Range(1.0, 86400.0));
  cmd->add_flag("--cpu-hog", flags->cpu_hog,
                "During --soak, saturate every CPU with busy-loop processes (one per CPU)");
  cmd->add_option("--hog-procs", o.hog_procs, "Busy-loop processes for --cpu-hog (default nproc)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--raind", o.raind_path, "The raind binary (default: next to rain, then PATH)");
  cmd->add_option("--extra-toml", o.extra_toml,
                  "Appended to every raind.toml, e.g. $'[membership]\\ntoken_loss_base_ms = 80'");
  cmd->add_flag("--keep-dir", o.keep_dir, "Keep the cluster directory (configs, logs)");
  cmd->callback([flags, exit_status] {
    MembershipBenchOptions options = flags->options;
    if (flags->quick) {
      options.mcast_messages = kQuickMcastMessages;
      options.latency_messages = kQuickLatencyMessages;
      options.idle_seconds = kQuickIdleSeconds;
      options.mcast_bytes_per_row_max = kQuickBytesPerRowMax;
    }
    if (flags->cpu_hog && options.hog_procs == 0) {
      options.hog_procs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    }
    if (!flags->cpu_hog) options.hog_procs = 0;
    std::error_code ec;
    std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    std::FILE* progress = isatty(STDERR_FILENO) ? stderr : nullptr;
    if (options.soak_seconds > 0) {
      auto report = RunMembershipSoak(options, self, progress);
      if (!report.ok()) {
        std::fprintf(stderr, "rain bench membership --soak: %s\n",
                     report.status().ToString().c_str());
        *exit_status = ExitFor(report.status());
        return;
      }
      if (flags->json) {
        PrintJson(MembershipSoakJson(*report));
      } else {
        std::fputs(FormatSoakTable(*report).c_str(), stdout);
      }
      return;
    }
    auto report = RunMembershipBench(options, self, progress);
    if (!report.ok()) {
      std::fprintf(stderr, "rain bench membership: %s\n", report.status().ToString().c_str());
      *exit_status = ExitFor(report.status());
      return;
    }
    if (flags->json) {
      PrintJson(MembershipBenchJson(*report));
    } else {
      std::fputs(FormatMembershipTable(*report).c_str(), stdout);
    }
  });
}

}  // namespace rain::bench
