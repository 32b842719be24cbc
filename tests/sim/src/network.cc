#include "rain/sim/network.h"

#include <algorithm>

#include "rain/core/assert.h"

namespace rain::sim {

std::string ToString(Endpoint e) {
  return rain::ToString(e.node) + "/" + std::to_string(static_cast<int>(e.iface));
}

Network::Network(NetworkOptions options, Rng rng) : options_(options), rng_(rng) {}

void Network::SetLink(Endpoint from, Endpoint to, const LinkParams& params) {
  links_[{from, to}] = params;
}

void Network::SetLinkBoth(Endpoint a, Endpoint b, const LinkParams& params) {
  SetLink(a, b, params);
  SetLink(b, a, params);
}

void Network::SetAllLinks(const LinkParams& params) {
  options_.defaults = params;
  links_.clear();
}

const LinkParams& Network::Link(Endpoint from, Endpoint to) const {
  auto it = links_.find({from, to});
  return it == links_.end() ? options_.defaults : it->second;
}

void Network::Cut(Endpoint a, Endpoint b) { cuts_.insert(Unordered(a, b)); }
void Network::Restore(Endpoint a, Endpoint b) { cuts_.erase(Unordered(a, b)); }
bool Network::IsCut(Endpoint a, Endpoint b) const { return cuts_.count(Unordered(a, b)) > 0; }
void Network::RestoreAllCuts() { cuts_.clear(); }

void Network::Partition(const std::vector<std::vector<NodeId>>& groups) {
  group_.clear();
  for (size_t g = 0; g < groups.size(); ++g) {
    for (NodeId n : groups[g]) group_[n] = static_cast<int>(g);
  }
}

void Network::Heal() { group_.clear(); }

bool Network::Reachable(NodeId a, NodeId b) const {
  auto group_of = [this](NodeId n) {
    auto it = group_.find(n);
    return it == group_.end() ? -1 : it->second;
  };
  return group_of(a) == group_of(b);
}

void Network::SetNodeUp(NodeId node, bool up) {
  if (up) {
    down_.erase(node);
  } else {
    down_.insert(node);
  }
}

bool Network::Passes(const Datagram& d) const {
  if (!options_.cross_iface && d.from.iface != d.to.iface) return false;
  if (IsCut(d.from, d.to)) return false;
  if (!Reachable(d.from.node, d.to.node)) return false;
  if (down_.count(d.to.node) > 0) return false;
  return true;
}

void Network::Send(Instant now, Datagram d) {
  ++stats_.sent;
  RAIN_CHECK(queue_.size() < options_.in_flight_max,
             "simulated network: too many datagrams in flight (runaway protocol?)");
  if (d.bytes.size() > options_.datagram_bytes_max) {
    ++stats_.too_big;
    return;
  }
  // A cut is also checked at send time: an unplugged cable never takes the datagram. (It is
  // checked again at arrival, for datagrams already on the wire when the cut happens.)
  if (!Passes(d)) {
    ++stats_.cut;
    return;
  }
  const LinkParams& p = Link(d.from, d.to);
  if (rng_.Chance(p.loss)) {
    ++stats_.lost;
    return;
  }
  if (rng_.Chance(p.duplicate)) {
    ++stats_.duplicated;
    Enqueue(now, p, d, /*is_copy=*/true);
  }
  Enqueue(now, p, std::move(d), /*is_copy=*/false);
}

void Network::Enqueue(Instant now, const LinkParams& p, Datagram d, bool is_copy) {
  Instant depart = now;
  if (p.bandwidth_bytes_per_s > 0) {
    Instant& free_at = link_free_at_[{d.from, d.to}];
    Instant start = std::max(now, free_at);
    if (start - now > p.queue_delay_max) {
      ++stats_.queue_dropped;
      return;
    }
    Duration serialise(
        static_cast<int64_t>(d.bytes.size() * 1'000'000'000ULL / p.bandwidth_bytes_per_s));
    // A copy made by the network (a duplicate) does not take serialiser time a second time.
    if (!is_copy) free_at = start + serialise;
    depart = start + serialise;
  }
  Duration extra = Duration::zero();
  if (p.jitter > Duration::zero()) extra += Duration(rng_.Between(0, p.jitter.count()));
  if (rng_.Chance(p.reorder)) {
    ++stats_.reordered;
    extra += Duration(rng_.Between(0, p.reorder_delay_max.count()));
  }
  queue_.push(InFlightDatagram{depart + p.delay + extra, order_++, std::move(d)});
}

std::optional<Instant> Network::NextArrival() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.top().arrival;
}

std::optional<Datagram> Network::PopArrival(Instant now) {
  while (!queue_.empty() && queue_.top().arrival <= now) {
    // priority_queue::top is const; the element is popped right after, so moving is safe.
    Datagram d = std::move(const_cast<InFlightDatagram&>(queue_.top()).datagram);
    queue_.pop();
    if (!Passes(d)) {
      ++stats_.cut;
      continue;
    }
    ++stats_.delivered;
    return d;
  }
  return std::nullopt;
}

}  // namespace rain::sim
