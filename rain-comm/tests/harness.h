// A deterministic two-or-more-node harness for TM unit tests: Transports exchange datagrams
// through an in-memory network with a virtual clock, seeded loss, duplication, latency jitter
// and per-path cuts. No sockets, no sleeps, no wall clock.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "rain/comm/transport.h"
#include "rain/core/rng.h"

namespace rain::comm::testing {

inline uint64_t TestSeed(uint64_t fallback) {
  if (const char* s = std::getenv("RAIN_SEED")) return std::strtoull(s, nullptr, 10);
  return fallback;
}

inline std::array<uint8_t, 32> TestKey(uint8_t fill = 7) {
  std::array<uint8_t, 32> k;
  k.fill(fill);
  return k;
}

// Node i's path-k address: 10.k.0.i:7000 (Ethernet-sized packets), or 127.0.0.1:(7000 + 16i + k)
// when loopback.
inline Address NodeAddress(int node, int path, bool loopback) {
  if (loopback) return Address::Ipv4(127, 0, 0, 1, static_cast<uint16_t>(7000 + 16 * node + path));
  return Address::Ipv4(10, static_cast<uint8_t>(path), 0, static_cast<uint8_t>(node), 7000);
}

struct Datagram {
  int to;
  Address local;   // the receiver's address
  Address remote;  // the sender's address
  std::vector<uint8_t> bytes;
};

class Network {
 public:
  struct Options {
    int nodes = 2;
    int paths = 1;
    bool loopback = false;
    uint64_t seed = 1;
    std::function<void(TransportOptions&)> tweak;
  };

  explicit Network(Options o) : o_(o), rng_(o.seed) {
    for (int i = 1; i <= o.nodes; ++i) Start(i, 1);
  }

  // (Re)starts node i with `incarnation`; it knows every other node.
  void Start(int i, uint64_t incarnation) {
    TransportOptions t{.self = NodeId{static_cast<uint32_t>(i)},
                       .incarnation = incarnation,
                       .cluster_id = 42,
                       .cluster_key = TestKey()};
    for (int k = 0; k < o_.paths; ++k) t.local_addresses.push_back(NodeAddress(i, k, o_.loopback));
    if (o_.tweak) o_.tweak(t);
    auto created = Transport::Create(t);
    RAIN_CHECK(created.ok(), created.status().ToString().c_str());
    if (nodes_.size() < static_cast<size_t>(i + 1)) nodes_.resize(i + 1);
    nodes_[i].emplace(std::move(created).value());
    Transport& tr = *nodes_[i];
    for (int j = 1; j <= o_.nodes; ++j) {
      if (j == i) continue;
      std::vector<Address> a;
      for (int k = 0; k < o_.paths; ++k) a.push_back(NodeAddress(j, k, o_.loopback));
      RAIN_CHECK(tr.AddTarget(NodeId{static_cast<uint32_t>(j)}, a).ok(), "AddTarget");
    }
    for (uint16_t c = 1; c <= 3; ++c) {
      RAIN_CHECK(tr.RegisterChannel(ChannelId{c}, "test" + std::to_string(c)).ok(), "channel");
    }
  }

  Transport& node(int i) { return *nodes_[i]; }
  Instant now() const { return now_; }
  std::vector<Event>& events(int i) { return events_[i]; }

  // Drop/duplicate decisions for every datagram (from node, datagram).
  double loss = 0;
  double duplicate = 0;
  Duration latency = std::chrono::microseconds(100);
  Duration jitter{0};
  // When > 0, each node's datagrams leave through a link of this rate with an unbounded FIFO in
  // front of it (a bottleneck with a deep buffer: queueing delay grows with what is queued).
  uint64_t bottleneck_bytes_per_s = 0;
  std::function<bool(int from, const Datagram&)> filter;  // false: drop
  std::function<void(int from, const Datagram&)> observe;
  std::set<std::pair<Address, Address>> cut;  // (sender addr, receiver addr), one way

  void CutPath(int a, int b, int path) {
    cut.insert({NodeAddress(a, path, o_.loopback), NodeAddress(b, path, o_.loopback)});
    cut.insert({NodeAddress(b, path, o_.loopback), NodeAddress(a, path, o_.loopback)});
  }
  void HealAll() { cut.clear(); }

