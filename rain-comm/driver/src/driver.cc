// The event loop of the TM driver: one epoll set per driver, each UDP socket registered once
// (edge-triggered), an eventfd for wakeups from other threads, and the timer as the timeout of
// epoll_pwait2 — so a wakeup costs epoll_pwait2 + recvmmsg (+ sendmmsg), with no per-wait
// epoll_ctl and no timerfd (Boost.Asio 1.74, used before, re-armed the descriptor with
// EPOLL_CTL_MOD on every async_wait and reset its timerfd twice per expiry; a syscall costs
// ≈ 1.1 µs on the project's VM). See driver.h for the thread model and
// docs/transport-driver.md.
#include "rain/comm/driver.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <variant>

#include "rain/core/log.h"
#include "rain/core/rng.h"
#include "udp_socket.h"

namespace rain::comm {

using driver_internal::OutgoingDatagram;
using driver_internal::ReceiveBatch;
using driver_internal::UdpSocket;

namespace {
// Batches of recvmmsg per readiness wakeup before other sockets and timers get a turn.
constexpr int kReceiveBatchesPerWakeup = 8;
// Rounds of (events, transmits) per pump before yielding to the event loop.
constexpr int kPumpRoundsMax = 256;
// Datagrams gathered for one socket before a sendmmsg.
constexpr size_t kSendBatch = 64;
// epoll events taken per epoll_pwait2.
constexpr int kEpollEventsMax = 16;
// The epoll tag of the wakeup eventfd (sockets are tagged with their index).
constexpr uint64_t kWakeTag = ~uint64_t{0};

// glibc refuses larger mmap thresholds (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit).
constexpr int kMmapThresholdMax = 32 << 20;

// DriverOptions::retained_free_bytes_max: applied once per process (mallopt is process-wide; the
// first driver's value wins).
void RetainFreedMemory(size_t bytes) {
  static std::once_flag once;
  if (bytes == 0) return;
  std::call_once(once, [bytes] {
    const int trim = static_cast<int>(std::min<size_t>(bytes, INT_MAX));
    if (mallopt(M_TRIM_THRESHOLD, trim) != 1 ||
        mallopt(M_MMAP_THRESHOLD, std::min(trim, kMmapThresholdMax)) != 1) {
      // Not glibc (or a sanitizer's allocator): buffers are simply returned as before.
      RAIN_LOG(kInfo, "tm-driver", "mallopt refused the buffer retention thresholds");
    }
  });
}

Status EpollControl(int epoll_fd, int op, int fd, uint32_t events, uint64_t tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  if (epoll_ctl(epoll_fd, op, fd, &ev) != 0) return IoError("epoll_ctl", errno);
  return Status::Ok();
}
}  // namespace

class TransportDriver::Impl {
 public:
  Impl(DriverOptions options, EventHandler handler, std::shared_ptr<UpperLayer> upper)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        upper_(std::move(upper)),
        drop_rng_(options_.receive_drop_seed) {}

  ~Impl() {
    Stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  Status Open() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return IoError("epoll_create1", errno);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return IoError("eventfd", errno);
    RAIN_RETURN_IF_ERROR(EpollControl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, EPOLLIN, kWakeTag));
    driver_internal::UdpSocketOptions so{.receive_buffer_bytes = options_.socket_buffer_bytes,
                                         .send_buffer_bytes = options_.socket_buffer_bytes};
    for (const Address& a : options_.transport.local_addresses) {
      RAIN_ASSIGN_OR_RETURN(std::unique_ptr<UdpSocket> udp,
                            UdpSocket::Bind(driver_internal::ToSocketAddress(a), so));
      auto s = std::make_unique<Socket>();
      s->index = sockets_.size();
      s->local = driver_internal::FromSocketAddress(udp->local());
      // Edge-triggered: every arriving datagram is an edge, so the socket is registered once
      // and never re-armed; the loop reads it until a batch comes back short.
      RAIN_RETURN_IF_ERROR(
          EpollControl(epoll_fd_, EPOLL_CTL_ADD, udp->fd(), EPOLLIN | EPOLLET, sockets_.size()));
      s->udp = std::move(udp);
      bound_.push_back(s->local);
      sockets_.push_back(std::move(s));
    }
    // The core names paths by local address: give it the bound ones (port 0 -> the real port).
    TransportOptions t = options_.transport;
    t.local_addresses = bound_;
    RAIN_ASSIGN_OR_RETURN(Transport tm, Transport::Create(std::move(t)));
    tm_.emplace(std::move(tm));
    return Status::Ok();
  }

