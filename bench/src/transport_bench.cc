#include "rain/bench/transport_bench.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <thread>
#include <variant>

#include "rain/bench/report.h"
#include "rain/comm/driver.h"
#include "rain/core/log.h"

namespace rain::bench {
namespace {

using comm::Address;
using comm::ChannelId;
using comm::Event;
using comm::Transport;
using std::chrono::steady_clock;

constexpr ChannelId kSink{1};
constexpr ChannelId kEcho{2};
constexpr NodeId kClientNode{1};
constexpr NodeId kPeerNode{2};
constexpr uint8_t kFrameSink = 0, kFrameEcho = 1, kFrameSync = 2;
constexpr size_t kRttBytes = 64;
// Bytes the TM sender keeps in flight (in messages: at least 2, at most 1024).
constexpr size_t kWindowBytes = 32u << 20;
constexpr auto kJobTimeout = std::chrono::seconds(120);

comm::DriverOptions DriverFor(NodeId self, double loss_pct, uint64_t seed) {
  comm::DriverOptions o;
  o.transport.self = self;
  // Wall-clock nanoseconds: grows across restarts and reboots (the monotonic clock restarts at
  // boot), as TransportOptions::incarnation requires.
  o.transport.incarnation =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()) |
      1;
  o.transport.cluster_id = 0xbe7c;
  for (size_t i = 0; i < o.transport.cluster_key.size(); ++i) {
    o.transport.cluster_key[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  o.transport.local_addresses = {Address::Ipv4(127, 0, 0, 1, 0)};
  // Loss runs must measure throughput, not the failure detector: allow many retransmissions.
  if (loss_pct > 0) o.transport.transmissions_per_path_max = 50;
  o.receive_drop_probability = loss_pct / 100.0;
  o.receive_drop_seed = seed;
  return o;
}

Status SetupTm(Transport& t, const Address& peer, NodeId peer_node) {
  RAIN_RETURN_IF_ERROR(t.AddTarget(peer_node, std::vector<Address>{peer}));
  RAIN_RETURN_IF_ERROR(t.RegisterChannel(kSink, "bench-sink"));
  RAIN_RETURN_IF_ERROR(t.RegisterChannel(kEcho, "bench-echo"));
  return Status::Ok();
}

Result<Address> ParseAddress(const std::string& text) {
  unsigned a, b, c, d, port;
  if (std::sscanf(text.c_str(), "%u.%u.%u.%u:%u", &a, &b, &c, &d, &port) != 5) {
    return InvalidArgumentError("bad address '" + text + "'");
  }
  return Address::Ipv4(static_cast<uint8_t>(a), static_cast<uint8_t>(b), static_cast<uint8_t>(c),
                       static_cast<uint8_t>(d), static_cast<uint16_t>(port));
}

// ---- blocking TCP helpers ----

bool WriteAll(int fd, const void* p, size_t n) {
  auto* b = static_cast<const uint8_t*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    b += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, void* p, size_t n) {
  auto* b = static_cast<uint8_t*>(p);
  while (n > 0) {
    ssize_t r = ::read(fd, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    b += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool WriteFrame(int fd, uint8_t kind, const uint8_t* data, size_t n) {
  uint8_t h[5] = {static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8),
                  static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 24), kind};
  iovec iov[2] = {{h, 5}, {const_cast<uint8_t*>(data), n}};
  ssize_t w = ::writev(fd, iov, n > 0 ? 2 : 1);
  if (w < 0) return false;
  size_t done = static_cast<size_t>(w);
  if (done < 5) return WriteAll(fd, h + done, 5 - done) && WriteAll(fd, data, n);
  return WriteAll(fd, data + (done - 5), n - (done - 5));
}

void ServeTcpConnection(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::vector<uint8_t> buf;
  for (;;) {
    uint8_t h[5];
    if (!ReadAll(fd, h, 5)) break;
    size_t n = h[0] | h[1] << 8 | h[2] << 16 | static_cast<size_t>(h[3]) << 24;
    if (buf.size() < n) buf.resize(n);
    if (!ReadAll(fd, buf.data(), n)) break;
    if (h[4] == kFrameEcho && !WriteFrame(fd, kFrameEcho, buf.data(), n)) break;
    if (h[4] == kFrameSync) {
      uint8_t ack = 1;
      if (!WriteAll(fd, &ack, 1)) break;
    }
  }
  ::close(fd);
}

// ---- the peer process ----

int RunPeer(double loss_pct, uint64_t seed) {
  signal(SIGPIPE, SIG_IGN);
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      ::listen(listener, 8) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    std::perror("bench peer: tcp listen");
    return 1;
  }
  auto driver = comm::TransportDriver::Start(
      DriverFor(kPeerNode, loss_pct, seed * 2 + 1), [](Transport& t, Instant now, Event e) {
        if (auto* m = std::get_if<comm::MessageDelivered>(&e); m && m->channel == kEcho) {
          t.SendReliable(now, kClientNode, kEcho, std::move(m->bytes)).status().IgnoreError();
        }
      });
  if (!driver.ok()) {
    std::fprintf(stderr, "bench peer: %s\n", driver.status().ToString().c_str());
    return 1;
  }
  std::printf("ports %s %u\n", (*driver)->LocalAddresses()[0].ToString().c_str(),
              ntohs(sa.sin_port));
  std::fflush(stdout);
  char line[256];
  if (std::fgets(line, sizeof(line), stdin) == nullptr) return 1;
  std::string client(line);
  while (!client.empty() && (client.back() == '\n' || client.back() == '\r')) client.pop_back();
  Result<Address> client_addr = ParseAddress(client);
  if (!client_addr.ok()) return 1;
  Status s =
      (*driver)->Run([&](Transport& t, Instant) { return SetupTm(t, *client_addr, kClientNode); });
  if (!s.ok()) {
    std::fprintf(stderr, "bench peer: %s\n", s.ToString().c_str());
    return 1;
  }
  std::thread acceptor([listener] {
    for (;;) {
      int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::thread(ServeTcpConnection, fd).detach();
    }
  });
  acceptor.detach();
  // The parent closes our stdin when it is done (or dies): that is the only way to stop.
  while (std::fgets(line, sizeof(line), stdin) != nullptr) {
  }
  std::_Exit(0);  // detached TCP threads may still block in read(); nothing to flush
}

// ---- the parent side ----

struct PeerProcess {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
  Address tm;
  uint16_t tcp_port = 0;
  double loss_pct = 0;
  std::unique_ptr<comm::TransportDriver> driver;  // our TM, talking to this peer
  int tcp = -1;

  ~PeerProcess() {
    driver.reset();
    if (tcp >= 0) ::close(tcp);
    if (to_child >= 0) ::close(to_child);  // the peer exits on EOF
    if (from_child >= 0) ::close(from_child);
    if (pid > 0) {
      int st;
      for (int i = 0; i < 200 && waitpid(pid, &st, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (waitpid(pid, &st, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
      }
    }
  }
};

// A TM job runs on the driver's I/O thread; the handler forwards events to the current job.
class TmJob {
 public:
  virtual ~TmJob() = default;
  virtual void Start(Transport& t, Instant now) = 0;
  virtual void OnEvent(Transport& t, Instant now, Event& e) = 0;
  std::promise<Status> done;
};

struct JobSlot {
  TmJob* job = nullptr;  // read and written on the driver's I/O thread only
};

class ThroughputJob : public TmJob {
 public:
  ThroughputJob(size_t msg_bytes, size_t count)
      : payload_(std::make_shared<const std::vector<uint8_t>>(msg_bytes, uint8_t{0x5a})),
        count_(count),
        window_(std::clamp<size_t>(kWindowBytes / msg_bytes, 2, 1024)) {}
  void Start(Transport& t, Instant now) override {
    start_ = steady_clock::now();
    Fill(t, now);
  }
  void OnEvent(Transport& t, Instant now, Event& e) override {
    auto* c = std::get_if<comm::SendCompleted>(&e);
    if (c == nullptr || c->channel != kSink || finished_) return;
    if (c->outcome != comm::SendOutcome::kDelivered) {
      return Finish(InternalError("a TM message failed during the throughput run"));
    }
    --in_flight_;
    if (++completed_ == count_) {
      seconds_ = std::chrono::duration<double>(steady_clock::now() - start_).count();
      return Finish(Status::Ok());
    }
    Fill(t, now);
  }
  double seconds() const { return seconds_; }

 private:
  void Fill(Transport& t, Instant now) {
    while (sent_ < count_ && in_flight_ < window_) {
      Result<comm::MessageId> id = t.SendReliable(now, kPeerNode, kSink, payload_);
      if (!id.ok()) {
        if (id.status().code() == StatusCode::kResourceExhausted && in_flight_ > 0) return;
        return Finish(id.status());
      }
      ++sent_;
      ++in_flight_;
    }
  }
  void Finish(Status s) {
    if (finished_) return;
    finished_ = true;
    done.set_value(std::move(s));
  }
  std::shared_ptr<const std::vector<uint8_t>> payload_;
  size_t count_, window_;
  size_t sent_ = 0, in_flight_ = 0, completed_ = 0;
  bool finished_ = false;
  steady_clock::time_point start_;
  double seconds_ = 0;
};

class RttJob : public TmJob {
 public:
  explicit RttJob(int samples) : samples_(samples) {}
  void Start(Transport& t, Instant now) override { SendOne(t, now); }
  void OnEvent(Transport& t, Instant now, Event& e) override {
    auto* m = std::get_if<comm::MessageDelivered>(&e);
    if (m == nullptr || m->channel != kEcho || finished_) return;
    rtts_us_.push_back(
        std::chrono::duration<double, std::micro>(steady_clock::now() - sent_at_).count());
    if (static_cast<int>(rtts_us_.size()) == samples_) {
      finished_ = true;
      done.set_value(Status::Ok());
      return;
    }
    SendOne(t, now);
  }
  const std::vector<double>& rtts_us() const { return rtts_us_; }

 private:
  void SendOne(Transport& t, Instant now) {
    sent_at_ = steady_clock::now();
    Result<comm::MessageId> id =
        t.SendReliable(now, kPeerNode, kEcho, std::vector<uint8_t>(kRttBytes, 0x42));
    if (!id.ok() && !finished_) {
      finished_ = true;
      done.set_value(id.status());
    }
  }
  int samples_;
  std::vector<double> rtts_us_;
  steady_clock::time_point sent_at_;
  bool finished_ = false;
};

Status RunJob(PeerProcess& p, JobSlot& slot, TmJob& job) {
  std::future<Status> f = job.done.get_future();
  RAIN_RETURN_IF_ERROR(p.driver->Post([&slot, &job](Transport& t, Instant now) {
    slot.job = &job;
    job.Start(t, now);
  }));
  Status s = f.wait_for(kJobTimeout) == std::future_status::ready
                 ? f.get()
                 : DeadlineExceededError("TM job did not finish in time");
  // Detach the job on the I/O thread before it goes out of scope.
  Status detach = p.driver->Run([&slot](Transport&, Instant) {
    slot.job = nullptr;
    return Status::Ok();
  });
  RAIN_RETURN_IF_ERROR(detach);
  return s;
}

Result<std::unique_ptr<PeerProcess>> SpawnPeer(double loss_pct, uint64_t seed,
                                               std::shared_ptr<JobSlot> slot) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return IoError("readlink /proc/self/exe", errno);
  exe[n] = '\0';
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    return IoError("pipe", errno);
  }
  std::string loss = std::to_string(loss_pct);
  std::string seed_text = std::to_string(seed);
  pid_t pid = fork();
  if (pid < 0) return IoError("fork", errno);
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    execl(exe, exe, "bench", "transport", "--peer", "--peer-loss-pct", loss.c_str(), "--peer-seed",
          seed_text.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto p = std::make_unique<PeerProcess>();
  p->pid = pid;
  p->to_child = in_pipe[1];
  p->from_child = out_pipe[0];
  p->loss_pct = loss_pct;
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);

  std::string line;
  char c;
  while (::read(p->from_child, &c, 1) == 1 && c != '\n') line.push_back(c);
  char tm_text[128];
  unsigned tcp_port = 0;
  if (std::sscanf(line.c_str(), "ports %127s %u", tm_text, &tcp_port) != 2) {
    return InternalError("bench peer did not start (said '" + line + "')");
  }
  RAIN_ASSIGN_OR_RETURN(p->tm, ParseAddress(tm_text));
  p->tcp_port = static_cast<uint16_t>(tcp_port);

  RAIN_ASSIGN_OR_RETURN(p->driver,
                        comm::TransportDriver::Start(DriverFor(kClientNode, loss_pct, seed * 2),
                                                     [slot](Transport& t, Instant now, Event e) {
                                                       if (slot->job) slot->job->OnEvent(t, now, e);
                                                     }));
  std::string mine = p->driver->LocalAddresses()[0].ToString() + "\n";
  if (!WriteAll(p->to_child, mine.data(), mine.size())) return IoError("write to peer", errno);
  Address peer_tm = p->tm;
  RAIN_RETURN_IF_ERROR(
      p->driver->Run([peer_tm](Transport& t, Instant) { return SetupTm(t, peer_tm, kPeerNode); }));

  p->tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(p->tcp_port);
  if (::connect(p->tcp, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return IoError("connect to bench peer", errno);
  }
  int one = 1;
  setsockopt(p->tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return p;
}

Result<double> TcpThroughput(int fd, size_t msg_bytes, size_t count) {
  static std::vector<uint8_t> payload;
  if (payload.size() < msg_bytes) payload.assign(msg_bytes, 0x5a);
  auto start = steady_clock::now();
  for (size_t i = 0; i < count; ++i) {
    if (!WriteFrame(fd, kFrameSink, payload.data(), msg_bytes)) return IoError("tcp write", errno);
  }
  uint8_t ack;
  if (!WriteFrame(fd, kFrameSync, nullptr, 0) || !ReadAll(fd, &ack, 1)) {
    return IoError("tcp sync", errno);
  }
  return std::chrono::duration<double>(steady_clock::now() - start).count();
}

Result<std::vector<double>> TcpRtt(int fd, int samples) {
  std::vector<uint8_t> msg(kRttBytes, 0x42), back(kRttBytes + 5);
  std::vector<double> out;
  for (int i = 0; i < samples; ++i) {
    auto t0 = steady_clock::now();
    if (!WriteFrame(fd, kFrameEcho, msg.data(), msg.size()) ||
        !ReadAll(fd, back.data(), back.size())) {
      return IoError("tcp echo", errno);
    }
    out.push_back(std::chrono::duration<double, std::micro>(steady_clock::now() - t0).count());
  }
  return out;
}

// The sender's counters before and after a TM row (TransportBenchOptions::stats).
struct StatsSnapshot {
  comm::TransportStats tm;
  comm::DriverStats driver;
  std::vector<comm::LinkStatus> links;
};

Result<StatsSnapshot> Snapshot(PeerProcess& p) {
  auto s = std::make_shared<StatsSnapshot>();
  RAIN_RETURN_IF_ERROR(p.driver->Run([s](Transport& t, Instant) {
    s->tm = t.stats();
    s->links = t.Links(kPeerNode);
    return Status::Ok();
  }));
  s->driver = p.driver->driver_stats();
  return *s;
}

void PrintStatsDelta(std::FILE* out, const std::string& row, const StatsSnapshot& a,
                     const StatsSnapshot& b) {
  std::fprintf(
      out,
      "  %s: packets sent %llu lost %llu retransmitted %llu, rto %llu, probes %llu, "
      "flow-blocked %llu; datagrams sent %llu received %llu, send syscalls %llu, receive "
      "syscalls %llu, wakeups %llu\n",
      row.c_str(), static_cast<unsigned long long>(b.tm.packets_sent - a.tm.packets_sent),
      static_cast<unsigned long long>(b.tm.packets_lost - a.tm.packets_lost),
      static_cast<unsigned long long>(b.tm.packets_retransmitted - a.tm.packets_retransmitted),
      static_cast<unsigned long long>(b.tm.rto_expirations - a.tm.rto_expirations),
      static_cast<unsigned long long>(b.tm.probe_timeouts - a.tm.probe_timeouts),
      static_cast<unsigned long long>(b.tm.flow_control_blocked - a.tm.flow_control_blocked),
      static_cast<unsigned long long>(b.driver.datagrams_sent - a.driver.datagrams_sent),
      static_cast<unsigned long long>(b.driver.datagrams_received - a.driver.datagrams_received),
      static_cast<unsigned long long>(b.driver.send_syscalls - a.driver.send_syscalls),
      static_cast<unsigned long long>(b.driver.receive_syscalls - a.driver.receive_syscalls),
      static_cast<unsigned long long>(b.driver.wakeups - a.driver.wakeups));
  for (const comm::LinkStatus& l : b.links) {
    std::fprintf(out, "    path %s: cwnd %llu bytes, srtt %.0f us\n",
                 l.path.remote.ToString().c_str(), static_cast<unsigned long long>(l.cwnd_bytes),
                 static_cast<double>(l.srtt_ns) / 1e3);
  }
}

size_t CountFor(size_t msg_bytes, size_t bytes_per_row) {
  return std::max<size_t>(4, bytes_per_row / msg_bytes);
}

}  // namespace

Result<TransportBenchReport> RunTransportBench(const TransportBenchOptions& o,
                                               std::FILE* progress) {
  signal(SIGPIPE, SIG_IGN);
  TransportBenchOptions opt = o;
  if (opt.quick) {
    opt.bytes_per_row = 16u << 20;
    opt.rtt_samples = 200;
  }
  std::vector<double> levels = {0};
  for (double l : opt.loss_pcts) {
    if (l > 0) levels.push_back(l);
  }
  auto slot = std::make_shared<JobSlot>();
  std::vector<std::unique_ptr<PeerProcess>> peers;
  for (size_t i = 0; i < levels.size(); ++i) {
    RAIN_ASSIGN_OR_RETURN(auto p, SpawnPeer(levels[i], 1000 + i, slot));
    peers.push_back(std::move(p));
  }
  PeerProcess& clean = *peers[0];

  // Row keys in output order, with their samples.
  struct Acc {
    TransportBenchRow row;
    bool rtt = false;
    std::vector<double> mbps, p50, p99;
  };
  std::vector<Acc> acc;
  for (size_t s : opt.sizes) {
    acc.push_back({{.transport = "tm", .msg_bytes = s}});
    if (opt.tcp) acc.push_back({{.transport = "tcp", .msg_bytes = s}});
  }
  if (opt.rtt_samples > 0) {
    acc.push_back({{.transport = "tm", .msg_bytes = kRttBytes}, true});
    if (opt.tcp) acc.push_back({{.transport = "tcp", .msg_bytes = kRttBytes}, true});
  }
  for (size_t i = 1; i < levels.size(); ++i) {
    acc.push_back({{.transport = "tm", .msg_bytes = opt.loss_msg_bytes, .loss_pct = levels[i]}});
  }

  // Warm-up: one message each way so that paths, RTT estimates and TCP buffers exist.
  for (auto& p : peers) {
    ThroughputJob warm(64 << 10, 16);
    RAIN_RETURN_IF_ERROR(RunJob(*p, *slot, warm).WithContext("warm-up"));
  }
  RAIN_RETURN_IF_ERROR(TcpThroughput(clean.tcp, 64 << 10, 16).status());

  for (int rep = 0; rep < opt.reps; ++rep) {
    std::fprintf(progress, "rain bench transport: repetition %d/%d\n", rep + 1, opt.reps);
    for (Acc& a : acc) {
      const TransportBenchRow& r = a.row;
      if (a.rtt) {
        std::vector<double> us;
        if (r.transport == "tm") {
          RttJob job(opt.rtt_samples);
          RAIN_RETURN_IF_ERROR(RunJob(clean, *slot, job).WithContext("tm rtt"));
          us = job.rtts_us();
        } else {
          RAIN_ASSIGN_OR_RETURN(us, TcpRtt(clean.tcp, opt.rtt_samples));
        }
        a.p50.push_back(Percentile(us, 50));
        a.p99.push_back(Percentile(us, 99));
        continue;
      }
      size_t count = CountFor(r.msg_bytes, opt.bytes_per_row);
      // Loss rows carry as many bytes as the loss-free row they are compared with: at a quarter
      // (32 MiB, ~10 ms loss-free) their start and last recoveries dominated and the 5 % ratio
      // sat at 0.46-0.55x on a quiet machine, 0.75-0.94x with the full row (2026-12-03).
      double secs;
      if (r.transport == "tm") {
        PeerProcess* p = nullptr;
        for (auto& q : peers) {
          if (q->loss_pct == r.loss_pct) p = q.get();
        }
        const std::string name =
            "tm " + std::to_string(r.msg_bytes) + " B, loss " + FormatFixed(r.loss_pct, 0);
        StatsSnapshot before;
        if (opt.stats) {
          RAIN_ASSIGN_OR_RETURN(before, Snapshot(*p));
        }
        ThroughputJob job(r.msg_bytes, count);
        RAIN_RETURN_IF_ERROR(RunJob(*p, *slot, job).WithContext(name));
        secs = job.seconds();
        if (opt.stats) {
          RAIN_ASSIGN_OR_RETURN(StatsSnapshot after, Snapshot(*p));
          PrintStatsDelta(progress, name, before, after);
        }
      } else {
        RAIN_ASSIGN_OR_RETURN(secs, TcpThroughput(clean.tcp, r.msg_bytes, count));
      }
      a.mbps.push_back(static_cast<double>(r.msg_bytes * count) / secs / 1e6);
    }
  }

  TransportBenchReport report;
  report.machine = MachineDescription();
  report.reps = opt.reps;
  for (Acc& a : acc) {
    TransportBenchRow r = a.row;
    if (!a.mbps.empty()) r.mb_per_s = Median(a.mbps);
    if (!a.p50.empty()) {
      r.rtt_us_p50 = Median(a.p50);
      r.rtt_us_p99 = Median(a.p99);
    }
    report.rows.push_back(r);
  }
  return report;
}

std::string FormatTransportTable(const TransportBenchReport& report) {
  Table t;
  t.AddColumn("transport", Table::Align::kLeft);
  t.AddColumn("msg bytes", Table::Align::kRight);
  t.AddColumn("loss %", Table::Align::kRight);
  t.AddColumn("MB/s", Table::Align::kRight);
  t.AddColumn("ratio", Table::Align::kRight);
  t.AddColumn("RTT p50 us", Table::Align::kRight);
  t.AddColumn("RTT p99 us", Table::Align::kRight);
  auto find = [&](const std::string& transport, size_t bytes) -> const TransportBenchRow* {
    for (const auto& r : report.rows) {
      if (r.transport == transport && r.msg_bytes == bytes && r.loss_pct == 0) return &r;
    }
    return nullptr;
  };
  auto opt = [](const std::optional<double>& v, int d) { return v ? FormatFixed(*v, d) : "-"; };
  for (const auto& r : report.rows) {
    // TM rows: against TCP at the same size; loss rows: against TM without loss.
    std::string ratio = "-";
    const TransportBenchRow* base =
        r.transport != "tm" ? nullptr : find(r.loss_pct > 0 ? "tm" : "tcp", r.msg_bytes);
    if (base != nullptr && r.mb_per_s && base->mb_per_s) {
      ratio = FormatFixed(*r.mb_per_s / *base->mb_per_s, 2) + "x";
    }
    if (base != nullptr && r.rtt_us_p50 && base->rtt_us_p50) {
      ratio = FormatFixed(*r.rtt_us_p50 / *base->rtt_us_p50, 2) + "x";
    }
    t.AddRow({r.transport, std::to_string(r.msg_bytes), FormatFixed(r.loss_pct, 0),
              opt(r.mb_per_s, 1), ratio, opt(r.rtt_us_p50, 1), opt(r.rtt_us_p99, 1)});
  }
  return "rain bench transport: " + report.machine + ", " + std::to_string(report.reps) +
         " interleaved repetitions (median); ratio: tm vs tcp, loss rows vs tm at 0 %\n" +
         t.Render();
}

nlohmann::ordered_json TransportBenchJson(const TransportBenchReport& report) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  auto opt = [](const std::optional<double>& v) -> nlohmann::ordered_json {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
  };
  for (const auto& r : report.rows) {
    rows.push_back({{"transport", r.transport},
                    {"msg_bytes", r.msg_bytes},
                    {"loss_pct", r.loss_pct},
                    {"mb_per_s", opt(r.mb_per_s)},
                    {"rtt_us_p50", opt(r.rtt_us_p50)},
                    {"rtt_us_p99", opt(r.rtt_us_p99)}});
  }
  nlohmann::ordered_json doc;
  doc["rows"] = rows;
  return doc;
}

void AddTransportBenchCommand(CLI::App& bench, int* exit_status) {
  struct Flags {
    TransportBenchOptions options;
    bool json = false;
    bool peer = false;
    double peer_loss_pct = 0;
    uint64_t peer_seed = 1;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = bench.add_subcommand(
      "transport",
      "TM (reliable UDP) vs TCP between two processes on loopback: throughput for 1 KiB..16 MiB "
      "messages, 64-byte RTT p50/p99, TM throughput with 1 % and 5 % injected loss");
  cmd->add_flag("--json", flags->json, "Print one JSON object {\"rows\": [...]} and nothing else");
  cmd->add_option("--reps", flags->options.reps, "Interleaved repetitions (default 5)")
      ->check(CLI::Range(1, 100));
  cmd->add_flag("--quick", flags->options.quick, "Smoke run: fewer bytes and samples per row");
  // Row selection, for profiling one row (`perf record -a -- rain bench transport --sizes ...`).
  cmd->add_option("--sizes", flags->options.sizes,
                  "Throughput message sizes in bytes (default 1024,65536,1048576,16777216)")
      ->delimiter(',');
  cmd->add_option("--loss-pcts", flags->options.loss_pcts,
                  "Injected loss levels for the 1 MiB loss rows (default 1,5; 0: none)")
      ->delimiter(',');
  cmd->add_option("--rtt-samples", flags->options.rtt_samples,
                  "64-byte round trips per repetition (default 2000; 0: no RTT rows)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_flag(
      "--tm-only", [flags](int64_t) { flags->options.tcp = false; },
      "Only TM rows (no TCP baseline; ratios need it)");
  cmd->add_flag("--stats", flags->options.stats,
                "Print the sender's TM and driver counters per TM row to stderr");
  // The hidden peer mode: `rain bench transport` execs itself with these.
  cmd->add_flag("--peer", flags->peer)->group("");
  cmd->add_option("--peer-loss-pct", flags->peer_loss_pct)->group("");
  cmd->add_option("--peer-seed", flags->peer_seed)->group("");
  cmd->callback([flags, exit_status] {
    if (flags->peer) {
      *exit_status = RunPeer(flags->peer_loss_pct, flags->peer_seed);
      return;
    }
    auto report = RunTransportBench(flags->options, stderr);
    if (!report.ok()) {
      std::fprintf(stderr, "rain bench transport: %s\n", report.status().ToString().c_str());
      *exit_status = 1;
      return;
    }
    if (flags->json) {
      // Not WriteJson: that takes nlohmann::json, which would sort the keys.
      std::string text = TransportBenchJson(*report).dump();
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    } else {
      std::fputs(FormatTransportTable(*report).c_str(), stdout);
    }
  });
}

}  // namespace rain::bench
