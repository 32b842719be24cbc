// Process management for LocalCluster: config files, detached daemons, signals, polling waits.
#include "local_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control_client.h"

namespace rain::cli {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kPollIntervalMs = 50;                // between checks in every wait loop
constexpr milliseconds kStatusTimeoutInWait{500};  // per node per round in WaitForView
constexpr milliseconds kKillWait{3000};            // after SIGKILL, for the kernel to reap

void PauseMs(int ms) { ::poll(nullptr, 0, ms); }

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return IoError("writing " + path, errno);
  return Status::Ok();
}

bool IsExecutable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Alive and not a zombie. A stopped (paused) process is alive.
bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0) return errno == EPERM;
  Result<std::string> stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return true;  // no procfs: trust kill(0)
  size_t paren = stat->rfind(')');
  return paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] != 'Z';
}

// True if pid's command line contains `needle` (the node's config path): guards against a pid
// file whose pid the kernel has since given to an unrelated process.
bool CommandLineContains(pid_t pid, const std::string& needle) {
  Result<std::string> cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline.ok()) return false;
  return cmdline->find(needle) != std::string::npos;
}

std::string NodeList(const std::vector<int>& nodes) {
  std::string out;
  for (int n : nodes) out += (out.empty() ? "" : " ") + std::to_string(n);
  return out;
}

std::vector<int> SortedMembers(const nlohmann::json& view) {
  std::vector<int> members;
  if (view.is_object() && view.contains("members") && view["members"].is_array()) {
    for (const auto& m : view["members"]) {
      if (m.is_number_integer()) members.push_back(m.get<int>());
    }
  }
  std::sort(members.begin(), members.end());
  return members;
}

std::string ViewIdOf(const nlohmann::json& view) {
  if (!view.is_object() || !view.contains("id")) return "";
  const auto& id = view["id"];
  return id.is_string() ? id.get<std::string>() : id.dump();
}

std::string NodeToml(const LocalClusterConfig& config, int node) {
  std::ostringstream t;
  t << "# Written by `rain local up` (docs/cli.md); rewritten by the next `up`.\n"
    << "cluster = \"" << config.cluster << "\"\n"
    << "key_file = \"../cluster.key\"\n"
    << "node_id = " << node << "\n"
    << "data_dir = \"data\"\n"
    << "control_socket = \"control.sock\"\n"
    << "log_level = \"" << config.log_level << "\"\n";
  for (int i = 1; i <= config.nodes; ++i) {
    const int port = config.base_port + i - 1;
    t << "\n[[node]]\nid = " << i << "\naddresses = [";
    bool first = true;
    for (const char* address : kLoopbackAddresses) {
      t << (first ? "" : ", ") << "\"" << address << ":" << port << "\"";
      first = false;
    }
    t << "]\n";
  }
  if (!config.extra_toml.empty()) t << "\n" << config.extra_toml << "\n";
  return t.str();
}

}  // namespace

Status WriteKeyFile(const std::string& path, bool force) {
  if (!force && fs::exists(path)) {
    return AlreadyExistsError(path + " exists; use --force to overwrite it");
  }
  if (::sodium_init() < 0) return InternalError("libsodium failed to initialise");
  unsigned char key[32];
  ::randombytes_buf(key, sizeof(key));
  char hex[2 * sizeof(key) + 1];
  ::sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
  ::sodium_memzero(key, sizeof(key));
  // Write a fresh file created 0600 then rename over the target: the key is never readable by
  // others, even for an instant, and a crash leaves the old key or the new one.
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("creating " + tmp, errno);
  std::string line = std::string(hex) + "\n";
  ::sodium_memzero(hex, sizeof(hex));
  ssize_t n = ::write(fd, line.data(), line.size());
  int write_errno = errno;
  ::sodium_memzero(line.data(), line.size());
  if (::fsync(fd) != 0 || n != static_cast<ssize_t>(line.size())) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return IoError("writing " + tmp, n < 0 ? write_errno : EIO);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return IoError("renaming " + tmp + " to " + path, err);
  }
  return Status::Ok();
}

