// The cluster owner, signal-safe teardown and control-socket helpers of `rain bench membership`.
#include "membership_cluster.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rain::bench {

namespace {

// What the signal handler kills: daemons (slot = node) and busy-loop children. Written by the
// main thread only; std::atomic<pid_t> is lock-free, so reading it in a handler is safe.
constexpr int kPidSlots = cli::kLocalNodesMax + 1 + kHogProcsMax;
std::atomic<pid_t> g_pids[kPidSlots];
std::atomic<bool> g_interrupted{false};
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_old_actions[3];

constexpr auto kDownTimeout = std::chrono::milliseconds(3000);

void OnSignal(int) {
  for (auto& slot : g_pids) {
    pid_t pid = slot.load();
    if (pid > 0) kill(pid, SIGKILL);
  }
  g_interrupted = true;
}

void SetSlot(int slot, pid_t pid) { g_pids[slot].store(pid); }

}  // namespace

int64_t MonoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

bool Interrupted() { return g_interrupted.load(); }

std::chrono::milliseconds KillPhaseDelay(int trial) {
  constexpr double kGoldenFraction = 0.6180339887498949;
  double phase = std::fmod(kGoldenFraction * (trial + 1), 1.0);
  return std::chrono::milliseconds(500 + static_cast<int64_t>(phase * 1000));
}

uint64_t TokenLosses(const BenchCluster& bc, const std::vector<int>& nodes) {
  uint64_t sum = 0;
  for (int node : nodes) {
    Result<nlohmann::json> s = bc.Request(node, {{"cmd", "status"}});
    if (!s.ok()) continue;
    sum += s->value("ring", nlohmann::json::object()).value("token_losses", uint64_t{0});
  }
  return sum;
}

void Progress(std::FILE* out, const char* format, ...) {
  if (out == nullptr) return;
  std::va_list args;
  va_start(args, format);
  std::fputs("rain bench membership: ", out);
  std::vfprintf(out, format, args);
  std::fputc('\n', out);
  std::fflush(out);
  va_end(args);
}

BenchCluster::~BenchCluster() { Teardown(); }

void BenchCluster::Teardown() {
  StopHogs();
  if (cluster_) {
    cli::LocalCluster::DownReport down = cluster_->Down(kDownTimeout);
    for (int node : down.survivors) {
      std::fprintf(stderr, "rain bench membership: node %d survived SIGKILL\n", node);
    }
    cluster_.reset();
  }
  for (int slot = 0; slot <= cli::kLocalNodesMax; ++slot) SetSlot(slot, 0);
  if (!dir_.empty()) {
    if (keep_dir_) {
      std::fprintf(stderr, "rain bench membership: kept %s\n", dir_.c_str());
    } else {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
    dir_.clear();
  }
  if (handlers_installed_) {
    for (size_t i = 0; i < std::size(kSignals); ++i)
      sigaction(kSignals[i], &g_old_actions[i], nullptr);
    handlers_installed_ = false;
  }
}

Status BenchCluster::Start(const MembershipBenchOptions& options, const std::string& rain_path,
                           std::FILE* progress) {
  progress_ = progress;
  keep_dir_ = options.keep_dir;
  g_interrupted = false;
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < std::size(kSignals); ++i)
    sigaction(kSignals[i], &action, &g_old_actions[i]);
  handlers_installed_ = true;

  RAIN_ASSIGN_OR_RETURN(raind_, cli::FindRaind(options.raind_path, rain_path));
  std::string tmpl = (std::filesystem::temp_directory_path() / "rain-mbench.XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return IoError("mkdtemp " + tmpl, errno);
  dir_ = tmpl;

  RAIN_ASSIGN_OR_RETURN(int base_port, cli::FindFreeBasePort(kBenchBasePortFrom, options.nodes));
  cli::LocalClusterConfig config;
  config.dir = dir_;
  config.nodes = options.nodes;
  config.base_port = base_port;
  config.cluster = "mbench";
  config.log_level = "warn";
  config.extra_toml = options.extra_toml;
  RAIN_ASSIGN_OR_RETURN(cli::LocalCluster cluster, cli::LocalCluster::Create(config));
  cluster_.emplace(std::move(cluster));

  Progress(progress_, "starting %d raind in %s (ports %d..)", options.nodes, dir_.c_str(),
           base_port);
  for (int node = 1; node <= options.nodes; ++node) {
    RAIN_ASSIGN_OR_RETURN(pid_t pid, cluster_->StartNode(node, raind_));
    SetSlot(node, pid);
  }
  RAIN_ASSIGN_OR_RETURN(cli::ViewAgreement agreement, WaitForAll(kConvergeTimeout));
  Progress(progress_, "view %s of %d nodes after %.2f s", agreement.view_id.c_str(), options.nodes,
           agreement.seconds);
  return Status::Ok();
}

std::vector<int> BenchCluster::AllNodes() const {
  std::vector<int> all;
  for (int node = 1; node <= nodes(); ++node) all.push_back(node);
  return all;
}

Result<pid_t> BenchCluster::Restart(int node) {
  if (Interrupted()) return AbortedError("interrupted");
  RAIN_ASSIGN_OR_RETURN(pid_t pid, cluster_->StartNode(node, raind_));
  SetSlot(node, pid);
  if (Interrupted()) kill(pid, SIGKILL);  // the handler may have run before SetSlot
  return pid;
}

Result<cli::ViewAgreement> BenchCluster::WaitForAll(std::chrono::milliseconds timeout) const {
  if (Interrupted()) return AbortedError("interrupted");
  auto agreement = cluster_->WaitForView(AllNodes(), timeout);
  if (Interrupted()) return AbortedError("interrupted");
  return agreement;
}

Result<nlohmann::json> BenchCluster::Request(int node, const nlohmann::json& request) const {
  if (Interrupted()) return AbortedError("interrupted");
  RAIN_ASSIGN_OR_RETURN(nlohmann::json answer,
                        cli::ControlRequest(cluster_->SocketPath(node), request, kControlTimeout));
  if (!answer.value("ok", false)) {
    return FailedPreconditionError("node " + std::to_string(node) + " refused " + request.dump() +
                                   ": " + answer.value("error", answer.dump()));
  }
  return answer;
}

Status BenchCluster::StartHogs(int count) {
  for (int i = 0; i < count && i < kHogProcsMax; ++i) {
    pid_t pid = fork();
    if (pid < 0) return IoError("fork", errno);
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      for (int s : kSignals) signal(s, SIG_DFL);
      volatile uint64_t spin = 0;
      for (;;) spin = spin + 1;
    }
    hogs_.push_back(pid);
    SetSlot(cli::kLocalNodesMax + 1 + i, pid);
  }
  return Status::Ok();
}

