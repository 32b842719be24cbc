// Blocking-with-deadline I/O on a non-blocking Unix socket: every wait is a poll() bounded by the
// caller's deadline, so a SIGSTOPped daemon (which still accepts connections in the kernel's
// backlog) shows up as DeadlineExceeded instead of hanging the CLI.
#include "control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace rain::cli {
namespace {

using Clock = std::chrono::steady_clock;

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Waits until `fd` is ready for `events` or the deadline passes. Ok when ready.
Status WaitFor(int fd, short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int n = ::poll(&p, 1, MillisLeft(deadline));
    if (n > 0) return Status::Ok();  // readable, writable, or an error/hang-up the caller reads
    if (n == 0) return DeadlineExceededError(std::string("timed out ") + what);
    if (errno != EINTR) return IoError(std::string("poll while ") + what, errno);
  }
}

// A retry pause for a full listen backlog: the only connect error worth waiting out.
constexpr int kConnectRetryMs = 10;

}  // namespace

ControlConnection::~ControlConnection() { Close(); }

ControlConnection::ControlConnection(ControlConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}

ControlConnection& ControlConnection::operator=(ControlConnection&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

void ControlConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<ControlConnection> ControlConnection::Open(const std::string& socket_path,
                                                  std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgumentError("control socket path '" + socket_path +
                                "' is empty or longer than " +
                                std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoError("socket", errno);
  ControlConnection conn(fd);
  for (;;) {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) return conn;
    const int err = errno;
    if (err == EINTR) continue;
    if (err == ENOENT) return NotFoundError("no control socket at " + socket_path);
    if (err == ECONNREFUSED) {
      return UnavailableError("nobody listening on " + socket_path + " (connection refused)");
    }
    if (err == EAGAIN) {  // backlog full: the daemon is slow or stopped
      if (MillisLeft(deadline) == 0) {
        return DeadlineExceededError("connect to " + socket_path + ": backlog full until deadline");
      }
      ::poll(nullptr, 0, kConnectRetryMs);
      continue;
    }
    if (err == EINPROGRESS) {
      RAIN_RETURN_IF_ERROR(WaitFor(fd, POLLOUT, deadline, "connecting"));
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error != 0) return IoError("connect to " + socket_path, so_error);
      return conn;
    }
    return IoError("connect to " + socket_path, err);
  }
}

Status ControlConnection::Send(const nlohmann::json& request, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return FailedPreconditionError("control connection is not open");
  const Clock::time_point deadline = Clock::now() + timeout;
  const std::string line = request.dump() + "\n";
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::send(fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      RAIN_RETURN_IF_ERROR(WaitFor(fd_, POLLOUT, deadline, "sending a request"));
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      return UnavailableError("the daemon closed the control connection");
    }
    return IoError("send on the control socket", errno);
  }
  return Status::Ok();
}

Result<nlohmann::json> ControlConnection::Receive(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return FailedPreconditionError("control connection is not open");
  const Clock::time_point deadline = Clock::now() + timeout;
  char chunk[4096];
  for (;;) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded() || !parsed.is_object()) {
        return CorruptionError("control answer is not a JSON object: " + line.substr(0, 200));
      }
      return parsed;
    }
    if (buffer_.size() > kControlLineBytesMax) {
      return CorruptionError("control answer line longer than " +
                             std::to_string(kControlLineBytesMax) + " bytes");
    }
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return UnavailableError("the daemon closed the control connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      RAIN_RETURN_IF_ERROR(WaitFor(fd_, POLLIN, deadline, "waiting for an answer"));
      continue;
    }
    if (errno == ECONNRESET) return UnavailableError("the daemon reset the control connection");
    return IoError("recv on the control socket", errno);
  }
}

Result<nlohmann::json> ControlRequest(const std::string& socket_path, const nlohmann::json& request,
                                      std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  };
  RAIN_ASSIGN_OR_RETURN(ControlConnection conn, ControlConnection::Open(socket_path, timeout));
  RAIN_RETURN_IF_ERROR(conn.Send(request, left()));
  return conn.Receive(left());
}

}  // namespace rain::cli
