// `rain bench gdm`: the seed workload with CPU and commit latency, the maximum update rate and
// leader failover of local raind clusters (see the header for what each figure means).
#include "rain/bench/gdm_bench.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "membership_cluster.h"
#include "rain/bench/report.h"

namespace rain::bench {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kActiveTimeout = std::chrono::seconds(60);  // every GDM active, one leader
constexpr auto kStatusPollInterval = milliseconds(50);     // status / gdm_stats polls
constexpr auto kSettle = milliseconds(1000);       // after the items exist, before the idle window
constexpr auto kExitTimeout = milliseconds(5000);  // a SIGKILLed daemon is reaped
constexpr auto kFailoverTimeout = std::chrono::seconds(20);  // kill → every survivor's leader
// A load's own duration plus this: the commands in flight at its end, slow ASan builds.
constexpr auto kLoadDrainTimeout = std::chrono::seconds(60);
// Creating the items: this long plus one second per 200 items (ASan builds on 2 shared cores).
constexpr auto kCreateTimeoutBase = std::chrono::seconds(30);
constexpr int kCreateItemsPerSecondMin = 200;
constexpr uint64_t kIdBase = 1;  // the seed workload's items are 1 .. items
constexpr int kFailoverNodesMin = 3;

void Say(std::FILE* out, const char* format, ...) __attribute__((format(printf, 2, 3)));
void Say(std::FILE* out, const char* format, ...) {
  if (out == nullptr) return;
  std::va_list args;
  va_start(args, format);
  std::fputs("rain bench gdm: ", out);
  std::vfprintf(out, format, args);
  std::fputc('\n', out);
  std::fflush(out);
  va_end(args);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// GdmBenchReport::fsync_floor_cpu_pct, measured on a thread of its own so that its CPU time is
// the probe's alone.
Result<double> MeasureFsyncFloor(double seconds) {
  namespace fs = std::filesystem;
  const fs::path path =
      fs::temp_directory_path() / ("rain-fsync-floor." + std::to_string(::getpid()));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("fsync floor: creating " + path.string(), errno);
  Status status;
  double pct = 0;
  std::thread probe([&] {
    const std::vector<uint8_t> block(4096, 0x5a);
    const auto period = milliseconds(10);
    const int ticks = std::max(1, static_cast<int>(seconds * 100));
    timespec cpu0{}, cpu1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
    const auto start = Clock::now();
    for (int i = 0; i < ticks && status.ok(); ++i) {
      if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
          ::fdatasync(fd) != 0) {
        status = IoError("fsync floor: writing " + path.string(), errno);
      }
      std::this_thread::sleep_until(start + period * (i + 1));
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
    const double cpu = static_cast<double>(cpu1.tv_sec - cpu0.tv_sec) +
                       static_cast<double>(cpu1.tv_nsec - cpu0.tv_nsec) * 1e-9;
    pct = 100.0 * cpu / std::chrono::duration<double>(Clock::now() - start).count();
  });
  probe.join();
  ::close(fd);
  std::error_code ec;
  fs::remove(path, ec);
  RAIN_RETURN_IF_ERROR(status);
  return pct;
}

Status CheckOptions(const GdmBenchOptions& o) {
  if (o.cluster_sizes.empty() && o.failover_nodes == 0) {
    return InvalidArgumentError("nothing to measure: no --nodes and --failover-nodes 0");
  }
  for (int n : o.cluster_sizes) {
    if (n < 1 || n > cli::kLocalNodesMax) {
      return InvalidArgumentError("--nodes must be 1.." + std::to_string(cli::kLocalNodesMax));
    }
  }
  if (o.failover_nodes != 0 &&
      (o.failover_nodes < kFailoverNodesMin || o.failover_nodes > cli::kLocalNodesMax)) {
    return InvalidArgumentError("--failover-nodes must be 0 or 3.." +
                                std::to_string(cli::kLocalNodesMax) +
                                " (after the kill the survivors must be a majority)");
  }
  if (o.items < 1 || o.item_bytes < 1 || o.rate_per_node < 1 || o.window < 1 || o.trials < 0) {
    return InvalidArgumentError("--items, --item-bytes, --rate and --window must be >= 1");
  }
  if (o.fsync_floor_seconds < 0) return InvalidArgumentError("--fsync-floor-seconds must be >= 0");
  if (o.seconds <= 0 || o.idle_seconds <= 0 || o.max_rate_seconds <= 0) {
    return InvalidArgumentError("--seconds, --idle-seconds and --max-rate-seconds must be > 0");
  }
  return Status::Ok();
}

// One node's GDM and leader from a status answer.
struct GdmView {
  std::string mode;
  std::optional<int> leader;
  uint64_t epoch = 0;
};

GdmView GdmOf(const nlohmann::json& status) {
  GdmView v;
  v.mode = status.value("gdm", nlohmann::json::object()).value("mode", std::string());
  if (status.contains("leader") && status["leader"].is_object()) {
    v.leader = status["leader"].value("node", 0);
    v.epoch = status["leader"].value("epoch", uint64_t{0});
  }
  return v;
}

// Polls until every node's GDM is active and all name the same leader and epoch; returns them.
Result<std::pair<int, uint64_t>> WaitGdmActive(BenchCluster& bc, Clock::duration timeout) {
  RAIN_RETURN_IF_ERROR(bc.WaitForAll(kConvergeTimeout).status());
  Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    if (Interrupted()) return AbortedError("interrupted");
    std::vector<cli::NodeStatus> all = bc.cluster().QueryAll(kControlTimeout);
    std::optional<std::pair<int, uint64_t>> agreed;
    bool ok = true;
    std::string seen;
    for (const cli::NodeStatus& s : all) {
      GdmView v = s.up ? GdmOf(s.status) : GdmView{};
      seen +=
          "\n  node " + std::to_string(s.node) + ": " +
          (s.up ? "gdm " + v.mode + ", leader " +
                      (v.leader ? std::to_string(*v.leader) + " epoch " + std::to_string(v.epoch)
                                : "none")
                : "down (" + s.error + ")");
      if (!s.up || v.mode != "active" || !v.leader) {
        ok = false;
        continue;
      }
      std::pair<int, uint64_t> mine{*v.leader, v.epoch};
      if (agreed && *agreed != mine) ok = false;
      agreed = mine;
    }
    if (ok && agreed) return *agreed;
    if (Clock::now() > deadline) {
      return DeadlineExceededError("not every GDM active under one leader in time:" + seen);
    }
    std::this_thread::sleep_for(kStatusPollInterval);  // poll interval; re-checked
  }
}

Status ResetAll(BenchCluster& bc) {
  for (int node : bc.AllNodes()) {
    RAIN_RETURN_IF_ERROR(bc.Request(node, {{"cmd", "gdm_reset"}}).status());
  }
  return Status::Ok();
}

nlohmann::json LoadRequest(const GdmBenchOptions& o, bool create, int rate, double seconds) {
  return {{"cmd", "gdm_load"},
          {"id_base", kIdBase},
          {"items", o.items},
          {"item_bytes", o.item_bytes},
          {"create", create},
          {"rate", rate},
          {"duration_ms", static_cast<int64_t>(seconds * 1000)},
          {"window", o.window}};
}

// Polls `nodes`' gdm_stats until none is running any more; returns the last answer of each
// (index node - 1; nodes not polled stay null).
Result<std::vector<nlohmann::json>> WaitLoadDone(BenchCluster& bc, const std::vector<int>& nodes,
                                                 Clock::duration timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  std::vector<nlohmann::json> stats(bc.nodes());
  for (;;) {
    bool running = false;
    for (int node : nodes) {
      RAIN_ASSIGN_OR_RETURN(stats[node - 1], bc.Request(node, {{"cmd", "gdm_stats"}}));
      running = running || stats[node - 1].value("running", true);
    }
    if (!running) return stats;
    if (Clock::now() > deadline) {
      std::string seen;
      for (int node : nodes)
        seen += "\n  node " + std::to_string(node) + ": " + stats[node - 1].dump();
      return DeadlineExceededError("gdm_load still running at the deadline:" + seen);
    }
    std::this_thread::sleep_for(kStatusPollInterval);  // poll interval; re-checked
  }
}

std::vector<pid_t> Pids(BenchCluster& bc) {
  std::vector<pid_t> pids;
  for (int node : bc.AllNodes()) pids.push_back(bc.cluster().RunningPid(node));
  return pids;
}

Result<std::vector<double>> CpuSeconds(const std::vector<pid_t>& pids) {
  std::vector<double> out;
  for (pid_t pid : pids) {
    RAIN_ASSIGN_OR_RETURN(double cpu, ProcessCpuSeconds(pid));
    out.push_back(cpu);
  }
  return out;
}

std::vector<double> CpuPercent(const std::vector<double>& before, const std::vector<double>& after,
                               double wall_seconds) {
  std::vector<double> pct;
  for (size_t i = 0; i < before.size(); ++i) {
    pct.push_back(100.0 * (after[i] - before[i]) / std::max(wall_seconds, 1e-9));
  }
  return pct;
}

// Node 1 writes every item once; the daemons then hold the state the workload overwrites.
Status CreateItems(BenchCluster& bc, const GdmBenchOptions& o, std::FILE* progress) {
  Say(progress, "creating %d items of %d bytes from node 1", o.items, o.item_bytes);
  RAIN_RETURN_IF_ERROR(ResetAll(bc));
  RAIN_RETURN_IF_ERROR(bc.Request(1, LoadRequest(o, /*create=*/true, 0, 0)).status());
  auto timeout = kCreateTimeoutBase + std::chrono::seconds(o.items / kCreateItemsPerSecondMin);
  RAIN_ASSIGN_OR_RETURN(std::vector<nlohmann::json> stats, WaitLoadDone(bc, {1}, timeout));
  const int64_t completed = stats[0].value("completed", int64_t{0});
  if (completed < o.items) {
    return FailedPreconditionError("node 1 created " + std::to_string(completed) + " of " +
                                   std::to_string(o.items) + " items: " + stats[0].dump());
  }
  return Status::Ok();
}

Status MeasureIdle(BenchCluster& bc, const GdmBenchOptions& o, GdmSeedRow& row) {
  std::vector<pid_t> pids = Pids(bc);
  RAIN_ASSIGN_OR_RETURN(std::vector<double> before, CpuSeconds(pids));
  Clock::time_point start = Clock::now();
  // The measurement window itself: nothing to wait for, the daemons are left alone.
  std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_seconds));
  if (Interrupted()) return AbortedError("interrupted");
  RAIN_ASSIGN_OR_RETURN(std::vector<double> after, CpuSeconds(pids));
  row.idle_cpu_pct =
      CpuPercent(before, after, std::chrono::duration<double>(Clock::now() - start).count());
  return Status::Ok();
}

