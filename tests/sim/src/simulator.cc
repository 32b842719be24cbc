#include "rain/sim/simulator.h"

#include <algorithm>
#include <utility>

#include "rain/core/assert.h"

namespace rain::sim {

Simulator::Simulator(SimOptions options, NodeFactory factory)
    : options_(std::move(options)),
      factory_(std::move(factory)),
      rng_(options_.seed),
      // The network gets its own stream: adding draws in a workload must not change which
      // datagrams are lost.
      network_(options_.network, Rng(options_.seed ^ 0x6e6574776f726bULL)),
      now_(options_.start) {}

Simulator::~Simulator() = default;

void Simulator::AddNode(NodeId id) {
  RAIN_CHECK(id != kNoNode, "node id 0 is not valid");
  RAIN_CHECK(nodes_.count(id) == 0, "node added twice");
  NodeState& state = nodes_[id];
  state.rng = Rng(options_.seed * 0x9e3779b97f4a7c15ULL + ToInt(id));
  Start(id, state);
}

std::vector<NodeId> Simulator::Nodes() const {
  std::vector<NodeId> out;
  for (const auto& [id, state] : nodes_) out.push_back(id);
  return out;
}

void Simulator::Start(NodeId id, NodeState& state) {
  ++state.incarnation;
  state.adapter = factory_(NodeConfig{.node = id,
                                      .incarnation = state.incarnation,
                                      .iface_count = options_.iface_count,
                                      .rng = state.rng.Fork()});
  RAIN_CHECK(state.adapter != nullptr, "node factory returned null");
  network_.SetNodeUp(id, true);
  Drain(id);
}

void Simulator::Crash(NodeId id) {
  NodeState& state = nodes_.at(id);
  state.adapter.reset();
  network_.SetNodeUp(id, false);
}

void Simulator::Restart(NodeId id) {
  NodeState& state = nodes_.at(id);
  if (state.adapter) return;  // already running
  Start(id, state);
}

bool Simulator::IsUp(NodeId id) const {
  auto it = nodes_.find(id);
  return it != nodes_.end() && it->second.adapter != nullptr;
}

uint64_t Simulator::Incarnation(NodeId id) const { return nodes_.at(id).incarnation; }

NodeAdapter* Simulator::Adapter(NodeId id) {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second.adapter.get();
}

void Simulator::At(Instant at, std::function<void()> fn) {
  actions_.emplace(std::make_pair(std::max(at, now_), action_order_++), std::move(fn));
}

void Simulator::AddChecker(std::string name, Checker checker) {
  checkers_.emplace_back(std::move(name), std::move(checker));
}

void Simulator::Drain(NodeId id) {
  NodeState& state = nodes_.at(id);
  if (!state.adapter) return;
  for (size_t i = 0;; ++i) {
    RAIN_CHECK(i < options_.transmits_per_drain_max,
               "a node produced too many datagrams in one step (runaway protocol?)");
    std::optional<Datagram> d = state.adapter->PollTransmit(now_);
    if (!d) break;
    RAIN_CHECK(d->from.node == id, "a node sent from an endpoint that is not its own");
    network_.Send(now_, std::move(*d));
  }
  state.adapter->DrainEvents(now_);
}

void Simulator::DrainAll() {
  for (auto& [id, state] : nodes_) Drain(id);
}

std::optional<std::pair<Instant, NodeId>> Simulator::EarliestDeadline() {
  std::optional<std::pair<Instant, NodeId>> best;
  for (auto& [id, state] : nodes_) {
    if (!state.adapter) continue;
    std::optional<Instant> d = state.adapter->PollDeadline();
    if (d && (!best || *d < best->first)) best = std::make_pair(*d, id);
  }
  return best;
}

Status Simulator::RunCheckers() {
  for (auto& [name, checker] : checkers_) {
    Status s = checker(now_);
    if (!s.ok()) return s.WithContext("checker '" + name + "'");
  }
  return Status::Ok();
}

Status Simulator::RunUntil(Instant until, const std::function<bool()>& stop) {
  uint64_t steps_at_instant = 0;
  Instant last_instant = now_;
  for (;;) {
    std::optional<Instant> next_action;
    if (!actions_.empty()) next_action = actions_.begin()->first.first;
    std::optional<Instant> next_arrival = network_.NextArrival();
    std::optional<std::pair<Instant, NodeId>> next_deadline = EarliestDeadline();

    Instant next = until;
    bool any = false;
    auto consider = [&](std::optional<Instant> t) {
      if (t && (!any || *t < next)) {
        next = *t;
        any = true;
      }
    };
    consider(next_action);
    consider(next_arrival);
    if (next_deadline) consider(next_deadline->first);
    if (!any || next > until) {
      now_ = std::max(now_, until);
      return Status::Ok();
    }
    // Deadlines in the past are handled now; the clock never goes back.
    now_ = std::max(now_, next);

    if (next_action && *next_action <= now_) {
      auto it = actions_.begin();
      std::function<void()> fn = std::move(it->second);
      actions_.erase(it);
      fn();
      DrainAll();
    } else if (next_arrival && *next_arrival <= now_) {
      std::optional<Datagram> d = network_.PopArrival(now_);
      if (d) {
        NodeState& state = nodes_.at(d->to.node);
        // PopArrival drops datagrams to crashed nodes, so the adapter exists here.
        state.adapter->HandleDatagram(now_, d->to, d->from, d->bytes);
        Drain(d->to.node);
      }
    } else {
      NodeId id = next_deadline->second;
      nodes_.at(id).adapter->HandleTimeout(now_);
      Drain(id);
    }

    ++steps_;
    if (now_ == last_instant) {
      if (++steps_at_instant > options_.steps_at_one_instant_max) {
        return InternalError("virtual time does not advance: " + std::to_string(steps_at_instant) +
                             " steps at one instant (a deadline that never moves?)");
      }
    } else {
      last_instant = now_;
      steps_at_instant = 0;
    }
    if (steps_ > options_.steps_max) {
      return InternalError("step limit reached (" + std::to_string(options_.steps_max) + ")");
    }
    RAIN_RETURN_IF_ERROR(RunCheckers());
    if (stop && stop()) return Status::Ok();
  }
}

}  // namespace rain::sim