  void Inject(const Datagram& d) { in_flight_.emplace(now_, d); }

  // Drains every node's transmits and events.
  void Pump() {
    for (size_t i = 1; i < nodes_.size(); ++i) {
      if (!nodes_[i]) continue;
      while (auto t = nodes_[i]->PollTransmit(now_)) Route(static_cast<int>(i), std::move(*t));
      while (auto e = nodes_[i]->PollEvent()) events_[i].push_back(std::move(*e));
    }
  }

  // Advances to the next datagram arrival or timer (at most `limit` ahead).
  void Step(Duration limit = std::chrono::seconds(1)) {
    Pump();
    Instant next = now_ + limit;
    if (!in_flight_.empty()) next = std::min(next, in_flight_.begin()->first);
    for (size_t i = 1; i < nodes_.size(); ++i) {
      if (!nodes_[i]) continue;
      if (auto d = nodes_[i]->PollDeadline()) next = std::min(next, std::max(*d, now_));
    }
    now_ = next;
    while (!in_flight_.empty() && in_flight_.begin()->first <= now_) {
      Datagram d = std::move(in_flight_.begin()->second);
      in_flight_.erase(in_flight_.begin());
      if (nodes_[d.to]) nodes_[d.to]->HandleDatagram(now_, d.local, d.remote, d.bytes);
      Pump();
    }
    for (size_t i = 1; i < nodes_.size(); ++i) {
      if (!nodes_[i]) continue;
      if (auto d = nodes_[i]->PollDeadline(); d && *d <= now_) nodes_[i]->HandleTimeout(now_);
    }
    Pump();
  }

  void RunFor(Duration d) {
    const Instant end = now_ + d;
    while (now_ < end) Step(end - now_);
  }
  // Runs until `done` or `limit` of virtual time; returns done().
  bool RunUntil(const std::function<bool()>& done, Duration limit = std::chrono::seconds(60)) {
    const Instant end = now_ + limit;
    while (!done() && now_ < end) Step(end - now_);
    return done();
  }

  uint64_t datagrams_sent = 0;

 private:
  void Route(int from, Transmit t) {
    ++datagrams_sent;
    int to = -1;
    for (size_t j = 1; j < nodes_.size(); ++j) {
      for (int k = 0; k < o_.paths; ++k) {
        if (NodeAddress(static_cast<int>(j), k, o_.loopback) == t.remote) to = static_cast<int>(j);
      }
    }
    if (to < 0) return;
    Datagram d{to, t.remote, t.local, std::move(t.bytes)};
    if (observe) observe(from, d);
    if (cut.count({t.local, t.remote})) return;
    if (filter && !filter(from, d)) return;
    if (loss > 0 && rng_.Chance(loss)) return;
    Duration delay = latency;
    if (jitter.count() > 0) delay += Duration(rng_.Below(static_cast<uint64_t>(jitter.count())));
    if (bottleneck_bytes_per_s > 0) {
      Instant& free_at = link_free_[from];
      free_at = std::max(free_at, now_) +
                Duration(static_cast<int64_t>(d.bytes.size() * 1'000'000'000ull /
                                              bottleneck_bytes_per_s));
      delay += free_at - now_;
    }
    if (duplicate > 0 && rng_.Chance(duplicate)) in_flight_.emplace(now_ + delay * 2, d);
    in_flight_.emplace(now_ + delay, std::move(d));
  }

  Options o_;
  Rng rng_;
  Instant now_ = FromNanos(1'000'000'000);
  std::vector<std::optional<Transport>> nodes_;
  std::map<int, std::vector<Event>> events_;
  std::multimap<Instant, Datagram> in_flight_;
  std::map<int, Instant> link_free_;  // per sending node: when its bottleneck link is idle
};

// Event helpers.
template <typename T>
std::vector<T> EventsOf(const std::vector<Event>& events) {
  std::vector<T> out;
  for (const Event& e : events) {
    if (auto* x = std::get_if<T>(&e)) out.push_back(*x);
  }
  return out;
}

inline std::vector<uint8_t> Pattern(size_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  Rng r(seed);
  r.Fill(v);
  return v;
}

}  // namespace rain::comm::testing
