#include "receive.h"

#include <algorithm>
#include <cstring>

namespace rain::comm {

ReceiveState::ReceiveState(const TransportOptions& options, NodeId peer)
    : options_(&options), peer_(peer) {}

void ReceiveState::OnPacket(uint64_t pn, bool ack_eliciting, bool ack_now, Instant now,
                            const Address& local, const Address& remote) {
  const bool in_order = pn == largest_ + 1;
  // Insert pn into the descending ranges.
  size_t i = 0;
  while (i < ranges_.size() && ranges_[i].low > pn + 1) ++i;
  if (i == ranges_.size()) {
    ranges_.push_back({pn, pn});
  } else {
    wire::AckRange& r = ranges_[i];
    if (pn > r.high + 1) {
      ranges_.insert(ranges_.begin() + static_cast<long>(i), wire::AckRange{pn, pn});
    } else if (pn == r.high + 1) {
      r.high = pn;
      if (i > 0 && ranges_[i - 1].low == pn + 1) {
        ranges_[i - 1].low = r.low;
        ranges_.erase(ranges_.begin() + static_cast<long>(i));
      }
    } else if (pn + 1 == r.low) {
      r.low = pn;
      if (i + 1 < ranges_.size() && ranges_[i + 1].high + 1 == pn) {
        r.low = ranges_[i + 1].low;
        ranges_.erase(ranges_.begin() + static_cast<long>(i) + 1);
      }
    }
  }
  while (ranges_.size() > 2 * size_t{options_->ack_ranges_max}) ranges_.pop_back();
  if (pn > largest_) {
    largest_ = pn;
    largest_time_ = now;
  }
  if (!ack_eliciting) return;
  ack_local_ = local;
  ack_remote_ = remote;
  ++unacked_;
  if (ack_now || !in_order || unacked_ >= options_->ack_every_packets) {
    ack_now_ = true;
  } else if (!ack_deadline_) {
    ack_deadline_ = now + options_->ack_delay_max;
  }
}

bool ReceiveState::AckDue(Instant now) const {
  return ack_now_ || (ack_deadline_ && *ack_deadline_ <= now && unacked_ > 0);
}

wire::AckFrame ReceiveState::BuildAck(Instant now) {
  wire::AckFrame f;
  const auto delay = std::chrono::duration_cast<std::chrono::microseconds>(now - largest_time_);
  f.ack_delay_us = static_cast<uint32_t>(std::clamp<int64_t>(delay.count(), 0, UINT32_MAX));
  f.window_bytes = window_bytes();
  const size_t n =
      std::min<size_t>({ranges_.size(), options_->ack_ranges_max, wire::kAckRangesWireMax});
  f.range_count = static_cast<uint16_t>(n);
  for (size_t i = 0; i < n; ++i) f.ranges[i] = ranges_[i];
  unacked_ = 0;
  ack_now_ = false;
  ack_deadline_.reset();
  return f;
}

uint64_t ReceiveState::window_bytes() const {
  return options_->recv_window_bytes > held_bytes_ ? options_->recv_window_bytes - held_bytes_ : 0;
}

bool ReceiveState::CanAccept(const wire::DataFrame& f) const {
  auto it = channels_.find(ToInt(f.channel));
  if (it != channels_.end()) {
    if (f.channel_seq < it->second.next_seq) return true;  // duplicate: costs nothing
    if (it->second.messages.count(f.channel_seq)) return true;
  }
  return held_bytes_ + f.message_bytes <= options_->recv_window_bytes + options_->message_bytes_max;
}

ReceiveState::DataResult ReceiveState::OnData(const wire::DataFrame& f,
                                              std::vector<MessageDelivered>& delivered) {
  InChannel& ch = channels_[ToInt(f.channel)];
  if (f.channel_low > ch.next_seq) Advance(f.channel, ch, f.channel_low, delivered);
  if (f.channel_seq < ch.next_seq) return DataResult::kDuplicate;
  auto [it, created] = ch.messages.try_emplace(f.channel_seq);
  InMessage& m = it->second;
  if (created) {
    m.message_bytes = f.message_bytes;
    m.logical_time = f.logical_time;
    m.bytes.reserve(f.message_bytes);
    held_bytes_ += f.message_bytes;
  } else if (m.message_bytes != f.message_bytes || m.logical_time != f.logical_time) {
    return DataResult::kInconsistent;
  }
  if (m.complete) return DataResult::kDuplicate;
  const uint32_t start = f.fragment_offset;
  const uint32_t end = start + static_cast<uint32_t>(f.payload.size());
  if (end > start) {
    // Overlap with what is held? Find the interval starting at or before `start`.
    auto next = m.have.upper_bound(start);
    if (next != m.have.begin()) {
      auto prev = std::prev(next);
      if (prev->second > start) {
        return prev->second >= end ? DataResult::kDuplicate : DataResult::kInconsistent;
      }
    }
    if (next != m.have.end() && next->first < end) return DataResult::kInconsistent;
    // Copy: append when in order (no zero fill), else grow and place.
    if (start == m.bytes.size()) {
      m.bytes.insert(m.bytes.end(), f.payload.begin(), f.payload.end());
    } else {
      if (m.bytes.size() < end) m.bytes.resize(end);
      std::memcpy(m.bytes.data() + start, f.payload.data(), f.payload.size());
    }
    // Merge the interval.
    uint32_t new_start = start;
    uint32_t new_end = end;
    if (next != m.have.begin()) {
      auto prev = std::prev(next);
      if (prev->second == start) {
        new_start = prev->first;
        m.have.erase(prev);
      }
    }
    if (next != m.have.end() && next->first == end) {
      new_end = next->second;
      m.have.erase(next);
    }
    m.have[new_start] = new_end;
    m.received += end - start;
  }
  if (m.received < m.message_bytes) return DataResult::kNew;
  m.complete = true;
  DeliverReady(f.channel, ch, delivered);
  return DataResult::kCompleted;
}

void ReceiveState::DeliverReady(ChannelId channel, InChannel& ch,
                                std::vector<MessageDelivered>& delivered) {
  while (!ch.messages.empty() && ch.messages.begin()->first == ch.next_seq &&
         ch.messages.begin()->second.complete) {
    InMessage& m = ch.messages.begin()->second;
    held_bytes_ -= m.message_bytes;
    delivered.push_back(MessageDelivered{peer_, channel, m.logical_time, std::move(m.bytes)});
    ch.messages.erase(ch.messages.begin());
    ++ch.next_seq;
  }
}

void ReceiveState::Advance(ChannelId channel, InChannel& ch, uint64_t low,
                           std::vector<MessageDelivered>& delivered) {
  while (!ch.messages.empty() && ch.messages.begin()->first < low) {
    InMessage& m = ch.messages.begin()->second;
    held_bytes_ -= m.message_bytes;
    if (m.complete) {  // acked to the sender: it must be delivered
      delivered.push_back(MessageDelivered{peer_, channel, m.logical_time, std::move(m.bytes)});
    }
    ch.messages.erase(ch.messages.begin());
  }
  ch.next_seq = low;
  DeliverReady(channel, ch, delivered);
}

}  // namespace rain::comm
