// `rain bench membership`: failover/join, ordered multicast throughput, low-load latency and idle
// CPU of a local raind cluster (see the header for what each figure means).
#include "rain/bench/membership_bench.h"

#include <signal.h>

#include <algorithm>
#include <thread>

#include "membership_cluster.h"
#include "rain/bench/report.h"

namespace rain::bench {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kFailoverTimeout = std::chrono::seconds(15);  // kill → every survivor's new view
constexpr auto kExitTimeout = milliseconds(5000);            // a SIGKILLed daemon is reaped
constexpr auto kSettle = milliseconds(1000);  // after convergence, before the idle window
// A throughput row may take this long plus one second per 5 MB of payload (slow ASan builds).
constexpr auto kLoadTimeoutBase = std::chrono::seconds(30);
constexpr double kLoadTimeoutBytesPerSecond = 5e6;

Status CheckOptions(const MembershipBenchOptions& o) {
  if (o.nodes < 2 || o.nodes > cli::kLocalNodesMax) {
    return InvalidArgumentError("--nodes must be 2.." + std::to_string(cli::kLocalNodesMax));
  }
  if (o.trials < 1) return InvalidArgumentError("--trials must be >= 1");
  if (o.mcast_messages < o.nodes) return InvalidArgumentError("--mcast-messages must be >= nodes");
  for (size_t size : o.mcast_sizes) {
    if (size < 16) return InvalidArgumentError("multicast sizes must be >= 16 bytes");
  }
  if (o.hog_procs < 0 || o.hog_procs > kHogProcsMax) {
    return InvalidArgumentError("--hog-procs must be 0.." + std::to_string(kHogProcsMax));
  }
  return Status::Ok();
}

Status ResetLoadCounters(BenchCluster& bc) {
  for (int node : bc.AllNodes()) {
    RAIN_RETURN_IF_ERROR(bc.Request(node, {{"cmd", "mcast_reset"}}).status());
  }
  return Status::Ok();
}

Status RequestLoad(BenchCluster& bc, int node, size_t bytes, int count) {
  return bc
      .Request(node, {{"cmd", "mcast"}, {"bytes", bytes}, {"count", count}, {"service", "agreed"}})
      .status();
}

// Polls every node's mcast_stats until each delivered `expected` load messages; returns the
// last answer of each node (index node - 1).
Result<std::vector<nlohmann::json>> WaitDelivered(BenchCluster& bc, int expected,
                                                  Clock::duration timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  std::vector<nlohmann::json> stats(bc.nodes());
  for (;;) {
    bool done = true;
    for (int node : bc.AllNodes()) {
      RAIN_ASSIGN_OR_RETURN(stats[node - 1], bc.Request(node, {{"cmd", "mcast_stats"}}));
      done = done && stats[node - 1].value("delivered", int64_t{0}) >= expected;
    }
    if (done) return stats;
    if (Clock::now() > deadline) {
      std::string seen;
      for (int node : bc.AllNodes()) {
        seen += " node " + std::to_string(node) + ": " +
                std::to_string(stats[node - 1].value("delivered", int64_t{0}));
      }
      return DeadlineExceededError("multicast: expected " + std::to_string(expected) +
                                   " deliveries at every node;" + seen);
    }
    std::this_thread::sleep_for(kLoadPollInterval);
  }
}

Result<McastRow> MeasureThroughput(BenchCluster& bc, size_t bytes, bool all_senders,
                                   const MembershipBenchOptions& o) {
  int messages = o.mcast_messages;
  size_t cap = o.mcast_bytes_per_row_max / bytes;
  if (static_cast<size_t>(messages) > cap) messages = std::max<int>(static_cast<int>(cap), o.nodes);
  RAIN_ASSIGN_OR_RETURN(cli::ViewAgreement before, bc.WaitForAll(kConvergeTimeout));
  RAIN_RETURN_IF_ERROR(ResetLoadCounters(bc));
  int64_t start_ns = MonoNs();
  if (all_senders) {
    int n = bc.nodes();
    for (int node = 1; node <= n; ++node) {
      int count = messages / n + (node <= messages % n ? 1 : 0);
      RAIN_RETURN_IF_ERROR(RequestLoad(bc, node, bytes, count));
    }
  } else {
    RAIN_RETURN_IF_ERROR(RequestLoad(bc, 1, bytes, messages));
  }
  auto timeout =
      kLoadTimeoutBase +
      std::chrono::seconds(static_cast<int64_t>(
          static_cast<double>(messages) * static_cast<double>(bytes) / kLoadTimeoutBytesPerSecond));
  auto stats = WaitDelivered(bc, messages, timeout);
  // A view change in the middle of a row makes its figure meaningless (and, for the members that
  // left, the count unreachable): say so instead of reporting a rate.
  std::vector<cli::NodeStatus> now = bc.cluster().QueryAll(kControlTimeout);
  for (const cli::NodeStatus& st : now) {
    std::string id = st.up ? st.status.value("view", nlohmann::json::object()).value("id", "") : "";
    if (id != before.view_id) {
      return FailedPreconditionError("the view changed during the " + std::to_string(bytes) +
                                     "-byte multicast row (was " + before.view_id + "):\n" +
                                     cli::DescribeStatuses(now));
    }
  }
  if (!stats.ok()) return stats.status();
  int64_t last_ns = start_ns;
  for (const auto& s : *stats)
    last_ns = std::max(last_ns, s.value("last_delivery_mono_ns", start_ns));
  double seconds = std::max(1e-9, static_cast<double>(last_ns - start_ns) / 1e9);
  McastRow row;
  row.msg_bytes = bytes;
  row.senders = all_senders ? "all" : "one";
  row.messages = messages;
  row.msgs_per_s = messages / seconds;
  row.mb_per_s = row.msgs_per_s * static_cast<double>(bytes) / 1e6;
  return row;
}

// A paced trickle of 64-byte messages, the senders taking turns.
Status MeasureLatency(BenchCluster& bc, const MembershipBenchOptions& o,
                      MembershipBenchReport& report) {
  RAIN_RETURN_IF_ERROR(ResetLoadCounters(bc));
  Clock::time_point next = Clock::now();
  for (int i = 0; i < o.latency_messages; ++i) {
    RAIN_RETURN_IF_ERROR(RequestLoad(bc, i % bc.nodes() + 1, 64, 1));
    next += milliseconds(o.latency_interval_ms);
    std::this_thread::sleep_until(next);  // pacing, not synchronisation
  }
  RAIN_ASSIGN_OR_RETURN(std::vector<nlohmann::json> stats,
                        WaitDelivered(bc, o.latency_messages, kLoadTimeoutBase));
  std::vector<double> p50s, p99s;
  for (const auto& s : stats) {
    p50s.push_back(s.value("latency_us_p50", 0.0) / 1e3);
    p99s.push_back(s.value("latency_us_p99", 0.0) / 1e3);
  }
  report.latency_ms_p50 = Median(p50s);
  report.latency_ms_p99 = *std::max_element(p99s.begin(), p99s.end());
  return Status::Ok();
}

Status MeasureIdleCpu(BenchCluster& bc, const MembershipBenchOptions& o,
                      MembershipBenchReport& report) {
  std::vector<pid_t> pids;
  std::vector<double> before;
  for (int node : bc.AllNodes()) {
    pid_t pid = bc.cluster().RunningPid(node);
    if (pid == 0)
      return FailedPreconditionError("node " + std::to_string(node) + " is not running");
    pids.push_back(pid);
    RAIN_ASSIGN_OR_RETURN(double cpu, ProcessCpuSeconds(pid));
    before.push_back(cpu);
  }
  Clock::time_point start = Clock::now();
  // The measurement window itself: nothing to wait for, the daemons are left alone.
  std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_seconds));
  if (Interrupted()) return AbortedError("interrupted");
  double wall = std::chrono::duration<double>(Clock::now() - start).count();
  for (size_t i = 0; i < pids.size(); ++i) {
    RAIN_ASSIGN_OR_RETURN(double cpu, ProcessCpuSeconds(pids[i]));
    report.idle_cpu_pct.push_back(100.0 * (cpu - before[i]) / wall);
  }
  return Status::Ok();
}

