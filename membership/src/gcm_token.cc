// The token ring (research/RAINCORE.md §2): accepting a token, the three token phases
// Chaos -> Reserve -> Agreement, adding and removing the successor, installing views.
//
// A token's member list changes only at its holder: the holder removes its successor when the
// Transport Manager reports the token could not be delivered to it, and adds a joiner as its
// successor. Every change creates a new view id and restarts the rounds:
//   Chaos     first round: each member accepts the new list (and thereby refuses any view that
//             does not know its newest primary view) and appends what it holds of its old
//             view's messages (a RecoveryRecord);
//   Reserve   second round: each member retransmits the old-view messages it is responsible
//             for to the members of its old view that lack them;
//   Agreement each member, on its first visit, delivers the old view's messages that any
//             member of its old-view group holds, installs the view, then runs the normal
//             services (multicast, lock, joins) on every visit.
#include <algorithm>

#include "ordered_log.h"
#include "rain/core/assert.h"
#include "rain/membership/gcm.h"

namespace rain::membership {
namespace {

ViewId KnownPrimaryOf(const Token& t) { return t.primary ? t.view : t.prev_primary; }

bool Contains(const std::vector<NodeId>& v, NodeId n) {
  return std::find(v.begin(), v.end(), n) != v.end();
}

}  // namespace

bool Gcm::AcceptToken(const Token& t) const {
  if (!Contains(t.members, config_.self)) return false;
  if (t.ballot < stable_.promised) return false;  // a lineage this node promised to ignore
  if (t.view < stable_.last_view) return false;   // superseded (or a fork of an old view)
  if (t.view == stable_.last_view) {
    // The same view: only a newer hop of the token this node knows. After a restart the
    // volatile state of the view is gone, so its token is refused and a 911 follows.
    return last_token_ && last_token_->view == t.view && t.hop_seq > last_token_->hop_seq;
  }
  // A view this node has not seen: it must start in Chaos (every member sees the first round)
  // and must know the newest primary view this node knows (the single-primary chain).
  return t.phase == TokenPhase::kChaos && t.prev_primary >= stable_.known_primary;
}

void Gcm::NoteAccepted(const Token& t) {
  stable_.promised = std::max(stable_.promised, t.ballot);
  stable_.last_view = std::max(stable_.last_view, t.view);
  stable_.known_primary = std::max(stable_.known_primary, KnownPrimaryOf(t));
  max_epoch_heard_ = std::max(max_epoch_heard_, t.ballot.epoch);
  last_token_ = t;
}

void Gcm::HandleToken(Instant now, NodeId from, Token t) {
  (void)from;
  if (!AcceptToken(t)) return;
  bool new_view = !last_token_ || last_token_->view != t.view;
  if (new_view) {
    state_ = NodeState::kChaos;
    record_written_ = false;
    retrans_done_ = false;
    pending_ = std::make_unique<OrderedLog>(t.view);
  }
  recovery_deadline_.reset();
  self_loop_ = false;
  pass_tag_ = 0;
  next_token_alive_at_.reset();
  if (attempt_ && attempt_->mode != Call911Mode::kMerge) attempt_.reset();
  NoteAccepted(t);
  ArmTokenLoss(now);
  OnTokenArrival(now, std::move(t));
}

void Gcm::OnTokenArrival(Instant now, Token t) {
  counters_.token_visits++;
  token_arrived_at_ = now;
  wake_sent_ = false;
  holding_ = true;
  hold_until_ = now;
  bool installed = view_ && view_->id == t.view;
  // Work this node could do now; a lock request waits for a primary view.
  bool woken = wake_seen_at_ && now - *wake_seen_at_ <= config_.options.idle_token_hold;
  if (woken) {
    t.busy_hops = std::max<uint32_t>(t.busy_hops, static_cast<uint32_t>(t.members.size()));
    wake_seen_at_.reset();
  }
  bool work = !send_queue_.empty() || (lock_wanted_ && t.primary) || lock_release_pending_ ||
              !joiners_.empty();
  busy_held_ = false;
  if (t.phase == TokenPhase::kAgreement && installed &&
      (t.members.size() == 1 || t.busy_hops == 0) && !work) {
    hold_until_ = now + config_.options.idle_token_hold;  // idle: slow the token down
  } else if (t.phase == TokenPhase::kAgreement && installed && !work && cpu_contended_ &&
             config_.options.busy_token_hold > Duration(0)) {
    // Busy, but nothing to add here and the CPUs are short: passing at once only makes the
    // token circulate faster than the work it carries (docs/membership.md "Busy holds"). A
    // Wake seen before this arrival does not cancel the hold (with 5 contended writers nearly
    // every arrival follows one, and no hold would start); one during the hold ends it.
    hold_until_ = now + config_.options.busy_token_hold;
    busy_held_ = true;
    counters_.busy_holds++;
  }
  last_token_ = std::move(t);
  if (hold_until_ <= now) Visit(now);
}

void Gcm::Visit(Instant now) {
  RAIN_CHECK(holding_ && last_token_, "visit without the token");
  Token t = *last_token_;
  switch (t.phase) {
    case TokenPhase::kChaos:
      VisitChaos(now, t);
      break;
    case TokenPhase::kReserve:
      VisitReserve(now, t);
      break;
    case TokenPhase::kAgreement:
      VisitAgreement(now, t);
      break;
  }
}

void Gcm::VisitChaos(Instant now, Token& t) {
  if (t.view.creator == config_.self && record_written_) {
    // Round one is complete: every member holds the list and has written its record.
    t.phase = TokenPhase::kReserve;
    VisitReserve(now, t);
    return;
  }
  state_ = NodeState::kChaos;
  WriteRecord(t);
  PassToken(now, std::move(t));
}

void Gcm::VisitReserve(Instant now, Token& t) {
  if (t.view.creator == config_.self && retrans_done_) {
    // Round two is complete: every member has sent its retransmissions.
    t.phase = TokenPhase::kAgreement;
    VisitAgreement(now, t);
    return;
  }
  state_ = NodeState::kReserve;
  if (!retrans_done_) SendRecoveryRetransmissions(t);
  retrans_done_ = true;
  PassToken(now, std::move(t));
}

bool Gcm::VisitAgreement(Instant now, Token& t) {
  bool installed_before = view_ && view_->id == t.view;
  if (!installed_before) {
    if (!TryInstall(now, t)) {
      // Missing retransmissions of the old view: keep the token until they arrive (they were
      // all sent during the Reserve round) or recovery_timeout passes.
      if (!recovery_deadline_) recovery_deadline_ = now + config_.options.recovery_timeout;
      last_token_ = t;
      holding_ = true;
      return false;
    }
  }
  recovery_deadline_.reset();
  state_ = NodeState::kAgreement;
  if (!t.records.empty() && t.view.creator == config_.self && installed_before) {
    t.records.clear();  // a full Agreement round has passed: every member has installed
  }
  if (MaybeAddJoiner(now, t)) return true;
  ServeRetransmissions(t);
  uint64_t seq_before = t.msg_seq;
  bool lock_busy = (lock_wanted_ && t.primary) || lock_release_pending_;
  LockOnVisit(t);
  AssignMessages(now, t);
  UpdateAruAndDeliver(t);
  bool activity = t.msg_seq != seq_before || t.msg_seq != t.aru || !t.rtr.empty() || lock_busy;
  if (activity) {
    t.busy_hops = config_.options.busy_hops_per_member * static_cast<uint32_t>(t.members.size());
  } else if (t.busy_hops > 0) {
    --t.busy_hops;
  }
  if (now >= next_probe_at_) SendProbes(now);
  PassToken(now, std::move(t));
  return true;
}

void Gcm::PassToken(Instant now, Token t) {
  t.hop_seq += 1;
  NodeId succ = SuccessorOf(t.members, config_.self);
  holding_ = false;
  counters_.token_held += now - token_arrived_at_;
  wake_sent_ = false;
  last_token_ = t;
  ArmTokenLoss(now);
  if (succ == config_.self) {
    self_loop_ = true;
    loop_at_ = now;
    pass_tag_ = 0;
    next_token_alive_at_.reset();
    return;
  }
  SendMsg(succ, t, /*reliable=*/true, TagKind::kToken);
  next_token_alive_at_ = now + config_.options.pass_keepalive_interval;
}

void Gcm::CreateView(Instant now, Token& t, std::vector<NodeId> members, ViewId extra_known) {
  (void)now;
  ViewId known =
      std::max({t.view.empty() ? ViewId{} : KnownPrimaryOf(t), extra_known, stable_.known_primary});
  t.hop_seq += 1;
  t.view = ViewId{t.ballot.epoch, t.ballot.node, t.hop_seq, config_.self};
  RAIN_CHECK(t.view > stable_.last_view, "a new view id must exceed every view seen");
  t.prev_primary = known;
  t.members = std::move(members);
  t.primary = HoldsMajority(t.members, config_.eligible);
  t.phase = TokenPhase::kChaos;
  t.msg_seq = 0;
  t.aru = 0;
  t.aru_setter = kNoNode;
  t.rtr.clear();
  t.busy_hops = config_.options.busy_hops_per_member * static_cast<uint32_t>(t.members.size());
  t.records.clear();
  LockPurge(t);
  if (!t.primary) {
    t.lock_holder = kNoNode;
    t.lock_queue.clear();
  }
  NoteAccepted(t);
  state_ = NodeState::kChaos;
  record_written_ = false;
  retrans_done_ = false;
  recovery_deadline_.reset();
  pending_ = std::make_unique<OrderedLog>(t.view);
  WriteRecord(t);
}

void Gcm::WriteRecord(Token& t) {
  RecoveryRecord rec;
  rec.node = config_.self;
  if (view_ && log_) {
    rec.old_view = view_->id;
    rec.aru = log_->aru();
    rec.extras = log_->Extras(config_.options.window_messages);
  }
  auto it = std::find_if(t.records.begin(), t.records.end(),
                         [this](const RecoveryRecord& r) { return r.node == config_.self; });
  if (it != t.records.end()) {
    *it = std::move(rec);
  } else {
    t.records.push_back(std::move(rec));
  }
  record_written_ = true;
}

void Gcm::SendRecoveryRetransmissions(const Token& t) {
  if (!view_ || !log_) return;
  std::vector<RecoveryRecord> group;
  for (const RecoveryRecord& r : t.records) {
    if (r.old_view == view_->id) group.push_back(r);
  }
  if (group.size() < 2) return;
  RecoveryPlan plan(std::move(group));
  std::map<NodeId, DataBatch> out;
  for (uint64_t s : plan.UnionAbove(plan.min_aru())) {
    if (plan.Responsible(s) != config_.self) continue;
    const DataMessage* m = log_->Find(s);
    RAIN_CHECK(m != nullptr, "a recorded message is gone before recovery");
    for (NodeId n : plan.Lacking(s)) {
      DataBatch& b = out[n];
      b.view = view_->id;
      b.messages.push_back(*m);
    }
  }
  for (auto& [n, b] : out) SendMsg(n, b, /*reliable=*/true, TagKind::kData);
}

bool Gcm::TryInstall(Instant now, Token& t) {
  (void)now;
  if (view_ && log_) {
    std::vector<RecoveryRecord> group;
    for (const RecoveryRecord& r : t.records) {
      if (r.old_view == view_->id) group.push_back(r);
    }
    RAIN_CHECK(!group.empty(), "own recovery record missing");
    RecoveryPlan plan(std::move(group));
    std::vector<uint64_t> todo = plan.UnionAbove(log_->delivered());
    for (uint64_t s : todo) {
      if (!log_->Holds(s)) return false;
    }
    // Virtual synchrony: every member of this old-view group delivers exactly the union.
    for (uint64_t s : todo) {
      const DataMessage* m = log_->Find(s);
      RAIN_CHECK(m != nullptr, "undelivered message collected");
      Emit(Delivered{m->sender, view_->id, s, m->service, false, m->payload});
      log_->MarkDelivered(s);
    }
  }
  View v{t.view, t.members, t.primary, t.prev_primary};
  view_ = v;
  if (pending_ && pending_->view() == t.view) {
    log_ = std::move(pending_);
  } else {
    log_ = std::make_unique<OrderedLog>(t.view);
  }
  pending_.reset();
  prev_visit_aru_ = 0;
  prev_visit_msg_seq_ = 0;
  safe_upto_ = 0;
  Emit(ViewInstalled{v});
  LockOnInstall(t);
  return true;
}

void Gcm::OnTokenPassFailed(Instant now) {
  // The successor is unreachable on every path: remove it at once and pass to the next
  // member (the paper's aggressive failure detection; a wrong removal is undone by a join).
  if (holding_ || self_loop_ || state_ == NodeState::kStarved || !last_token_) return;
  Token t = *last_token_;
  NodeId succ = SuccessorOf(t.members, config_.self);
  if (succ == config_.self) return;
  counters_.token_pass_failures++;
  std::vector<NodeId> members;
  for (NodeId m : t.members) {
    if (m != succ) members.push_back(m);
  }
  holding_ = true;
  token_arrived_at_ = now;  // held again only to pass it on
  CreateView(now, t, std::move(members), ViewId{});
  PassToken(now, std::move(t));
}

bool Gcm::MaybeAddJoiner(Instant now, Token& t) {
  for (auto it = joiners_.begin(); it != joiners_.end();) {
    if (it->second.expires <= now || Contains(t.members, it->first)) {
      it = joiners_.erase(it);
    } else {
      ++it;
    }
  }
  if (joiners_.empty() || t.members.size() >= config_.options.max_members) return false;
  auto [joiner, info] = *joiners_.begin();
  joiners_.erase(joiners_.begin());
  std::vector<NodeId> members = t.members;
  auto pos = std::find(members.begin(), members.end(), config_.self);
  members.insert(pos + 1, joiner);  // the joiner becomes this node's successor
  CreateView(now, t, std::move(members), info.known_primary);
  PassToken(now, std::move(t));
  return true;
}

void Gcm::DropHeldToken() {
  next_token_alive_at_.reset();
  holding_ = false;
  self_loop_ = false;
  recovery_deadline_.reset();
}

}  // namespace rain::membership
