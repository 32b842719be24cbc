// A cluster of raind processes on one machine, for demos, integration tests and benchmarks
// (`rain local ...`, `rain status`, `rain bench membership`). It owns a directory:
//
//   D/cluster.key                 the cluster key (docs/raind.md §2)
//   D/raind.path                  the raind binary `up` used (for `start`)
//   D/node-<i>/raind.toml         node i's config: addresses 127.0.0.1:P+i-1 and 127.0.0.2:P+i-1
//   D/node-<i>/raind.log          raind's stdout and stderr (appended across restarts)
//   D/node-<i>/raind.pid          the pid of the running daemon
//   D/node-<i>/control.sock       its control endpoint (docs/raind.md §3)
//   D/node-<i>/data/              its data_dir
//
// Daemons are started detached (own session, double fork: they outlive the caller and never
// become its zombies) and are identified by pid file *and* command line, so a stale pid file
// whose pid was reused is never signalled. Every wait takes a deadline. Not thread safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::cli {

inline constexpr int kLocalNodesMax = 64;        // node dirs scanned and nodes `up` accepts
inline constexpr int kDefaultBasePort = 17101;   // node 1's port; node i uses base + i - 1
inline constexpr int kBasePortScanMax = 2000;    // how far above the default `up` looks
inline constexpr int kLogTailLinesDefault = 15;  // lines of a dead node's log shown in errors
inline constexpr const char* kDefaultLocalDir = "rain-local";
inline constexpr const char* kLoopbackAddresses[] = {"127.0.0.1", "127.0.0.2"};  // two paths

// Writes 32 random bytes (libsodium) as 64 hex characters and a newline to `path`, mode 0600.
// AlreadyExists if the file exists and !force; IoError otherwise on failure.
Status WriteKeyFile(const std::string& path, bool force);

// Where raind is: `explicit_path` if set (must be executable), else next to `self_path` (the
// running rain binary: <dir>/raind, then the build tree's <dir>/raind/raind), else on PATH.
// NotFound names every place looked.
Result<std::string> FindRaind(const std::string& explicit_path, const std::string& self_path);

// Ok if UDP ports base..base+nodes-1 can be bound on every loopback address. FailedPrecondition
// names the first busy address:port.
Status CheckPortsFree(int base_port, int nodes);

// The first base >= from such that CheckPortsFree(base, nodes), trying kBasePortScanMax bases.
Result<int> FindFreeBasePort(int from, int nodes);

struct LocalClusterConfig {
  std::string dir = kDefaultLocalDir;
  int nodes = 5;
  int base_port = kDefaultBasePort;
  std::string cluster = "local";
  std::string log_level = "info";
  // Appended verbatim to every raind.toml: [membership] / [transport] overrides (benchmarks).
  std::string extra_toml;
};

// One node's answer to {"cmd":"status"}, or why there is none.
struct NodeStatus {
  int node = 0;
  bool up = false;        // answered with ok: true
  std::string error;      // when !up: "not running", "no answer in time", ...
  nlohmann::json status;  // the answer object when up
};

// The outcome of WaitForView.
struct ViewAgreement {
  std::string view_id;
  std::vector<int> members;  // sorted
  double seconds = 0;        // time spent waiting
  std::vector<NodeStatus> statuses;
};

// Reports the wait's progress (for a terminal line); called once per poll round.
using ViewProgress = std::function<void(const std::vector<NodeStatus>&, double seconds)>;

class LocalCluster {
 public:
  // Creates the directory layout: the key (kept if D/cluster.key exists), and a raind.toml per
  // node (rewritten). Removes node dirs beyond config.nodes left by a bigger earlier cluster.
  // Does not start anything and does not check ports.
  static Result<LocalCluster> Create(const LocalClusterConfig& config);

  // Opens an existing layout: nodes 1..n with D/node-<i>/raind.toml. NotFound if there is none.
  static Result<LocalCluster> Open(const std::string& dir);