GdmPersistFigures PersistFigures(const std::vector<nlohmann::json>& stats, double seconds) {
  if (stats.empty()) return {};
  std::vector<double> rates, p50s, p99s;
  for (const nlohmann::json& s : stats) {
    rates.push_back(s.value("persist_groups", 0.0) / std::max(seconds, 1e-9));
    p50s.push_back(s.value("persist_us_p50", 0.0) / 1e3);
    p99s.push_back(s.value("persist_us_p99", 0.0) / 1e3);
  }
  return {Median(rates), Median(p50s), BusiestNode(p99s)};
}

Status MeasureSeedLoad(BenchCluster& bc, const GdmBenchOptions& o, GdmSeedRow& row) {
  RAIN_RETURN_IF_ERROR(ResetAll(bc));
  std::vector<pid_t> pids = Pids(bc);
  RAIN_ASSIGN_OR_RETURN(std::vector<double> before, CpuSeconds(pids));
  Clock::time_point start = Clock::now();
  for (int node : bc.AllNodes()) {
    RAIN_RETURN_IF_ERROR(
        bc.Request(node, LoadRequest(o, /*create=*/false, o.rate_per_node, o.seconds)).status());
  }
  // The load runs for its duration inside the daemons; then wait (with a deadline) for them to
  // report it finished.
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  RAIN_ASSIGN_OR_RETURN(std::vector<nlohmann::json> stats,
                        WaitLoadDone(bc, bc.AllNodes(), kLoadDrainTimeout));
  RAIN_ASSIGN_OR_RETURN(std::vector<double> after, CpuSeconds(pids));
  row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  row.cpu_pct = CpuPercent(before, after, row.seconds);
  std::vector<double> p50s, p99s;
  for (const nlohmann::json& s : stats) {
    row.completed += s.value("completed", int64_t{0});
    row.failed += s.value("failed", int64_t{0});
    row.unavailable += s.value("unavailable", int64_t{0});
    p50s.push_back(s.value("commit_us_p50", 0.0) / 1e3);
    p99s.push_back(s.value("commit_us_p99", 0.0) / 1e3);
  }
  row.commit_ms_p50 = Median(p50s);
  row.commit_ms_p99 = *std::max_element(p99s.begin(), p99s.end());
  row.updates_per_s = static_cast<double>(row.completed) / o.seconds;
  row.persist = PersistFigures(stats, row.seconds);
  return Status::Ok();
}

