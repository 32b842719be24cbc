// OrderedLog: the messages of one view, keyed by their token-assigned seq (RAINCORE.md §3,
// Totem's receive buffer). Tracks what this node holds (aru = all received up to), what it has
// delivered, and answers the questions of safe delivery, retransmission and view-change
// recovery. Pure bookkeeping: no I/O, no token logic.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "rain/membership/view.h"
#include "rain/membership/wire.h"

namespace rain::membership {

class OrderedLog {
 public:
  explicit OrderedLog(ViewId view) : view_(view) {}

  const ViewId& view() const { return view_; }
  // Stores a message; false if already held, already collected, or frozen out.
  bool Insert(DataMessage m);
  bool Holds(uint64_t seq) const { return seq <= collected_ || entries_.count(seq) > 0; }
  const DataMessage* Find(uint64_t seq) const;
  // Highest seq such that every seq in [1, aru] is held.
  uint64_t aru() const { return aru_; }
  uint64_t high() const {
    return entries_.empty() ? aru_ : std::max(aru_, entries_.rbegin()->first);
  }
  uint64_t delivered() const { return delivered_; }
  // Held seqs above aru, ascending (at most `max`).
  std::vector<uint64_t> Extras(size_t max) const;
  // Seqs in (aru, upto] not held, ascending (at most `max`).
  std::vector<uint64_t> Missing(uint64_t upto, size_t max) const;

  // The next message to deliver in order, if held and allowed: agreed messages as soon as all
  // earlier ones are delivered; safe ones only when seq <= safe_upto.
  const DataMessage* NextDeliverable(uint64_t safe_upto) const;
  void MarkDelivered(uint64_t seq);
  // Forgets messages every member holds and this node delivered (seq <= min(upto, delivered)).
  void Collect(uint64_t upto);
  size_t size() const { return entries_.size(); }

 private:
  ViewId view_;
  std::map<uint64_t, DataMessage> entries_;
  uint64_t aru_ = 0;
  uint64_t delivered_ = 0;
  uint64_t collected_ = 0;  // every seq <= collected_ was held and has been forgotten
};

// View-change recovery for one group of members that share an old view (docs/membership.md
// "Virtual synchrony"): the union of what they hold, who retransmits each seq, and what a
// member still needs.
class RecoveryPlan {
 public:
  // `records`: the token's records of the members whose old_view equals `old_view`.
  explicit RecoveryPlan(std::vector<RecoveryRecord> group);
  // Seqs above `from` held by at least one member of the group, ascending. The union is
  // exactly what every member of the group delivers in the old view.
  std::vector<uint64_t> UnionAbove(uint64_t from) const;
  bool InUnion(uint64_t seq) const { return seq <= max_aru_ || extras_.count(seq) > 0; }
  uint64_t min_aru() const { return min_aru_; }
  // The member that retransmits `seq` (lowest node id among its holders).
  NodeId Responsible(uint64_t seq) const;
  // Members of the group that lack `seq`.
  std::vector<NodeId> Lacking(uint64_t seq) const;
  const RecoveryRecord* RecordOf(NodeId n) const;

 private:
  std::vector<RecoveryRecord> group_;
  uint64_t min_aru_ = 0;
  uint64_t max_aru_ = 0;
  std::set<uint64_t> extras_;  // held by someone, above max_aru_
};

}  // namespace rain::membership
