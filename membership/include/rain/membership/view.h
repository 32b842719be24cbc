// Views, view ids and ballots of the token-ring GCM (research/RAINCORE.md §2).
//
// A *view* is one installed membership: an ordered member list with an id that every member
// agrees on. View ids are totally ordered (lexicographically), so every node installs views in
// increasing id order and two partitions' views can be compared when they merge. A *ballot*
// names one token lineage: a 911 regeneration creates a new ballot, and at most one token is
// ever created per ballot (see docs/membership.md "Safety").
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "rain/core/ids.h"

namespace rain::membership {

// The lineage of a token: bumped by every 911 regeneration. Ordered by (epoch, node).
struct Ballot {
  uint64_t epoch = 0;
  NodeId node = kNoNode;  // the regenerator

  friend auto operator<=>(const Ballot&, const Ballot&) = default;
};

// A view id: the token's ballot, the token's hop number when the view was created, and the
// node that created it (the token holder that edited the member list, or the regenerator).
// Unique: a node creates at most one view per (ballot, hop) and hop numbers only grow within a
// ballot at a node. The zero id means "no view".
struct ViewId {
  uint64_t epoch = 0;
  NodeId ringer = kNoNode;  // ballot.node
  uint64_t seq = 0;         // token hop number at creation
  NodeId creator = kNoNode;

  bool empty() const { return epoch == 0 && seq == 0 && creator == kNoNode; }
  Ballot ballot() const { return Ballot{epoch, ringer}; }
  friend auto operator<=>(const ViewId&, const ViewId&) = default;
};

// An installed view as reported to the layer above.
struct View {
  ViewId id;
  std::vector<NodeId> members;  // ring order; the token travels members[i] -> members[i+1]
  bool primary = false;         // holds a majority of the eligible members
  // The newest primary view this view's creator knew of when it created it (itself excluded).
  // Primary views form one chain: for primary views P < Q, Q.prev_primary >= P.
  ViewId prev_primary;

  bool Contains(NodeId n) const;
  friend bool operator==(const View&, const View&) = default;
};

std::string ToString(const Ballot& b);
std::string ToString(const ViewId& v);
std::string ToString(const View& v);

// True when `members` holds a strict majority of `eligible` (both sets of node ids).
bool HoldsMajority(const std::vector<NodeId>& members, const std::vector<NodeId>& eligible);

}  // namespace rain::membership