Status MeasureMaxRate(BenchCluster& bc, const GdmBenchOptions& o, GdmBenchReport& report) {
  RAIN_RETURN_IF_ERROR(ResetAll(bc));
  const int64_t start_ns = MonoNs();
  for (int node : bc.AllNodes()) {
    RAIN_RETURN_IF_ERROR(
        bc.Request(node, LoadRequest(o, /*create=*/false, 0, o.max_rate_seconds)).status());
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.max_rate_seconds));
  RAIN_ASSIGN_OR_RETURN(std::vector<nlohmann::json> stats,
                        WaitLoadDone(bc, bc.AllNodes(), kLoadDrainTimeout));
  int64_t completed = 0;
  int64_t last_ns = start_ns;
  std::vector<double> p50s, p99s;
  for (const nlohmann::json& s : stats) {
    completed += s.value("completed", int64_t{0});
    report.max_rate_failed += s.value("failed", int64_t{0});
    last_ns = std::max(last_ns, s.value("last_done_mono_ns", start_ns));
    p50s.push_back(s.value("commit_us_p50", 0.0) / 1e3);
    p99s.push_back(s.value("commit_us_p99", 0.0) / 1e3);
  }
  const double seconds = std::max(1e-9, static_cast<double>(last_ns - start_ns) / 1e9);
  report.max_updates_per_s = static_cast<double>(completed) / seconds;
  report.max_rate_commit_ms_p50 = Median(p50s);
  report.max_rate_commit_ms_p99 = *std::max_element(p99s.begin(), p99s.end());
  report.max_rate_persist = PersistFigures(stats, seconds);
  return Status::Ok();
}

