// A tiny deterministic harness for the GCM: N Gcm instances, a virtual clock, and an in-memory
// reliable transport that behaves like the Transport Manager's contract (DESIGN.md §4: a
// message is delivered whole at most once, in order per sender and receiver; a reliable send
// is reported delivered or failed exactly once). Faults: crashes and restarts (with the
// persisted StableState), directed link cuts (partitions, asymmetric failures), pauses (a
// paused node processes nothing; senders' TMs report failure after tm_fail_delay although the
// message is delivered at resume — a "false failure"), and message loss modelled as send
// failures (plus false failures: delivered but reported failed).
//
// Checkers run on every event (docs/membership.md "Invariants"): view agreement, increasing
// view ids, one total order per view, virtual synchrony, the single primary chain, safe
// delivery, no duplicate delivery, one lock holder per view. Violations are collected as
// strings; tests print them with the seed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "rain/core/rng.h"
#include "rain/membership/gcm.h"

namespace rain::membership::testing {

using namespace std::chrono_literals;

struct SimConfig {
  int nodes = 5;
  uint64_t seed = 1;
  Duration latency_min = 20us;
  Duration latency_max = 150us;
  Duration tm_fail_delay = 30ms;  // the TM reports a failed send this long after it
  RingOptions ring;
  uint64_t cluster_id = 7;
};

struct DeliveryRecord {
  NodeId sender;
  ViewId view;
  uint64_t seq;
  bool safe;
  std::string payload;
};

class Cluster {
 public:
  explicit Cluster(SimConfig cfg);
  ~Cluster();

  Instant now() const { return now_; }
  Instant start() const { return start_; }
  int size() const { return cfg_.nodes; }
  std::vector<NodeId> ids() const;
  Gcm& gcm(NodeId n);
  bool up(NodeId n) const { return nodes_[Idx(n)].up; }
  bool paused(NodeId n) const { return nodes_[Idx(n)].paused_until > now_; }

  // --- Time ---
  void RunFor(Duration d);
  // Runs until pred() holds (checked after every event) or `max` passes; true if it held.
  bool RunUntil(const std::function<bool()>& pred, Duration max);

  // --- Faults ---
  void Crash(NodeId n);
  void Restart(NodeId n);
  void Block(NodeId from, NodeId to) { blocked_.insert({from, to}); }
  void Unblock(NodeId from, NodeId to) { blocked_.erase({from, to}); }
  void Cut(NodeId a, NodeId b) { Block(a, b), Block(b, a); }
  void Partition(const std::vector<std::vector<NodeId>>& sides);
  void Isolate(NodeId n);
  void HealAll() { blocked_.clear(); }
  void Pause(NodeId n, Duration d);
  void SetLoss(double fail_p, double false_fail_p) {
    fail_p_ = fail_p, false_fail_p_ = false_fail_p;
  }
  // With probability p a message is delayed by up to `max` more (per-pair order is kept), so
  // messages from different senders overtake each other.
  void SetSpikes(double p, Duration max) { spike_p_ = p, spike_max_ = max; }
  // Fails (drops, reports failed) the next reliable token pass sent by `n`.
  void DropNextTokenFrom(NodeId n) { drop_token_from_.insert(n); }

  // --- Commands, with observation ---
  Status Multicast(NodeId n, const std::string& payload, Service s = Service::kAgreed);
  Status Acquire(NodeId n);
  // The host's CPU verdict (Gcm::SetCpuContended) for node n.
  void SetCpuContended(NodeId n, bool contended);
  Status Release(NodeId n);

