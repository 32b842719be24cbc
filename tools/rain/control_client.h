// The client side of raind's control endpoint (docs/raind.md §3): a Unix stream socket that
// carries one JSON object per line in each direction. `ControlConnection` is one connection
// (for `watch`, which streams events); `ControlRequest` is the common case of one request and its
// answer. Every call takes a deadline, so a hung or paused daemon costs the caller at most that
// long; nothing here retries. Used by `rain status`, `rain local` and `rain bench membership`.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::cli {

// A single answer line longer than this is treated as a broken daemon, not buffered forever.
// `data_get` of a 1 MiB item (the GDM's max_item_bytes) is ~1.4 MB of base64 plus its fields.
inline constexpr size_t kControlLineBytesMax = 4 << 20;

// One connection to a control socket. Move-only; closes the socket on destruction. Not thread
// safe: one thread at a time.
class ControlConnection {
 public:
  ControlConnection() = default;
  ~ControlConnection();
  ControlConnection(ControlConnection&& other) noexcept;
  ControlConnection& operator=(ControlConnection&& other) noexcept;
  ControlConnection(const ControlConnection&) = delete;
  ControlConnection& operator=(const ControlConnection&) = delete;

  // Connects to the Unix socket at `socket_path` within `timeout`. Errors: NotFound (no socket
  // file), Unavailable (nobody listening: connection refused), DeadlineExceeded, InvalidArgument
  // (path longer than a sockaddr_un holds), IoError otherwise.
  static Result<ControlConnection> Open(const std::string& socket_path,
                                        std::chrono::milliseconds timeout);

  // Writes `request` as one line. Unavailable if the daemon closed the connection,
  // DeadlineExceeded if it did not drain the socket in time.
  Status Send(const nlohmann::json& request, std::chrono::milliseconds timeout);

  // Reads the next line and parses it. DeadlineExceeded if no whole line arrived in time (the
  // partial line is kept for the next call), Unavailable on end of stream, Corruption on a line
  // that is not JSON or longer than kControlLineBytesMax.
  Result<nlohmann::json> Receive(std::chrono::milliseconds timeout);

 private:
  explicit ControlConnection(int fd) : fd_(fd) {}
  void Close();

  int fd_ = -1;
  std::string buffer_;  // bytes read past the last returned line
};

// Connects, sends `request`, and returns the first answer line, all within `timeout` in total.
// An answer with "ok": false is returned as is (the caller decides); transport errors as above.
Result<nlohmann::json> ControlRequest(const std::string& socket_path, const nlohmann::json& request,
                                      std::chrono::milliseconds timeout);

}  // namespace rain::cli