  void StartThread() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "rain-io");
      Loop();
    });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    cv_room_.notify_all();
    if (thread_.joinable()) {
      Wake();  // the loop sees stopped_, runs the accepted commands, shuts the core down, exits
      thread_.join();
    }
    ev_cv_.notify_all();
  }

  Status Post(std::function<void(Transport&, Instant)> fn, Duration wait) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_room_.wait_for(lock, wait, [this] {
          return stopped_ || commands_.size() < options_.command_queue_max;
        })) {
      return ResourceExhaustedError("driver command queue full (" +
                                    std::to_string(options_.command_queue_max) + ")");
    }
    if (stopped_) return FailedPreconditionError("driver stopped");
    commands_.push_back(std::move(fn));
    if (!wake_posted_) {
      wake_posted_ = true;
      ++wakeups_;
      Wake();
    }
    return Status::Ok();
  }

  std::optional<Event> WaitEvent(Duration timeout) {
    std::unique_lock<std::mutex> lock(ev_mu_);
    if (!ev_cv_.wait_for(lock, timeout, [this] { return !events_.empty() || IsStopped(); })) {
      return std::nullopt;
    }
    if (events_.empty()) return std::nullopt;
    Event e = std::move(events_.front());
    events_.pop_front();
    if (reads_paused_.load() && events_.size() < options_.event_queue_max / 2 &&
        !resume_requested_.exchange(true)) {
      Wake();
    }
    return e;
  }

  DriverStats stats() const {
    DriverStats s;
    s.datagrams_received = received_.load();
    s.datagrams_sent = sent_.load();
    s.datagrams_dropped_injected = dropped_.load();
    s.receive_syscalls = receive_calls_.load();
    s.send_syscalls = send_calls_.load();
    s.send_errors = send_errors_.load();
    s.wakeups = wakeups_.load();
    s.turns = turns_.load();
    s.turns_capped = turns_capped_.load();
    s.turn_transmit_bytes_max = turn_bytes_max_.load();
    s.turn_ns_max = turn_ns_max_.load();
    s.read_pauses = read_pauses_.load();
    return s;
  }

  const std::vector<Address>& bound() const { return bound_; }

 private:
  struct Socket {
    std::unique_ptr<UdpSocket> udp;
    size_t index = 0;  // in sockets_; the socket's epoll tag
    Address local;
    std::vector<OutgoingDatagram> pending;  // waiting for sendmmsg (or for the socket to drain)
    // An edge arrived and the socket was not read empty since (a short recvmmsg batch empties
    // it): the loop reads it before it waits again.
    bool readable = true;
    bool write_waiting = false;  // EPOLLOUT is registered until the socket drains
  };

  // One I/O turn: the run of one event-loop handler. Scopes the transmit budget
  // (DriverOptions::turn_transmit_bytes_max) and records the turn's size and length.
  class Turn {
   public:
    explicit Turn(Impl& d) : d_(d), start_(MonotonicClock::now()) { d_.turn_bytes_ = 0; }
    ~Turn() {
      d_.turns_.fetch_add(1, std::memory_order_relaxed);
      const auto ns = static_cast<uint64_t>((MonotonicClock::now() - start_).count());
      if (ns > d_.turn_ns_max_.load(std::memory_order_relaxed)) d_.turn_ns_max_.store(ns);
      if (d_.turn_bytes_ > d_.turn_bytes_max_.load(std::memory_order_relaxed)) {
        d_.turn_bytes_max_.store(d_.turn_bytes_);
      }
    }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    Impl& d_;
    Instant start_;
  };

  bool TurnBudgetSpent() const { return turn_bytes_ >= options_.turn_transmit_bytes_max; }

  // Runs Pump again in a turn of its own once the event loop has served the sockets and timers
  // that are ready (at most one continuation is outstanding).
  void PostContinuation() { continuation_posted_ = true; }

  // Thread-safe: makes the loop's epoll_pwait2 return (commands, resume, stop).
  void Wake() {
    const uint64_t one = 1;
    // EAGAIN means the counter is already nonzero: the loop will wake anyway.
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  }

  bool SocketsToRead() const {
    if (reads_paused_.load()) return false;
    for (const auto& s : sockets_) {
      if (s->readable) return true;
    }
    return false;
  }

  // The I/O thread. Each iteration waits for readiness (not at all while work is pending), then
  // runs, each as its own turn: the commands, every readable socket, a socket that drained its
  // send backlog, the timer if due, and the continuation — so sockets and the timer are served
  // before a capped turn's continuation, as with a post to an event loop.
  void Loop() {
    {
      Turn turn(*this);
      Pump(MonotonicClock::now());
    }
    std::array<epoll_event, kEpollEventsMax> events;
    for (;;) {
      timespec timeout{};
      timespec* timeout_ptr = &timeout;  // zero: poll only
      if (!continuation_posted_ && !SocketsToRead()) {
        if (!deadline_) {
          timeout_ptr = nullptr;  // no timer: wait for readiness or a wakeup
        } else {
          const Duration left = *deadline_ - MonotonicClock::now();
          if (left > Duration{0}) {
            timeout.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
            timeout.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
          }
        }
      }
      const int n = epoll_pwait2(epoll_fd_, events.data(), kEpollEventsMax, timeout_ptr, nullptr);
      if (n < 0 && errno != EINTR) {
        RAIN_LOG(kError, "tm-driver", std::string("epoll_pwait2: ") + std::strerror(errno));
      }
      bool woken = false;
      for (int k = 0; k < n; ++k) {
        const uint64_t tag = events[k].data.u64;
        if (tag == kWakeTag) {
          woken = true;
          continue;
        }
        Socket& s = *sockets_[tag];
        if (events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) s.readable = true;
        if ((events[k].events & EPOLLOUT) && s.write_waiting) {
          Turn turn(*this);
          OnWritable(s);
        }
      }
      if (woken) {
        uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof(count));
        if (IsStopped()) break;
        if (resume_requested_.exchange(false)) reads_paused_.store(false);
        Turn turn(*this);
        RunCommands();
        Pump(MonotonicClock::now());
      }
      for (size_t i = 0; i < sockets_.size() && !reads_paused_.load(); ++i) {
        if (!sockets_[i]->readable) continue;
        Turn turn(*this);
        OnReadable(i);
      }
      if (deadline_ && *deadline_ <= MonotonicClock::now()) {
        Turn turn(*this);
        OnTimer();
      }
      if (continuation_posted_) {
        Turn turn(*this);
        continuation_posted_ = false;
        Pump(MonotonicClock::now());
      }
    }
    Turn turn(*this);
    Instant now = MonotonicClock::now();
    RunCommands();  // already-accepted commands still run
    tm_->Shutdown(now);
    Pump(now);
  }

  bool IsStopped() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }

  void RunCommands() {
    std::deque<std::function<void(Transport&, Instant)>> batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(commands_);
      wake_posted_ = false;
    }
    cv_room_.notify_all();
    for (auto& fn : batch) fn(*tm_, MonotonicClock::now());
  }

  // Reads up to kReceiveBatchesPerWakeup batches; the socket stays `readable` (read again before
  // the loop waits) unless a batch came back short, i.e. the socket is empty.
  void OnReadable(size_t i) {
    Socket& s = *sockets_[i];
    for (int b = 0; b < kReceiveBatchesPerWakeup; ++b) {
      Result<size_t> n = s.udp->Receive(batch_);
      receive_calls_.fetch_add(1, std::memory_order_relaxed);
      if (!n.ok()) {
        RAIN_LOG(kWarn, "tm-driver", n.status().ToString());
        s.readable = false;  // a socket error: the next datagram or error is a new edge
        break;
      }
      if (*n < ReceiveBatch::kBatchMax) s.readable = false;
      if (*n == 0) break;
      Instant now = MonotonicClock::now();
      for (size_t k = 0; k < *n; ++k) {
        if (options_.receive_drop_probability > 0 &&
            drop_rng_.Chance(options_.receive_drop_probability)) {
          dropped_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        received_.fetch_add(1, std::memory_order_relaxed);
        tm_->HandleDatagram(now, s.local, driver_internal::FromSocketAddress(batch_.from(k)),
                            batch_.bytes(k));
      }
      Pump(now);
      // A spent budget ends the turn: the loop reads the socket again after the other work.
      if (*n < ReceiveBatch::kBatchMax || TurnBudgetSpent() || reads_paused_.load()) break;
    }
  }

  Socket* SocketFor(const Address& local) {
    for (auto& s : sockets_) {
      if (s->local == local) return s.get();
    }
    // A core asking to send from an address we did not bind is a bug in the core or the config.
    return nullptr;
  }

  void Enqueue(Transmit t) {
    Socket* s = SocketFor(t.local);
    if (s == nullptr) {
      RAIN_LOG(kError, "tm-driver", "transmit from unbound address " + t.local.ToString());
      return;
    }
    driver_internal::SocketAddress to = driver_internal::ToSocketAddress(t.remote);
    size_t seg = t.segment_bytes == 0 ? t.bytes.size() : t.segment_bytes;
    if (seg >= t.bytes.size()) {
      s->pending.push_back(OutgoingDatagram{to, std::move(t.bytes)});
    } else {
      // A GSO batch: sent as separate datagrams through sendmmsg (docs/transport-driver.md
      // explains why UDP_SEGMENT is not used).
      for (size_t off = 0; off < t.bytes.size(); off += seg) {
        size_t n = std::min(seg, t.bytes.size() - off);
        s->pending.push_back(
            OutgoingDatagram{to, {t.bytes.begin() + off, t.bytes.begin() + off + n}});
      }
    }
    if (s->pending.size() >= kSendBatch && !s->write_waiting) Flush(*s);
  }

  void Flush(Socket& s) {
    if (s.pending.empty() || s.write_waiting) return;
    Result<size_t> n = s.udp->Send(s.pending);
    send_calls_.fetch_add(1, std::memory_order_relaxed);
    if (!n.ok()) {
      RAIN_LOG(kWarn, "tm-driver", n.status().ToString());
      s.pending.clear();
      return;
    }
    sent_.fetch_add(*n, std::memory_order_relaxed);
    send_errors_.store(s.udp->send_errors(), std::memory_order_relaxed);
    s.pending.erase(s.pending.begin(), s.pending.begin() + static_cast<ptrdiff_t>(*n));
    if (!s.pending.empty()) {
      // The kernel buffer is full: wait until the socket is writable, then pump again.
      s.write_waiting = true;
      SetWriteWait(s, true);
    }
  }

  // EPOLLOUT is registered only while a socket has a send backlog: on loopback every freed
  // send buffer would otherwise be an edge, i.e. a wakeup.
  void SetWriteWait(Socket& s, bool on) {
    Status st = EpollControl(epoll_fd_, EPOLL_CTL_MOD, s.udp->fd(),
                             EPOLLIN | EPOLLET | (on ? EPOLLOUT : 0u), s.index);
    if (!st.ok()) RAIN_LOG(kError, "tm-driver", st.ToString());
  }

  void OnWritable(Socket& s) {
    s.write_waiting = false;
    SetWriteWait(s, false);
    // Re-registering reports EPOLLIN again if datagrams wait; reading an empty socket is cheap.
    s.readable = true;
    Flush(s);
    Pump(MonotonicClock::now());
  }

  bool WriteBlocked() const {
    for (const auto& s : sockets_) {
      if (s->pending.size() >= options_.pending_datagrams_max) return true;
    }
    return false;
  }

  void Deliver(Instant now, Event e) {
    if (upper_) {
      upper_->HandleTransportEvent(*tm_, now, std::move(e));
      return;
    }
    if (handler_) {
      handler_(*tm_, now, std::move(e));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(ev_mu_);
      events_.push_back(std::move(e));
      if (events_.size() >= options_.event_queue_max && !reads_paused_.load()) {
        reads_paused_.store(true);
        read_pauses_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    ev_cv_.notify_one();
  }

  // Drains the core's outputs: events to the owner, transmits to the sockets; re-arms the timer.
  void Pump(Instant now) {
    for (int round = 0; round < kPumpRoundsMax; ++round) {
      bool progress = false;
      while (std::optional<Event> e = tm_->PollEvent()) {
        Deliver(now, std::move(*e));
        progress = true;
      }
      // The upper layer's outputs of this input (and of the events above) go into the Transport
      // before its transmits are drained, so they leave in the same batch.
      if (upper_ && upper_->Flush(*tm_, now)) progress = true;
      while (!WriteBlocked() && !TurnBudgetSpent()) {
        std::optional<Transmit> t = tm_->PollTransmit(now);
        if (!t) break;
        turn_bytes_ += t->bytes.size();
        Enqueue(std::move(*t));
        progress = true;
      }
      for (auto& s : sockets_) Flush(*s);
      if (TurnBudgetSpent()) {
        // The core may have more to send: let sockets (acks, the token) and timers run first.
        turns_capped_.fetch_add(1, std::memory_order_relaxed);
        PostContinuation();
        break;
      }
      if (!progress) break;
      if (round + 1 == kPumpRoundsMax) PostContinuation();  // still producing: same, by rounds
    }
    ArmTimer();
  }

  // The timer is the timeout of the loop's epoll_pwait2: setting it costs no syscall, so it is
  // always the exact next deadline of either layer.
  void ArmTimer() {
    std::optional<Instant> d = tm_->PollDeadline();
    if (upper_) {
      std::optional<Instant> u = upper_->PollDeadline();
      if (u && (!d || *u < *d)) d = u;
    }
    deadline_ = d;
  }

  void OnTimer() {
    deadline_.reset();
    Instant now = MonotonicClock::now();
    // The one timer serves both layers: each gets HandleTimeout only once its own deadline has
    // passed (the Transport tolerates early calls, but an upper layer need not).
    std::optional<Instant> td = tm_->PollDeadline();
    if (td && *td <= now) tm_->HandleTimeout(now);
    if (upper_) {
      std::optional<Instant> ud = upper_->PollDeadline();
      if (ud && *ud <= now) upper_->HandleTimeout(*tm_, now);
    }
    Pump(now);
  }

  DriverOptions options_;
  EventHandler handler_;
  std::shared_ptr<UpperLayer> upper_;  // when set, gets every event instead of handler_/queue
  std::optional<Transport> tm_;        // set by Open
  int epoll_fd_ = -1;
  int wake_fd_ = -1;                 // eventfd: commands, resume, stop
  std::optional<Instant> deadline_;  // the timer: min(Transport, upper layer) deadline
  size_t turn_bytes_ = 0;            // datagram bytes built in the current turn
  bool continuation_posted_ = false;
  std::vector<std::unique_ptr<Socket>> sockets_;
  std::vector<Address> bound_;
  ReceiveBatch batch_;
  Rng drop_rng_;
  std::thread thread_;

  std::mutex mu_;  // guards commands_, wake_posted_, stopped_
  std::condition_variable cv_room_;
  std::deque<std::function<void(Transport&, Instant)>> commands_;
  bool wake_posted_ = false;
  bool stopped_ = false;

  std::mutex ev_mu_;  // guards events_
  std::condition_variable ev_cv_;
  std::deque<Event> events_;
  std::atomic<bool> reads_paused_{false};
  std::atomic<bool> resume_requested_{false};  // WaitEvent drained the queue below half

  std::atomic<uint64_t> received_{0}, sent_{0}, dropped_{0}, receive_calls_{0}, send_calls_{0},
      send_errors_{0}, wakeups_{0}, turns_{0}, turns_capped_{0}, turn_bytes_max_{0},
      turn_ns_max_{0}, read_pauses_{0};
};

namespace {
Result<std::unique_ptr<TransportDriver::Impl>> MakeImpl(DriverOptions options,
                                                        TransportDriver::EventHandler handler,
                                                        std::shared_ptr<UpperLayer> upper) {
  if (options.transport.local_addresses.empty()) {
    return InvalidArgumentError("DriverOptions: no local address");
  }
  // Validate before any socket is opened, so a bad option is InvalidArgument, not IoError.
  RAIN_RETURN_IF_ERROR(Transport::Create(options.transport).status());
  if (options.turn_transmit_bytes_max == 0) {
    return InvalidArgumentError("DriverOptions: turn_transmit_bytes_max must be > 0");
  }
  RetainFreedMemory(options.retained_free_bytes_max);
  auto impl = std::make_unique<TransportDriver::Impl>(std::move(options), std::move(handler),
                                                      std::move(upper));
  RAIN_RETURN_IF_ERROR(impl->Open());
  impl->StartThread();
  return impl;
}
}  // namespace

Result<std::unique_ptr<TransportDriver>> TransportDriver::Start(DriverOptions options,
                                                                EventHandler handler) {
  RAIN_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl,
                        MakeImpl(std::move(options), std::move(handler), nullptr));
  return std::unique_ptr<TransportDriver>(new TransportDriver(std::move(impl)));
}

Result<std::unique_ptr<TransportDriver>> TransportDriver::Start(DriverOptions options,
                                                                std::shared_ptr<UpperLayer> upper) {
  if (upper == nullptr) return InvalidArgumentError("TransportDriver::Start: null upper layer");
  RAIN_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl,
                        MakeImpl(std::move(options), nullptr, std::move(upper)));
  return std::unique_ptr<TransportDriver>(new TransportDriver(std::move(impl)));
}

