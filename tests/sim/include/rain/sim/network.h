// The simulated network of the deterministic simulator (DESIGN.md §3 rule 1, STYLE.md "tigerbeetle,
// foundationdb"): datagrams between node interfaces, with per-link loss, duplication, reordering,
// delay and jitter, bandwidth and queue limits, per-address-pair cuts, partitions and crashed
// nodes. Every random choice comes from one seeded rain::Rng, so a seed replays a run exactly.
//
// A node has several interfaces (Endpoint{node, iface}), as a RAIN node has several NICs on
// independent switches. A *link* is an unordered pair of endpoints; by default only equal
// interface indexes reach each other (iface 0 <-> iface 0 is "switch 0"), like two separate
// switches; NetworkOptions::cross_iface lets every interface reach every other.
//
// The network knows nothing about protocols: it carries bytes. The Simulator (simulator.h) moves
// datagrams between protocol adapters and this queue.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rain/core/ids.h"
#include "rain/core/rng.h"
#include "rain/core/time.h"

namespace rain::sim {

// One network interface of one node.
struct Endpoint {
  NodeId node = kNoNode;
  uint8_t iface = 0;

  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};
std::string ToString(Endpoint e);  // "n2/1"

struct Datagram {
  Endpoint from;
  Endpoint to;
  std::vector<uint8_t> bytes;
};

// The behaviour of one direction of a link. All probabilities are per datagram.
struct LinkParams {
  double loss = 0.0;       // dropped
  double duplicate = 0.0;  // delivered twice (the copy with its own delay)
  double reorder = 0.0;    // held back by up to reorder_delay_max, so later ones overtake it
  Duration delay = std::chrono::microseconds(100);  // one-way propagation
  Duration jitter = Duration::zero();               // uniform extra delay in [0, jitter]
  Duration reorder_delay_max = std::chrono::milliseconds(5);
  // Serialisation rate; 0 = unlimited. Datagrams queue behind each other at this rate.
  uint64_t bandwidth_bytes_per_s = 0;
  // Tail drop when the link's backlog exceeds this (only with a bandwidth limit).
  Duration queue_delay_max = std::chrono::milliseconds(50);
};

struct NetworkOptions {
  LinkParams defaults;
  bool cross_iface = false;  // true: iface i of one node reaches iface j != i of another
  // Largest datagram carried; larger ones are dropped (like an MTU without fragmentation).
  size_t datagram_bytes_max = 65507;
  // Bound on datagrams in flight, so a runaway protocol fails the run instead of eating memory.
  size_t in_flight_max = 1 << 20;
};

// Counters, for tests that want to assert the faults actually happened.
struct NetworkStats {
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t lost = 0;        // random loss
  uint64_t duplicated = 0;  // extra copies made
  uint64_t reordered = 0;
  uint64_t cut = 0;  // dropped by a cut, a partition, a crashed node or an unreachable iface
  uint64_t queue_dropped = 0;
  uint64_t too_big = 0;
};

class Network {
 public:
  Network(NetworkOptions options, Rng rng);

  // Parameters of the direction from -> to; overrides the defaults for that pair only.
  void SetLink(Endpoint from, Endpoint to, const LinkParams& params);
  // Both directions of a link.
  void SetLinkBoth(Endpoint a, Endpoint b, const LinkParams& params);
  // Replaces the defaults and forgets every per-link override.
  void SetAllLinks(const LinkParams& params);
  const LinkParams& Link(Endpoint from, Endpoint to) const;

  // A cut link carries nothing in either direction, including datagrams already in flight
  // when they arrive (the cable is unplugged).
  void Cut(Endpoint a, Endpoint b);
  void Restore(Endpoint a, Endpoint b);
  bool IsCut(Endpoint a, Endpoint b) const;
  void RestoreAllCuts();

  // Partitions: nodes in different groups do not reach each other. `groups` lists the groups;
  // nodes not listed form one more group together.
  void Partition(const std::vector<std::vector<NodeId>>& groups);
  void Heal();  // no partition
  bool Reachable(NodeId a, NodeId b) const;

  // A down node receives nothing (arrivals are dropped). The Simulator marks crashes here.
  void SetNodeUp(NodeId node, bool up);

  // Queues `d` at time `now` (applies loss, duplication, delay, bandwidth).
  void Send(Instant now, Datagram d);
  // The arrival time of the earliest datagram in flight, if any.
  std::optional<Instant> NextArrival() const;
  // Pops the earliest datagram if it arrives at or before `now` and may still be delivered
  // (cuts, partitions and crashes are checked at arrival). Dropped ones are counted and skipped.
  std::optional<Datagram> PopArrival(Instant now);
  size_t InFlight() const { return queue_.size(); }
  const NetworkStats& stats() const { return stats_; }

 private:
  struct InFlightDatagram {
    Instant arrival;
    uint64_t order;  // ties broken by send order: deterministic
    Datagram datagram;
  };
  struct Later {
    bool operator()(const InFlightDatagram& a, const InFlightDatagram& b) const {
      return a.arrival != b.arrival ? a.arrival > b.arrival : a.order > b.order;
    }
  };
  using LinkKey = std::pair<Endpoint, Endpoint>;
  static LinkKey Unordered(Endpoint a, Endpoint b) { return a < b ? LinkKey{a, b} : LinkKey{b, a}; }
  bool Passes(const Datagram& d) const;
  void Enqueue(Instant now, const LinkParams& p, Datagram d, bool is_copy);

  NetworkOptions options_;
  Rng rng_;
  std::map<LinkKey, LinkParams> links_;  // directed (from, to) overrides
  std::set<LinkKey> cuts_;               // unordered
  std::map<NodeId, int> group_;          // partition group per listed node; others: -1
  std::set<NodeId> down_;
  std::map<LinkKey, Instant> link_free_at_;  // directed: when the serialiser is idle again
  std::priority_queue<InFlightDatagram, std::vector<InFlightDatagram>, Later> queue_;
  uint64_t order_ = 0;
  NetworkStats stats_;
};

}  // namespace rain::sim