  // --- Observations ---
  // Up, unpaused nodes that installed the same view whose members are exactly those nodes and
  // that are in Agreement.
  bool Converged() const;
  bool ConvergedOn(const std::vector<NodeId>& nodes) const;
  std::optional<View> CurrentView(NodeId n) const;
  const std::vector<View>& Views(NodeId n) const { return nodes_[Idx(n)].views; }
  const std::vector<DeliveryRecord>& Deliveries(NodeId n) const {
    return nodes_[Idx(n)].deliveries;
  }
  // Point-to-point messages (Send) received, as "from:payload"; failed reliable sends.
  const std::vector<std::string>& Received(NodeId n) const { return nodes_[Idx(n)].received; }
  int DirectFailures(NodeId n) const { return nodes_[Idx(n)].direct_failures; }
  // Acknowledged sends made with notify_delivered, in order (kept across restarts).
  const std::vector<DirectSendDelivered>& DirectDelivered(NodeId n) const {
    return nodes_[Idx(n)].direct_delivered;
  }
  Status Send(NodeId n, const std::vector<NodeId>& to, const std::string& payload, bool reliable,
              bool notify_delivered = false);
  int LockGrants(NodeId n) const { return nodes_[Idx(n)].lock_grants; }
  int LockLosses(NodeId n) const { return nodes_[Idx(n)].lock_losses; }
  uint64_t events_processed() const { return events_processed_; }
  uint64_t messages_sent() const { return messages_sent_; }

  // Checker results.
  const std::vector<std::string>& violations() const { return violations_; }
  std::string Report() const;  // violations + recent trace
  // Extra end-of-run check: every message multicast by a node that never crashed was delivered
  // by that node (self-delivery).
  void CheckSelfDelivery();

 private:
  struct NodeSlot {
    std::unique_ptr<Gcm> gcm;
    bool up = false;
    uint64_t incarnation = 0;
    Instant paused_until{};
    std::optional<Instant> deadline;
    StableState stable;  // persisted
    bool ever_crashed = false;
    // Observations of the current incarnation.
    std::vector<View> views;
    std::map<ViewId, std::set<uint64_t>> delivered;  // per view
    std::set<std::string> payloads_delivered;
    std::set<std::string> payloads_sent;
    std::vector<DeliveryRecord> deliveries;
    int lock_grants = 0;
    int lock_losses = 0;
    std::vector<std::string> received;
    int direct_failures = 0;
    std::vector<DirectSendDelivered> direct_delivered;
  };
  struct Arrive {
    NodeId from, to;
    uint64_t to_inc, from_inc;
    std::shared_ptr<const std::vector<uint8_t>> bytes;
    SendTag tag;
    bool reliable;
    Instant sent;
    bool outcome_decided;  // failure already reported at send time
  };
  struct Outcome {
    NodeId node;
    uint64_t inc;
    SendTag tag;
    bool delivered;
  };
  struct SimEvent {
    int kind;  // 0 arrive, 1 outcome
    Arrive arrive;
    Outcome outcome;
  };

  size_t Idx(NodeId n) const { return ToInt(n) - 1; }
  void Boot(NodeId n);
  void Schedule(Instant at, SimEvent ev);
  bool Step(Instant until);
  void Drain(NodeId n);
  void Transmit(NodeId from, const membership::Transmit& tx);
  void Process(SimEvent& ev);
  void Observe(NodeId n, Event& e);
  void OnView(NodeId n, const View& v);
  void OnDelivered(NodeId n, const Delivered& d);
  void Violation(const std::string& s);
  void Trace(const std::string& s);

  SimConfig cfg_;
  Rng rng_;
  Instant start_;
  Instant now_;
  std::vector<NodeSlot> nodes_;
  std::map<std::pair<Instant, uint64_t>, SimEvent> queue_;
  uint64_t queue_seq_ = 0;
  std::map<std::pair<NodeId, NodeId>, Instant> last_arrival_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  std::set<NodeId> drop_token_from_;
  double fail_p_ = 0;
  double false_fail_p_ = 0;
  double spike_p_ = 0;
  Duration spike_max_{0};
  uint64_t events_processed_ = 0;
  uint64_t messages_sent_ = 0;
  uint64_t same_time_steps_ = 0;

  // Global checker state.
  std::map<ViewId, View> views_by_id_;
  std::map<ViewId, View> primaries_;
  std::map<std::pair<ViewId, ViewId>, std::set<uint64_t>> vs_sets_;  // (V, next) -> delivered
  std::map<std::pair<ViewId, uint64_t>, std::pair<NodeId, std::string>> order_;
  std::vector<std::string> violations_;
  std::vector<std::string> trace_;
};

}  // namespace rain::membership::testing
