// tm_peer: one TM node on real UDP sockets (rain::comm_driver), for the integration tests in this
// folder. Two tm_peer processes exchange checksummed messages and check, byte-exact, that none
// is lost, duplicated, reordered or corrupted.
//
// Protocol between the two (all over the TM, channel 1 data, channel 2 control):
//  - each peer binds its --local addresses (port 0 allowed), writes "addr <a,b>" to its --status
//    file, and waits for the other's "addr" line in --peer-status (no fixed ports, no sleeps);
//  - it sends --send messages, seq 1..N, sizes cycling through --sizes, at most --window in
//    flight; payload: seq, size, CRC32C and deterministic bytes (messages shorter than the header
//    are the first bytes of the deterministic content and are checked against the expected seq);
//  - when every message has an outcome (or --stop-file appears and the in-flight ones completed),
//    it sends FIN carrying its count and the seqs reported failed; the receiver checks that the
//    seqs it did not get are all among them;
//  - done when its FIN was delivered and the peer's FIN was checked. Exit 0 iff no violation.
// Status lines (appended, flushed): addr, progress, failed, reachable, link, violation, done.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "rain/comm/driver.h"
#include "rain/core/codec.h"
#include "rain/core/crc32c.h"
#include "rain/core/rng.h"

namespace {

using namespace rain;
using namespace rain::comm;
using std::chrono::milliseconds;

constexpr ChannelId kData{1};
constexpr ChannelId kControl{2};
constexpr size_t kHeaderBytes = 8 + 4 + 4;  // seq, size, crc of the body
// Pauses between two deliveries at least this long are reported ("gap" status lines).
constexpr int64_t kGapReportMs = 30;

struct Config {
  uint32_t node = 1;
  uint32_t peer_node = 2;
  std::string local;
  std::string status;
  std::string peer_status;
  std::string stop_file;
  uint64_t send = 0;
  std::string sizes = "1,100,1400,1401,65536,1048576,16777216";
  uint32_t window = 8;
  uint64_t seed = 1;
  bool parallel = false;
  double duration_max_s = 120;
  int rto_initial_ms = 200;
  int rto_max_ms = 1000;
  uint32_t transmissions_per_path = 3;
  int ping_ms = 100;
  double drop = 0;
};

// The bytes of message `seq` from `node`, computable at both ends (--seed only seeds the loss
// injection, which differs per process).
std::vector<uint8_t> Content(uint32_t node, uint64_t seq, size_t n) {
  std::vector<uint8_t> out(n);
  Rng rng(node * 1000003ULL + seq);
  rng.Fill(out);
  return out;
}

std::vector<Address> ParseAddresses(const std::string& list) {
  std::vector<Address> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t colon = item.rfind(':');
    unsigned a, b, c, d, port;
    if (colon == std::string::npos ||
        std::sscanf(item.c_str(), "%u.%u.%u.%u:%u", &a, &b, &c, &d, &port) != 5) {
      std::fprintf(stderr, "tm_peer: bad address '%s' (want a.b.c.d:port)\n", item.c_str());
      std::exit(2);
    }
    out.push_back(Address::Ipv4(static_cast<uint8_t>(a), static_cast<uint8_t>(b),
                                static_cast<uint8_t>(c), static_cast<uint8_t>(d),
                                static_cast<uint16_t>(port)));
  }
  return out;
}

class StatusFile {
 public:
  explicit StatusFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      std::perror("tm_peer: status file");
      std::exit(2);
    }
  }
  ~StatusFile() { ::close(fd_); }
  void Line(const std::string& s) {
    std::string l = s + "\n";
    // One write per line: readers (the test scripts) never see half a line.
    if (::write(fd_, l.data(), l.size()) < 0) std::perror("tm_peer: write status");
  }

 private:
  int fd_;
};

class Peer {
 public:
  Peer(const Config& c, StatusFile* status) : c_(c), status_(status) {
    std::stringstream ss(c.sizes);
    std::string item;
    while (std::getline(ss, item, ',')) sizes_.push_back(std::stoull(item));
    start_ = std::chrono::steady_clock::now();
  }

  size_t SizeOf(uint64_t seq) const { return sizes_[(seq - 1) % sizes_.size()]; }

  std::vector<uint8_t> Payload(uint64_t seq) const {
    size_t n = SizeOf(seq);
    if (n < kHeaderBytes) return Content(c_.node, seq, n);
    std::vector<uint8_t> body = Content(c_.node, seq, n - kHeaderBytes);
    Writer w(n);
    w.U64(seq);
    w.U32(static_cast<uint32_t>(n));
    w.U32(Crc32c(body));
    w.Bytes(body);
    return w.Take();
  }