  int nodes() const { return nodes_; }
  const std::string& dir() const { return dir_; }  // absolute
  std::string NodeDir(int node) const;
  std::string ConfigPath(int node) const;
  std::string LogPath(int node) const;
  std::string PidPath(int node) const;
  std::string SocketPath(int node) const;

  // InvalidArgument unless 1 <= node <= nodes().
  Status CheckNode(int node) const;

  // The pid of node's daemon if it is alive (a stopped one counts) and runs this node's config;
  // 0 otherwise. Never fails: unreadable pid files read as "not running".
  pid_t RunningPid(int node) const;

  // The raind binary the last `up` used (D/raind.path), so that `start` restarts a node with the
  // same binary; "" if unknown. RememberRaind records it.
  std::string RememberedRaind() const;
  Status RememberRaind(const std::string& raind_path) const;

  // Starts node's daemon detached (`raind --config C --foreground`, output appended to the log),
  // writes its pid file and returns the pid. FailedPrecondition if it is already running;
  // IoError / NotFound if the exec failed (the errno of execv is reported).
  Result<pid_t> StartNode(int node, const std::string& raind_path);

  // Sends `signal` to node's daemon (after SIGTERM also SIGCONT, so a paused daemon can act on
  // it). FailedPrecondition if the node is not running.
  Status SignalNode(int node, int signal) const;

  // Waits until node's daemon is gone. DeadlineExceeded if it is still alive at the deadline.
  Status WaitExited(int node, std::chrono::milliseconds timeout) const;

  // Asks node for status within `timeout`; never fails (errors land in NodeStatus::error).
  NodeStatus QueryStatus(int node, std::chrono::milliseconds timeout) const;
  std::vector<NodeStatus> QueryAll(std::chrono::milliseconds timeout_per_node) const;
  // Polls until every node answers and reports every link to every peer up and the peer
  // reachable; false if `timeout` passes first. A view forms before the link monitors have seen
  // a ping round on each path, so a status printed right after WaitForView showed healthy peers
  // as "0/2!" (unreachable).
  bool WaitForLinks(std::chrono::milliseconds timeout) const;

  // Polls until every node of `members` answers with the same installed primary view whose
  // member set is exactly `members`. FailedPrecondition (with the log tail) if a member's daemon
  // is not running; DeadlineExceeded (with what each node sees) at the deadline.
  Result<ViewAgreement> WaitForView(const std::vector<int>& members,
                                    std::chrono::milliseconds timeout,
                                    const ViewProgress& progress = nullptr) const;

  // What Down did to each node that was running.
  struct DownReport {
    std::vector<int> terminated;  // exited after SIGTERM
    std::vector<int> killed;      // needed SIGKILL
    std::vector<int> survivors;   // still alive after SIGKILL (should never happen)
  };
  // SIGTERM (+SIGCONT) every running node, waits up to `timeout`, SIGKILLs the rest and waits
  // again. Removes the pid files of nodes that are gone.
  DownReport Down(std::chrono::milliseconds timeout) const;

  // The last `lines` lines of node's log ("" if there is none).
  std::string LogTail(int node, int lines = kLogTailLinesDefault) const;

 private:
  LocalCluster(std::string dir, int nodes) : dir_(std::move(dir)), nodes_(nodes) {}

  std::string dir_;
  int nodes_ = 0;
};

// Asks the daemon at `socket_path` for status within `timeout`; never fails (a transport error or
// an ok: false answer lands in NodeStatus::error). `node` labels the result.
NodeStatus QueryNodeStatus(int node, const std::string& socket_path,
                           std::chrono::milliseconds timeout);

// One line per node: "node 2: agreement, view 7.2.14.1 members [1 2 3], primary" or
// "node 4: down (no answer in time)". Used in timeout errors.
std::string DescribeStatuses(const std::vector<NodeStatus>& statuses);

}  // namespace rain::cli
