// The cluster under test for `rain bench membership`: a LocalCluster (tools/rain/local_cluster.h)
// in a fresh temporary directory, started and torn down by one RAII owner, plus the small
// control-socket helpers the measurements share (watch streams, load counters, /proc CPU time).
//
// Teardown is guaranteed on every path: the destructor stops every daemon and busy-loop child and
// removes the directory; SIGINT/SIGTERM/SIGHUP SIGKILL the daemons and children from the signal
// handler (they run in their own sessions, so a terminal's Ctrl-C never reaches them) and mark the
// run interrupted, after which every wait here fails fast with Aborted and the destructor cleans
// up the rest. One BenchCluster at a time per process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control_client.h"
#include "local_cluster.h"
#include "rain/bench/membership_bench.h"
#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::bench {

inline constexpr auto kConvergeTimeout = std::chrono::seconds(30);        // a view of every node
inline constexpr auto kControlTimeout = std::chrono::milliseconds(2000);  // one request
inline constexpr auto kLoadPollInterval = std::chrono::milliseconds(50);  // mcast_stats polls
inline constexpr int kBenchBasePortFrom = 27101;  // away from `rain local`'s default ports
inline constexpr int kHogProcsMax = 256;

// CLOCK_MONOTONIC in nanoseconds: the clock raind stamps views and multicasts with.
int64_t MonoNs();

// How long a failover trial waits between "the cluster is ready" and the kill. Readiness is
// seen by polling right after the last node's token visit, so an immediate kill finds the token
// at (or just handed to) the victim far more often than a random moment does: 60 % of leader
// kills instead of the 20 % a 5-node ring gives, measured on 2026-12-03. The delays spread the
// kill over [0.5, 1.5) s, well over ten idle rotations, in a fixed low-discrepancy sequence
// (golden-ratio steps), so the token's position at the kill is uniform and runs are comparable.
std::chrono::milliseconds KillPhaseDelay(int trial);

// The sum of the nodes' `ring.token_losses` counters (status): it grows when a trial's victim
// died holding the token (the ring waits TokenLossTimeout and regenerates by a 911) and not
// when its predecessor's pass failed (the fast path). Unreachable nodes count 0.
uint64_t TokenLosses(const class BenchCluster& bc, const std::vector<int>& nodes);

// True once SIGINT/SIGTERM/SIGHUP arrived during a BenchCluster's life.
bool Interrupted();

class BenchCluster {
 public:
  BenchCluster() = default;
  ~BenchCluster();
  BenchCluster(const BenchCluster&) = delete;
  BenchCluster& operator=(const BenchCluster&) = delete;

  // Creates the directory and configs, starts every node and waits for one primary view of all.
  // Installs the signal handlers. NotFound without raind; DeadlineExceeded if no common view
  // forms within kConvergeTimeout (the message says what each node sees).
  Status Start(const MembershipBenchOptions& options, const std::string& rain_path,
               std::FILE* progress);

  int nodes() const { return cluster_->nodes(); }
  cli::LocalCluster& cluster() { return *cluster_; }
  const std::string& raind() const { return raind_; }
  std::vector<int> AllNodes() const;

  // Starts node (after a kill) and records its pid for the signal handler.
  Result<pid_t> Restart(int node);
  // Waits for one primary view of every node; Aborted if interrupted.
  Result<cli::ViewAgreement> WaitForAll(std::chrono::milliseconds timeout) const;

  // One request to node's control socket; an answer with ok: false becomes an error.
  Result<nlohmann::json> Request(int node, const nlohmann::json& request) const;

  // Forks `count` busy-loop children (they die with this process); StopHogs kills them.
  Status StartHogs(int count);
  void StopHogs();

 private:
  void Teardown();

  std::optional<cli::LocalCluster> cluster_;
  std::string dir_;
  std::string raind_;
  bool keep_dir_ = false;
  std::FILE* progress_ = nullptr;
  std::vector<pid_t> hogs_;
  bool handlers_installed_ = false;
};

// A `watch` stream of one node (docs/raind.md §3).
class ViewWatch {
 public:
  // Connects and subscribes; the {"ok":true} line is consumed.
  static Result<ViewWatch> Open(const cli::LocalCluster& cluster, int node);

  // The next view event ({"event":"view","mono_ns":…,"view":{…}}) until `deadline`:
  // DeadlineExceeded when none came in time (a partial line is kept), Aborted if interrupted.
  Result<nlohmann::json> NextView(std::chrono::steady_clock::time_point deadline);

  int node() const { return node_; }

 private:
  ViewWatch(cli::ControlConnection connection, int node)
      : connection_(std::move(connection)), node_(node) {}

  cli::ControlConnection connection_;
  int node_ = 0;
};

// The sorted member list of a view object.
std::vector<int> ViewMembers(const nlohmann::json& view);

// utime + stime of `pid` in seconds, from /proc/<pid>/stat. IoError if it is gone.
Result<double> ProcessCpuSeconds(pid_t pid);

// Prints one progress line (when `out` is not null).
void Progress(std::FILE* out, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace rain::bench
