// TransportDriver: runs the sans-IO Transport (rain/comm/transport.h) on real UDP sockets
// (DESIGN.md §3 rule 1: "a thin Boost.Asio driver runs them for real"; deviation: the event loop
// is a small epoll loop of our own instead of Boost.Asio, whose per-wait epoll_ctl and timerfd
// resets cost a syscall each per wakeup — docs/transport-driver.md).
//
// Thread model (docs/transport-driver.md): one I/O thread owns the Transport, one non-blocking UDP
// socket per local address (TransportOptions::local_addresses) and one timer armed from
// PollDeadline (the timeout of the loop's epoll wait). Readable sockets are drained with recvmmsg
// in batches; after every batch, timer or command the driver drains PollEvent (to the event
// handler) and PollTransmit (into sendmmsg batches per socket). Other threads talk to the I/O
// thread only through a bounded command queue plus a wakeup (Post, SendReliable) and, if no handler
// is given, a bounded event queue (WaitEvent). The Transport core never sees a socket: the driver
// maps comm::Address to sockaddr.
//
// An upper layer (UpperLayer below: the GCM stacked on the Transport, via rain::node::NodeStack)
// runs on the I/O thread too: it receives the Transport's events, has its outputs drained after
// every input (its sends go straight into the Transport), and shares the one timer, armed at
// min(Transport deadline, upper deadline).
//
// Fault injection for tests and `rain bench transport`: receive_drop_probability drops received
// datagrams before the core sees them, from a seeded rain::Rng (so it works without root, unlike
// tc netem).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "rain/comm/transport.h"
#include "rain/comm/types.h"
#include "rain/core/result.h"
#include "rain/core/status.h"
#include "rain/core/time.h"

namespace rain::comm {

struct DriverOptions {
  TransportOptions transport;
  // Commands (Post, SendReliable) waiting for the I/O thread; beyond this, callers wait or get
  // ResourceExhausted.
  size_t command_queue_max = 4096;
  // Events waiting for WaitEvent (only when no handler is given); beyond this the I/O thread stops
  // reading sockets until the owner catches up (back-pressure, not loss).
  size_t event_queue_max = 65536;
  int socket_buffer_bytes = 8 << 20;  // SO_RCVBUF / SO_SNDBUF per socket
  // Datagrams queued for a socket that would block; beyond this PollTransmit waits for the
  // socket to drain.
  size_t pending_datagrams_max = 4096;
  // Datagram bytes built (PollTransmit) in one I/O turn, i.e. one run of an event-loop handler
  // (a socket wakeup, the timer, a command batch). Past it the driver sends what it built, posts
  // the rest of the work and lets its sockets and timer run first. Why: the core emits
  // everything its windows allow at once (a GCM token visit is a 4 MiB batch to each of n - 1
  // peers), and one 162 ms turn kept a node from acking the token for longer than the peers'
  // failure bound (70 ms), which removed it from the view (docs/transport-driver.md). 1 MiB
  // is about a millisecond of sealing and sendmmsg. The bound may be exceeded by one datagram.
  size_t turn_transmit_bytes_max = 1u << 20;
  // Process-wide, once: glibc keeps freed memory mapped (M_TRIM_THRESHOLD) and serves buffers up
  // to 32 MiB from its heap (M_MMAP_THRESHOLD) instead of returning them to the kernel. Every
  // packet buffer and reassembly buffer is allocated fresh; with the default dynamic thresholds
  // glibc gave them back after every sendmmsg batch or delivered message and the next one
  // page-faulted in again (≈ 60 % of the TM's system time at 1 MiB messages,
  // docs/benchmarks.md). The cost: up to `retained_free_bytes_max` of freed memory stays
  // resident. 0 leaves glibc's defaults.
  size_t retained_free_bytes_max = 128u << 20;
  // Test and bench only: drop each received datagram with this probability (seeded).
  double receive_drop_probability = 0.0;
  uint64_t receive_drop_seed = 1;
};

struct DriverStats {
  uint64_t datagrams_received = 0;
  uint64_t datagrams_sent = 0;
  uint64_t datagrams_dropped_injected = 0;
  uint64_t receive_syscalls = 0;
  uint64_t send_syscalls = 0;
  uint64_t send_errors = 0;
  uint64_t wakeups = 0;
  uint64_t turns = 0;                    // event-loop handlers run (the unit of the turn bound)
  uint64_t turns_capped = 0;             // turns that hit turn_transmit_bytes_max
  uint64_t turn_transmit_bytes_max = 0;  // most datagram bytes built in one turn
  uint64_t turn_ns_max = 0;              // longest turn (wall time, CLOCK_MONOTONIC)
  uint64_t read_pauses = 0;              // times the full event queue stopped socket reads
};

// A sans-IO layer stacked on the Transport and run by the driver on its I/O thread (the GCM,
// through rain::node::NodeStack). Every method is called on the I/O thread only, so the layer
// needs no locks as long as other threads reach it only through TransportDriver::Post/Run.
class UpperLayer {
 public:
  virtual ~UpperLayer() = default;
  // One Transport event (every event goes here; there is no EventHandler or event queue when an
  // upper layer is given). Must not block.
  virtual void HandleTransportEvent(Transport& transport, Instant now, Event event) = 0;
  // The layer's own deadline (from its PollDeadline) has passed.
  virtual void HandleTimeout(Transport& transport, Instant now) = 0;
  // Called after every input (socket batch, timer, command, event): hand every pending output
  // of the layer to `transport` (SendReliable / SendUnreliable). Returns true if it produced
  // anything, so that the driver drains the Transport again.
  virtual bool Flush(Transport& transport, Instant now) = 0;
  // When HandleTimeout must next be called; nullopt for none. The driver's one timer is armed at
  // min(this, Transport::PollDeadline()).
  virtual std::optional<Instant> PollDeadline() const = 0;
};

class TransportDriver {
 public:
  // Called on the I/O thread for each event, with the Transport and the current time so that the
  // handler can answer at once (e.g. SendReliable) without a queue hop. It must not block.
  using EventHandler = std::function<void(Transport& transport, Instant now, Event event)>;