// One failover trial: SIGKILL `victim`, wait for every survivor's view without it; restart it,
// wait for the view of all. Appends one failover and one join time.
Status FailoverTrial(BenchCluster& bc, int trial, int victim, MembershipBenchReport& report) {
  RAIN_RETURN_IF_ERROR(bc.WaitForAll(kConvergeTimeout).status());
  std::this_thread::sleep_for(KillPhaseDelay(trial));
  std::vector<ViewWatch> watches;
  for (int node : bc.AllNodes()) {
    if (node == victim) continue;
    RAIN_ASSIGN_OR_RETURN(ViewWatch watch, ViewWatch::Open(bc.cluster(), node));
    watches.push_back(std::move(watch));
  }
  int64_t kill_ns = MonoNs();
  RAIN_RETURN_IF_ERROR(bc.cluster().SignalNode(victim, SIGKILL));
  Clock::time_point deadline = Clock::now() + kFailoverTimeout;
  int64_t last_ns = kill_ns;
  for (ViewWatch& watch : watches) {
    for (;;) {
      auto event = watch.NextView(deadline);
      if (!event.ok()) {
        return event.status().WithContext("node " + std::to_string(watch.node()) +
                                          " never removed killed node " + std::to_string(victim));
      }
      std::vector<int> members = ViewMembers((*event)["view"]);
      if (std::find(members.begin(), members.end(), victim) != members.end()) continue;
      last_ns = std::max(last_ns, event->value("mono_ns", kill_ns));
      break;
    }
  }
  report.failover_ms.push_back(static_cast<double>(last_ns - kill_ns) / 1e6);

  RAIN_RETURN_IF_ERROR(bc.cluster().WaitExited(victim, kExitTimeout));
  int64_t start_ns = MonoNs();
  RAIN_RETURN_IF_ERROR(bc.Restart(victim).status());
  RAIN_ASSIGN_OR_RETURN(cli::ViewAgreement agreement, bc.WaitForAll(kConvergeTimeout));
  int64_t joined_ns = start_ns;
  for (const cli::NodeStatus& s : agreement.statuses) {
    joined_ns = std::max(
        joined_ns,
        s.status.value("view", nlohmann::json::object()).value("installed_mono_ns", start_ns));
  }
  report.join_ms.push_back(static_cast<double>(joined_ns - start_ns) / 1e6);
  return Status::Ok();
}

}  // namespace

