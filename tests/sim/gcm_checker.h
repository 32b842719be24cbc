// GcmChecker: the GCM invariants of DESIGN.md §4 / docs/membership.md "Invariants", checked as a
// simulation records the events of every node (views, deliveries, lock grants). It knows nothing
// about how the GCMs are hosted: a suite feeds it each event when its node emits it and gives it
// a query for a node's running Gcm (for the checks that look at other members' state).
//
// Checked at every event; the first violation is kept (violation()):
//  - a node installs only views that contain it, whose primary flag matches a majority of the
//    eligible members, and with ids increasing (per incarnation);
//  - all nodes installing a view id agree on the whole view (members, primary, prev_primary);
//  - one total order per view: (view, seq) names one message everywhere, and a node delivers
//    in increasing seq within its current view;
//  - virtual synchrony: nodes that move from view V to the same next view V' delivered the same
//    set of messages in V;
//  - the primary chain: for primary views P < Q, Q.prev_primary >= P (no two concurrent
//    primaries);
//  - safe delivery (docs/membership.md §6): when a node delivers a message as safe, every member
//    of the view has installed the view (in some incarnation), and every member still running
//    the incarnation that installed it holds or delivered the message;
//  - no duplicate delivery (per node incarnation, messages named by their payload);
//  - the master lock is granted only in a primary view, to one holder per view at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rain/core/ids.h"
#include "rain/core/status.h"
#include "rain/membership/gcm.h"

namespace rain::sim {

class GcmChecker {
 public:
  // The running Gcm of a node, or nullptr while it is down (or paused, if the suite wants
  // paused nodes left out of cross-node checks).
  using GcmQuery = std::function<const membership::Gcm*(NodeId)>;

  GcmChecker(std::vector<NodeId> eligible, GcmQuery gcm_of);

  // A node (re)started: its per-incarnation history (views, deliveries) starts empty.
  void NodeStarted(NodeId n, uint64_t incarnation);
  // One event emitted by node n's Gcm, in emission order.
  void OnEvent(NodeId n, const membership::Event& e);

  // OK, or the first invariant that did not hold (with the node, view and time of the event).
  const Status& violation() const { return violation_; }
  // The newest view n installed in its current incarnation.
  const membership::View* CurrentView(NodeId n) const;
  // Payload ids n delivered in its current incarnation.
  const std::set<std::string>& Delivered(NodeId n) const { return nodes_.at(n).payloads; }
  uint64_t views_installed() const { return views_installed_; }
  uint64_t deliveries() const { return deliveries_; }
  uint64_t lock_grants() const { return lock_grants_; }
  uint64_t primaries() const { return primaries_.size(); }

 private:
  struct NodeHistory {
    uint64_t incarnation = 0;
    std::vector<membership::View> views;
    std::map<membership::ViewId, std::set<uint64_t>> delivered;  // seqs per view
    std::set<std::string> payloads;
  };
  void OnView(NodeId n, NodeHistory& h, const membership::View& v);
  void OnDelivered(NodeId n, NodeHistory& h, const membership::Delivered& d);
  void OnLockGranted(NodeId n, const NodeHistory& h);
  void Fail(std::string what);

  std::vector<NodeId> eligible_;
  GcmQuery gcm_of_;
  std::map<NodeId, NodeHistory> nodes_;
  std::map<membership::ViewId, membership::View> views_;
  std::map<membership::ViewId, membership::View> primaries_;
  // (V, V') -> what the first node moving from V to V' delivered in V.
  std::map<std::pair<membership::ViewId, membership::ViewId>, std::set<uint64_t>> moved_;
  std::map<std::pair<membership::ViewId, uint64_t>, std::pair<NodeId, std::string>> order_;
  // Nodes that installed each view, in any incarnation (a restart does not undo an install).
  std::map<membership::ViewId, std::set<NodeId>> installed_by_;
  uint64_t views_installed_ = 0;
  uint64_t deliveries_ = 0;
  uint64_t lock_grants_ = 0;
  Status violation_;
};

}  // namespace rain::sim
