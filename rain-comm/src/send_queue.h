// SendQueue: the sending half of the TM towards one peer (RAINCORE.md §1: packets, sliding
// window, resend on another address, failure after every address is exhausted;
// docs/transport.md §"Sending").
//
// Messages are cut into fragments of a fixed size per message (what fits the smallest path of
// the peer) and numbered per channel. Plan() picks what the next packet carries: parallel copies
// first, then fragments declared lost, then new fragments in message order — limited by the
// path's congestion window and the peer's flow-control window (the oldest pending message is
// exempt, so a message larger than the window still progresses). Every transmission gets a new
// packet number (as QUIC), so acks are unambiguous and RTT samples clean. Loss: a packet is lost
// when reorder_threshold_packets later packets on its path were acked, or 9/8·RTT after a later
// one was, or when its path's RTO expires. A lost fragment is resent on the next path the
// strategy allows. A path is exhausted after transmissions_per_path_max RTO expirations in a row
// with no ack or pong from it in between; when every path of the peer is exhausted, every
// pending message fails at once (the peer is silent: docs/transport.md §6). A fragment sent
// kTransmissionsFactor × transmissions_per_path_max × paths times in all while its paths stay
// alive fails its message (a black hole for that packet). Each message ends in exactly one
// SendCompleted (collected in completed()). Before a healthy path's RTO, up to
// kProbesPerRtoMax tail-loss probes re-send its oldest fragments in flight (OnProbeTimeout), so
// a lost tail or a lost last ack costs about one RTT instead of an RTO (rto_min ≫ RTT on a LAN).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "path_state.h"
#include "rain/comm/options.h"
#include "rain/comm/types.h"
#include "rain/comm/wire.h"
#include "rain/core/time.h"

namespace rain::comm {

// A fragment lost this many times transmissions_per_path_max × paths, even with its paths alive
// (acks for other packets keep coming), fails its message: a black hole for that packet.
inline constexpr uint32_t kTransmissionsFactor = 8;

enum class FragmentState : uint8_t { kUnsent, kInFlight, kQueued, kAcked };

struct Fragment {
  uint32_t offset = 0;
  uint32_t bytes = 0;
  FragmentState state = FragmentState::kUnsent;
  uint8_t in_flight = 0;       // packets carrying it that are neither acked nor lost
  uint16_t transmissions = 0;  // on all paths
};

struct OutMessage {
  MessageId id{};
  NodeId to = kNoNode;
  ChannelId channel{};
  uint64_t channel_seq = 0;
  uint64_t stream_offset = 0;
  uint64_t logical_time = 0;
  Strategy strategy = Strategy::kSequential;
  std::shared_ptr<const std::vector<uint8_t>> data;
  std::vector<Fragment> fragments;
  uint32_t next_unsent = 0;
  uint32_t acked = 0;
  Instant enqueued{};
  // Every fragment acked. Reported delivered only once every earlier message of its channel is
  // finished (the receiver delivers in order), and, if an earlier one failed, after a probe (its
  // last fragment again, carrying the new channel_low) was acked: then the receiver has
  // delivered it.
  bool all_acked = false;
  bool needs_probe = false;
};

struct FragmentRef {
  uint64_t message_seq = 0;
  uint32_t index = 0;
};

struct SentPacket {
  Instant time_sent{};
  uint32_t path = 0;
  uint32_t bytes = 0;  // UDP payload bytes, counted in the path's bytes_in_flight
  uint64_t path_seq = 0;
  std::vector<FragmentRef> fragments;
};

// What one data packet carries: fragments of one channel, all for `path`.
struct PacketPlan {
  uint32_t path = 0;
  std::vector<FragmentRef> fragments;
  size_t room_left = 0;  // frame bytes still free in the packet (for a piggybacked ack)
};

class SendQueue {
 public:
  SendQueue(const TransportOptions& options, NodeId peer);

  // Admission against send_queue_*_max (ResourceExhausted).
  Status CanEnqueue(size_t bytes) const;
  void Enqueue(MessageId id, ChannelId channel, std::shared_ptr<const std::vector<uint8_t>> data,
               Strategy strategy, uint64_t logical_time, uint32_t fragment_bytes, Instant now);
  // Fails messages enqueued at or before `cutoff` (a peer never heard from: no handshake).
  void FailEnqueuedBefore(Instant cutoff, TransportStats& stats);
  std::optional<Instant> OldestEnqueued() const;