Result<MembershipBenchReport> RunMembershipBench(const MembershipBenchOptions& options,
                                                 const std::string& rain_path,
                                                 std::FILE* progress) {
  RAIN_RETURN_IF_ERROR(CheckOptions(options));
  BenchCluster bc;
  RAIN_RETURN_IF_ERROR(bc.Start(options, rain_path, progress));
  MembershipBenchReport report;
  report.nodes = options.nodes;
  report.machine = MachineDescription();

  // Quietest first: idle CPU on the fresh cluster, then the trickle, then the floods, then the
  // kills (which leave restarted daemons behind).
  std::this_thread::sleep_for(kSettle);
  Progress(progress, "idle CPU over %.1f s", options.idle_seconds);
  RAIN_RETURN_IF_ERROR(MeasureIdleCpu(bc, options, report));
  Progress(progress, "latency: %d paced 64-byte messages", options.latency_messages);
  RAIN_RETURN_IF_ERROR(MeasureLatency(bc, options, report));
  for (size_t bytes : options.mcast_sizes) {
    for (bool all : {false, true}) {
      Progress(progress, "multicast %zu B from %s", bytes, all ? "all nodes" : "one node");
      auto row = MeasureThroughput(bc, bytes, all, options);
      if (row.ok()) {
        report.mcast.push_back(*row);
        continue;
      }
      // A row that breaks the ring is a result, not the end of the run: record it and go on
      // once the cluster has one view again.
      if (row.status().code() == StatusCode::kAborted) return row.status();
      Progress(progress, "row failed: %s", row.status().ToString().c_str());
      McastRow failed;
      failed.msg_bytes = bytes;
      failed.senders = all ? "all" : "one";
      failed.error = row.status().ToString();
      report.mcast.push_back(failed);
    }
  }
  for (int trial = 0; trial < options.trials; ++trial) {
    int victim = trial % options.nodes + 1;
    Progress(progress, "failover trial %d/%d: kill -9 node %d", trial + 1, options.trials, victim);
    RAIN_RETURN_IF_ERROR(FailoverTrial(bc, trial, victim, report));
  }
  return report;
}

