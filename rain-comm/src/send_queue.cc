#include "send_queue.h"

#include <algorithm>
#include <string>

#include "rain/core/assert.h"

namespace rain::comm {

SendQueue::SendQueue(const TransportOptions& options, NodeId peer)
    : options_(&options), peer_(peer), peer_window_(options.recv_window_bytes) {}

Status SendQueue::CanEnqueue(size_t bytes) const {
  if (messages_.size() >= options_->send_queue_messages_max) {
    return ResourceExhaustedError("send queue to " + ToString(peer_) + " holds " +
                                  std::to_string(messages_.size()) +
                                  " messages (send_queue_messages_max)");
  }
  if (bytes_queued_ + bytes > options_->send_queue_bytes_max) {
    return ResourceExhaustedError("send queue to " + ToString(peer_) + " holds " +
                                  std::to_string(bytes_queued_) + " bytes; " +
                                  std::to_string(bytes) + " more exceed send_queue_bytes_max");
  }
  return Status::Ok();
}

void SendQueue::Enqueue(MessageId id, ChannelId channel,
                        std::shared_ptr<const std::vector<uint8_t>> data, Strategy strategy,
                        uint64_t logical_time, uint32_t fragment_bytes, Instant now) {
  RAIN_CHECK(fragment_bytes > 0, "fragment size");
  const uint64_t seq = next_message_seq_++;
  OutMessage& m = messages_[seq];
  m.id = id;
  m.to = peer_;
  m.channel = channel;
  uint64_t& next_channel_seq = next_channel_seq_[ToInt(channel)];
  if (next_channel_seq == 0) next_channel_seq = 1;
  m.channel_seq = next_channel_seq++;
  m.stream_offset = next_stream_offset_;
  m.logical_time = logical_time;
  m.strategy = strategy;
  m.enqueued = now;
  const size_t size = data->size();
  m.data = std::move(data);
  const size_t count = size == 0 ? 1 : (size + fragment_bytes - 1) / fragment_bytes;
  m.fragments.resize(count);
  for (size_t i = 0; i < count; ++i) {
    m.fragments[i].offset = static_cast<uint32_t>(i * fragment_bytes);
    m.fragments[i].bytes =
        static_cast<uint32_t>(std::min<size_t>(fragment_bytes, size - i * fragment_bytes));
  }
  next_stream_offset_ += size;
  bytes_queued_ += size;
  channel_pending_[ToInt(channel)][m.channel_seq] = seq;
}

bool SendQueue::HasUnsentOrQueued() const {
  if (!copies_.empty() || !retransmit_.empty()) return true;
  auto it = messages_.lower_bound(new_cursor_);
  return it != messages_.end();
}

uint64_t SendQueue::ChannelLow(ChannelId channel) const {
  auto it = channel_pending_.find(ToInt(channel));
  if (it != channel_pending_.end() && !it->second.empty()) return it->second.begin()->first;
  auto n = next_channel_seq_.find(ToInt(channel));
  return n == next_channel_seq_.end() ? 1 : n->second;
}

uint64_t SendQueue::StreamLow() const {
  return messages_.empty() ? next_stream_offset_ : messages_.begin()->second.stream_offset;
}

bool SendQueue::FlowAllows(uint64_t message_seq, const OutMessage& m, const Fragment& f) const {
  if (message_seq == messages_.begin()->first) return true;  // the oldest always progresses
  return m.stream_offset + f.offset + f.bytes <= StreamLow() + peer_window_;
}

bool SendQueue::Exhausted(const Fragment& f, const std::vector<PathState>& paths) const {
  return f.transmissions >=
         kTransmissionsFactor * options_->transmissions_per_path_max * paths.size();
}

int SendQueue::ChoosePath(const Fragment& f, const std::vector<PathState>& paths) const {
  // Order: up and healthy, then up but suspect (an RTO fired), then down, then exhausted (only
  // when every path is: the last RTOs before the peer's messages fail); config order within.
  if (Exhausted(f, paths)) return -1;
  int best = -1;
  int best_rank = 99;
  for (size_t p = 0; p < paths.size(); ++p) {
    const int rank = PathExhausted(paths[p])  ? 3
                     : !paths[p].monitor.up() ? 2
                     : paths[p].suspect()     ? 1
                                              : 0;
    if (rank < best_rank) {
      best_rank = rank;
      best = static_cast<int>(p);
    }
  }
  return best;
}

std::optional<SendQueue::Candidate> SendQueue::NextCandidate(bool first) {
  while (first && !copies_.empty()) {
    const Candidate& c = copies_.front();
    auto it = messages_.find(c.ref.message_seq);
    if (it != messages_.end() && it->second.fragments[c.ref.index].state != FragmentState::kAcked) {
      return c;
    }
    copies_.pop_front();
  }
  while (!retransmit_.empty()) {
    const FragmentRef& r = retransmit_.front();
    auto it = messages_.find(r.message_seq);
    if (it != messages_.end() && it->second.fragments[r.index].state == FragmentState::kQueued) {
      return Candidate{Candidate::Source::kRetransmit, r, -1};
    }
    retransmit_.pop_front();
  }
  for (auto it = messages_.lower_bound(new_cursor_); it != messages_.end(); ++it) {
    new_cursor_ = it->first;
    if (it->second.next_unsent < it->second.fragments.size()) {
      return Candidate{Candidate::Source::kNew, FragmentRef{it->first, it->second.next_unsent}, -1};
    }
  }
  new_cursor_ = next_message_seq_;
  return std::nullopt;
}

void SendQueue::Consume(const Candidate& c) {
  switch (c.source) {
    case Candidate::Source::kCopy:
      copies_.pop_front();
      break;
    case Candidate::Source::kRetransmit:
      retransmit_.pop_front();
      break;
    case Candidate::Source::kNew:
      messages_.at(c.ref.message_seq).next_unsent++;
      break;
  }
}

std::optional<PacketPlan> SendQueue::Plan(std::vector<PathState>& paths, TransportStats& stats) {
  PacketPlan plan;
  size_t room = 0;
  ChannelId channel{};
  bool parallel_first = false;
  while (true) {
    const bool first = plan.fragments.empty();
    std::optional<Candidate> c = NextCandidate(first);
    if (!c) break;
    auto mit = messages_.find(c->ref.message_seq);
    OutMessage& m = mit->second;
    Fragment& f = m.fragments[c->ref.index];
    int path = c->path;
    if (path < 0) {
      path = ChoosePath(f, paths);
      if (path < 0) {  // every path used up: the message fails
        Consume(*c);
        Fail(c->ref.message_seq, stats);
        continue;
      }
    } else if (PathExhausted(paths[path])) {  // a parallel copy for a silent path
      Consume(*c);
      continue;
    }
    const size_t frame_bytes = wire::kDataFrameHeaderBytes + f.bytes;
    if (first) {
      PathState& ps = paths[path];
      const bool probe = probe_due_ && c->source == Candidate::Source::kRetransmit;
      if (!probe && !ps.cc.CanSend(ps.bytes_in_flight, frame_bytes + wire::kHeaderBytes)) break;
      probe_due_ = false;
      if (c->source == Candidate::Source::kNew && !FlowAllows(mit->first, m, f)) {
        ++stats.flow_control_blocked;
        break;
      }
      plan.path = static_cast<uint32_t>(path);
      room = ps.packet_bytes - wire::kHeaderBytes - wire::kMacBytes;
      channel = m.channel;
      parallel_first = m.strategy == Strategy::kParallel;
    } else {
      if (static_cast<uint32_t>(path) != plan.path || m.channel != channel || frame_bytes > room) {
        break;
      }
      if (parallel_first || m.strategy == Strategy::kParallel) break;  // copies go alone
      if (c->source == Candidate::Source::kNew && !FlowAllows(mit->first, m, f)) break;
    }
    RAIN_CHECK(frame_bytes <= room, "fragment larger than the packet");
    Consume(*c);
    room -= frame_bytes;
    if (f.transmissions < UINT16_MAX) f.transmissions++;
    f.state = FragmentState::kInFlight;
    f.in_flight++;
    if (c->source == Candidate::Source::kRetransmit) ++stats.packets_retransmitted;
    if (m.strategy == Strategy::kParallel && c->source != Candidate::Source::kCopy) {
      for (size_t q = 0; q < paths.size(); ++q) {
        if (static_cast<int>(q) != path && !PathExhausted(paths[q])) {
          copies_.push_back(Candidate{Candidate::Source::kCopy, c->ref, static_cast<int>(q)});
        }
      }
    }
    plan.fragments.push_back(c->ref);
  }
  if (plan.fragments.empty()) return std::nullopt;
  plan.room_left = room;
  return plan;
}

wire::DataFrame SendQueue::Frame(const FragmentRef& ref) const {
  const OutMessage& m = messages_.at(ref.message_seq);
  const Fragment& f = m.fragments[ref.index];
  wire::DataFrame d;
  d.channel = m.channel;
  d.channel_seq = m.channel_seq;
  d.channel_low = ChannelLow(m.channel);
  d.stream_offset = m.stream_offset;
  d.stream_low = StreamLow();
  d.logical_time = m.logical_time;
  d.message_bytes = static_cast<uint32_t>(m.data->size());
  d.fragment_offset = f.offset;
  d.payload = std::span<const uint8_t>(m.data->data() + f.offset, f.bytes);
  return d;
}

void SendQueue::OnSent(uint64_t packet_number, PacketPlan&& plan, uint32_t wire_bytes, Instant now,
                       std::vector<PathState>& paths) {
  PathState& ps = paths[plan.path];
  SentPacket& s = sent_[packet_number];
  s.time_sent = now;
  s.path = plan.path;
  s.bytes = wire_bytes;
  s.path_seq = ps.packets_sent++;
  s.fragments = std::move(plan.fragments);
  ps.bytes_in_flight += wire_bytes;
  if (!ps.rto_running) {
    ps.rto_running = true;
    ps.rto_armed = now;
    ps.probes_sent = 0;
  }
}

void SendQueue::OnAck(const wire::AckFrame& ack, Instant now, std::vector<PathState>& paths,
                      TransportStats& stats) {
  const uint64_t largest = ack.ranges[0].high;
  std::vector<bool> path_acked(paths.size(), false);
  for (uint16_t i = 0; i < ack.range_count; ++i) {
    const wire::AckRange& r = ack.ranges[i];
    auto it = sent_.lower_bound(r.low);
    while (it != sent_.end() && it->first <= r.high) {
      SentPacket& p = it->second;
      if (p.path < paths.size()) {
        if (it->first == largest) {
          Duration sample = now - p.time_sent;
          const Duration delay = std::chrono::microseconds(ack.ack_delay_us);
          if (sample > delay && sample - delay >= paths[p.path].rtt.min_rtt()) sample -= delay;
          paths[p.path].rtt.OnSample(sample);
          paths[p.path].cc.OnRttSample(sample, now);
        }
        path_acked[p.path] = true;
      }
      OnPacketAcked(p, now, paths, stats);
      it = sent_.erase(it);
    }
  }
  largest_acked_ = std::max(largest_acked_, largest);
  set_peer_window(ack.window_bytes);
  for (size_t p = 0; p < paths.size(); ++p) {
    if (!path_acked[p]) continue;
    PathState& ps = paths[p];
    ps.rto_backoff = 0;
    ps.rto_running = ps.bytes_in_flight > 0;
    ps.rto_armed = now;
    ps.probes_sent = 0;
  }
  DetectLosses(now, paths, stats);
}

void SendQueue::OnPacketAcked(const SentPacket& p, Instant now, std::vector<PathState>& paths,
                              TransportStats& stats) {
  if (p.path < paths.size()) {
    PathState& ps = paths[p.path];
    ps.bytes_in_flight -= std::min<uint64_t>(ps.bytes_in_flight, p.bytes);
    if (!ps.any_acked || p.path_seq > ps.largest_acked_path_seq) {
      ps.largest_acked_path_seq = p.path_seq;
      ps.any_acked = true;
    }
    ps.cc.OnAcked(p.bytes, now, ps.rtt);
  }
  for (const FragmentRef& ref : p.fragments) {
    auto it = messages_.find(ref.message_seq);
    if (it == messages_.end()) continue;
    OutMessage& m = it->second;
    Fragment& f = m.fragments[ref.index];
    if (f.in_flight > 0) f.in_flight--;
    if (f.state == FragmentState::kAcked) continue;
    f.state = FragmentState::kAcked;
    if (m.all_acked) {
      m.needs_probe = false;  // the probe was acked
    } else if (++m.acked == m.fragments.size()) {
      m.all_acked = true;
    } else {
      continue;
    }
    CompleteInOrder(m.channel, stats);
  }
}

void SendQueue::OnPacketLost(const SentPacket& p, Instant now, std::vector<PathState>& paths,
                             TransportStats& stats, bool by_rto) {
  ++stats.packets_lost;
  if (p.path < paths.size()) {
    PathState& ps = paths[p.path];
    ps.bytes_in_flight -= std::min<uint64_t>(ps.bytes_in_flight, p.bytes);
    if (!by_rto) ps.cc.OnLost(p.bytes, p.time_sent, now, ps.rtt);
  }
  for (const FragmentRef& ref : p.fragments) {
    auto it = messages_.find(ref.message_seq);
    if (it == messages_.end()) continue;
    Fragment& f = it->second.fragments[ref.index];
    if (f.in_flight > 0) f.in_flight--;
    if (f.state != FragmentState::kInFlight || f.in_flight > 0) continue;
    if (Exhausted(f, paths)) {
      Fail(ref.message_seq, stats);
      continue;
    }
    f.state = FragmentState::kQueued;
    retransmit_.push_back(ref);
  }
}

void SendQueue::DetectLosses(Instant now, std::vector<PathState>& paths, TransportStats& stats) {
  loss_deadline_.reset();
  auto it = sent_.begin();
  while (it != sent_.end() && it->first < largest_acked_) {
    const SentPacket& p = it->second;
    if (p.path >= paths.size()) {  // its path was removed by AddTarget
      SentPacket lost_packet = std::move(it->second);
      it = sent_.erase(it);
      OnPacketLost(lost_packet, now, paths, stats, /*by_rto=*/true);
      continue;
    }
    const PathState& ps = paths[p.path];
    if (!ps.any_acked || p.path_seq >= ps.largest_acked_path_seq) {
      ++it;
      continue;
    }
    Duration threshold = std::max(ps.rtt.srtt(), ps.rtt.latest());
    threshold = std::max<Duration>(threshold + threshold / 8, std::chrono::milliseconds(1));
    const bool lost =
        ps.largest_acked_path_seq - p.path_seq >= options_->reorder_threshold_packets ||
        now - p.time_sent >= threshold;
    if (lost) {
      SentPacket lost_packet = std::move(it->second);
      it = sent_.erase(it);
      OnPacketLost(lost_packet, now, paths, stats, /*by_rto=*/false);
      continue;
    }
    const Instant when = p.time_sent + threshold;
    if (!loss_deadline_ || when < *loss_deadline_) loss_deadline_ = when;
    ++it;
  }
}

void SendQueue::OnRtoExpired(uint32_t path, Instant now, std::vector<PathState>& paths,
                             TransportStats& stats) {
  PathState& ps = paths[path];
  ++stats.rto_expirations;
  ps.cc.OnRto(now, /*consecutive=*/ps.rto_backoff > 0);
  // Counts up to transmissions_per_path_max (≤ 255) and beyond; the backoff itself stops at
  // rto_max (RtoWithBackoff).
  ps.rto_backoff = std::min<uint32_t>(ps.rto_backoff + 1, 1024);
  ps.rto_running = false;
  ps.probes_sent = 0;
  for (auto it = sent_.begin(); it != sent_.end();) {
    if (it->second.path != path) {
      ++it;
      continue;
    }
    SentPacket lost_packet = std::move(it->second);
    it = sent_.erase(it);
    OnPacketLost(lost_packet, now, paths, stats, /*by_rto=*/true);
  }
  ps.bytes_in_flight = 0;
  // The peer is silent: on every path, transmissions_per_path_max RTOs in a row without an ack or
  // pong. Every pending message fails now (docs/transport.md §6), whichever packets happened to be
  // in flight: under load each RTO only charges the few packets its window held.
  for (const PathState& other : paths) {
    if (!PathExhausted(other)) return;
  }
  FailPending(stats);
}

void SendQueue::OnProbeTimeout(uint32_t path, std::vector<PathState>& paths,
                               TransportStats& stats) {
  ++paths[path].probes_sent;
  ++stats.probe_timeouts;
  for (auto& [pn, p] : sent_) {
    if (p.path != path) continue;
    // Front of the retransmit queue, in fragment order: the oldest data is what the receiver
    // waits for.
    size_t queued = 0;
    for (const FragmentRef& ref : p.fragments) {
      auto it = messages_.find(ref.message_seq);
      if (it == messages_.end()) continue;
      Fragment& f = it->second.fragments[ref.index];
      if (f.state != FragmentState::kInFlight) continue;
      f.state = FragmentState::kQueued;
      retransmit_.insert(retransmit_.begin() + static_cast<ptrdiff_t>(queued++), ref);
    }
    if (queued > 0) {
      probe_due_ = true;
      return;
    }
  }
}

void SendQueue::Finish(uint64_t message_seq, SendOutcome outcome, TransportStats& stats) {
  auto it = messages_.find(message_seq);
  if (it == messages_.end()) return;
  OutMessage& m = it->second;
  completed_.push_back(SendCompleted{m.id, m.to, m.channel, outcome});
  if (outcome == SendOutcome::kDelivered) {
    ++stats.messages_acknowledged;
  } else {
    ++stats.messages_failed;
  }
  bytes_queued_ -= m.data->size();
  auto cp = channel_pending_.find(ToInt(m.channel));
  if (cp != channel_pending_.end()) cp->second.erase(m.channel_seq);
  messages_.erase(it);
}

void SendQueue::Fail(uint64_t message_seq, TransportStats& stats) {
  auto it = messages_.find(message_seq);
  if (it == messages_.end()) return;
  const ChannelId channel = it->second.channel;
  const uint64_t channel_seq = it->second.channel_seq;
  Finish(message_seq, SendOutcome::kFailed, stats);
  auto cp = channel_pending_.find(ToInt(channel));
  if (cp == channel_pending_.end()) return;
  for (auto later = cp->second.upper_bound(channel_seq); later != cp->second.end(); ++later) {
    OutMessage& m = messages_.at(later->second);
    if (!m.all_acked || m.needs_probe) continue;
    m.needs_probe = true;  // the receiver may hold it waiting for the failed one
    Fragment& f = m.fragments.back();
    f.state = FragmentState::kQueued;
    retransmit_.push_back(
        FragmentRef{later->second, static_cast<uint32_t>(m.fragments.size() - 1)});
  }
  CompleteInOrder(channel, stats);
}

void SendQueue::CompleteInOrder(ChannelId channel, TransportStats& stats) {
  auto cp = channel_pending_.find(ToInt(channel));
  if (cp == channel_pending_.end()) return;
  while (!cp->second.empty()) {
    const uint64_t message_seq = cp->second.begin()->second;
    const OutMessage& m = messages_.at(message_seq);
    if (!m.all_acked || m.needs_probe) return;
    Finish(message_seq, SendOutcome::kDelivered, stats);
  }
}

void SendQueue::FailEnqueuedBefore(Instant cutoff, TransportStats& stats) {
  while (!messages_.empty() && messages_.begin()->second.enqueued <= cutoff) {
    Fail(messages_.begin()->first, stats);
  }
}

std::optional<Instant> SendQueue::OldestEnqueued() const {
  if (messages_.empty()) return std::nullopt;
  return messages_.begin()->second.enqueued;
}

void SendQueue::FailPending(TransportStats& stats) {
  while (!messages_.empty()) Finish(messages_.begin()->first, SendOutcome::kFailed, stats);
  copies_.clear();
  retransmit_.clear();
  probe_due_ = false;
}

void SendQueue::FailAll(TransportStats& stats) {
  FailPending(stats);
  sent_.clear();
  loss_deadline_.reset();
}

}  // namespace rain::comm
