// 911: starvation, regeneration, joins and merges (research/RAINCORE.md §2).
//
// A node that has not seen the token for TokenLossTimeout (or that is in no ring) calls 911:
// it sends Call911{ballot} to every eligible node. A node whose ring is alive answers
// DenyAlive (and remembers a caller outside its ring as a joiner, to be added as its successor
// at its next token visit). Any other node grants the ballot if it is higher than every ballot
// it granted or holds, and from then on refuses tokens of lower ballots (Reply911 kGrant).
// After call911_reply_timeout (or once everyone answered) the caller decides:
//   - a higher ballot exists          -> back off (random) and retry later;
//   - some ring is alive              -> wait for the token (or to be added) and retry later;
//   - otherwise                       -> regenerate: a new token of its ballot with itself and
//                                        the grantors, primary iff that is a majority of the
//                                        eligible members (deviation 2 in gcm.cc).
// Merge: a ring member that learns (Probe/ProbeReply) of a ring with a lower view id calls a
// merge 911, which live rings grant too; the result is one ring of everyone reachable.
#include <algorithm>

#include "rain/core/assert.h"
#include "rain/membership/gcm.h"

namespace rain::membership {

Duration Gcm::Backoff() {
  auto lo = config_.options.call911_retry_min.count();
  auto hi = config_.options.call911_retry_max.count();
  return Duration(rng_.Between(lo, hi));
}

void Gcm::BecomeStarved(Instant now) {
  state_ = NodeState::kStarved;
  DropHeldToken();
  next_911_at_ = now;
}

void Gcm::StartCall911(Instant now, Call911Mode mode) {
  Ballot b{std::max({max_epoch_heard_, stable_.promised.epoch, stable_.last_view.epoch}) + 1,
           config_.self};
  max_epoch_heard_ = b.epoch;
  attempt_ = Attempt{b, mode, now + config_.options.call911_reply_timeout, {}};
  Call911 msg{b, mode, stable_.last_view, stable_.known_primary};
  auto bytes = std::make_shared<const std::vector<uint8_t>>(Encode(msg, config_.cluster_id));
  for (NodeId n : config_.eligible) {
    if (n != config_.self) Out(n, bytes, /*reliable=*/true, TagKind::k911);
  }
  MaybeDecide911(now, /*timed_out=*/false);
}

void Gcm::HandleCall911(Instant now, NodeId from, const Call911& m) {
  max_epoch_heard_ = std::max(max_epoch_heard_, m.ballot.epoch);
  Reply911 r;
  r.ballot = m.ballot;
  r.last_view = stable_.last_view;
  r.known_primary = stable_.known_primary;
  bool in_ring = state_ != NodeState::kStarved;
  bool caller_is_member =
      last_token_ && std::find(last_token_->members.begin(), last_token_->members.end(), from) !=
                         last_token_->members.end();
  // A starved member of our own ring is believed only if we have not seen the token lately
  // either: members' loss timers fire about one rotation apart, and denying the first caller
  // would cost a whole extra TokenLossTimeout on every holder crash.
  bool token_fresh = holding_ || self_loop_ ||
                     now - last_token_at_ < TokenLossTimeout(config_.options, RingSize()) / 2;
  if (in_ring && m.mode != Call911Mode::kMerge && (token_fresh || !caller_is_member)) {
    r.kind = Reply911Kind::kDenyAlive;
    r.promised = stable_.promised;
    r.caller_is_member = caller_is_member;
    if (!r.caller_is_member) {
      if (m.last_view > last_token_->view || m.known_primary > stable_.known_primary) {
        // The caller would refuse our token (it knows newer views): absorb it by a merge.
        MaybeStartMerge(now, ViewId{});
      } else {
        joiners_[from] = Joiner{m.known_primary, now + config_.options.joiner_ttl};
        if (holding_ && !recovery_deadline_) hold_until_ = std::min(hold_until_, now);
      }
    }
  } else {
    Ballot bar = stable_.promised;
    if (attempt_) bar = std::max(bar, attempt_->ballot);
    if (m.ballot > bar) {
      r.kind = Reply911Kind::kGrant;
      stable_.promised = m.ballot;
      r.promised = m.ballot;
      attempt_.reset();  // lost to a higher ballot
      // Our own ring's token (if any) is now refused here; wait for the caller's token.
      state_ = NodeState::kStarved;
      DropHeldToken();
      next_911_at_ = now + config_.options.call911_reply_timeout +
                     TokenLossTimeout(config_.options, config_.eligible.size());
    } else {
      r.kind = Reply911Kind::kDenyPromised;
      r.promised = bar;
    }
  }
  SendMsg(from, r, /*reliable=*/true, TagKind::k911);
}

void Gcm::HandleReply911(Instant now, NodeId from, const Reply911& r) {
  max_epoch_heard_ = std::max({max_epoch_heard_, r.promised.epoch, r.last_view.epoch});
  if (!attempt_ || r.ballot != attempt_->ballot) return;
  attempt_->replies[from] = r;
  MaybeDecide911(now, /*timed_out=*/false);
}

void Gcm::On911Unreachable(Instant now, NodeId to) {
  if (!attempt_) return;
  attempt_->replies.emplace(to, std::nullopt);
  MaybeDecide911(now, /*timed_out=*/false);
}

void Gcm::MaybeDecide911(Instant now, bool timed_out) {
  if (!attempt_) return;
  bool all = attempt_->replies.size() + 1 >= config_.eligible.size();
  if (!all && !timed_out) return;
  Attempt a = std::move(*attempt_);
  attempt_.reset();
  std::vector<NodeId> grantors;
  bool lost = false, alive_member = false, alive_other = false;
  ViewId known = stable_.known_primary;
  for (const auto& [n, r] : a.replies) {
    if (!r) continue;
    switch (r->kind) {
      case Reply911Kind::kGrant:
        grantors.push_back(n);
        known = std::max(known, r->known_primary);
        break;
      case Reply911Kind::kDenyPromised:
        lost = true;
        break;
      case Reply911Kind::kDenyAlive:
        (r->caller_is_member ? alive_member : alive_other) = true;
        break;
    }
  }
  if (lost || a.ballot < stable_.promised) {
    if (state_ == NodeState::kStarved) next_911_at_ = now + Backoff();
    return;
  }
  if (a.mode == Call911Mode::kMerge) {
    if (grantors.empty()) return;  // nobody to merge with
  } else if (alive_member || alive_other) {
    // A ring is alive: wait for its token (we are a member) or to be added (a joiner).
    next_911_at_ = now + (alive_member ? TokenLossTimeout(config_.options, RingSize())
                                       : config_.options.join_retry_interval);
    return;
  }
  Regenerate(now, a.ballot, grantors, known);
}

void Gcm::Regenerate(Instant now, Ballot ballot, const std::vector<NodeId>& grantors,
                     ViewId known) {
  std::vector<NodeId> members = grantors;
  members.push_back(config_.self);
  std::sort(members.begin(), members.end());
  if (members.size() > config_.options.max_members) {
    // Keep self and the lowest ids; the rest join later.
    std::vector<NodeId> kept{config_.self};
    for (NodeId n : members) {
      if (kept.size() >= config_.options.max_members) break;
      if (n != config_.self) kept.push_back(n);
    }
    std::sort(kept.begin(), kept.end());
    members = std::move(kept);
  }
  Token t;
  t.ballot = ballot;
  t.hop_seq = 0;
  // Regeneration releases the master lock (deviation 6).
  t.lock_holder = kNoNode;
  DropHeldToken();
  holding_ = true;
  token_arrived_at_ = now;  // a regenerated token starts here
  CreateView(now, t, std::move(members), known);
  ArmTokenLoss(now);
  PassToken(now, std::move(t));
}

void Gcm::HandleProbe(Instant now, NodeId from, const Probe& p) {
  if (state_ != NodeState::kAgreement || !view_ || view_->Contains(from)) return;
  if (!p.reply) SendMsg(from, Probe{view_->id, true}, /*reliable=*/false, TagKind::kData);
  if (p.view.empty() || !(p.view < view_->id)) return;
  // The ring with the higher view id absorbs the other. On a probe, only our lowest member
  // acts (one initiator per ring); on a reply, the prober acts.
  if (p.reply || config_.self == *std::min_element(view_->members.begin(), view_->members.end())) {
    MaybeStartMerge(now, p.view);
  }
}

void Gcm::SendProbes(Instant now) {
  next_probe_at_ = now + config_.options.merge_probe_interval;
  if (!view_) return;
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  for (NodeId n : config_.eligible) {
    if (view_->Contains(n)) continue;
    if (!bytes) {
      bytes = std::make_shared<const std::vector<uint8_t>>(
          Encode(Probe{view_->id, false}, config_.cluster_id));
    }
    Out(n, bytes, /*reliable=*/false, TagKind::kData);
  }
}

void Gcm::MaybeStartMerge(Instant now, const ViewId& foreign) {
  (void)foreign;
  if (attempt_ || now < next_merge_at_) return;
  next_merge_at_ = now + config_.options.merge_backoff;
  StartCall911(now, Call911Mode::kMerge);
}

}  // namespace rain::membership