  // Creates the Transport, binds one socket per local address (port 0 picks a free port; see
  // LocalAddresses) and starts the I/O thread. Without a handler, events go to WaitEvent.
  // Errors: InvalidArgument (options), IoError (socket/bind).
  static Result<std::unique_ptr<TransportDriver>> Start(DriverOptions options,
                                                        EventHandler handler = nullptr);
  // As above with an upper layer run on the I/O thread (see UpperLayer). The driver keeps a
  // reference until its destructor returns; events of the final Shutdown still reach the layer.
  // WaitEvent is unused in this mode. InvalidArgument if `upper` is null.
  static Result<std::unique_ptr<TransportDriver>> Start(DriverOptions options,
                                                        std::shared_ptr<UpperLayer> upper);
  // Stops the I/O thread (Shutdown on the Transport first, so pending sends complete as failed;
  // those events are still delivered to the handler or the queue), then closes the sockets.
  ~TransportDriver();
  TransportDriver(const TransportDriver&) = delete;
  TransportDriver& operator=(const TransportDriver&) = delete;

  // The addresses actually bound (with real ports), in the order of local_addresses.
  const std::vector<Address>& LocalAddresses() const;

  // Thread-safe. Runs `fn` on the I/O thread (then drains outputs). Waits up to `wait` for room
  // in the command queue; ResourceExhausted if there is none, FailedPrecondition once stopped.
  Status Post(std::function<void(Transport&, Instant now)> fn,
              Duration wait = std::chrono::seconds(1));
  // Thread-safe. Runs `fn` on the I/O thread and waits for its result. DeadlineExceeded when
  // `fn` has not started within `wait`; it then never runs, so `fn` may capture the caller's
  // stack by reference (a command that has started is always waited for).
  Status Run(std::function<Status(Transport&, Instant now)> fn,
             Duration wait = std::chrono::seconds(10));
  // Thread-safe SendReliable: runs on the I/O thread and returns the MessageId (or the core's
  // error). The SendCompleted event follows through the handler or WaitEvent.
  Result<MessageId> SendReliable(NodeId to, ChannelId channel, std::vector<uint8_t> bytes,
                                 Strategy strategy = Strategy::kSequential);

  // Thread-safe. The next event, waiting up to `timeout`; nullopt on timeout. Only without a
  // handler.
  std::optional<Event> WaitEvent(Duration timeout);

  // Thread-safe snapshot, taken on the I/O thread.
  Result<TransportStats> Stats();
  DriverStats driver_stats() const;

  class Impl;

 private:
  explicit TransportDriver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rain::comm