// Reads `watch` until a leader of an epoch above `epoch` is reported; returns the mono_ns of that
// leader event and, in `view_ns`, of the first view event without `victim` before it (the
// membership failover the election rides on; 0 if the stream showed none).
Result<int64_t> NextLeaderAbove(cli::ControlConnection& watch, uint64_t epoch, int victim,
                                Clock::time_point deadline, int64_t& view_ns) {
  view_ns = 0;
  for (;;) {
    if (Interrupted()) return AbortedError("interrupted");
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return DeadlineExceededError("no leader with a higher epoch in time");
    RAIN_ASSIGN_OR_RETURN(nlohmann::json event, watch.Receive(left));
    const std::string kind = event.value("event", "");
    if (kind == "view" && view_ns == 0 && event.contains("view")) {
      std::vector<int> members = ViewMembers(event["view"]);
      if (std::find(members.begin(), members.end(), victim) == members.end()) {
        view_ns = event.value("mono_ns", int64_t{0});
      }
      continue;
    }
    if (kind != "leader" || !event.contains("leader") || !event["leader"].is_object()) continue;
    if (event["leader"].value("epoch", uint64_t{0}) > epoch) {
      return event.value("mono_ns", int64_t{0});
    }
  }
}

// One trial: kill -9 the leader, time until every survivor's watch reports a newer leader; then
// restart it and wait until every GDM is active again.
Status FailoverTrial(BenchCluster& bc, int trial, GdmBenchReport& report, std::FILE* progress) {
  RAIN_RETURN_IF_ERROR(WaitGdmActive(bc, kActiveTimeout).status());
  std::this_thread::sleep_for(KillPhaseDelay(trial));
  RAIN_ASSIGN_OR_RETURN(auto leader, WaitGdmActive(bc, kActiveTimeout));
  const auto [victim, epoch] = leader;
  std::vector<int> survivors;
  for (int node : bc.AllNodes()) {
    if (node != victim) survivors.push_back(node);
  }
  const uint64_t losses_before = TokenLosses(bc, survivors);
  std::vector<std::pair<int, cli::ControlConnection>> watches;
  for (int node : survivors) {
    RAIN_ASSIGN_OR_RETURN(
        cli::ControlConnection c,
        cli::ControlConnection::Open(bc.cluster().SocketPath(node), kControlTimeout));
    RAIN_RETURN_IF_ERROR(c.Send({{"cmd", "watch"}}, kControlTimeout));
    RAIN_ASSIGN_OR_RETURN(nlohmann::json ok, c.Receive(kControlTimeout));
    if (!ok.value("ok", false)) {
      return FailedPreconditionError("node " + std::to_string(node) + " refused watch");
    }
    watches.emplace_back(node, std::move(c));
  }
  Say(progress, "failover: kill -9 leader node %d (epoch %llu)", victim,
      static_cast<unsigned long long>(epoch));
  const int64_t kill_ns = MonoNs();
  RAIN_RETURN_IF_ERROR(bc.cluster().SignalNode(victim, SIGKILL));
  const Clock::time_point deadline = Clock::now() + kFailoverTimeout;
  int64_t last_ns = kill_ns;
  int64_t last_view_ns = kill_ns;
  for (auto& [node, watch] : watches) {
    int64_t view_ns = 0;
    Result<int64_t> at = NextLeaderAbove(watch, epoch, victim, deadline, view_ns);
    if (!at.ok()) {
      return at.status().WithContext("node " + std::to_string(node) +
                                     " after the kill of leader node " + std::to_string(victim));
    }
    last_ns = std::max(last_ns, *at);
    last_view_ns = std::max(last_view_ns, view_ns);
  }
  report.failover_ms.push_back(static_cast<double>(last_ns - kill_ns) / 1e6);
  report.failover_view_ms.push_back(static_cast<double>(last_view_ns - kill_ns) / 1e6);
  report.failover_token_lost.push_back(TokenLosses(bc, survivors) > losses_before);
  Say(progress,
      "failover: every survivor has a new leader after %.1f ms (a view without it after %.1f ms; "
      "%s)",
      report.failover_ms.back(), report.failover_view_ms.back(),
      report.failover_token_lost.back() ? "the token died with it"
                                        : "its predecessor's pass failed");
  RAIN_RETURN_IF_ERROR(bc.cluster().WaitExited(victim, kExitTimeout));
  RAIN_RETURN_IF_ERROR(bc.Restart(victim).status());
  return WaitGdmActive(bc, kActiveTimeout).status();
}

