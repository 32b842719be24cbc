// ReceiveState: the receiving half of the TM from one peer incarnation (RAINCORE.md §1: "the
// receiver passes a message up only when all its packets arrived"; docs/transport.md
// §"Receiving").
//
// Acks: every packet number received is remembered as descending ranges (SACK); an ack frame
// carries up to ack_ranges_max of them plus the flow-control window. Data packets are acked at
// once when they complete a message, arrive out of order or repeat data already held (the
// sender's ack was lost), or when ack_every_packets are unacked; otherwise within ack_delay_max.
// Reassembly: one buffer per message, reserved at its first fragment, filled by appending when
// fragments arrive in order (no zero fill) — the one copy of the payload on the receive path.
// Order: per channel, messages are delivered in channel_seq order; a sender's channel_low says
// every earlier message is acked or abandoned, so complete ones are delivered and incomplete
// ones dropped (atomic: whole or not at all). A channel_seq below the next expected is a
// duplicate: at most once.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "rain/comm/address.h"
#include "rain/comm/options.h"
#include "rain/comm/types.h"
#include "rain/comm/wire.h"
#include "rain/core/time.h"

namespace rain::comm {

class ReceiveState {
 public:
  ReceiveState(const TransportOptions& options, NodeId peer);

  // --- acknowledgements ---
  // Records packet `packet_number` (authenticated, fresh). `ack_eliciting`: it carried data;
  // `ack_now`: it completed a message or repeated data.
  void OnPacket(uint64_t packet_number, bool ack_eliciting, bool ack_now, Instant now,
                const Address& local, const Address& remote);
  bool AckDue(Instant now) const;
  std::optional<Instant> ack_deadline() const { return ack_deadline_; }
  bool ack_pending() const { return unacked_ > 0 || ack_now_; }
  wire::AckFrame BuildAck(Instant now);
  // The path to send a standalone ack on: the one the last data packet came in on.
  const Address& ack_local() const { return ack_local_; }
  const Address& ack_remote() const { return ack_remote_; }

  // --- data ---
  // Whether a data frame can be taken without exceeding the buffer limit.
  bool CanAccept(const wire::DataFrame& f) const;
  enum class DataResult : uint8_t { kNew, kCompleted, kDuplicate, kInconsistent };
  // Takes a fragment; completed in-order messages are appended to `delivered`.
  DataResult OnData(const wire::DataFrame& f, std::vector<MessageDelivered>& delivered);

  uint64_t window_bytes() const;
  uint64_t held_bytes() const { return held_bytes_; }

 private:
  struct InMessage {
    uint32_t message_bytes = 0;
    uint64_t logical_time = 0;
    std::vector<uint8_t> bytes;
    std::map<uint32_t, uint32_t> have;  // received [start, end) byte intervals, merged
    uint32_t received = 0;
    bool complete = false;
  };
  struct InChannel {
    uint64_t next_seq = 1;
    std::map<uint64_t, InMessage> messages;
  };
  void Advance(ChannelId channel, InChannel& ch, uint64_t low,
               std::vector<MessageDelivered>& delivered);
  void DeliverReady(ChannelId channel, InChannel& ch, std::vector<MessageDelivered>& delivered);

  const TransportOptions* options_;
  NodeId peer_;
  std::unordered_map<uint16_t, InChannel> channels_;
  uint64_t held_bytes_ = 0;

  std::deque<wire::AckRange> ranges_;  // descending, disjoint, non-adjacent
  uint64_t largest_ = 0;
  Instant largest_time_{};
  uint32_t unacked_ = 0;
  bool ack_now_ = false;
  std::optional<Instant> ack_deadline_;
  Address ack_local_;
  Address ack_remote_;
};

}  // namespace rain::comm
