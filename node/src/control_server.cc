// The control endpoint's socket loop (control_server.h).
#include "control_server.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rain/core/log.h"

namespace rain::node {
namespace {

constexpr size_t kReadChunkBytes = 64 << 10;

Result<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    return InvalidArgumentError("control socket path " + path + " is too long");
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

// True if a process accepts connections at `path` (a live daemon), false for a stale file.
bool SomeoneListens(const sockaddr_un& a) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return live;
}

}  // namespace

nlohmann::json ControlServer::Error(const Status& status) {
  return {{"ok", false},
          {"error", status.message()},
          {"code", std::string(StatusCodeName(status.code()))}};
}

Result<std::unique_ptr<ControlServer>> ControlServer::Start(std::string path, Dispatcher dispatch,
                                                            std::function<void()> on_shutdown) {
  RAIN_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return FailedPreconditionError("control socket path " + path + " exists and is no socket");
    }
    if (SomeoneListens(addr)) {
      return AlreadyExistsError("another raind is listening on " + path);
    }
    ::unlink(path.c_str());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoError("control socket", errno);
  // Created 0600 from the start: the endpoint can shut the daemon down.
  mode_t old = ::umask(0177);
  int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int bind_errno = errno;
  ::umask(old);
  if (rc != 0 || ::listen(fd, 16) != 0) {
    int e = rc != 0 ? bind_errno : errno;
    ::close(fd);
    return IoError("binding control socket " + path, e);
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return IoError("control wakeup pipe", e);
  }
  return std::unique_ptr<ControlServer>(new ControlServer(
      std::move(path), fd, pipe_fds[0], pipe_fds[1], std::move(dispatch), std::move(on_shutdown)));
}

ControlServer::ControlServer(std::string path, int listen_fd, int wake_read, int wake_write,
                             Dispatcher dispatch, std::function<void()> on_shutdown)
    : path_(std::move(path)),
      listen_fd_(listen_fd),
      wake_read_(wake_read),
      wake_write_(wake_write),
      dispatch_(std::move(dispatch)),
      on_shutdown_(std::move(on_shutdown)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "rain-control");  // visible in top -H, /proc/*/task
    Loop();
  });
}

ControlServer::~ControlServer() {
  stop_.store(true);
  Wake();
  if (thread_.joinable()) thread_.join();
  for (Client& c : clients_) ::close(c.fd);
  ::close(listen_fd_);
  ::close(wake_read_);
  ::close(wake_write_);
  ::unlink(path_.c_str());
}

void ControlServer::Wake() {
  char b = 1;
  // A full pipe already means "wake up"; nothing to do on EAGAIN.
  [[maybe_unused]] ssize_t n = ::write(wake_write_, &b, 1);
}

void ControlServer::Broadcast(const nlohmann::json& event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (broadcasts_.size() >= kBroadcastQueueMax) {
      ++broadcasts_dropped_;
      return;
    }
    broadcasts_.push_back(event.dump() + "\n");
  }
  Wake();
}

void ControlServer::Answer(uint64_t id, const nlohmann::json& answer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    answers_.emplace_back(id, answer.dump() + "\n");
  }
  Wake();
}

void ControlServer::TakeAnswers() {
  std::vector<std::pair<uint64_t, std::string>> answers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    answers.swap(answers_);
  }
  // Every deferred id was registered in its client's slots in the same loop step as its
  // dispatch (this thread), so an answer that finds no slot belongs to a closed connection.
  auto fill = [this](uint64_t id, std::string& text) {
    for (Client& c : clients_) {
      for (Slot& s : c.slots) {
        if (!s.ready && s.id == id) {
          s.text = std::move(text);
          s.ready = true;
          return;
        }
      }
    }
  };
  for (auto& [id, text] : answers) fill(id, text);
  for (Client& c : clients_) {
    while (!c.slots.empty() && c.slots.front().ready) {
      c.out += c.slots.front().text;
      c.slots.pop_front();
    }
  }
}

void ControlServer::TakeBroadcasts() {
  std::vector<std::string> lines;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lines.swap(broadcasts_);
  }
  for (Client& c : clients_) {
    if (!c.watching) continue;
    for (const std::string& l : lines) c.out += l;
  }
}

