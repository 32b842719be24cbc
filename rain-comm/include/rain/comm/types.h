// Identifiers, strategies and the events the Transport Manager reports (DESIGN.md §2 rain-comm).
//
// The TM core is sans-IO: after every input the owner drains Transport::PollEvent(), which yields
// one of the Event alternatives below. Every reliable send yields exactly one SendCompleted
// (delivered or failed, DESIGN.md §4); a failed send is the local failure detector the GCM uses
// (RAINCORE.md §1, "notification when all sending efforts failed").
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "rain/comm/address.h"
#include "rain/core/ids.h"

namespace rain::comm {

// An upper-layer user of the TM (seed: TM_registerChannelInfo). Registered at both ends.
enum class ChannelId : uint16_t {};
inline uint16_t ToInt(ChannelId c) { return static_cast<uint16_t>(c); }

// Names one reliable send of this Transport; unique for the lifetime of the Transport object.
enum class MessageId : uint64_t {};
inline uint64_t ToInt(MessageId m) { return static_cast<uint64_t>(m); }

// How a reliable message uses a peer's several paths (RAINCORE.md §1).
enum class Strategy : uint8_t {
  // One path at a time, in the configured order (paths whose link is down last); after
  // TransportOptions::transmissions_per_path_max tries on a path a packet moves to the next.
  kSequential = 0,
  // Every transmission goes out on every path at once; the first acknowledgement wins.
  kParallel = 1,
};

enum class SendOutcome : uint8_t {
  kDelivered = 0,  // the destination acknowledged every packet of the message
  kFailed = 1,     // every transmission on every path was exhausted, or the peer restarted, or
                   // the transport shut down; the message may or may not have been delivered
};

// A whole reliable message from `from` on `channel`; at most once, in order per (from, channel).
struct MessageDelivered {
  NodeId from = kNoNode;
  ChannelId channel{};
  uint64_t logical_time = 0;  // the sender's Lamport stamp
  std::vector<uint8_t> bytes;
};

// An unreliable datagram (SendUnreliable at the peer): it may be lost or reordered, never
// duplicated (replays are rejected).
struct DatagramReceived {
  NodeId from = kNoNode;
  ChannelId channel{};
  uint64_t logical_time = 0;
  std::vector<uint8_t> bytes;
};

// Exactly one per successful SendReliable.
struct SendCompleted {
  MessageId id{};
  NodeId to = kNoNode;
  ChannelId channel{};
  SendOutcome outcome = SendOutcome::kFailed;
};

// A committed transition of one path's link monitor. Both ends of a path report the same
// sequence of transitions (consistent history, RAINCORE.md §2); `transition` counts them from 1
// per pair of incarnations (odd = up, even = down).
struct LinkChanged {
  NodeId peer = kNoNode;
  Address local;
  Address remote;
  bool up = false;
  uint32_t transition = 0;
};

// A peer became reachable (some link up) or unreachable (every link down).
struct PeerReachability {
  NodeId peer = kNoNode;
  bool reachable = false;
};

// A peer started again with a new incarnation: every message still pending to it has been
// reported failed, and its old packets are ignored from now on.
struct PeerRestarted {
  NodeId peer = kNoNode;
  uint64_t incarnation = 0;
};

using Event = std::variant<MessageDelivered, SendCompleted, DatagramReceived, LinkChanged,
                           PeerReachability, PeerRestarted>;

// One UDP send the driver must perform: from `local` to `remote`. `bytes` holds one datagram, or
// (when TransportOptions::gso_segments_max > 1) several back-to-back datagrams of
// `segment_bytes` each, the last possibly shorter, all for the same (local, remote) — suitable
// for UDP GSO or sendmmsg. segment_bytes == bytes.size() for a single datagram.
struct Transmit {
  Address local;
  Address remote;
  std::vector<uint8_t> bytes;
  size_t segment_bytes = 0;
};

// Counters for tests, `rain bench transport` and status output. Monotone.
struct TransportStats {
  uint64_t packets_sent = 0;
  uint64_t packets_received = 0;  // authenticated and accepted
  uint64_t bytes_sent = 0;        // UDP payload bytes
  uint64_t bytes_received = 0;
  uint64_t packets_retransmitted = 0;  // data packets sent again after a loss was declared
  uint64_t packets_lost = 0;           // declared lost (reorder/time threshold or RTO)
  uint64_t rto_expirations = 0;
  uint64_t probe_timeouts = 0;         // tail-loss probes (fragments re-sent before the RTO)
  uint64_t rejected_malformed = 0;     // failed to decode
  uint64_t rejected_auth = 0;          // wrong cluster, MAC mismatch, unknown sender
  uint64_t rejected_replay = 0;        // packet number already seen or too old
  uint64_t rejected_stale = 0;         // old incarnation of the sender or of us
  uint64_t duplicate_fragments = 0;    // data already held or delivered
  uint64_t messages_delivered = 0;     // MessageDelivered events
  uint64_t messages_acknowledged = 0;  // SendCompleted kDelivered
  uint64_t messages_failed = 0;        // SendCompleted kFailed
  uint64_t flow_control_blocked = 0;   // times new data waited for the peer's window
};

// What Transport::Links reports per path, for status output and tests.
struct LinkStatus {
  Path path;
  bool up = false;
  uint32_t transitions_local = 0;   // committed here
  uint32_t transitions_remote = 0;  // last seen from the peer
  int64_t srtt_ns = 0;              // smoothed round-trip time, 0 before the first sample
  int64_t rto_ns = 0;               // retransmission timeout now (with backoff)
  uint64_t cwnd_bytes = 0;
  uint64_t bytes_in_flight = 0;
};

}  // namespace rain::comm
