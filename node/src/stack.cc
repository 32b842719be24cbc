// NodeStack: the GCM on the Transport (include/rain/node/stack.h).
#include "rain/node/stack.h"

#include <algorithm>

#include "rain/membership/wire.h"

namespace rain::node {

Result<std::unique_ptr<NodeStack>> NodeStack::Create(comm::Transport& transport,
                                                     NodeStackOptions options, Rng rng, Instant now,
                                                     membership::StableState stable,
                                                     StableStorage* storage) {
  // The Gcm checks these with RAIN_CHECK; a host gets an error instead.
  const membership::GcmConfig& g = options.gcm;
  if (g.self == kNoNode) return InvalidArgumentError("NodeStack: GcmConfig.self is not set");
  if (std::find(g.eligible.begin(), g.eligible.end(), g.self) == g.eligible.end()) {
    return InvalidArgumentError("NodeStack: self is not an eligible member");
  }
  RAIN_RETURN_IF_ERROR(g.options.Validate());
  if (storage == nullptr) return InvalidArgumentError("NodeStack: no StableStorage");
  RAIN_RETURN_IF_ERROR(transport.RegisterChannel(options.channel, "gcm"));
  return std::unique_ptr<NodeStack>(
      new NodeStack(std::move(options), std::move(rng), now, stable, storage));
}

Result<std::unique_ptr<NodeStack>> NodeStack::Create(comm::Transport& transport,
                                                     NodeStackOptions options, Rng rng, Instant now,
                                                     membership::StableState stable,
                                                     StableStorage* storage, DataLayerStart data) {
  if (data.epoch_storage == nullptr) return InvalidArgumentError("NodeStack: no EpochStorage");
  const size_t item_max = GdmItemBytesMax(options.gcm.options);
  if (data.gdm.max_item_bytes == 0) data.gdm.max_item_bytes = item_max;
  if (data.gdm.max_item_bytes == 0 || data.gdm.max_item_bytes > item_max) {
    return InvalidArgumentError("NodeStack: GDM max_item_bytes " +
                                std::to_string(data.gdm.max_item_bytes) +
                                " does not fit a GCM message (max_message_bytes " +
                                std::to_string(options.gcm.options.max_message_bytes) + " less " +
                                std::to_string(kGdmCommitReserveBytes) + " of header reserve)");
  }
  if (data.gdm.cluster_id == 0) data.gdm.cluster_id = options.gcm.cluster_id;
  const NodeId self = options.gcm.self;
  RAIN_ASSIGN_OR_RETURN(
      std::unique_ptr<NodeStack> stack,
      Create(transport, std::move(options), std::move(rng), now, stable, storage));
  stack->gdm_ = std::make_unique<membership::Gdm>(self, data.gdm, std::move(data.restored));
  stack->election_ = std::make_unique<election::Election>(self, data.stable_epoch);
  stack->epoch_storage_ = data.epoch_storage;
  stack->saved_epoch_ = data.stable_epoch;
  return stack;
}

size_t GdmItemBytesMax(const membership::RingOptions& o) {
  return o.max_message_bytes > kGdmCommitReserveBytes ? o.max_message_bytes - kGdmCommitReserveBytes
                                                      : 0;
}

NodeStack::NodeStack(NodeStackOptions options, Rng rng, Instant now, membership::StableState stable,
                     StableStorage* storage)
    : options_(std::move(options)),
      gcm_(options_.gcm, std::move(rng), now, stable),
      storage_(storage),
      saved_(stable) {}

void NodeStack::HandleTransportEvent(comm::Transport& transport, Instant now, comm::Event event) {
  (void)transport;
  if (auto* m = std::get_if<comm::MessageDelivered>(&event)) {
    if (m->channel != options_.channel) return;
    ++stats_.gcm_messages_in;
    if (!gcm_.HandleMessage(now, m->from, m->bytes).ok()) ++stats_.gcm_messages_rejected;
  } else if (auto* d = std::get_if<comm::DatagramReceived>(&event)) {
    if (d->channel != options_.channel) return;
    ++stats_.gcm_messages_in;
    if (!gcm_.HandleMessage(now, d->from, d->bytes).ok()) ++stats_.gcm_messages_rejected;
  } else if (auto* c = std::get_if<comm::SendCompleted>(&event)) {
    if (c->channel != options_.channel) return;
    auto it = tags_.find(comm::ToInt(c->id));
    if (it == tags_.end()) return;  // not ours (cannot happen: one channel, one owner)
    membership::SendTag tag = it->second;
    tags_.erase(it);
    gcm_.HandleSendOutcome(now, tag, c->outcome == comm::SendOutcome::kDelivered);
  }
  // LinkChanged / PeerReachability / PeerRestarted: the GCM's failure detector is the failed
  // send (a restarted peer's pending sends are failed by the TM), so nothing more to do here.
}

void NodeStack::HandleTimeout(comm::Transport& transport, Instant now) {
  (void)transport;
  gcm_.HandleTimeout(now);
}

std::optional<Instant> NodeStack::PollDeadline() const {
  if (!health_.ok()) return std::nullopt;
  return gcm_.PollDeadline();
}

bool NodeStack::Persist() {
  if (!health_.ok()) return false;
  if (election_ && election_->stable_epoch() != saved_epoch_) {
    Status s = epoch_storage_->SaveEpoch(election_->stable_epoch());
    if (!s.ok()) {
      health_ = s.WithContext("persisting the election epoch");
      return false;
    }
    saved_epoch_ = election_->stable_epoch();
    ++stats_.epoch_saves;
  }
  const membership::StableState& now_state = gcm_.stable_state();
  if (now_state == saved_) return true;
  Status s = storage_->Save(now_state);
  if (!s.ok()) {
    health_ = s.WithContext("persisting the GCM stable state");
    return false;
  }
  saved_ = now_state;
  ++stats_.stable_saves;
  return true;
}

void NodeStack::Send(comm::Transport& transport, Instant now, membership::Transmit t) {
  if (!t.reliable) {
    ++stats_.unreliable_sends;
    // Probes and wakes: losing one is part of their contract, so a refusal is only counted.
    if (!transport.SendUnreliable(now, t.to, options_.channel, *t.bytes).ok()) {
      ++stats_.send_errors;
    }
    return;
  }
  ++stats_.reliable_sends;
  bool token =
      t.bytes->size() > 1 && (*t.bytes)[1] == static_cast<uint8_t>(membership::MsgType::kToken);
  Result<comm::MessageId> id =
      transport.SendReliable(now, t.to, options_.channel, t.bytes,
                             token ? options_.token_strategy : options_.other_strategy);
  if (!id.ok()) {
    // Unknown peer, queue full, shut down: the message is not going anywhere, which the GCM
    // must learn exactly like a failure after retries (each reliable send gets one outcome).
    ++stats_.send_errors;
    refused_.push_back(t.tag);
    return;
  }
  tags_.emplace(comm::ToInt(*id), t.tag);
}

bool NodeStack::Flush(comm::Transport& transport, Instant now) {
  bool progress = false;
  for (int round = 0; round < kFlushRoundsMax; ++round) {
    if (health_.ok() && RouteDataLayer(now)) progress = true;
    // Every output of the inputs so far leaves only after their stable state is durable.
    if (!Persist()) {
      while (gcm_.PollSend()) {
      }  // a node that cannot persist must not speak (its promises would not survive a crash)
      return progress;
    }
    bool any = false;
    while (std::optional<membership::Transmit> t = gcm_.PollSend()) {
      Send(transport, now, std::move(*t));
      any = true;
    }
    if (refused_.empty()) return progress || any;
    std::vector<membership::SendTag> refused;
    refused.swap(refused_);
    for (membership::SendTag tag : refused) gcm_.HandleSendOutcome(now, tag, false);
    progress = true;
  }
  return true;  // still refusing sends (a shut-down Transport): the host calls again
}

}  // namespace rain::node
