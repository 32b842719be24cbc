// `rain local up|down|start|stop|kill|pause|resume`: a cluster of raind processes on this
// machine, on loopback (two addresses per node: two paths). The process work is LocalCluster
// (local_cluster.h); this file is options, messages and exit codes. docs/cli.md shows sessions.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "commands.h"
#include "local_cluster.h"
#include "status_table.h"

namespace rain::cli {
namespace {

using std::chrono::milliseconds;

constexpr int kUpTimeoutSDefault = 60;    // a sanitizer build on 2 busy cores is slow to start
constexpr int kDownTimeoutSDefault = 10;  // SIGTERM grace before SIGKILL
constexpr milliseconds kStartAnswerTimeout{15000};  // `start NODE`: until its socket answers
constexpr milliseconds kStopTimeout{10000};
constexpr milliseconds kKillTimeout{3000};
constexpr milliseconds kStatusTimeout{1000};
constexpr milliseconds kLinksSettleTimeout{3000};  // `up`: links up before the table (~1 s)
constexpr int kPollIntervalMs = 50;

int64_t MonoNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// An error: a line on stderr, and with --json an object on stdout so that scripts always get one.
void Fail(const char* command, const Status& s, bool json) {
  std::fprintf(stderr, "rain local %s: %s\n", command, s.message().c_str());
  if (json) {
    nlohmann::json out = {
        {"ok", false}, {"code", std::string(StatusCodeName(s.code()))}, {"error", s.message()}};
    std::printf("%s\n", out.dump().c_str());
  }
  ExitStatus() = s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

std::string Nodes(const std::vector<int>& nodes) {
  std::string out;
  for (int n : nodes) out += (out.empty() ? "" : " ") + std::to_string(n);
  return out;
}

void PrintStatus(const LocalCluster& cluster) {
  std::vector<NodeStatus> statuses = cluster.QueryAll(kStatusTimeout);
  std::fputs(FormatStatusTable(statuses).c_str(), stdout);
  std::printf("%s\n", SummarizeViews(statuses).c_str());
}

struct Common {
  std::string dir = kDefaultLocalDir;
  bool json = false;
};

void AddCommon(CLI::App* cmd, Common& common) {
  cmd->add_option("--dir", common.dir, "The cluster's directory (default ./rain-local)");
  cmd->add_flag("--json", common.json, "Print one JSON object and nothing else on stdout");
}

// ---- up --------------------------------------------------------------------------------------

struct UpFlags {
  Common common;
  int nodes = 5;
  int base_port = kDefaultBasePort;
  std::string raind;
  int timeout_s = kUpTimeoutSDefault;
  std::string log_level = "info";
};

// The progress line on a terminal: how many nodes answer and how many share the leading view.
void ShowProgress(const std::vector<NodeStatus>& statuses, double seconds) {
  int answering = 0;
  int primary = 0;
  for (const NodeStatus& s : statuses) {
    if (!s.up) continue;
    ++answering;
    const nlohmann::json& st = s.status;
    if (st.contains("view") && st["view"].is_object() && st["view"].value("primary", false)) {
      ++primary;
    }
  }
  std::fprintf(stderr,
               "\r\033[K  waiting for one view: %d/%zu nodes answer, %d in a primary view, %.1f s",
               answering, statuses.size(), primary, seconds);
}

void RunUp(const UpFlags& flags, bool base_port_given) {
  const char* cmd = "up";
  const bool json = flags.common.json;
  if (flags.nodes < 1 || flags.nodes > kLocalNodesMax) {
    return Fail(
        cmd, InvalidArgumentError("--nodes must be in 1.." + std::to_string(kLocalNodesMax)), json);
  }
  // Already running? Say so instead of starting a second set of daemons on the same sockets.
  if (Result<LocalCluster> existing = LocalCluster::Open(flags.common.dir); existing.ok()) {
    std::vector<int> running;
    for (int n = 1; n <= existing->nodes(); ++n) {
      if (existing->RunningPid(n) != 0) running.push_back(n);
    }
    if (!running.empty()) {
      if (static_cast<int>(running.size()) == existing->nodes() &&
          existing->nodes() == flags.nodes) {
        if (json) {
          std::printf("%s\n", nlohmann::json({{"ok", true},
                                              {"dir", existing->dir()},
                                              {"already_running", true},
                                              {"nodes", existing->nodes()}})
                                  .dump()
                                  .c_str());
        } else {
          std::printf("the cluster in %s is already running (%d nodes)\n", existing->dir().c_str(),
                      existing->nodes());
          PrintStatus(*existing);
          std::printf("stop it with: rain local down --dir %s\n", existing->dir().c_str());
        }
        return;
      }
      return Fail(cmd,
                  FailedPreconditionError(
                      "nodes " + Nodes(running) + " of the cluster in " + existing->dir() +
                      " are running; stop them first (rain local down --dir " + existing->dir() +
                      ") or start the missing ones with rain local start NODE"),
                  json);
    }
  }
  Result<std::string> raind = FindRaind(flags.raind, "");
  if (!raind.ok()) return Fail(cmd, raind.status(), json);
  LocalClusterConfig config{.dir = flags.common.dir,
                            .nodes = flags.nodes,
                            .base_port = flags.base_port,
                            .log_level = flags.log_level};
  if (base_port_given) {
    if (Status s = CheckPortsFree(flags.base_port, flags.nodes); !s.ok()) return Fail(cmd, s, json);
  } else {
    Result<int> base = FindFreeBasePort(kDefaultBasePort, flags.nodes);
    if (!base.ok()) return Fail(cmd, base.status(), json);
    config.base_port = *base;
  }
  Result<LocalCluster> cluster = LocalCluster::Create(config);
  if (!cluster.ok()) return Fail(cmd, cluster.status(), json);
  if (Status s = cluster->RememberRaind(*raind); !s.ok()) return Fail(cmd, s, json);
  std::vector<int> members(static_cast<size_t>(flags.nodes));
  std::iota(members.begin(), members.end(), 1);
  nlohmann::json started = nlohmann::json::array();
  for (int node : members) {
    // A fresh cluster starts fresh logs; a missing log is fine (StartNode creates it).
    int truncated = ::truncate(cluster->LogPath(node).c_str(), 0);
    (void)truncated;
    Result<pid_t> pid = cluster->StartNode(node, *raind);
    if (!pid.ok()) {
      cluster->Down(std::chrono::seconds(kDownTimeoutSDefault));
      return Fail(cmd, pid.status(), json);
    }
    started.push_back({{"node", node},
                       {"pid", *pid},
                       {"config", cluster->ConfigPath(node)},
                       {"socket", cluster->SocketPath(node)},
                       {"log", cluster->LogPath(node)}});
  }
  if (!json) {
    std::printf(
        "started %d raind daemons (%s) in %s, UDP ports %d..%d on 127.0.0.1 and 127.0.0.2\n",
        flags.nodes, raind->c_str(), cluster->dir().c_str(), config.base_port,
        config.base_port + flags.nodes - 1);
    std::fflush(stdout);
  }
  const bool tty = !json && ::isatty(STDERR_FILENO);
  Result<ViewAgreement> agreed =
      cluster->WaitForView(members, std::chrono::seconds(flags.timeout_s),
                           tty ? ViewProgress(ShowProgress) : ViewProgress(nullptr));
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!agreed.ok()) {
    // Leave nothing running behind a failed `up`; the logs stay for the post-mortem.
    cluster->Down(std::chrono::seconds(kDownTimeoutSDefault));
    return Fail(cmd,
                Status(agreed.status().code(), agreed.status().message() +
                                                   "\nstopped the cluster again; logs: " +
                                                   cluster->dir() + "/node-*/raind.log"),
                json);
  }
  if (json) {
    std::printf("%s\n", nlohmann::json({{"ok", true},
                                        {"dir", cluster->dir()},
                                        {"base_port", config.base_port},
                                        {"raind", *raind},
                                        {"nodes", started},
                                        {"view", {{"id", agreed->view_id}, {"members", members}}},
                                        {"seconds", agreed->seconds}})
                            .dump()
                            .c_str());
    return;
  }
  std::printf("one primary view of %d nodes after %.1f s\n\n", flags.nodes, agreed->seconds);
  // The table should show the links as they are, not as the link monitors' first ping rounds
  // left them; a link that stays down after this is a real finding and is shown as such.
  cluster->WaitForLinks(kLinksSettleTimeout);
  PrintStatus(*cluster);
  std::printf(
      "\nstatus:  rain status --dir %s\n"
      "crash:   rain local kill NODE --dir %s   (then: rain local start NODE)\n"
      "stop:    rain local down --dir %s\n",
      cluster->dir().c_str(), cluster->dir().c_str(), cluster->dir().c_str());
}

void AddUp(CLI::App& local) {
  auto flags = std::make_shared<UpFlags>();
  CLI::App* cmd = local.add_subcommand(
      "up", "Write configs and a key, start N raind daemons on loopback and wait for one view");
  AddCommon(cmd, flags->common);
  cmd->add_option("--nodes,-n", flags->nodes, "How many nodes (default 5)")
      ->check(CLI::Range(1, kLocalNodesMax));
  CLI::Option* base = cmd->add_option(
      "--base-port", flags->base_port,
      "Node i listens on UDP port P+i-1 (default: the first free range from 17101)");
  cmd->add_option("--raind", flags->raind,
                  "The raind binary (default: next to rain, then the build tree, then PATH)");
  cmd->add_option("--timeout", flags->timeout_s,
                  "Seconds to wait for one view of all nodes (default 60)")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--log-level", flags->log_level, "raind log level (default info)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  cmd->footer("Exit status: 0 the cluster runs; 1 it could not start; 2 usage error.");
  cmd->callback([flags, base] { RunUp(*flags, base->count() > 0); });
}

// ---- down ------------------------------------------------------------------------------------

void AddDown(CLI::App& local) {
  struct Flags {
    Common common;
    int timeout_s = kDownTimeoutSDefault;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = local.add_subcommand(
      "down", "Stop every node: SIGTERM, wait, then SIGKILL the ones still running");
  AddCommon(cmd, flags->common);
  cmd->add_option("--timeout", flags->timeout_s, "Seconds of grace before SIGKILL (default 10)")
      ->check(CLI::Range(0, 3600));
  cmd->footer("Exit status: 0 nothing is left running; 1 no cluster, or a process survived.");
  cmd->callback([flags] {
    Result<LocalCluster> cluster = LocalCluster::Open(flags->common.dir);
    if (!cluster.ok()) return Fail("down", cluster.status(), flags->common.json);
    LocalCluster::DownReport r = cluster->Down(std::chrono::seconds(flags->timeout_s));
    ExitStatus() = r.survivors.empty() ? 0 : 1;
    if (flags->common.json) {
      std::printf("%s\n", nlohmann::json({{"ok", r.survivors.empty()},
                                          {"dir", cluster->dir()},
                                          {"terminated", r.terminated},
                                          {"killed", r.killed},
                                          {"survivors", r.survivors}})
                              .dump()
                              .c_str());
      return;
    }
    if (r.terminated.empty() && r.killed.empty() && r.survivors.empty()) {
      std::printf("no node of %s was running\n", cluster->dir().c_str());
      return;
    }
    if (!r.terminated.empty())
      std::printf("stopped nodes %s (SIGTERM)\n", Nodes(r.terminated).c_str());
    if (!r.killed.empty()) {
      std::printf("killed nodes %s (SIGKILL: still running %d s after SIGTERM)\n",
                  Nodes(r.killed).c_str(), flags->timeout_s);
    }
    if (!r.survivors.empty()) {
      std::fprintf(stderr, "rain local down: nodes %s survived SIGKILL\n",
                   Nodes(r.survivors).c_str());
    }
  });
}

// ---- per-node commands -----------------------------------------------------------------------

struct NodeFlags {
  Common common;
  int node = 0;
  std::string raind;  // start only
};

enum class NodeAction { kStart, kStop, kKill, kPause, kResume };

struct ActionInfo {
  const char* name;
  const char* help;
  int signal;        // 0 for start
  const char* done;  // past tense for the report
};

ActionInfo Info(NodeAction action) {
  switch (action) {
    case NodeAction::kStart:
      return {"start", "Start NODE's raind again with its config (after stop or kill)", 0,
              "started"};
    case NodeAction::kStop:
      return {"stop", "Stop NODE cleanly (SIGTERM): it leaves the view", SIGTERM, "stopped"};
    case NodeAction::kKill:
      return {"kill", "Kill NODE with SIGKILL: a crash, the others must detect it", SIGKILL,
              "killed"};
    case NodeAction::kPause:
      return {"pause", "Freeze NODE (SIGSTOP): a hung node, the others must remove it", SIGSTOP,
              "paused"};
    case NodeAction::kResume:
      return {"resume", "Unfreeze a paused NODE (SIGCONT): it must rejoin", SIGCONT, "resumed"};
  }
  return {"?", "", 0, ""};
}

// Starts the node and waits until it answers on its control socket, or reports its log's tail
// if it exits first.
Status StartAndWait(LocalCluster& cluster, int node, const std::string& raind_flag, pid_t* pid) {
  RAIN_RETURN_IF_ERROR(cluster.CheckNode(node));
  // Without --raind, the binary `up` used: a restart must not pick up a different build.
  const std::string remembered = raind_flag.empty() ? cluster.RememberedRaind() : "";
  RAIN_ASSIGN_OR_RETURN(std::string raind,
                        FindRaind(remembered.empty() ? raind_flag : remembered, ""));
  RAIN_ASSIGN_OR_RETURN(*pid, cluster.StartNode(node, raind));
  const auto deadline = std::chrono::steady_clock::now() + kStartAnswerTimeout;
  for (;;) {
    if (cluster.QueryStatus(node, kStatusTimeout).up) return Status::Ok();
    if (cluster.RunningPid(node) == 0) {
      return FailedPreconditionError("node " + std::to_string(node) +
                                     " exited at start; the end of " + cluster.LogPath(node) +
                                     ":\n" + cluster.LogTail(node));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceededError("node " + std::to_string(node) + " (pid " +
                                   std::to_string(*pid) +
                                   ") runs but its control socket did not answer within " +
                                   std::to_string(kStartAnswerTimeout.count() / 1000) + " s");
    }
    ::usleep(kPollIntervalMs * 1000);
  }
}

void RunNodeAction(NodeAction action, NodeFlags& flags) {
  const ActionInfo info = Info(action);
  const bool json = flags.common.json;
  Result<LocalCluster> cluster = LocalCluster::Open(flags.common.dir);
  if (!cluster.ok()) return Fail(info.name, cluster.status(), json);
  if (Status s = cluster->CheckNode(flags.node); !s.ok()) return Fail(info.name, s, json);
  pid_t pid = cluster->RunningPid(flags.node);
  int64_t mono_ns = 0;
  if (action == NodeAction::kStart) {
    if (Status s = StartAndWait(*cluster, flags.node, flags.raind, &pid); !s.ok()) {
      return Fail(info.name, s, json);
    }
    mono_ns = MonoNs();
  } else {
    mono_ns = MonoNs();  // taken just before the signal: the failover clock starts here
    if (Status s = cluster->SignalNode(flags.node, info.signal); !s.ok()) {
      return Fail(info.name, s, json);
    }
    Status waited = Status::Ok();
    if (action == NodeAction::kStop) waited = cluster->WaitExited(flags.node, kStopTimeout);
    if (action == NodeAction::kKill) waited = cluster->WaitExited(flags.node, kKillTimeout);
    if (!waited.ok()) {
      return Fail(
          info.name,
          Status(waited.code(), waited.message() + (action == NodeAction::kStop
                                                        ? "; force it with rain local kill " +
                                                              std::to_string(flags.node)
                                                        : std::string())),
          json);
    }
    if (action == NodeAction::kStop || action == NodeAction::kKill) {
      ::unlink(cluster->PidPath(flags.node).c_str());
    }
  }
  if (json) {
    std::printf("%s\n", nlohmann::json({{"ok", true},
                                        {"node", flags.node},
                                        {"action", info.name},
                                        {"pid", pid},
                                        {"mono_ns", mono_ns}})
                            .dump()
                            .c_str());
  } else {
    std::printf("node %d %s (pid %d)\n", flags.node, info.done, static_cast<int>(pid));
  }
}

void AddNodeAction(CLI::App& local, NodeAction action) {
  const ActionInfo info = Info(action);
  auto flags = std::make_shared<NodeFlags>();
  CLI::App* cmd = local.add_subcommand(info.name, info.help);
  cmd->add_option("NODE", flags->node, "The node id (1..N)")->required();
  AddCommon(cmd, flags->common);
  if (action == NodeAction::kStart) {
    cmd->add_option("--raind", flags->raind,
                    "The raind binary (default: the one `up` used, then next to rain, then PATH)");
  }
  cmd->footer(
      "Exit status: 0 done; 1 no cluster, node not running (or already running), or it "
      "did not react in time; 2 usage error (no such node).");
  cmd->callback([flags, action] { RunNodeAction(action, *flags); });
}

}  // namespace

void AddLocalCommand(CLI::App& app) {
  CLI::App* local = app.add_subcommand(
      "local", "A cluster of raind processes on this machine (loopback, two paths per node)");
  local->require_subcommand(1);
  AddUp(*local);
  AddDown(*local);
  for (NodeAction action : {NodeAction::kStart, NodeAction::kStop, NodeAction::kKill,
                            NodeAction::kPause, NodeAction::kResume}) {
    AddNodeAction(*local, action);
  }
}

}  // namespace rain::cli