TransportDriver::TransportDriver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TransportDriver::~TransportDriver() = default;

const std::vector<Address>& TransportDriver::LocalAddresses() const { return impl_->bound(); }

Status TransportDriver::Post(std::function<void(Transport&, Instant)> fn, Duration wait) {
  return impl_->Post(std::move(fn), wait);
}

Status TransportDriver::Run(std::function<Status(Transport&, Instant)> fn, Duration wait) {
  // Callers pass lambdas that capture their stack by reference, so `fn` must never start after
  // Run returned. A command that has not started when the wait ends is abandoned (it will see
  // kAbandoned and skip `fn`); one that has started is waited for, since it finishes in one turn.
  enum : int { kPending = 0, kStarted = 1, kAbandoned = 2 };
  struct Shared {
    std::atomic<int> state{kPending};
    std::promise<Status> promise;
  };
  auto shared = std::make_shared<Shared>();
  std::future<Status> result = shared->promise.get_future();
  RAIN_RETURN_IF_ERROR(impl_->Post(
      [fn = std::move(fn), shared](Transport& t, Instant now) {
        int expected = kPending;
        if (!shared->state.compare_exchange_strong(expected, kStarted)) return;
        shared->promise.set_value(fn(t, now));
      },
      wait));
  if (result.wait_for(wait) != std::future_status::ready) {
    int expected = kPending;
    if (shared->state.compare_exchange_strong(expected, kAbandoned)) {
      return DeadlineExceededError("driver did not run the command in time");
    }
    result.wait();  // started: it runs to completion on the I/O thread
  }
  return result.get();
}

Result<MessageId> TransportDriver::SendReliable(NodeId to, ChannelId channel,
                                                std::vector<uint8_t> bytes, Strategy strategy) {
  auto promise = std::make_shared<std::promise<Result<MessageId>>>();
  std::future<Result<MessageId>> result = promise->get_future();
  auto payload = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  RAIN_RETURN_IF_ERROR(impl_->Post(
      [=](Transport& t, Instant now) {
        promise->set_value(t.SendReliable(now, to, channel, std::move(*payload), strategy));
      },
      std::chrono::seconds(10)));
  return result.get();
}

std::optional<Event> TransportDriver::WaitEvent(Duration timeout) {
  return impl_->WaitEvent(timeout);
}

Result<TransportStats> TransportDriver::Stats() {
  auto stats = std::make_shared<TransportStats>();
  RAIN_RETURN_IF_ERROR(Run([stats](Transport& t, Instant) {
    *stats = t.stats();
    return Status::Ok();
  }));
  return *stats;
}

DriverStats TransportDriver::driver_stats() const { return impl_->stats(); }

}  // namespace rain::comm