  // The next data packet (frames filling at most the chosen path's packet), or nullopt (nothing
  // to send, or blocked by congestion or flow control). Marks the fragments as transmitted.
  std::optional<PacketPlan> Plan(std::vector<PathState>& paths, TransportStats& stats);
  wire::DataFrame Frame(const FragmentRef& ref) const;
  // The planned packet went out as packet `packet_number` of `wire_bytes`.
  void OnSent(uint64_t packet_number, PacketPlan&& plan, uint32_t wire_bytes, Instant now,
              std::vector<PathState>& paths);

  void OnAck(const wire::AckFrame& ack, Instant now, std::vector<PathState>& paths,
             TransportStats& stats);
  void DetectLosses(Instant now, std::vector<PathState>& paths, TransportStats& stats);
  void OnRtoExpired(uint32_t path, Instant now, std::vector<PathState>& paths,
                    TransportStats& stats);
  // The path's tail-loss probe timer fired (PathState::ProbeDeadline): the fragments of its
  // oldest packet in flight are queued again and the next packet may exceed the congestion
  // window, so the receiver answers with an ack (a duplicate is acked at once) and losses are
  // found by the ack thresholds instead of the RTO. Declares nothing lost, changes no window.
  void OnProbeTimeout(uint32_t path, std::vector<PathState>& paths, TransportStats& stats);
  // When DetectLosses must run again (time threshold), if ever.
  std::optional<Instant> loss_deadline() const { return loss_deadline_; }

  // Fails every pending message (peer restart, shutdown).
  void FailAll(TransportStats& stats);

  bool HasUnsentOrQueued() const;
  std::vector<SendCompleted>& completed() { return completed_; }
  void set_peer_window(uint64_t bytes) { peer_window_ = bytes; }

 private:
  struct Candidate {
    enum class Source : uint8_t { kCopy, kRetransmit, kNew } source;
    FragmentRef ref;
    int path;  // forced path (copies), or -1
  };
  std::optional<Candidate> NextCandidate(bool first);
  void Consume(const Candidate& c);
  // The path for the next transmission of `f`, or -1 when `f` is a black hole (Exhausted).
  int ChoosePath(const Fragment& f, const std::vector<PathState>& paths) const;
  // `f` was sent kTransmissionsFactor × transmissions_per_path_max × paths times in all.
  bool Exhausted(const Fragment& f, const std::vector<PathState>& paths) const;
  // transmissions_per_path_max RTOs in a row on the path, with no ack or pong since.
  bool PathExhausted(const PathState& ps) const {
    return ps.rto_backoff >= options_->transmissions_per_path_max;
  }
  // Fails every pending message (in send order); packets in flight stay tracked for the paths.
  void FailPending(TransportStats& stats);
  bool FlowAllows(uint64_t message_seq, const OutMessage& m, const Fragment& f) const;
  void OnPacketAcked(const SentPacket& p, Instant now, std::vector<PathState>& paths,
                     TransportStats& stats);
  void OnPacketLost(const SentPacket& p, Instant now, std::vector<PathState>& paths,
                    TransportStats& stats, bool by_rto);
  void Finish(uint64_t message_seq, SendOutcome outcome, TransportStats& stats);
  // Fails a message; later fully-acked messages of its channel then need a probe.
  void Fail(uint64_t message_seq, TransportStats& stats);
  // Reports delivered every leading message of `channel` that is acked (and probed).
  void CompleteInOrder(ChannelId channel, TransportStats& stats);
  uint64_t ChannelLow(ChannelId channel) const;
  uint64_t StreamLow() const;

  const TransportOptions* options_;
  NodeId peer_;
  std::map<uint64_t, OutMessage> messages_;  // by message_seq (send order)
  uint64_t next_message_seq_ = 1;
  uint64_t next_stream_offset_ = 0;
  uint64_t bytes_queued_ = 0;
  std::unordered_map<uint16_t, uint64_t> next_channel_seq_;
  // channel → channel_seq → message_seq, of the pending messages.
  std::unordered_map<uint16_t, std::map<uint64_t, uint64_t>> channel_pending_;
  uint64_t new_cursor_ = 1;              // first message_seq that may still have unsent fragments
  std::deque<Candidate> copies_;         // parallel strategy: the same fragment on other paths
  std::deque<FragmentRef> retransmit_;   // fragments declared lost (or probed)
  bool probe_due_ = false;               // the next packet may exceed the congestion window
  std::map<uint64_t, SentPacket> sent_;  // by packet number, awaiting an ack
  uint64_t largest_acked_ = 0;
  std::optional<Instant> loss_deadline_;
  uint64_t peer_window_;
  std::vector<SendCompleted> completed_;
};

}  // namespace rain::comm
