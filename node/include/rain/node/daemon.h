// Daemon: the runtime of one raind node (docs/raind.md). It owns the TransportDriver (the I/O
// thread, UDP sockets), the NodeStack run on that thread as the driver's upper layer, the
// stable-state file and incarnation counter in data_dir, and the control endpoint (a Unix socket
// served by its own thread). Every view the node installs is logged as one line (id, members,
// primary) and streamed to `watch` clients.
//
// Threads: the driver's I/O thread runs every protocol call; the control thread reaches the
// stack only through TransportDriver::Run/Post, so the protocol code needs no locks. Signals
// are the caller's business (tools/raind/main.cc waits for SIGTERM/SIGINT and for
// WaitForShutdownRequest); Stop (or the destructor) shuts down cleanly.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "rain/core/result.h"
#include "rain/core/status.h"
#include "rain/node/config.h"

namespace rain::node {

class Daemon {
 public:
  // Creates data_dir, picks the next incarnation, loads the stable state, binds the UDP sockets
  // and the control socket, creates the GCM and starts. Errors: IoError (data_dir, bind),
  // Corruption (damaged stable state), AlreadyExists (another daemon on the control socket).
  static Result<std::unique_ptr<Daemon>> Start(const NodeConfig& config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Blocks until a `shutdown` command or a fatal runtime error (the stable state could not be
  // persisted) asks the daemon to stop, or until Wake(). Returns the fatal error, or OK.
  Status WaitForShutdownRequest();
  // Thread-safe (not async-signal-safe: main calls it from a sigwait thread on SIGTERM). Wakes
  // WaitForShutdownRequest; a non-OK reason is what it returns.
  void RequestShutdown(Status reason = Status::Ok());
  // Stops the control endpoint, then the GCM and the Transport (pending sends fail), and removes
  // the control socket. Idempotent.
  void Stop();

  uint64_t incarnation() const;

  class Impl;

 private:
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rain::node