// Starts a cluster of `nodes` and waits until every GDM is active under one leader.
Status StartCluster(BenchCluster& bc, const GdmBenchOptions& o, int nodes, std::FILE* progress) {
  MembershipBenchOptions m;
  m.nodes = nodes;
  m.raind_path = o.raind_path;
  m.extra_toml = o.extra_toml;
  m.keep_dir = o.keep_dir;
  Say(progress, "starting %d raind", nodes);
  RAIN_RETURN_IF_ERROR(bc.Start(m, "", nullptr).WithContext("starting the cluster"));
  RAIN_ASSIGN_OR_RETURN(auto leader, WaitGdmActive(bc, kActiveTimeout));
  Say(progress, "%d nodes active, leader node %d epoch %llu", nodes, leader.first,
      static_cast<unsigned long long>(leader.second));
  return Status::Ok();
}

}  // namespace

Result<GdmBenchReport> RunGdmBench(const GdmBenchOptions& options, const std::string& rain_path,
                                   std::FILE* progress) {
  RAIN_RETURN_IF_ERROR(CheckOptions(options));
  GdmBenchOptions o = options;
  // raind next to the running rain binary unless given.
  if (o.raind_path.empty()) {
    RAIN_ASSIGN_OR_RETURN(o.raind_path, cli::FindRaind("", rain_path));
  }
  GdmBenchReport report;
  report.machine = MachineDescription();
  report.loadavg_start = LoadAverage();
  report.items = o.items;
  report.item_bytes = o.item_bytes;
  report.rate_per_node = o.rate_per_node;
  if (o.fsync_floor_seconds > 0) {
    Say(progress, "fsync floor: a 4 KiB write + fdatasync every 10 ms for %.1f s",
        o.fsync_floor_seconds);
    RAIN_ASSIGN_OR_RETURN(report.fsync_floor_cpu_pct, MeasureFsyncFloor(o.fsync_floor_seconds));
  }
  std::vector<int> sizes = o.cluster_sizes;
  const bool separate_failover_cluster =
      o.failover_nodes != 0 &&
      std::find(sizes.begin(), sizes.end(), o.failover_nodes) == sizes.end();
  if (separate_failover_cluster) sizes.push_back(o.failover_nodes);
  for (int nodes : sizes) {
    BenchCluster bc;  // one at a time: its destructor stops every daemon
    RAIN_RETURN_IF_ERROR(StartCluster(bc, o, nodes, progress));
    RAIN_RETURN_IF_ERROR(CreateItems(bc, o, progress));
    const bool seed =
        std::find(o.cluster_sizes.begin(), o.cluster_sizes.end(), nodes) != o.cluster_sizes.end();
    if (seed) {
      GdmSeedRow row;
      row.nodes = nodes;
      std::this_thread::sleep_for(kSettle);  // let the creation's last acks and fsyncs pass
      Say(progress, "%d nodes: idle CPU over %.1f s", nodes, o.idle_seconds);
      RAIN_RETURN_IF_ERROR(MeasureIdle(bc, o, row));
      Say(progress, "%d nodes: seed workload, %d updates/s per node for %.1f s", nodes,
          o.rate_per_node, o.seconds);
      RAIN_RETURN_IF_ERROR(MeasureSeedLoad(bc, o, row));
      report.seed.push_back(row);
    }
    if (nodes != o.failover_nodes) continue;
    report.failover_nodes = nodes;
    report.window = o.window;
    Say(progress, "%d nodes: max update rate, window %d per node, %.1f s", nodes, o.window,
        o.max_rate_seconds);
    RAIN_RETURN_IF_ERROR(MeasureMaxRate(bc, o, report));
    for (int trial = 0; trial < o.trials; ++trial) {
      Say(progress, "failover trial %d/%d", trial + 1, o.trials);
      RAIN_RETURN_IF_ERROR(FailoverTrial(bc, trial, report, progress));
    }
  }
  report.loadavg_end = LoadAverage();
  return report;
}

}  // namespace rain::bench