  // --- all below runs on the driver's I/O thread ---

  void Pump(Transport& t, Instant now) {
    bool stop = !c_.stop_file.empty() && ::access(c_.stop_file.c_str(), F_OK) == 0;
    while (!stop && next_seq_ <= c_.send && in_flight_.size() < c_.window) {
      uint64_t seq = next_seq_;
      Result<MessageId> id =
          t.SendReliable(now, NodeId{c_.peer_node}, kData, Payload(seq),
                         c_.parallel ? Strategy::kParallel : Strategy::kSequential);
      if (!id.ok()) {
        if (id.status().code() == StatusCode::kResourceExhausted) break;
        Violation("SendReliable: " + id.status().ToString());
        return;
      }
      in_flight_[ToInt(*id)] = seq;
      ++next_seq_;
    }
    bool sending_over = next_seq_ > c_.send || stop;
    if (sending_over && in_flight_.empty() && !fin_sent_) {
      Writer w;
      w.U64(next_seq_ - 1);
      w.U32(static_cast<uint32_t>(failed_.size()));
      for (uint64_t s : failed_) w.U64(s);
      Result<MessageId> id = t.SendReliable(now, NodeId{c_.peer_node}, kControl, w.Take());
      if (id.ok()) {
        fin_sent_ = true;
        fin_id_ = ToInt(*id);
      }
    }
  }

  void OnEvent(Transport& t, Instant now, Event e) {
    if (auto* m = std::get_if<MessageDelivered>(&e)) {
      if (m->channel == kData) {
        OnData(*m);
      } else {
        OnFin(*m);
      }
    } else if (auto* c = std::get_if<SendCompleted>(&e)) {
      uint64_t id = ToInt(c->id);
      if (fin_sent_ && id == fin_id_) {
        if (c->outcome == SendOutcome::kDelivered) {
          fin_delivered_ = true;
        } else {
          fin_sent_ = false;  // send FIN again
        }
      } else {
        auto it = in_flight_.find(id);
        if (it == in_flight_.end()) {
          Violation("SendCompleted for an unknown id " + std::to_string(id));
        } else {
          if (c->outcome == SendOutcome::kDelivered) {
            ++delivered_;
          } else {
            failed_.push_back(it->second);
            status_->Line("failed seq=" + std::to_string(it->second) + " t_ms=" + Ms());
          }
          in_flight_.erase(it);
        }
      }
    } else if (auto* r = std::get_if<PeerReachability>(&e)) {
      status_->Line(std::string("reachable ") + (r->reachable ? "1" : "0") + " t_ms=" + Ms());
    } else if (auto* l = std::get_if<LinkChanged>(&e)) {
      status_->Line("link " + l->local.ToString() + " " + (l->up ? "up" : "down") +
                    " t_ms=" + Ms());
    }
    Pump(t, now);
    Progress(t);
    CheckDone();
  }

  bool done() const { return done_.load(); }
  bool ok() const { return violations_ == 0; }
  std::string Summary() const {
    return "sent=" + std::to_string(next_seq_ - 1) + " delivered=" + std::to_string(delivered_) +
           " failed=" + std::to_string(failed_.size()) + " received=" + std::to_string(received_) +
           " received_bytes=" + std::to_string(received_bytes_) +
           " max_gap_ms=" + std::to_string(max_gap_ms_);
  }

