// Ordered multicast on the token (research/RAINCORE.md §3, Totem): on each Agreement visit the
// holder takes up to max_messages_per_visit queued messages (flow control: at most
// window_messages ordered but not yet held by everyone), numbers them from the token's
// msg_seq, sends them as one DataBatch to every other member over the reliable transport, and
// keeps them itself (self-delivery). Messages are delivered in seq order: agreed ones as soon
// as all earlier ones are delivered, safe ones once min(aru of this visit, aru of the previous
// visit) covers them, i.e. once every member holds them. Gaps (a sender's batch failed to
// reach someone) are filled from the retransmission requests on the token.
#include <algorithm>

#include "ordered_log.h"
#include "rain/core/assert.h"
#include "rain/membership/gcm.h"

namespace rain::membership {

void Gcm::HandleData(Instant now, NodeId from, DataBatch b) {
  (void)from;
  // Messages of the token's view come from a holder's visit: the token was alive a moment ago.
  // Under a flood a rotation may outlast TokenLossTimeout, and this keeps it from calling 911.
  if (state_ == NodeState::kAgreement && !holding_ && last_token_ && b.view == last_token_->view) {
    ArmTokenLoss(now);
  }
  if (log_ && b.view == log_->view()) {
    for (DataMessage& m : b.messages) log_->Insert(std::move(m));
    if (holding_ && recovery_deadline_ && last_token_) {
      Visit(now);  // maybe the retransmission this node waited for
    } else {
      DeliverReady();
    }
    return;
  }
  if (pending_ && b.view == pending_->view()) {
    // Messages of the view being installed, sent by members that installed it before us.
    for (DataMessage& m : b.messages) {
      if (pending_->size() >= config_.options.window_messages) break;
      pending_->Insert(std::move(m));
    }
  }
}

void Gcm::AssignMessages(Instant now, Token& t) {
  (void)now;
  if (send_queue_.empty() || !view_ || view_->id != t.view) return;
  const RingOptions& o = config_.options;
  uint64_t outstanding = t.msg_seq - t.aru;
  if (outstanding >= o.window_messages) return;
  size_t budget = std::min<size_t>(o.max_messages_per_visit, o.window_messages - outstanding);
  DataBatch b;
  b.view = t.view;
  size_t bytes = 0;
  while (!send_queue_.empty() && b.messages.size() < budget) {
    Queued& q = send_queue_.front();
    if (!b.messages.empty() && bytes + q.payload.size() > o.max_bytes_per_visit) break;
    bytes += q.payload.size();
    b.messages.push_back(DataMessage{++t.msg_seq, config_.self, q.service, std::move(q.payload)});
    send_queue_.pop_front();
  }
  if (b.messages.empty()) return;
  if (t.members.size() > 1) {
    auto wire = std::make_shared<const std::vector<uint8_t>>(Encode(b, config_.cluster_id));
    for (NodeId n : t.members) {
      if (n != config_.self) Out(n, wire, /*reliable=*/true, TagKind::kData);
    }
  }
  for (DataMessage& m : b.messages) log_->Insert(std::move(m));
}

void Gcm::ServeRetransmissions(Token& t) {
  if (t.rtr.empty() || !log_) return;
  DataBatch b;
  b.view = t.view;
  std::vector<uint64_t> left;
  for (uint64_t s : t.rtr) {
    const DataMessage* m = log_->Find(s);
    if (m != nullptr) {
      b.messages.push_back(*m);
    } else {
      left.push_back(s);
    }
  }
  t.rtr = std::move(left);
  if (b.messages.empty()) return;
  auto wire = std::make_shared<const std::vector<uint8_t>>(Encode(b, config_.cluster_id));
  for (NodeId n : t.members) {
    if (n != config_.self) Out(n, wire, /*reliable=*/true, TagKind::kData);
  }
}

void Gcm::UpdateAruAndDeliver(Token& t) {
  RAIN_CHECK(log_ && log_->view() == t.view, "multicast state of another view");
  // Totem's aru rule: lower it to ours, or raise it if we set it last.
  uint64_t my_aru = log_->aru();
  if (my_aru < t.aru || t.aru_setter == config_.self || t.aru_setter == kNoNode) {
    t.aru = my_aru;
    t.aru_setter = t.aru == t.msg_seq ? kNoNode : config_.self;
  }
  safe_upto_ = std::min(t.aru, prev_visit_aru_);
  prev_visit_aru_ = t.aru;
  // Ask for what was ordered before our previous visit and still has not arrived (newer gaps
  // may simply be in flight).
  std::vector<uint64_t> missing =
      log_->Missing(prev_visit_msg_seq_, config_.options.max_retransmit_requests);
  for (uint64_t s : missing) {
    if (t.rtr.size() >= config_.options.max_retransmit_requests) break;
    if (std::find(t.rtr.begin(), t.rtr.end(), s) == t.rtr.end()) t.rtr.push_back(s);
  }
  prev_visit_msg_seq_ = t.msg_seq;
  DeliverReady();
  log_->Collect(safe_upto_);
}

void Gcm::DeliverReady() {
  if (state_ != NodeState::kAgreement || !view_ || !log_ || !last_token_ ||
      last_token_->view != view_->id || log_->view() != view_->id) {
    return;
  }
  while (const DataMessage* m = log_->NextDeliverable(safe_upto_)) {
    Emit(Delivered{m->sender, view_->id, m->seq, m->service, m->seq <= safe_upto_, m->payload});
    log_->MarkDelivered(m->seq);
  }
}

void Gcm::HandleWake(Instant now, const Wake& w) {
  if (!last_token_ || last_token_->view != w.view) return;
  // The token may be here or about to arrive: either way it goes round once without holds.
  wake_seen_at_ = now;
  if (holding_ && last_token_->phase == TokenPhase::kAgreement && !recovery_deadline_) {
    last_token_->busy_hops = std::max<uint32_t>(last_token_->busy_hops,
                                                static_cast<uint32_t>(last_token_->members.size()));
    hold_until_ = std::min(hold_until_, now);
  }
}

void Gcm::HandleTokenAlive(Instant now, NodeId from, const TokenAlive& a) {
  if (state_ == NodeState::kStarved || holding_ || self_loop_ || !last_token_ ||
      last_token_->view != a.view ||
      std::find(last_token_->members.begin(), last_token_->members.end(), from) ==
          last_token_->members.end()) {
    return;
  }
  ArmTokenLoss(now);
}

void Gcm::MaybeSendTokenAlive(Instant now) {
  if (!next_token_alive_at_ || now < *next_token_alive_at_) return;
  next_token_alive_at_ = now + config_.options.pass_keepalive_interval;
  if (state_ == NodeState::kStarved || holding_ || !last_token_) return;
  ArmTokenLoss(now);  // this node knows its token is alive: it waits for the pass's outcome
  counters_.token_alive_sent++;
  auto wire = std::make_shared<const std::vector<uint8_t>>(
      Encode(TokenAlive{last_token_->view}, config_.cluster_id));
  for (NodeId n : last_token_->members) {
    if (n != config_.self) Out(n, wire, /*reliable=*/false, TagKind::kData);
  }
}

void Gcm::MaybeWake(Instant now) {
  if (holding_) {
    if (!recovery_deadline_) hold_until_ = std::min(hold_until_, now);
    return;
  }
  // A busy token moves on by itself, unless contended CPUs make holders wait (busy holds).
  if (wake_sent_ || state_ != NodeState::kAgreement || !last_token_ || !view_ ||
      (last_token_->busy_hops > 1 && !cpu_contended_)) {
    return;
  }
  // The token is idling (or busy-held) somewhere: tell every member so its holder passes it on
  // at once.
  wake_sent_ = true;
  auto wire = std::make_shared<const std::vector<uint8_t>>(
      Encode(Wake{last_token_->view}, config_.cluster_id));
  for (NodeId n : last_token_->members) {
    if (n != config_.self) Out(n, wire, /*reliable=*/false, TagKind::kData);
  }
}

}  // namespace rain::membership
