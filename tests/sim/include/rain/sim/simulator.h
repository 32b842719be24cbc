// The deterministic simulator: many sans-IO protocol nodes in one process, a virtual clock, the
// seeded Network (network.h), scheduled actions (workload and faults) and checkers that run after
// every step. Generic over the protocol: a protocol plugs in through NodeAdapter, a small
// interface in the sans-IO shape of DESIGN.md §3 rule 1 (Handle* inputs, Poll* outputs). The TM
// suite (tm_sim_test.cc) is the first user; GCM, GDM and election reuse it the same way.
//
// The loop (Run): the clock jumps to the earliest of the next scheduled action, the next datagram
// arrival and the earliest PollDeadline of the running nodes; exactly one of them is handled
// (ties: action, then arrival, then the lowest node's timeout); the node touched is drained
// (PollTransmit until empty into the network, then DrainEvents); then every checker runs. The
// first failing checker stops the run with its Status. Nothing reads a real clock or global
// randomness, so one seed gives one run.
//
// Crash and restart: Crash(node) drops the node's adapter (its in-memory state is gone; datagrams
// to it are dropped); Restart(node) builds a fresh adapter through the factory with the next
// incarnation number.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rain/core/ids.h"
#include "rain/core/rng.h"
#include "rain/core/status.h"
#include "rain/core/time.h"
#include "rain/sim/network.h"

namespace rain::sim {

// One running protocol instance, wrapped for the simulator. The adapter maps Endpoint to the
// protocol's own address type and turns the protocol's events into whatever the test records.
// Called only from the simulator's single thread.
class NodeAdapter {
 public:
  virtual ~NodeAdapter() = default;
  // A datagram arrived on local interface `local` from `remote`.
  virtual void HandleDatagram(Instant now, Endpoint local, Endpoint remote,
                              std::span<const uint8_t> bytes) = 0;
  // Called when now >= PollDeadline().
  virtual void HandleTimeout(Instant now) = 0;
  // The next datagram to send, or nullopt when there is none now.
  virtual std::optional<Datagram> PollTransmit(Instant now) = 0;
  // When HandleTimeout wants to be called next; nullopt = no timer.
  virtual std::optional<Instant> PollDeadline() = 0;
  // Consumes the protocol's pending events (the test records them for its checkers).
  virtual void DrainEvents(Instant now) = 0;
};

struct NodeConfig {
  NodeId node;
  uint64_t incarnation;  // 1 for the first start, +1 per restart
  int iface_count;
  Rng rng;  // the node's own seeded generator (for protocols that take one)
};

using NodeFactory = std::function<std::unique_ptr<NodeAdapter>(const NodeConfig&)>;
// A checker returns ok, or the invariant that does not hold (with enough detail to debug).
using Checker = std::function<Status(Instant now)>;

struct SimOptions {
  uint64_t seed = 1;
  int iface_count = 1;  // interfaces per node
  NetworkOptions network;
  Instant start = FromNanos(1'000'000'000);  // virtual time starts at 1 s (not 0) on purpose
  // Limits that turn a livelocked protocol into a failed run instead of a hung test.
  uint64_t steps_max = 20'000'000;
  uint64_t steps_at_one_instant_max = 200'000;
  size_t transmits_per_drain_max = 1 << 16;
};

class Simulator {
 public:
  Simulator(SimOptions options, NodeFactory factory);
  ~Simulator();

  // Adds node `id` and starts it (incarnation 1). Ids are chosen by the caller (1, 2, ...).
  void AddNode(NodeId id);
  std::vector<NodeId> Nodes() const;

  // Stops a node: its adapter is destroyed, the network drops datagrams to it.
  void Crash(NodeId id);
  // Starts a crashed node again as a fresh instance with the next incarnation.
  void Restart(NodeId id);
  bool IsUp(NodeId id) const;
  uint64_t Incarnation(NodeId id) const;
  // The running adapter of `id` (nullptr if crashed). Tests downcast to their adapter type.
  NodeAdapter* Adapter(NodeId id);

  // Runs `fn` at virtual time `at` (>= now). Actions at the same instant run in the order they
  // were scheduled. After an action every running node is drained.
  void At(Instant at, std::function<void()> fn);
  void After(Duration d, std::function<void()> fn) { At(now_ + d, std::move(fn)); }

  void AddChecker(std::string name, Checker checker);

  // Runs until virtual time `until` (the clock ends there) or until a checker fails, a limit is
  // hit, or `stop` (if given) returns true after a step. Returns the first failure.
  Status RunUntil(Instant until, const std::function<bool()>& stop = nullptr);
  // Runs checkers once now (e.g. final liveness checks after RunUntil).
  Status RunCheckers();

  Instant now() const { return now_; }
  Network& network() { return network_; }
  Rng& rng() { return rng_; }  // for workloads and fault schedules (forked per use)
  uint64_t steps() const { return steps_; }
  const SimOptions& options() const { return options_; }

 private:
  struct NodeState {
    std::unique_ptr<NodeAdapter> adapter;  // null while crashed
    uint64_t incarnation = 0;
    Rng rng{0};
  };
  struct Action {
    Instant at;
    uint64_t order;
    std::function<void()> fn;
  };
  void Start(NodeId id, NodeState& state);
  void Drain(NodeId id);
  void DrainAll();
  std::optional<std::pair<Instant, NodeId>> EarliestDeadline();

  SimOptions options_;
  NodeFactory factory_;
  Rng rng_;
  Network network_;
  Instant now_;
  std::map<NodeId, NodeState> nodes_;
  std::multimap<std::pair<Instant, uint64_t>, std::function<void()>> actions_;
  uint64_t action_order_ = 0;
  std::vector<std::pair<std::string, Checker>> checkers_;
  uint64_t steps_ = 0;
};

}  // namespace rain::sim