 private:
  std::string Ms() const {
    return std::to_string(
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start_)
            .count());
  }

  void Violation(const std::string& what) {
    ++violations_;
    status_->Line("violation " + what);
    std::fprintf(stderr, "tm_peer n%u: VIOLATION %s\n", c_.node, what.c_str());
  }

  void OnData(const MessageDelivered& m) {
    auto now = std::chrono::steady_clock::now();
    if (received_ > 0) {
      int64_t gap = std::chrono::duration_cast<milliseconds>(now - last_receive_).count();
      max_gap_ms_ = std::max(max_gap_ms_, gap);
      if (gap >= kGapReportMs) {
        // Wall-clock end of the pause, so a test script can relate it to when it cut a link.
        int64_t unix_ms = std::chrono::duration_cast<milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
        status_->Line("gap ms=" + std::to_string(gap) + " end_unix_ms=" + std::to_string(unix_ms));
      }
    }
    last_receive_ = now;
    uint64_t seq;
    const std::vector<uint8_t>& b = m.bytes;
    if (b.size() < kHeaderBytes) {
      // Too short to carry a header: it must be exactly the next expected message.
      seq = last_seq_ + 1;
      if (b != Content(c_.peer_node, seq, b.size()) || SizeOf(seq) != b.size()) {
        return Violation("short message (" + std::to_string(b.size()) + " B) is not seq " +
                         std::to_string(seq));
      }
    } else {
      Reader r(b);
      seq = r.U64("seq");
      uint32_t size = r.U32("size");
      uint32_t crc = r.U32("crc");
      std::span<const uint8_t> body = r.Bytes(b.size() - kHeaderBytes, "body");
      if (!r.ok() || size != b.size() || SizeOf(seq) != size || Crc32c(body) != crc) {
        return Violation("message not whole: " + std::to_string(b.size()) + " bytes, seq " +
                         std::to_string(seq));
      }
    }
    if (seq <= last_seq_) {
      return Violation("seq " + std::to_string(seq) + " after " + std::to_string(last_seq_) +
                       " (duplicate or out of order)");
    }
    for (uint64_t s = last_seq_ + 1; s < seq; ++s) missing_.insert(s);
    last_seq_ = seq;
    ++received_;
    received_bytes_ += b.size();
  }

  void OnFin(const MessageDelivered& m) {
    Reader r(m.bytes);
    uint64_t count = r.U64("count");
    uint32_t nfailed = r.U32("failed");
    std::set<uint64_t> failed;
    for (uint32_t i = 0; i < nfailed && r.ok(); ++i) failed.insert(r.U64("seq"));
    if (!r.ok()) return Violation("bad FIN: " + r.status().ToString());
    if (peer_fin_) return Violation("FIN delivered twice");
    peer_fin_ = true;
    for (uint64_t s = last_seq_ + 1; s <= count; ++s) missing_.insert(s);
    for (uint64_t s : missing_) {
      if (failed.count(s) == 0) {
        return Violation("seq " + std::to_string(s) +
                         " never arrived but the sender did not report it failed");
      }
    }
    status_->Line("peer-fin count=" + std::to_string(count) + " failed=" + std::to_string(nfailed) +
                  " missing=" + std::to_string(missing_.size()));
  }

  void Progress(const Transport& t) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ < milliseconds(100)) return;
    last_progress_ = now;
    // The RTO of each path (ms), so a script can express a failover pause in RTOs.
    std::string rto;
    for (const LinkStatus& l : t.Links(NodeId{c_.peer_node})) {
      rto += (rto.empty() ? "" : ",") + std::to_string(l.rto_ns / 1000000);
    }
    status_->Line("progress " + Summary() + " t_ms=" + Ms() + " rto_ms=" + rto);
  }

  void CheckDone() {
    if (done_.load() || !fin_delivered_ || !peer_fin_) return;
    status_->Line("progress " + Summary() + " t_ms=" + Ms());
    status_->Line(std::string("done ") + (violations_ == 0 ? "ok " : "error ") + Summary());
    done_.store(true);
  }

  Config c_;
  StatusFile* status_;
  std::vector<size_t> sizes_;
  std::chrono::steady_clock::time_point start_, last_progress_{}, last_receive_{};
  uint64_t next_seq_ = 1;
  std::map<uint64_t, uint64_t> in_flight_;  // MessageId -> seq
  std::vector<uint64_t> failed_;
  uint64_t delivered_ = 0;
  bool fin_sent_ = false;
  bool fin_delivered_ = false;
  uint64_t fin_id_ = 0;
  bool peer_fin_ = false;
  uint64_t last_seq_ = 0;
  uint64_t received_ = 0;
  uint64_t received_bytes_ = 0;
  int64_t max_gap_ms_ = 0;
  std::set<uint64_t> missing_;
  int violations_ = 0;
  std::atomic<bool> done_{false};
};