void BenchCluster::StopHogs() {
  for (size_t i = 0; i < hogs_.size(); ++i) {
    kill(hogs_[i], SIGKILL);
    waitpid(hogs_[i], nullptr, 0);
    SetSlot(cli::kLocalNodesMax + 1 + static_cast<int>(i), 0);
  }
  hogs_.clear();
}

Result<ViewWatch> ViewWatch::Open(const cli::LocalCluster& cluster, int node) {
  if (Interrupted()) return AbortedError("interrupted");
  RAIN_ASSIGN_OR_RETURN(cli::ControlConnection connection,
                        cli::ControlConnection::Open(cluster.SocketPath(node), kControlTimeout));
  RAIN_RETURN_IF_ERROR(connection.Send({{"cmd", "watch"}}, kControlTimeout));
  RAIN_ASSIGN_OR_RETURN(nlohmann::json answer, connection.Receive(kControlTimeout));
  if (!answer.value("ok", false)) {
    return FailedPreconditionError("node " + std::to_string(node) +
                                   " refused watch: " + answer.dump());
  }
  return ViewWatch(std::move(connection), node);
}

Result<nlohmann::json> ViewWatch::NextView(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (Interrupted()) return AbortedError("interrupted");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return DeadlineExceededError("no view event in time");
    RAIN_ASSIGN_OR_RETURN(nlohmann::json event, connection_.Receive(left));
    if (event.value("event", "") == "view") return event;
  }
}

std::vector<int> ViewMembers(const nlohmann::json& view) {
  std::vector<int> members;
  if (view.is_object() && view.contains("members")) {
    for (const auto& m : view["members"]) members.push_back(m.get<int>());
  }
  std::sort(members.begin(), members.end());
  return members;
}

Result<double> ProcessCpuSeconds(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return IoError("reading " + path, ENOENT);
  // Fields after the command name, which is in parentheses and may contain spaces: state is
  // field 3, utime and stime are fields 14 and 15 (proc(5)).
  size_t close = line.rfind(')');
  if (close == std::string::npos) return CorruptionError("no ')' in " + path);
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace rain::bench