void ControlServer::Loop() {
  std::vector<pollfd> fds;
  while (!stop_.load()) {
    fds.clear();
    fds.push_back({wake_read_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Client& c : clients_) {
      fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      RAIN_LOG(kError, "raind", std::string("control poll: ") + std::strerror(errno));
      return;
    }
    if (fds[0].revents != 0) {
      char buf[256];
      while (::read(wake_read_, buf, sizeof buf) > 0) {
      }
      TakeBroadcasts();
    }
    TakeAnswers();
    std::vector<bool> keep(clients_.size(), true);
    for (size_t i = 0; i < clients_.size(); ++i) {
      short ev = fds[i + 2].revents;
      Client& c = clients_[i];
      if ((ev & (POLLIN | POLLHUP | POLLERR)) != 0 && !ReadFrom(c)) keep[i] = false;
      if (keep[i] && !c.out.empty() && !WriteTo(c)) keep[i] = false;
      if (keep[i] && c.out.size() > kClientBacklogBytesMax) {
        RAIN_LOG(kWarn, "raind", "control client does not read its answers; disconnecting it");
        keep[i] = false;
      }
      if (keep[i] && c.out.empty() && c.close_after_write) keep[i] = false;
      if (keep[i] && c.out.empty() && c.shutdown_after_write) {
        c.shutdown_after_write = false;
        on_shutdown_();
      }
    }
    for (size_t i = clients_.size(); i-- > 0;) {
      if (!keep[i]) {
        ::close(clients_[i].fd);
        clients_.erase(clients_.begin() + static_cast<ptrdiff_t>(i));
      }
    }
    if (fds[1].revents != 0) Accept();
  }
}

void ControlServer::Accept() {
  while (true) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN (drained) or a transient error: poll again
    Client c;
    c.fd = fd;
    if (clients_.size() >= kClientsMax) {
      c.out = ControlServer::Error(ResourceExhaustedError("too many control connections (" +
                                                          std::to_string(kClientsMax) + ")"))
                  .dump() +
              "\n";
      c.close_after_write = true;
    }
    clients_.push_back(std::move(c));
  }
}

bool ControlServer::ReadFrom(Client& c) {
  char buf[kReadChunkBytes];
  while (true) {
    ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n == 0) return false;  // the client closed
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    // Only the new bytes can hold a newline: a 2 MiB line must not be rescanned per chunk.
    size_t scan = c.in.size();
    c.in.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = c.in.find('\n', scan)) != std::string::npos; start = scan = nl + 1) {
      HandleLine(c, c.in.substr(start, nl - start));
    }
    c.in.erase(0, start);
    if (c.in.size() > kRequestLineBytesMax) {
      c.out += Error(InvalidArgumentError("request line longer than " +
                                          std::to_string(kRequestLineBytesMax) + " bytes"))
                   .dump() +
               "\n";
      c.close_after_write = true;
      c.in.clear();
      return true;
    }
  }
}

bool ControlServer::WriteTo(Client& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    c.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

void ControlServer::HandleLine(Client& c, const std::string& line) {
  if (c.close_after_write) return;
  if (line.empty() || line == "\r") return;
  nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  ControlReply reply;
  if (request.is_discarded()) {
    reply.answer = Error(InvalidArgumentError("the request line is not JSON"));
  } else if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string()) {
    reply.answer =
        Error(InvalidArgumentError("the request must be an object with a \"cmd\" string"));
  } else {
    if (c.slots.size() >= kClientPendingAnswersMax) {
      reply.answer =
          Error(ResourceExhaustedError("more than " + std::to_string(kClientPendingAnswersMax) +
                                       " requests of this connection unanswered"));
    } else {
      reply = dispatch_(request);
    }
  }
  if (reply.deferred != 0) {
    c.slots.push_back({.id = reply.deferred});
    return;
  }
  std::string text = reply.answer.dump() + "\n";
  if (c.slots.empty()) {
    c.out += text;
  } else {
    c.slots.push_back({.text = std::move(text), .ready = true});
  }
  if (reply.start_watch) c.watching = true;
  if (reply.then_shutdown) c.shutdown_after_write = true;
}

}  // namespace rain::node