Result<std::string> FindRaind(const std::string& explicit_path, const std::string& self_path) {
  if (!explicit_path.empty()) {
    if (IsExecutable(explicit_path)) return fs::absolute(explicit_path).string();
    return NotFoundError("raind not found: --raind " + explicit_path +
                         " is not an executable file");
  }
  std::vector<std::string> looked;
  std::error_code ec;
  fs::path self = fs::canonical("/proc/self/exe", ec);
  if (ec) self = fs::absolute(self_path);
  const fs::path dir = self.parent_path();
  for (const fs::path& candidate : {dir / "raind", dir / "raind" / "raind"}) {
    looked.push_back(candidate.string());
    if (IsExecutable(candidate.string())) return candidate.string();
  }
  const char* path_env = std::getenv("PATH");
  std::string path_list = path_env != nullptr ? path_env : "";
  std::stringstream entries(path_list);
  for (std::string entry; std::getline(entries, entry, ':');) {
    if (entry.empty()) continue;
    std::string candidate = (fs::path(entry) / "raind").string();
    if (IsExecutable(candidate)) return fs::absolute(candidate).string();
  }
  looked.push_back("every directory on PATH (" + path_list + ")");
  std::string where;
  for (const std::string& l : looked) where += "\n  " + l;
  return NotFoundError("raind not found; looked at --raind (not given)," + where +
                       "\nbuild it (cmake --build <tree> --target raind) or pass --raind PATH");
}

Status CheckPortsFree(int base_port, int nodes) {
  if (base_port < 1 || base_port + nodes - 1 > 65535) {
    return InvalidArgumentError("ports " + std::to_string(base_port) + ".." +
                                std::to_string(base_port + nodes - 1) + " are not all valid");
  }
  for (int i = 0; i < nodes; ++i) {
    for (const char* address : kLoopbackAddresses) {
      int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return IoError("socket", errno);
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      sin.sin_port = htons(static_cast<uint16_t>(base_port + i));
      ::inet_pton(AF_INET, address, &sin.sin_addr);
      int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
      int err = errno;
      ::close(fd);
      if (rc != 0) {
        return FailedPreconditionError("UDP port " + std::string(address) + ":" +
                                       std::to_string(base_port + i) + " is in use (" +
                                       std::strerror(err) + "); pick another --base-port");
      }
    }
  }
  return Status::Ok();
}

Result<int> FindFreeBasePort(int from, int nodes) {
  for (int base = from; base < from + kBasePortScanMax && base + nodes - 1 <= 65535; ++base) {
    if (CheckPortsFree(base, nodes).ok()) return base;
  }
  return ResourceExhaustedError("no " + std::to_string(nodes) + " consecutive free UDP ports in " +
                                std::to_string(from) + ".." +
                                std::to_string(from + kBasePortScanMax));
}

Result<LocalCluster> LocalCluster::Create(const LocalClusterConfig& config) {
  if (config.nodes < 1 || config.nodes > kLocalNodesMax) {
    return InvalidArgumentError("--nodes must be in 1.." + std::to_string(kLocalNodesMax));
  }
  std::error_code ec;
  fs::create_directories(config.dir, ec);
  if (ec) return IoError("creating " + config.dir, ec.value());
  LocalCluster cluster(fs::absolute(config.dir).lexically_normal().string(), config.nodes);
  const std::string key = cluster.dir_ + "/cluster.key";
  if (!fs::exists(key)) RAIN_RETURN_IF_ERROR(WriteKeyFile(key, /*force=*/false));
  for (int node = 1; node <= config.nodes; ++node) {
    fs::create_directories(cluster.NodeDir(node) + "/data", ec);
    if (ec) return IoError("creating " + cluster.NodeDir(node), ec.value());
    RAIN_RETURN_IF_ERROR(WriteFile(cluster.ConfigPath(node), NodeToml(config, node)));
    fs::path socket = cluster.SocketPath(node);
    if (socket.string().size() >= 108) {
      return InvalidArgumentError("control socket path " + socket.string() +
                                  " is too long for a Unix socket; use a shorter --dir");
    }
  }
  // A smaller cluster in a directory that held a bigger one: the extra nodes must not linger
  // and be counted by Open().
  for (int node = config.nodes + 1; node <= kLocalNodesMax; ++node) {
    if (!fs::exists(cluster.NodeDir(node))) break;
    if (cluster.RunningPid(node) != 0) {
      return FailedPreconditionError("node " + std::to_string(node) + " of an earlier cluster in " +
                                     cluster.dir_ + " is still running; run `rain local down`");
    }
    fs::remove_all(cluster.NodeDir(node), ec);
  }
  return cluster;
}