// Waits for an "addr <list>" line in `path`, up to `deadline`.
std::string WaitPeerAddress(const std::string& path,
                            std::chrono::steady_clock::time_point deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("addr ", 0) == 0) return line.substr(5);
    }
    // Polling a file the other process writes: the wait is bounded by `deadline`.
    std::this_thread::sleep_for(milliseconds(20));
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"tm_peer: one TM node on real UDP sockets, for the integration tests"};
  app.add_option("--node", c.node)->required();
  app.add_option("--peer-node", c.peer_node)->required();
  app.add_option("--local", c.local, "a.b.c.d:port[,...] (port 0: any)")->required();
  app.add_option("--status", c.status)->required();
  app.add_option("--peer-status", c.peer_status, "the peer's status file")->required();
  app.add_option("--stop-file", c.stop_file, "stop sending new messages when this exists");
  app.add_option("--send", c.send);
  app.add_option("--sizes", c.sizes);
  app.add_option("--window", c.window);
  app.add_option("--seed", c.seed);
  app.add_flag("--parallel", c.parallel);
  app.add_option("--duration-max", c.duration_max_s, "seconds");
  app.add_option("--rto-initial-ms", c.rto_initial_ms);
  app.add_option("--rto-max-ms", c.rto_max_ms);
  app.add_option("--transmissions-per-path", c.transmissions_per_path);
  app.add_option("--ping-ms", c.ping_ms);
  app.add_option("--drop", c.drop, "drop this fraction of received datagrams (seeded)");
  CLI11_PARSE(app, argc, argv);

  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(c.duration_max_s * 1000));
  StatusFile status(c.status);
  Peer peer(c, &status);

  DriverOptions o;
  o.transport.self = NodeId{c.node};
  // Wall-clock nanoseconds: grows across restarts and reboots (the monotonic clock restarts at
  // boot), as TransportOptions::incarnation requires.
  o.transport.incarnation =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()) |
      1;
  o.transport.cluster_id = 0x7e57;
  for (size_t i = 0; i < o.transport.cluster_key.size(); ++i) {
    o.transport.cluster_key[i] = static_cast<uint8_t>(0xa5 ^ i);
  }
  o.transport.local_addresses = ParseAddresses(c.local);
  o.transport.rto_initial = milliseconds(c.rto_initial_ms);
  o.transport.rto_max = milliseconds(c.rto_max_ms);
  o.transport.transmissions_per_path_max = c.transmissions_per_path;
  o.transport.ping_interval = milliseconds(c.ping_ms);
  o.receive_drop_probability = c.drop;
  o.receive_drop_seed = c.seed * 31 + c.node;

  Result<std::unique_ptr<TransportDriver>> d = TransportDriver::Start(
      o, [&peer](Transport& t, Instant now, Event e) { peer.OnEvent(t, now, std::move(e)); });
  if (!d.ok()) {
    std::fprintf(stderr, "tm_peer: %s\n", d.status().ToString().c_str());
    return 2;
  }
  TransportDriver& driver = **d;
  std::string mine;
  for (const Address& a : driver.LocalAddresses()) mine += (mine.empty() ? "" : ",") + a.ToString();
  status.Line("addr " + mine);

  std::string theirs = WaitPeerAddress(c.peer_status, deadline);
  if (theirs.empty()) {
    status.Line("done error: the peer never wrote its address");
    return 1;
  }
  Status s = driver.Run([&](Transport& t, Instant now) -> Status {
    RAIN_RETURN_IF_ERROR(t.AddTarget(NodeId{c.peer_node}, ParseAddresses(theirs)));
    RAIN_RETURN_IF_ERROR(t.RegisterChannel(kData, "data"));
    RAIN_RETURN_IF_ERROR(t.RegisterChannel(kControl, "control"));
    peer.Pump(t, now);
    return Status::Ok();
  });
  if (!s.ok()) {
    status.Line("done error: " + s.ToString());
    return 1;
  }
  // The stop file is only seen on events; poke the I/O thread periodically so a sender that is
  // idle (everything failed, link down) still notices it. Bounded by the deadline.
  while (!peer.done() && std::chrono::steady_clock::now() < deadline) {
    driver.Post([&peer](Transport& t, Instant now) { peer.Pump(t, now); }).IgnoreError();
    std::this_thread::sleep_for(milliseconds(50));
  }
  bool finished = peer.done();
  if (finished) {
    // Linger until the peer is done too: it may still need our acknowledgement of its FIN.
    auto linger_end =
        std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(10));
    while (std::chrono::steady_clock::now() < linger_end) {
      std::ifstream in(c.peer_status);
      std::string line;
      bool peer_done = false;
      while (std::getline(in, line)) peer_done |= line.rfind("done", 0) == 0;
      if (peer_done) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  d->reset();  // stop the driver (and its thread) before reading the peer's counters
  bool ok = finished && peer.ok();
  if (!finished) status.Line("done error: deadline passed " + peer.Summary());
  std::fprintf(stderr, "tm_peer n%u: %s %s\n", c.node, ok ? "ok" : "FAILED",
               peer.Summary().c_str());
  return ok ? 0 : 1;
}
