// Gcm: construction, inputs, commands, timers and outputs (include/rain/membership/gcm.h).
// The protocol steps live in gcm_token.cc (the ring), gcm_911.cc (starvation, regeneration,
// joins, merges), gcm_multicast.cc (ordered multicast) and gcm_lock.cc (the master lock).
//
// Sources: research/RAINCORE.md §1 (GCM API), §2 (token-ring membership, 911, Chaos -> Reserve
// -> Agreement, primary = majority of the eligible members), §3 (Totem's ordering, aru and
// retransmission; Corosync's lessons). Deviations from the papers, also in docs/membership.md:
//  1. Regeneration is decided by ballots, not by "only the newest copy's holder regenerates":
//     a 911 carries a ballot (epoch, node); a node grants at most one ballot higher than any it
//     granted before and then refuses tokens of lower ballots. The newest-copy rule survives as
//     knowledge: grants report the newest primary view each node knows, and the new view
//     records it (View::prev_primary), which is what makes primary views one chain.
//  2. A minority regenerates too, into a non-primary view (the papers only say regeneration
//     needs a majority): every survivor needs a view without the crashed nodes, and the
//     primary flag, not the existence of a view, is what the majority rule protects.
//  3. A view is installed only after its member list has gone round twice (Chaos round: every
//     member sees the list and records what it holds of the old view; Reserve round: the old
//     view's messages are retransmitted; then each member installs on its Agreement visit).
//     The paper's Chaos -> Reserve -> Agreement states are these token phases.
//  4. Merges after a partition heals are regenerations with all reachable nodes (a "merge
//     911"), started by the side whose view id is higher; the paper adds joiners one by one.
//     Single joiners still go through 911 and are added by a ring member as its successor.
//  5. Ordered multicast follows Totem (messages sent directly to every member with a seq taken
//     from the token, aru and retransmission requests on the token), not the papers, which do
//     not specify it. Safe delivery uses Totem's "min aru of two visits" rule.
//  6. The master lock is released when its holder leaves the view, when the view is not
//     primary, and when the ring is regenerated.
//  7. An idle token is held for idle_token_hold at each member instead of circulating flat
//     out; a node with new work wakes the holder with an unreliable Wake.
//  8. While the host reports its CPU contended, a busy token also waits (busy_token_hold) at a
//     holder with nothing to send, and new work wakes a busy token too (docs/membership.md
//     "Busy holds"): on CPUs shared by several members the spin starves the traffic.
#include "rain/membership/gcm.h"

#include <algorithm>

#include "ordered_log.h"
#include "rain/core/assert.h"