Result<MembershipSoakReport> RunMembershipSoak(const MembershipBenchOptions& options,
                                               const std::string& rain_path, std::FILE* progress) {
  RAIN_RETURN_IF_ERROR(CheckOptions(options));
  BenchCluster bc;
  RAIN_RETURN_IF_ERROR(bc.Start(options, rain_path, progress));
  std::vector<ViewWatch> watches;
  for (int node : bc.AllNodes()) {
    RAIN_ASSIGN_OR_RETURN(ViewWatch watch, ViewWatch::Open(bc.cluster(), node));
    watches.push_back(std::move(watch));
  }
  // The view every node holds now; a late watch event for it is not a change.
  RAIN_ASSIGN_OR_RETURN(cli::ViewAgreement agreement, bc.WaitForAll(kConvergeTimeout));
  MembershipSoakReport report;
  report.nodes = options.nodes;
  report.seconds = options.soak_seconds;
  report.hog_procs = options.hog_procs;
  RAIN_RETURN_IF_ERROR(bc.StartHogs(options.hog_procs));
  Progress(progress, "soak: %.0f s, %d busy-loop processes", options.soak_seconds,
           options.hog_procs);
  Clock::time_point start = Clock::now();
  Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(options.soak_seconds));
  constexpr auto kSlice = milliseconds(20);  // per watch per round
  while (Clock::now() < end) {
    for (ViewWatch& watch : watches) {
      auto event = watch.NextView(std::min(end, Clock::now() + kSlice));
      if (!event.ok()) {
        if (event.status().code() == StatusCode::kDeadlineExceeded) continue;
        return event.status().WithContext("watching node " + std::to_string(watch.node()));
      }
      const nlohmann::json& view = (*event)["view"];
      if (view.value("id", "") == agreement.view_id) continue;
      std::vector<int> members = ViewMembers(view);
      ++report.view_changes;
      if (static_cast<int>(members.size()) < options.nodes) ++report.false_removals;
      std::string list;
      for (int m : members) list += (list.empty() ? "" : " ") + std::to_string(m);
      char line[256];
      std::snprintf(line, sizeof line, "node %d: view %s [%s] at +%.1f s", watch.node(),
                    view.value("id", "?").c_str(), list.c_str(),
                    std::chrono::duration<double>(Clock::now() - start).count());
      report.events.push_back(line);
      Progress(progress, "%s", line);
    }
  }
  bc.StopHogs();
  for (int node : bc.AllNodes()) {
    if (bc.cluster().RunningPid(node) == 0) {
      return InternalError("node " + std::to_string(node) + " died during the soak:\n" +
                           bc.cluster().LogTail(node));
    }
  }
  return report;
}

}  // namespace rain::bench