Result<LocalCluster> LocalCluster::Open(const std::string& dir) {
  std::string abs = fs::absolute(dir).lexically_normal().string();
  int nodes = 0;
  while (nodes < kLocalNodesMax &&
         fs::exists(abs + "/node-" + std::to_string(nodes + 1) + "/raind.toml")) {
    ++nodes;
  }
  if (nodes == 0) {
    return NotFoundError("no local cluster in " + abs +
                         " (no node-1/raind.toml); start one with `rain local up`");
  }
  return LocalCluster(abs, nodes);
}

std::string LocalCluster::NodeDir(int node) const { return dir_ + "/node-" + std::to_string(node); }
std::string LocalCluster::ConfigPath(int node) const { return NodeDir(node) + "/raind.toml"; }
std::string LocalCluster::LogPath(int node) const { return NodeDir(node) + "/raind.log"; }
std::string LocalCluster::PidPath(int node) const { return NodeDir(node) + "/raind.pid"; }
std::string LocalCluster::SocketPath(int node) const { return NodeDir(node) + "/control.sock"; }

Status LocalCluster::CheckNode(int node) const {
  if (node >= 1 && node <= nodes_) return Status::Ok();
  return InvalidArgumentError("no node " + std::to_string(node) + " in " + dir_ + " (nodes 1.." +
                              std::to_string(nodes_) + ")");
}

pid_t LocalCluster::RunningPid(int node) const {
  Result<std::string> text = ReadFile(PidPath(node));
  if (!text.ok()) return 0;
  char* end = nullptr;
  long pid = std::strtol(text->c_str(), &end, 10);
  if (pid <= 0 || end == text->c_str()) return 0;
  if (!ProcessAlive(static_cast<pid_t>(pid))) return 0;
  if (!CommandLineContains(static_cast<pid_t>(pid), ConfigPath(node))) return 0;
  return static_cast<pid_t>(pid);
}

std::string LocalCluster::RememberedRaind() const {
  Result<std::string> text = ReadFile(dir_ + "/raind.path");
  if (!text.ok()) return "";
  std::string path = *text;
  while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
  return IsExecutable(path) ? path : "";
}

Status LocalCluster::RememberRaind(const std::string& raind_path) const {
  return WriteFile(dir_ + "/raind.path", raind_path + "\n");
}

