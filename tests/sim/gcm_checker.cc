// The GCM invariant checkers (gcm_checker.h).
#include "gcm_checker.h"

#include <algorithm>
#include <utility>

namespace rain::sim {

using membership::View;
using membership::ViewId;

GcmChecker::GcmChecker(std::vector<NodeId> eligible, GcmQuery gcm_of)
    : eligible_(std::move(eligible)), gcm_of_(std::move(gcm_of)) {}

void GcmChecker::NodeStarted(NodeId n, uint64_t incarnation) {
  nodes_[n] = NodeHistory{.incarnation = incarnation};
}

const View* GcmChecker::CurrentView(NodeId n) const {
  auto it = nodes_.find(n);
  if (it == nodes_.end() || it->second.views.empty()) return nullptr;
  return &it->second.views.back();
}

void GcmChecker::Fail(std::string what) {
  if (violation_.ok()) violation_ = InternalError(std::move(what));
}

void GcmChecker::OnEvent(NodeId n, const membership::Event& e) {
  NodeHistory& h = nodes_[n];
  if (const auto* v = std::get_if<membership::ViewInstalled>(&e)) {
    OnView(n, h, v->view);
  } else if (const auto* d = std::get_if<membership::Delivered>(&e)) {
    OnDelivered(n, h, *d);
  } else if (std::holds_alternative<membership::MasterLockGranted>(e)) {
    OnLockGranted(n, h);
  }
}

void GcmChecker::OnView(NodeId n, NodeHistory& h, const View& v) {
  ++views_installed_;
  const std::string at = ToString(n) + "#" + std::to_string(h.incarnation);
  if (!v.Contains(n)) return Fail(at + " installed a view without itself: " + ToString(v));
  if (v.primary != membership::HoldsMajority(v.members, eligible_)) {
    return Fail(at + " installed " + ToString(v) + " with a wrong primary flag");
  }
  auto [known, fresh] = views_.emplace(v.id, v);
  if (!fresh && !(known->second == v)) {
    return Fail("view disagreement: " + at + " installed " + ToString(v) + ", another node " +
                ToString(known->second));
  }
  if (!h.views.empty()) {
    const View& prev = h.views.back();
    if (!(prev.id < v.id)) {
      return Fail(at + " installed " + ToString(v.id) + " after " + ToString(prev.id));
    }
    const std::set<uint64_t>& mine = h.delivered[prev.id];
    auto [moved, first] = moved_.emplace(std::make_pair(prev.id, v.id), mine);
    if (!first && moved->second != mine) {
      return Fail("virtual synchrony: " + at + " delivered " + std::to_string(mine.size()) +
                  " messages in " + ToString(prev.id) + " before moving to " + ToString(v.id) +
                  ", another node moving the same way " + std::to_string(moved->second.size()));
    }
  }
  if (v.primary) {
    for (const auto& [pid, p] : primaries_) {
      const bool v_later = pid < v.id;
      const View& older = v_later ? p : v;
      const View& newer = v_later ? v : p;
      if (pid != v.id && newer.prev_primary < older.id) {
        return Fail("two primary chains: " + ToString(newer) + " does not know primary " +
                    ToString(older));
      }
    }
    primaries_.emplace(v.id, v);
  }
  h.views.push_back(v);
  installed_by_[v.id].insert(n);
}

void GcmChecker::OnDelivered(NodeId n, NodeHistory& h, const membership::Delivered& d) {
  ++deliveries_;
  const std::string at = ToString(n) + "#" + std::to_string(h.incarnation);
  std::string payload(d.payload.begin(), d.payload.end());
  if (h.views.empty() || h.views.back().id != d.view) {
    return Fail(at + " delivered '" + payload + "' in " + ToString(d.view) +
                ", which is not its current view");
  }
  std::set<uint64_t>& seqs = h.delivered[d.view];
  if (!seqs.empty() && *seqs.rbegin() >= d.seq) {
    return Fail(at + " delivered seq " + std::to_string(d.seq) + " of " + ToString(d.view) +
                " after seq " + std::to_string(*seqs.rbegin()));
  }
  seqs.insert(d.seq);
  if (!h.payloads.insert(payload).second) return Fail(at + " delivered '" + payload + "' twice");
  auto [slot, fresh] =
      order_.emplace(std::make_pair(d.view, d.seq), std::make_pair(d.sender, payload));
  if (!fresh && slot->second != std::make_pair(d.sender, payload)) {
    return Fail("total order: seq " + std::to_string(d.seq) + " of " + ToString(d.view) + " is '" +
                slot->second.second + "' at one node and '" + payload + "' at " + at);
  }
  if (!d.safe) return;
  // Safe = every member held it: the token's aru went round all members in Agreement, so each
  // installed the view. A member that restarted since cannot be asked what it held.
  const std::set<NodeId>& installers = installed_by_[d.view];
  for (NodeId m : views_.at(d.view).members) {
    if (m == n) continue;
    if (installers.count(m) == 0) {
      return Fail("safe delivery: " + at + " delivered seq " + std::to_string(d.seq) + " of " +
                  ToString(d.view) + " as safe before member " + ToString(m) +
                  " installed the view");
    }
    const membership::Gcm* g = gcm_of_(m);
    if (g == nullptr) continue;
    const NodeHistory& mh = nodes_[m];
    bool installed = std::any_of(mh.views.begin(), mh.views.end(),
                                 [&](const View& x) { return x.id == d.view; });
    auto got = mh.delivered.find(d.view);
    bool delivered = got != mh.delivered.end() && got->second.count(d.seq) > 0;
    if (installed && !delivered && !g->HoldsMessage(d.view, d.seq)) {
      return Fail("safe delivery: " + at + " delivered seq " + std::to_string(d.seq) + " of " +
                  ToString(d.view) + " as safe, but member " + ToString(m) + " does not hold it");
    }
  }
}

void GcmChecker::OnLockGranted(NodeId n, const NodeHistory& h) {
  ++lock_grants_;
  const std::string at = ToString(n) + "#" + std::to_string(h.incarnation);
  if (h.views.empty() || !h.views.back().primary) {
    return Fail(at + " was granted the master lock outside a primary view");
  }
  const ViewId& view = h.views.back().id;
  for (NodeId m : eligible_) {
    const membership::Gcm* g = m == n ? nullptr : gcm_of_(m);
    if (g == nullptr || !g->master_lock_held() || !g->view() || g->view()->id != view) continue;
    return Fail("two master-lock holders in " + ToString(view) + ": " + at + " and " + ToString(m));
  }
}

}  // namespace rain::sim
