// The deterministic GCM harness (tests/harness.h).
#include "harness.h"

#include <algorithm>
#include <sstream>

#include "rain/core/assert.h"

namespace rain::membership::testing {
namespace {

std::string ViewStr(const View& v) { return ToString(v); }

}  // namespace

Cluster::Cluster(SimConfig cfg) : cfg_(cfg), rng_(cfg.seed) {
  start_ = FromNanos(1'000'000'000);
  now_ = start_;
  nodes_.resize(static_cast<size_t>(cfg_.nodes));
  for (NodeId n : ids()) Boot(n);
}

Cluster::~Cluster() = default;

std::vector<NodeId> Cluster::ids() const {
  std::vector<NodeId> out;
  for (int i = 1; i <= cfg_.nodes; ++i) out.push_back(NodeId{static_cast<uint32_t>(i)});
  return out;
}

Gcm& Cluster::gcm(NodeId n) {
  RAIN_CHECK(nodes_[Idx(n)].gcm != nullptr, "node is down");
  return *nodes_[Idx(n)].gcm;
}

void Cluster::Boot(NodeId n) {
  NodeSlot& s = nodes_[Idx(n)];
  GcmConfig gc{n, ids(), cfg_.cluster_id, cfg_.ring};
  s.gcm = std::make_unique<Gcm>(gc, rng_.Fork(), now_, s.stable);
  s.up = true;
  s.incarnation++;
  s.views.clear();
  s.delivered.clear();
  s.payloads_delivered.clear();
  s.deliveries.clear();
  s.paused_until = Instant{};
  Trace(ToString(n) + " boots (incarnation " + std::to_string(s.incarnation) + ")");
  Drain(n);
}

void Cluster::Crash(NodeId n) {
  NodeSlot& s = nodes_[Idx(n)];
  if (!s.up) return;
  s.gcm.reset();
  s.up = false;
  s.ever_crashed = true;
  s.deadline.reset();
  Trace(ToString(n) + " crashes");
}

void Cluster::Restart(NodeId n) {
  if (nodes_[Idx(n)].up) return;
  Boot(n);
}

void Cluster::Partition(const std::vector<std::vector<NodeId>>& sides) {
  blocked_.clear();
  std::map<NodeId, size_t> side_of;
  for (size_t i = 0; i < sides.size(); ++i) {
    for (NodeId n : sides[i]) side_of[n] = i;
  }
  for (NodeId a : ids()) {
    for (NodeId b : ids()) {
      if (a != b && side_of[a] != side_of[b]) blocked_.insert({a, b});
    }
  }
}

void Cluster::Isolate(NodeId n) {
  for (NodeId b : ids()) {
    if (b != n) Cut(n, b);
  }
}

void Cluster::Pause(NodeId n, Duration d) {
  if (!up(n)) return;
  nodes_[Idx(n)].paused_until = std::max(nodes_[Idx(n)].paused_until, now_ + d);
  Trace(ToString(n) + " paused");
}

Status Cluster::Multicast(NodeId n, const std::string& payload, Service s) {
  if (!up(n)) return UnavailableError("down");
  NodeSlot& slot = nodes_[Idx(n)];
  Status st = slot.gcm->Multicast(now_, std::vector<uint8_t>(payload.begin(), payload.end()), s);
  if (st.ok()) slot.payloads_sent.insert(payload);
  Drain(n);
  return st;
}

void Cluster::SetCpuContended(NodeId n, bool contended) {
  if (!up(n)) return;
  nodes_[Idx(n)].gcm->SetCpuContended(now_, contended);
  Drain(n);
}

Status Cluster::Send(NodeId n, const std::vector<NodeId>& to, const std::string& payload,
                     bool reliable, bool notify_delivered) {
  if (!up(n)) return UnavailableError("down");
  Status st = gcm(n).Send(now_, to, std::vector<uint8_t>(payload.begin(), payload.end()), reliable,
                          notify_delivered);
  Drain(n);
  return st;
}

Status Cluster::Acquire(NodeId n) {
  if (!up(n)) return UnavailableError("down");
  Status st = gcm(n).AcquireMasterLock(now_);
  Drain(n);
  return st;
}

Status Cluster::Release(NodeId n) {
  if (!up(n)) return UnavailableError("down");
  Status st = gcm(n).ReleaseMasterLock(now_);
  Drain(n);
  return st;
}

// ---------------------------------------------------------------------------------------------
// The event loop.

void Cluster::Schedule(Instant at, SimEvent ev) {
  queue_.emplace(std::make_pair(at, queue_seq_++), std::move(ev));
}

void Cluster::RunFor(Duration d) {
  Instant until = now_ + d;
  while (Step(until)) {
  }
  now_ = std::max(now_, until);
}

bool Cluster::RunUntil(const std::function<bool()>& pred, Duration max) {
  Instant until = now_ + max;
  if (pred()) return true;
  while (Step(until)) {
    if (pred()) return true;
  }
  now_ = std::max(now_, until);
  return pred();
}

bool Cluster::Step(Instant until) {
  // The next thing to happen: a queued message/outcome or a node deadline.
  std::optional<Instant> next_deadline;
  NodeId deadline_node = kNoNode;
  for (NodeId n : ids()) {
    const NodeSlot& s = nodes_[Idx(n)];
    if (!s.up || !s.deadline) continue;
    Instant d = std::max(*s.deadline, s.paused_until);
    if (!next_deadline || d < *next_deadline) {
      next_deadline = d;
      deadline_node = n;
    }
  }
  std::optional<Instant> next_event;
  if (!queue_.empty()) next_event = queue_.begin()->first.first;
  if (!next_deadline && !next_event) return false;
  bool take_event = next_event && (!next_deadline || *next_event <= *next_deadline);
  Instant t = take_event ? *next_event : *next_deadline;
  if (t > until) return false;
  if (t <= now_) {
    if (++same_time_steps_ > 200000) {
      Violation("livelock: 200000 steps without time advancing; last deadline at " +
                ToString(deadline_node) + " in state " +
                (up(deadline_node) ? ToString(gcm(deadline_node).state()) : "down") +
                (take_event ? " (event)" : " (deadline)"));
      return false;
    }
  } else {
    same_time_steps_ = 0;
    now_ = t;
  }
  ++events_processed_;
  if (take_event) {
    SimEvent ev = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    Process(ev);
  } else {
    nodes_[Idx(deadline_node)].gcm->HandleTimeout(now_);
    Drain(deadline_node);
  }
  return violations_.empty();
}

void Cluster::Process(SimEvent& ev) {
  if (ev.kind == 1) {
    Outcome& o = ev.outcome;
    NodeSlot& s = nodes_[Idx(o.node)];
    if (!s.up || s.incarnation != o.inc) return;
    if (s.paused_until > now_) {  // processed when the node resumes
      Schedule(s.paused_until, ev);
      return;
    }
    s.gcm->HandleSendOutcome(now_, o.tag, o.delivered);
    Drain(o.node);
    return;
  }
  Arrive& a = ev.arrive;
  NodeSlot& dst = nodes_[Idx(a.to)];
  bool alive = dst.up && dst.incarnation == a.to_inc;
  if (alive && dst.paused_until > now_) {
    Schedule(dst.paused_until, ev);  // keeps per-pair order: equal times pop in insertion order
    return;
  }
  if (!alive) {
    if (a.reliable && !a.outcome_decided) {
      Instant at = std::max(now_, a.sent + cfg_.tm_fail_delay);
      Schedule(at, SimEvent{1, {}, Outcome{a.from, a.from_inc, a.tag, false}});
    }
    return;
  }
  if (a.reliable && !a.outcome_decided) {
    Duration ack(rng_.Between(cfg_.latency_min.count(), cfg_.latency_max.count()));
    Schedule(now_ + ack, SimEvent{1, {}, Outcome{a.from, a.from_inc, a.tag, true}});
  }
  Status st = dst.gcm->HandleMessage(now_, a.from, *a.bytes);
  if (!st.ok()) Violation("message rejected: " + st.ToString());
  Drain(a.to);
}

void Cluster::Transmit(NodeId from, const membership::Transmit& tx) {
  ++messages_sent_;
  NodeSlot& src = nodes_[Idx(from)];
  NodeSlot& dst = nodes_[Idx(tx.to)];
  Duration lat(rng_.Between(cfg_.latency_min.count(), cfg_.latency_max.count()));
  if (spike_p_ > 0 && rng_.Chance(spike_p_)) lat += Duration(rng_.Between(0, spike_max_.count()));
  Instant arrival = now_ + lat;
  auto key = std::make_pair(from, tx.to);
  auto it = last_arrival_.find(key);
  if (it != last_arrival_.end() && arrival <= it->second) arrival = it->second + Duration(1);
  last_arrival_[key] = arrival;

  bool cut = blocked_.count(key) > 0 || !dst.up;
  bool drop_token = false;
  if (tx.reliable && drop_token_from_.count(from) > 0) {
    auto m = Decode(*tx.bytes, cfg_.cluster_id);
    if (m.ok() && std::holds_alternative<Token>(*m)) {
      drop_token = true;
      drop_token_from_.erase(from);
    }
  }
  bool lost = cut || drop_token || rng_.Chance(fail_p_);
  Outcome fail{from, src.incarnation, tx.tag, false};
  if (lost) {
    if (tx.reliable) Schedule(now_ + cfg_.tm_fail_delay, SimEvent{1, {}, fail});
    return;
  }
  bool decided = false;
  if (tx.reliable) {
    // A long pause of the receiver, or a lost acknowledgement, makes the sender's TM give up
    // although the message arrives: a false failure.
    bool long_pause = dst.paused_until > now_ && dst.paused_until - now_ > cfg_.tm_fail_delay;
    if (long_pause || rng_.Chance(false_fail_p_)) {
      Schedule(now_ + cfg_.tm_fail_delay, SimEvent{1, {}, fail});
      decided = true;
    }
  }
  Arrive a{from,        tx.to, dst.incarnation, src.incarnation, tx.bytes, tx.tag,
           tx.reliable, now_,  decided};
  Schedule(arrival, SimEvent{0, a, {}});
}

void Cluster::Drain(NodeId n) {
  NodeSlot& s = nodes_[Idx(n)];
  if (!s.up) return;
  while (auto tx = s.gcm->PollSend()) Transmit(n, *tx);
  while (auto e = s.gcm->PollEvent()) Observe(n, *e);
  s.deadline = s.gcm->PollDeadline();
  s.stable = s.gcm->stable_state();  // "persisted before the sends leave"
}

// ---------------------------------------------------------------------------------------------
// Checkers.

void Cluster::Observe(NodeId n, Event& e) {
  NodeSlot& s = nodes_[Idx(n)];
  if (auto* v = std::get_if<ViewInstalled>(&e)) {
    OnView(n, v->view);
  } else if (auto* d = std::get_if<Delivered>(&e)) {
    OnDelivered(n, *d);
  } else if (std::holds_alternative<MasterLockGranted>(e)) {
    s.lock_grants++;
    Trace(ToString(n) + " granted the master lock");
    auto cur = CurrentView(n);
    if (!cur || !cur->primary) Violation(ToString(n) + " granted the lock outside a primary view");
    for (NodeId m : ids()) {
      if (m == n || !up(m) || !gcm(m).master_lock_held()) continue;
      auto mv = CurrentView(m);
      if (mv && cur && mv->id == cur->id)
        Violation("two lock holders in " + ToString(cur->id) + ": " + ToString(n) + " and " +
                  ToString(m));
    }
  } else if (std::holds_alternative<MasterLockLost>(e)) {
    s.lock_losses++;
  } else if (auto* r = std::get_if<membership::Received>(&e)) {
    s.received.push_back(ToString(r->from) + ":" +
                         std::string(r->payload.begin(), r->payload.end()));
  } else if (std::holds_alternative<DirectSendFailed>(e)) {
    s.direct_failures++;
  } else if (auto* d = std::get_if<DirectSendDelivered>(&e)) {
    s.direct_delivered.push_back(*d);
  }
}

std::optional<View> Cluster::CurrentView(NodeId n) const {
  const NodeSlot& s = nodes_[Idx(n)];
  if (!s.up || s.views.empty()) return std::nullopt;
  return s.views.back();
}

void Cluster::OnView(NodeId n, const View& v) {
  NodeSlot& s = nodes_[Idx(n)];
  Trace(ToString(n) + " installs " + ViewStr(v));
  if (!v.Contains(n)) Violation(ToString(n) + " installed a view without itself");
  if (v.primary != HoldsMajority(v.members, ids()))
    Violation("primary flag wrong in " + ViewStr(v));
  auto [it, fresh] = views_by_id_.emplace(v.id, v);
  if (!fresh && !(it->second == v))
    Violation("view id disagreement: " + ViewStr(it->second) + " vs " + ViewStr(v));
  if (!s.views.empty()) {
    const View& prev = s.views.back();
    if (!(prev.id < v.id))
      Violation(ToString(n) + " installed " + ToString(v.id) + " after " + ToString(prev.id));
    // Virtual synchrony: members moving together from prev to v delivered the same set.
    auto key = std::make_pair(prev.id, v.id);
    const std::set<uint64_t>& mine = s.delivered[prev.id];
    auto [vs, first] = vs_sets_.emplace(key, mine);
    if (!first && vs->second != mine)
      Violation("virtual synchrony: " + ToString(n) + " delivered " + std::to_string(mine.size()) +
                " messages in " + ToString(prev.id) + " before moving to " + ToString(v.id) +
                ", another member " + std::to_string(vs->second.size()));
  }
  if (v.primary) {
    for (const auto& [pid, p] : primaries_) {
      if (pid < v.id && v.prev_primary < pid)
        Violation("primary fork: " + ViewStr(v) + " does not know primary " + ViewStr(p));
      if (v.id < pid && p.prev_primary < v.id)
        Violation("primary fork: " + ViewStr(p) + " does not know primary " + ViewStr(v));
    }
    primaries_.emplace(v.id, v);
  }
  s.views.push_back(v);
}

void Cluster::OnDelivered(NodeId n, const Delivered& d) {
  NodeSlot& s = nodes_[Idx(n)];
  std::string payload(d.payload.begin(), d.payload.end());
  DeliveryRecord rec{d.sender, d.view, d.seq, d.safe, payload};
  if (s.views.empty() || s.views.back().id != d.view)
    Violation(ToString(n) + " delivered in " + ToString(d.view) + " outside its installed view");
  std::set<uint64_t>& seqs = s.delivered[d.view];
  if (!seqs.empty() && *seqs.rbegin() >= d.seq)
    Violation(ToString(n) + " delivered seq " + std::to_string(d.seq) + " out of order");
  seqs.insert(d.seq);
  if (!s.payloads_delivered.insert(payload).second)
    Violation(ToString(n) + " delivered '" + payload + "' twice");
  auto [it, fresh] =
      order_.emplace(std::make_pair(d.view, d.seq), std::make_pair(d.sender, payload));
  if (!fresh && it->second != std::make_pair(d.sender, payload))
    Violation("total order: seq " + std::to_string(d.seq) + " of " + ToString(d.view) + " is '" +
              it->second.second + "' and '" + payload + "'");
  if (d.safe) {
    const View& v = views_by_id_[d.view];
    for (NodeId m : v.members) {
      const NodeSlot& ms = nodes_[Idx(m)];
      if (!ms.up || m == n) continue;
      bool installed_or_pending = ms.gcm->HoldsMessage(d.view, d.seq);
      auto dit = ms.delivered.find(d.view);
      bool delivered = dit != ms.delivered.end() && dit->second.count(d.seq) > 0;
      bool installed = std::any_of(ms.views.begin(), ms.views.end(),
                                   [&](const View& x) { return x.id == d.view; });
      if (installed && !installed_or_pending && !delivered)
        Violation("safe delivery of seq " + std::to_string(d.seq) + " in " + ToString(d.view) +
                  " by " + ToString(n) + " but " + ToString(m) + " does not hold it");
    }
  }
  s.deliveries.push_back(std::move(rec));
}

void Cluster::CheckSelfDelivery() {
  for (NodeId n : ids()) {
    const NodeSlot& s = nodes_[Idx(n)];
    if (!s.up || s.ever_crashed) continue;
    for (const std::string& p : s.payloads_sent) {
      if (s.payloads_delivered.count(p) == 0)
        Violation(ToString(n) + " never delivered its own message '" + p + "'");
    }
  }
}

bool Cluster::ConvergedOn(const std::vector<NodeId>& nodes) const {
  if (nodes.empty()) return true;
  std::optional<ViewId> id;
  for (NodeId n : nodes) {
    const NodeSlot& s = nodes_[Idx(n)];
    if (!s.up || s.views.empty() || s.gcm->state() != NodeState::kAgreement) return false;
    const View& v = s.views.back();
    if (id && *id != v.id) return false;
    id = v.id;
    std::vector<NodeId> a = v.members, b = nodes;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) return false;
  }
  return true;
}

bool Cluster::Converged() const {
  std::vector<NodeId> live;
  for (NodeId n : ids()) {
    if (up(n)) live.push_back(n);
  }
  return ConvergedOn(live);
}

void Cluster::Violation(const std::string& s) {
  std::ostringstream o;
  o << "t=" << (now_ - start_).count() / 1000 << "us: " << s;
  violations_.push_back(o.str());
  Trace("VIOLATION " + s);
}

void Cluster::Trace(const std::string& s) {
  std::ostringstream o;
  o << "t=" << (now_ - start_).count() / 1000 << "us " << s;
  trace_.push_back(o.str());
  if (trace_.size() > 4000) trace_.erase(trace_.begin(), trace_.begin() + 2000);
}

std::string Cluster::Report() const {
  std::ostringstream o;
  for (const std::string& v : violations_) o << "violation: " << v << "\n";
  size_t from = trace_.size() > 60 ? trace_.size() - 60 : 0;
  o << "last trace lines:\n";
  for (size_t i = from; i < trace_.size(); ++i) o << "  " << trace_[i] << "\n";
  return o.str();
}

}  // namespace rain::membership::testing