namespace rain::membership {

const char* ToString(NodeState s) {
  switch (s) {
    case NodeState::kStarved:
      return "Starved";
    case NodeState::kChaos:
      return "Chaos";
    case NodeState::kReserve:
      return "Reserve";
    case NodeState::kAgreement:
      return "Agreement";
  }
  return "?";
}

Gcm::Gcm(GcmConfig config, Rng rng, Instant now, StableState stable)
    : config_(std::move(config)), rng_(std::move(rng)), stable_(stable) {
  std::sort(config_.eligible.begin(), config_.eligible.end());
  config_.eligible.erase(std::unique(config_.eligible.begin(), config_.eligible.end()),
                         config_.eligible.end());
  RAIN_CHECK(config_.self != kNoNode, "Gcm needs a node id");
  RAIN_CHECK(std::binary_search(config_.eligible.begin(), config_.eligible.end(), config_.self),
             "self must be eligible");
  RAIN_CHECK(config_.options.Validate().ok(), "invalid RingOptions");
  max_epoch_heard_ = std::max(stable_.promised.epoch, stable_.last_view.epoch);
  state_ = NodeState::kStarved;
  next_911_at_ = now;  // a new node joins at once
}

Gcm::~Gcm() = default;

// ---------------------------------------------------------------------------------------------
// Plumbing.

void Gcm::Out(NodeId to, std::shared_ptr<const std::vector<uint8_t>> bytes, bool reliable,
              TagKind kind, std::shared_ptr<const std::vector<uint8_t>> payload) {
  Transmit tx{to, std::move(bytes), 0, reliable};
  if (reliable) {
    tx.tag = next_tag_++;
    tags_.emplace(tx.tag, TagInfo{kind, to, std::move(payload)});
    if (kind == TagKind::kToken) pass_tag_ = tx.tag;
  }
  sends_.push_back(std::move(tx));
}

void Gcm::SendMsg(NodeId to, const Message& m, bool reliable, TagKind kind) {
  Out(to, std::make_shared<const std::vector<uint8_t>>(Encode(m, config_.cluster_id)), reliable,
      kind);
}

void Gcm::Emit(Event e) {
  RAIN_CHECK(events_.size() < config_.options.max_pending_events,
             "the host does not drain GCM events");
  events_.push_back(std::move(e));
}

size_t Gcm::RingSize() const {
  return last_token_ ? last_token_->members.size() : config_.eligible.size();
}

void Gcm::ArmTokenLoss(Instant now) {
  last_token_at_ = now;
  token_loss_at_ = now + TokenLossTimeout(config_.options, RingSize());
}

NodeId Gcm::SuccessorOf(const std::vector<NodeId>& members, NodeId n) const {
  auto it = std::find(members.begin(), members.end(), n);
  RAIN_CHECK(it != members.end(), "successor of a non-member");
  ++it;
  return it == members.end() ? members.front() : *it;
}

// ---------------------------------------------------------------------------------------------
// Inputs.

Status Gcm::HandleMessage(Instant now, NodeId from, std::span<const uint8_t> bytes) {
  if (!std::binary_search(config_.eligible.begin(), config_.eligible.end(), from) ||
      from == config_.self) {
    return FailedPreconditionError("gcm: message from a node that is not eligible");
  }
  RAIN_ASSIGN_OR_RETURN(Message m, Decode(bytes, config_.cluster_id));
  struct Dispatch {
    Gcm* g;
    Instant now;
    NodeId from;
    void operator()(Token& t) { g->HandleToken(now, from, std::move(t)); }
    void operator()(DataBatch& b) { g->HandleData(now, from, std::move(b)); }
    void operator()(Call911& c) { g->HandleCall911(now, from, c); }
    void operator()(Reply911& r) { g->HandleReply911(now, from, r); }
    void operator()(Probe& p) { g->HandleProbe(now, from, p); }
    void operator()(Wake& w) { g->HandleWake(now, w); }
    void operator()(Direct& d) { g->Emit(Received{from, true, std::move(d.payload)}); }
    void operator()(TokenAlive& a) { g->HandleTokenAlive(now, from, a); }
  };
  std::visit(Dispatch{this, now, from}, m);
  return Status::Ok();
}

void Gcm::HandleSendOutcome(Instant now, SendTag tag, bool delivered) {
  auto it = tags_.find(tag);
  if (it == tags_.end()) return;
  TagInfo info = it->second;
  tags_.erase(it);
  if (delivered) {
    if (info.kind == TagKind::kToken && tag == pass_tag_) next_token_alive_at_.reset();
    if (info.kind == TagKind::kDirect && info.notify_delivered) {
      Emit(DirectSendDelivered{info.to, std::move(info.payload)});
    }
    return;
  }
  switch (info.kind) {
    case TagKind::kToken:
      if (tag == pass_tag_) {
        next_token_alive_at_.reset();
        OnTokenPassFailed(now);
      }
      break;
    case TagKind::k911:
      On911Unreachable(now, info.to);
      break;
    case TagKind::kData:
      break;  // the receiver asks for a retransmission on the token, or is removed
    case TagKind::kDirect:
      Emit(DirectSendFailed{info.to, std::move(info.payload)});
      break;
  }
}

void Gcm::HandleTimeout(Instant now) {
  if (self_loop_ && now >= loop_at_) {
    self_loop_ = false;
    OnTokenArrival(now, *last_token_);
  }
  if (holding_ && !recovery_deadline_ && now >= hold_until_) Visit(now);
  if (recovery_deadline_ && now >= *recovery_deadline_) {
    // The retransmissions this node waits for are not coming (their sender died): give the
    // token up and let a 911 rebuild the ring.
    counters_.recovery_timeouts++;
    BecomeStarved(now);
  }
  if (attempt_ && now >= attempt_->deadline) MaybeDecide911(now, /*timed_out=*/true);
  MaybeSendTokenAlive(now);
  if (state_ != NodeState::kStarved && !holding_ && !self_loop_ && now >= token_loss_at_) {
    counters_.token_losses++;
    BecomeStarved(now);
  }
  if (state_ == NodeState::kStarved && !attempt_ && now >= next_911_at_) {
    StartCall911(now, view_ ? Call911Mode::kStarved : Call911Mode::kJoin);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands.

Status Gcm::Multicast(Instant now, std::vector<uint8_t> payload, Service service) {
  if (payload.size() > config_.options.max_message_bytes)
    return InvalidArgumentError("gcm: message larger than max_message_bytes");
  if (send_queue_.size() >= config_.options.send_queue_messages_max)
    return ResourceExhaustedError("gcm: send queue full (send_queue_messages_max)");
  send_queue_.push_back(Queued{std::move(payload), service});
  MaybeWake(now);
  return Status::Ok();
}

Status Gcm::Send(Instant now, std::span<const NodeId> to, std::vector<uint8_t> payload,
                 bool reliable, bool notify_delivered) {
  (void)now;
  if (payload.size() > config_.options.max_message_bytes)
    return InvalidArgumentError("gcm: message larger than max_message_bytes");
  // The payload is kept (shared by every target's outcome) so a failure can name what failed.
  auto kept = std::make_shared<const std::vector<uint8_t>>(std::move(payload));
  auto bytes =
      std::make_shared<const std::vector<uint8_t>>(Encode(Direct{*kept}, config_.cluster_id));
  for (NodeId n : to) {
    if (!std::binary_search(config_.eligible.begin(), config_.eligible.end(), n))
      return InvalidArgumentError("gcm: " + rain::ToString(n) + " is not eligible");
  }
  for (NodeId n : to) {
    if (n == config_.self) {
      Direct d;
      RAIN_ASSIGN_OR_RETURN(Message m, Decode(*bytes, config_.cluster_id));
      Emit(Received{n, reliable, std::move(std::get<Direct>(m).payload)});
      if (reliable && notify_delivered) Emit(DirectSendDelivered{n, kept});
      continue;
    }
    Out(n, bytes, reliable, TagKind::kDirect, reliable ? kept : nullptr);
    if (reliable && notify_delivered) tags_[sends_.back().tag].notify_delivered = true;
  }
  return Status::Ok();
}

Status Gcm::AcquireMasterLock(Instant now) {
  if (lock_held_ || lock_wanted_)
    return FailedPreconditionError("gcm: master lock already held or requested");
  lock_wanted_ = true;
  MaybeWake(now);
  return Status::Ok();
}

Status Gcm::ReleaseMasterLock(Instant now) {
  if (!lock_held_ && !lock_wanted_)
    return FailedPreconditionError("gcm: master lock neither held nor requested");
  lock_held_ = false;
  lock_wanted_ = false;
  lock_release_pending_ = true;  // cleared on the token at this node's next visit
  MaybeWake(now);
  return Status::Ok();
}

Status Gcm::SetParameters(const RingOptions& options) {
  RAIN_RETURN_IF_ERROR(options.Validate());
  config_.options = options;
  return Status::Ok();
}

void Gcm::SetCpuContended(Instant now, bool contended) {
  cpu_contended_ = contended;
  // No longer contended: a busy hold in progress ends now (the next HandleTimeout visits).
  if (!contended && holding_ && busy_held_ && !recovery_deadline_) {
    hold_until_ = std::min(hold_until_, now);
    busy_held_ = false;
  }
}

std::vector<NodeId> Gcm::CommunicationMembership() const {
  return view_ ? view_->members : std::vector<NodeId>{};
}

bool Gcm::HoldsMessage(const ViewId& view, uint64_t seq) const {
  if (log_ && log_->view() == view) return log_->Holds(seq);
  if (pending_ && pending_->view() == view) return pending_->Holds(seq);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Outputs.

std::optional<Transmit> Gcm::PollSend() {
  if (sends_.empty()) return std::nullopt;
  Transmit t = std::move(sends_.front());
  sends_.pop_front();
  return t;
}

std::optional<Event> Gcm::PollEvent() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<Instant> Gcm::PollDeadline() const {
  std::optional<Instant> d;
  auto consider = [&d](Instant t) {
    if (!d || t < *d) d = t;
  };
  if (self_loop_) consider(loop_at_);
  if (holding_ && !recovery_deadline_) consider(hold_until_);
  if (recovery_deadline_) consider(*recovery_deadline_);
  if (attempt_) consider(attempt_->deadline);
  if (state_ != NodeState::kStarved && !holding_ && !self_loop_) consider(token_loss_at_);
  if (next_token_alive_at_) consider(*next_token_alive_at_);
  if (state_ == NodeState::kStarved && !attempt_) consider(next_911_at_);
  return d;
}

}  // namespace rain::membership
