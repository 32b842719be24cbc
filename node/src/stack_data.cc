// NodeStack's data layer: the GDM and the election on the GCM (include/rain/node/stack.h,
// docs/gdm.md §2 "What the host must do").
#include <algorithm>
#include <variant>

#include "rain/node/stack.h"

namespace rain::node {

bool NodeStack::RouteDataLayer(Instant now) {
  if (!gdm_) return false;
  bool moved = false;
  bool again = true;
  // A GDM multicast can make the Gcm emit events at once (a singleton view delivers its own
  // messages), and those can make the GDM issue more: loop until nothing moves.
  while (again) {
    again = false;
    while (std::optional<membership::Event> e = gcm_.PollEvent()) {
      if (const auto* v = std::get_if<membership::ViewInstalled>(&*e)) {
        election_->HandleView(v->view);
        // What waits is for the old view (every GDM message names its view): drop it.
        for (auto& [to, p] : paced_) p.queued.clear();
      } else if (const auto* ok = std::get_if<membership::DirectSendDelivered>(&*e)) {
        if (ok->payload && ok->payload->size() >= kDirectPacedBytesMin) {
          OnPacedOutcome(now, ok->to, ok->payload->size());
        }
      } else if (const auto* failed = std::get_if<membership::DirectSendFailed>(&*e)) {
        if (failed->payload && failed->payload->size() >= kDirectPacedBytesMin) {
          OnPacedOutcome(now, failed->to, failed->payload->size());
        }
      }
      // Malformed GDM payloads are dropped by the Gdm (its state is unchanged); only counted.
      if (!gdm_->HandleGcmEvent(now, *e).ok()) ++stats_.gdm_messages_dropped;
      gcm_events_.push_back(std::move(*e));
      again = true;
    }
    while (std::optional<membership::GcmCommand> c = gdm_->PollGcmCommand()) {
      RunGdmCommand(now, std::move(*c));
      again = true;
    }
    while (std::optional<membership::PersistBatch> b = gdm_->PollPersist()) {
      persists_.push_back(std::move(*b));
      again = true;
    }
    while (std::optional<membership::GdmEvent> e = gdm_->PollEvent()) {
      if (const auto* d = std::get_if<membership::EpochDurable>(&*e)) {
        // Internal means the epoch did not grow (a bug upstream): the election ignores it.
        election_->HandleEpochDurable(*d).IgnoreError();
      } else if (const auto* f = std::get_if<membership::StorageFailed>(&*e)) {
        // The node can no longer promise durability: stop it, as for the GCM's stable state.
        if (health_.ok()) health_ = f->status.WithContext("persisting the GDM");
      }
      gdm_events_.push_back(std::move(*e));
      again = true;
    }
    while (std::optional<election::ElectionEvent> e = election_->PollEvent()) {
      election_events_.push_back(std::move(*e));
      again = true;
    }
    moved = moved || again;
  }
  return moved;
}

void NodeStack::RunGdmCommand(Instant now, membership::GcmCommand c) {
  if (auto* m = std::get_if<membership::GcmMulticast>(&c)) {
    Status s = gcm_.Multicast(now, std::move(m->payload), m->service);
    if (!s.ok()) {
      ++stats_.gdm_commands_refused;
      gdm_->HandleCommandRefused(m->op, s);
    }
  } else if (auto* d = std::get_if<membership::GcmSend>(&c)) {
    if (d->payload.size() >= kDirectPacedBytesMin) {
      for (size_t i = 0; i < d->to.size(); ++i) {
        DirectPacing& p = paced_[d->to[i]];
        p.queued.push_back(i + 1 == d->to.size() ? std::move(d->payload) : d->payload);
        PaceDirect(now, d->to[i]);
      }
      return;
    }
    // A refused point-to-point send (an ack, a snapshot chunk) is what a failed one is: the
    // GDM re-sends on DirectSendFailed, so report it that way for each target.
    if (!gcm_.Send(now, d->to, std::move(d->payload), /*reliable=*/true, d->notify_delivered)
             .ok()) {
      ++stats_.gdm_commands_refused;
      for (NodeId to : d->to) {
        gdm_->HandleGcmEvent(now, membership::DirectSendFailed{to}).IgnoreError();
      }
    }
  }
}

void NodeStack::PaceDirect(Instant now, NodeId to) {
  DirectPacing& p = paced_[to];
  while (!p.queued.empty() && (p.in_flight_bytes == 0 ||
                               p.in_flight_bytes + p.queued.front().size() <= kDirectWindowBytes)) {
    std::vector<uint8_t> payload = std::move(p.queued.front());
    p.queued.pop_front();
    const size_t bytes = payload.size();
    const NodeId target[] = {to};
    if (!gcm_.Send(now, target, std::move(payload), /*reliable=*/true, /*notify_delivered=*/true)
             .ok()) {
      ++stats_.gdm_commands_refused;
      gdm_->HandleGcmEvent(now, membership::DirectSendFailed{to}).IgnoreError();
      continue;
    }
    p.in_flight_bytes += bytes;
  }
}

void NodeStack::OnPacedOutcome(Instant now, NodeId to, size_t bytes) {
  DirectPacing& p = paced_[to];
  p.in_flight_bytes -= std::min(p.in_flight_bytes, bytes);
  PaceDirect(now, to);
}

void NodeStack::HandlePersisted(Instant now, uint64_t ticket, const Status& status) {
  if (gdm_) gdm_->HandlePersisted(now, ticket, status);
}

void NodeStack::HandlePersistedThrough(Instant now, uint64_t ticket, const Status& status) {
  if (gdm_) gdm_->HandlePersistedThrough(now, ticket, status);
}

namespace {
template <typename T>
std::optional<T> PopFront(std::deque<T>& q) {
  if (q.empty()) return std::nullopt;
  T v = std::move(q.front());
  q.pop_front();
  return v;
}
}  // namespace

std::optional<membership::Event> NodeStack::PollEvent() {
  return gdm_ ? PopFront(gcm_events_) : gcm_.PollEvent();
}
std::optional<membership::GdmEvent> NodeStack::PollGdmEvent() { return PopFront(gdm_events_); }
std::optional<election::ElectionEvent> NodeStack::PollElectionEvent() {
  return PopFront(election_events_);
}
std::optional<membership::PersistBatch> NodeStack::PollPersist() { return PopFront(persists_); }

}  // namespace rain::node