Result<pid_t> LocalCluster::StartNode(int node, const std::string& raind_path) {
  RAIN_RETURN_IF_ERROR(CheckNode(node));
  if (pid_t pid = RunningPid(node); pid != 0) {
    return FailedPreconditionError("node " + std::to_string(node) + " is already running (pid " +
                                   std::to_string(pid) + ")");
  }
  // Everything the children need is prepared before fork: between fork and exec only
  // async-signal-safe calls (the caller may have threads).
  const std::string config = ConfigPath(node);
  const std::string log = LogPath(node);
  const std::string node_dir = NodeDir(node);
  std::vector<std::string> args = {raind_path, "--config", config, "--foreground"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The pipe reports the grandchild's pid (from the middle child) and, if exec fails, its errno
  // (from the grandchild); a successful exec closes it (O_CLOEXEC), which the parent sees as EOF.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return IoError("pipe", errno);
  pid_t middle = ::fork();
  if (middle < 0) {
    int err = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return IoError("fork", err);
  }
  if (middle == 0) {
    ::close(pipe_fds[0]);
    ::setsid();  // own session: no controlling terminal, not in the caller's process group
    pid_t daemon = ::fork();
    if (daemon != 0) {
      int32_t report = daemon;  // < 0: fork failed
      ssize_t ignored = ::write(pipe_fds[1], &report, sizeof(report));
      (void)ignored;
      ::_exit(0);
    }
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int32_t err = 0;
    if (in < 0 || out < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0 ||
        ::chdir(node_dir.c_str()) != 0) {
      err = errno;
    } else {
      ::execv(argv[0], argv.data());
      err = errno;
    }
    ssize_t ignored = ::write(pipe_fds[1], &err, sizeof(err));
    (void)ignored;
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  int status = 0;
  while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  int32_t words[2] = {0, 0};
  size_t got = 0;
  while (got < sizeof(words)) {
    ssize_t n = ::read(pipe_fds[0], reinterpret_cast<char*>(words) + got, sizeof(words) - got);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(pipe_fds[0]);
  if (got < sizeof(int32_t) || words[0] <= 0) return IoError("fork of raind", EAGAIN);
  const pid_t pid = words[0];
  if (got == sizeof(words)) {
    return IoError("starting " + raind_path + " for node " + std::to_string(node), words[1]);
  }
  RAIN_RETURN_IF_ERROR(WriteFile(PidPath(node), std::to_string(pid) + "\n"));
  return pid;
}

Status LocalCluster::SignalNode(int node, int signal) const {
  RAIN_RETURN_IF_ERROR(CheckNode(node));
  pid_t pid = RunningPid(node);
  if (pid == 0) return FailedPreconditionError("node " + std::to_string(node) + " is not running");
  if (::kill(pid, signal) != 0) return IoError("kill " + std::to_string(pid), errno);
  // A stopped process keeps SIGTERM pending; wake it so that it can shut down cleanly.
  if (signal == SIGTERM || signal == SIGINT) ::kill(pid, SIGCONT);
  return Status::Ok();
}

Status LocalCluster::WaitExited(int node, milliseconds timeout) const {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (RunningPid(node) != 0) {
    if (Clock::now() >= deadline) {
      return DeadlineExceededError("node " + std::to_string(node) + " still running after " +
                                   std::to_string(timeout.count()) + " ms");
    }
    PauseMs(kPollIntervalMs);
  }
  return Status::Ok();
}

NodeStatus QueryNodeStatus(int node, const std::string& socket_path, milliseconds timeout) {
  NodeStatus out;
  out.node = node;
  Result<nlohmann::json> answer = ControlRequest(socket_path, {{"cmd", "status"}}, timeout);
  if (!answer.ok()) {
    out.error = answer.status().message();
    return out;
  }
  if (!answer->value("ok", false)) {
    out.error = "status refused: " + answer->value("error", std::string("(no error text)"));
    return out;
  }
  out.up = true;
  out.status = std::move(*answer);
  return out;
}

NodeStatus LocalCluster::QueryStatus(int node, milliseconds timeout) const {
  NodeStatus out = QueryNodeStatus(node, SocketPath(node), timeout);
  if (!out.up && RunningPid(node) == 0) out.error = "not running";
  return out;
}

std::vector<NodeStatus> LocalCluster::QueryAll(milliseconds timeout_per_node) const {
  std::vector<NodeStatus> out;
  for (int node = 1; node <= nodes_; ++node) out.push_back(QueryStatus(node, timeout_per_node));
  return out;
}

Result<ViewAgreement> LocalCluster::WaitForView(const std::vector<int>& members,
                                                milliseconds timeout,
                                                const ViewProgress& progress) const {
  std::vector<int> want = members;
  std::sort(want.begin(), want.end());
  for (int node : want) RAIN_RETURN_IF_ERROR(CheckNode(node));
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + timeout;
  for (;;) {
    std::vector<NodeStatus> statuses;
    std::string common_id;
    bool agreed = true;
    for (int node : want) {
      if (RunningPid(node) == 0) {
        return FailedPreconditionError("node " + std::to_string(node) +
                                       " is not running (exited early?); the end of " +
                                       LogPath(node) + ":\n" + LogTail(node));
      }
      NodeStatus s = QueryStatus(node, kStatusTimeoutInWait);
      if (!s.up) {
        agreed = false;
      } else {
        const nlohmann::json view = s.status.contains("view") ? s.status["view"] : nlohmann::json();
        const std::string id = ViewIdOf(view);
        if (id.empty() || !view.value("primary", false) || SortedMembers(view) != want ||
            (!common_id.empty() && id != common_id)) {
          agreed = false;
        }
        if (common_id.empty()) common_id = id;
      }
      statuses.push_back(std::move(s));
    }
    if (progress) progress(statuses, SecondsSince(start));
    if (agreed) {
      return ViewAgreement{.view_id = common_id,
                           .members = want,
                           .seconds = SecondsSince(start),
                           .statuses = std::move(statuses)};
    }
    if (Clock::now() >= deadline) {
      return DeadlineExceededError("no primary view of nodes [" + NodeList(want) + "] after " +
                                   std::to_string(timeout.count() / 1000.0).substr(0, 5) +
                                   " s; what each node sees:\n" + DescribeStatuses(statuses));
    }
    PauseMs(kPollIntervalMs * 2);
  }
}

bool LocalCluster::WaitForLinks(milliseconds timeout) const {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    bool all_up = true;
    for (const NodeStatus& s : QueryAll(kStatusTimeoutInWait)) {
      if (!s.up || !s.status.contains("peers") || !s.status["peers"].is_array()) {
        all_up = false;
        break;
      }
      for (const auto& peer : s.status["peers"]) {
        if (!peer.value("reachable", false) || !peer.contains("links")) all_up = false;
        for (const auto& link : peer.value("links", nlohmann::json::array())) {
          if (!link.value("up", false)) all_up = false;
        }
      }
    }
    if (all_up) return true;
    if (Clock::now() >= deadline) return false;
    PauseMs(kPollIntervalMs);
  }
}

LocalCluster::DownReport LocalCluster::Down(milliseconds timeout) const {
  DownReport report;
  std::vector<int> running;
  for (int node = 1; node <= nodes_; ++node) {
    if (SignalNode(node, SIGTERM).ok()) running.push_back(node);
  }
  const Clock::time_point deadline = Clock::now() + timeout;
  std::vector<int> left = running;
  while (!left.empty() && Clock::now() < deadline) {
    std::erase_if(left, [&](int node) { return RunningPid(node) == 0; });
    if (!left.empty()) PauseMs(kPollIntervalMs);
  }
  for (int node : running) {
    if (std::find(left.begin(), left.end(), node) == left.end()) report.terminated.push_back(node);
  }
  for (int node : left) {
    SignalNode(node, SIGKILL).IgnoreError();  // it may have exited since the last check
    if (WaitExited(node, kKillWait).ok()) {
      report.killed.push_back(node);
    } else {
      report.survivors.push_back(node);
    }
  }
  for (int node = 1; node <= nodes_; ++node) {
    if (RunningPid(node) == 0) ::unlink(PidPath(node).c_str());
  }
  return report;
}

std::string LocalCluster::LogTail(int node, int lines) const {
  Result<std::string> text = ReadFile(LogPath(node));
  if (!text.ok() || text->empty()) return "  (empty log)\n";
  size_t pos = text->size();
  if ((*text)[pos - 1] == '\n') --pos;
  for (int i = 0; i < lines && pos != std::string::npos && pos > 0; ++i) {
    pos = text->rfind('\n', pos - 1);
  }
  std::string tail = pos == std::string::npos ? *text : text->substr(pos + 1);
  std::string out;
  std::stringstream in(tail);
  for (std::string line; std::getline(in, line);) out += "  | " + line + "\n";
  return out;
}

std::string DescribeStatuses(const std::vector<NodeStatus>& statuses) {
  std::string out;
  for (const NodeStatus& s : statuses) {
    out += "  node " + std::to_string(s.node) + ": ";
    if (!s.up) {
      out += "down (" + s.error + ")\n";
      continue;
    }
    const nlohmann::json& st = s.status;
    out += st.value("state", std::string("?"));
    const nlohmann::json view = st.contains("view") ? st["view"] : nlohmann::json();
    if (view.is_object()) {
      out += ", view " + ViewIdOf(view) + " members [" + NodeList(SortedMembers(view)) + "]" +
             (view.value("primary", false) ? ", primary" : ", not primary");
    } else {
      out += ", no view";
    }
    out += "\n";
  }
  return out;
}

}  // namespace rain::cli
