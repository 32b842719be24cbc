// Transport: the sans-IO Raincore Transport Manager (RAINCORE.md §1; DESIGN.md §2 rain-comm).
//
// Reliable, atomic, connectionless message delivery to other nodes over an unreliable datagram
// service (UDP, driven by rain-comm/driver or the simulator in tests/sim). Per destination node:
// messages up to TransportOptions::message_bytes_max are cut into packets that fit the path,
// sent with a sliding window (flow control advertised by the receiver, cumulative + selective
// acks, RTT-driven retransmission with backoff, loss-tolerant congestion control) and delivered
// whole or not at all, at most once, in order per (sender, channel). A node has several paths;
// each message uses them sequentially or in parallel and fails only when every transmission on
// every path is exhausted. Each reliable send ends in exactly one SendCompleted event. A link
// monitor per path keeps the up/down history consistent at both ends (RAINCORE.md §2); a peer is
// unreachable when all its links are down. Unreliable datagrams, channels, a Lamport clock on
// every message, incarnations per node start, and a MAC on every packet (AES-GCM over the
// packet, with a per-incarnation key; docs/transport.md §"Authentication").
//
// Sans-IO (quinn-proto shape): no sockets, clocks, threads or randomness inside. Inputs carry
// `now` (HandleDatagram, HandleTimeout, the Send* commands); after every input the owner drains
// PollTransmit (until nullopt), PollEvent (until nullopt) and then re-arms its timer from
// PollDeadline. `now` must never go backwards.
//
// Seed interface names (DESIGN.md §2): TM_addTarget → AddTarget, TM_getLogicalTime →
// LogicalTime, TM_registerChannelInfo → RegisterChannel, TM_unicastReliableMessage →
// SendReliable, TM_unicastUnreliableMessage → SendUnreliable.
//
// Thread safety: none; one thread (or strand) owns a Transport. Movable, not copyable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rain/comm/address.h"
#include "rain/comm/options.h"
#include "rain/comm/types.h"
#include "rain/core/ids.h"
#include "rain/core/result.h"
#include "rain/core/status.h"
#include "rain/core/time.h"

namespace rain::comm {

class TransportImpl;

class Transport {
 public:
  // Validates `options` (InvalidArgument naming the field on a bad value: self == kNoNode,
  // incarnation == 0, no local address, a zero limit, packet sizes too small for the headers).
  static Result<Transport> Create(TransportOptions options);

  Transport(Transport&&) noexcept;
  Transport& operator=(Transport&&) noexcept;
  ~Transport();

  const TransportOptions& options() const;

  // TM_addTarget. Adds peer `node` (or replaces its paths) reachable at `addresses`, in order of
  // preference; the i-th address is reached from options().local_addresses[i] (or [0] when there
  // are fewer local addresses). Errors: InvalidArgument (self, kNoNode, no address, an invalid or
  // repeated address), ResourceExhausted (peers_max or paths_per_peer_max).
  Status AddTarget(NodeId node, const std::vector<Address>& addresses);
  // As above with explicit local/remote pairs (and per-path packet sizes).
  Status AddTarget(NodeId node, const std::vector<Path>& paths);

  // TM_registerChannelInfo. A channel must be registered before sending on it, and at the
  // receiver before its messages are accepted (an unregistered channel's packets are not
  // acknowledged, so its sends fail). Errors: AlreadyExists, ResourceExhausted (channels_max).
  Status RegisterChannel(ChannelId channel, std::string name);

  // TM_getLogicalTime. The Lamport clock: every send ticks it and stamps the message; every
  // received message or datagram moves it past the stamp. Monotone.
  uint64_t LogicalTime() const;

  // TM_unicastReliableMessage. Queues `bytes` (moved in; not copied) for `to` on `channel`.
  // Returns its id; exactly one SendCompleted{id} follows. Errors (no event follows):
  // NotFound (unknown peer), FailedPrecondition (unregistered channel, or shut down),
  // InvalidArgument (larger than message_bytes_max), ResourceExhausted (send_queue_bytes_max or
  // send_queue_messages_max for that peer: retry after some SendCompleted).
  Result<MessageId> SendReliable(Instant now, NodeId to, ChannelId channel,
                                 std::vector<uint8_t>&& bytes,
                                 Strategy strategy = Strategy::kSequential);
  // As above with a shared buffer (for sending one buffer to several peers without copies).
  Result<MessageId> SendReliable(Instant now, NodeId to, ChannelId channel,
                                 std::shared_ptr<const std::vector<uint8_t>> bytes,
                                 Strategy strategy = Strategy::kSequential);

  // TM_unicastUnreliableMessage. One datagram on the first path whose link is up (or the first
  // path), no retransmission, no completion event. Errors: NotFound, FailedPrecondition,
  // InvalidArgument (larger than UnreliableBytesMax(to)).
  Status SendUnreliable(Instant now, NodeId to, ChannelId channel, std::span<const uint8_t> bytes);
  // The largest SendUnreliable payload to `to` (one packet on its smallest path); 0 if unknown.
  uint32_t UnreliableBytesMax(NodeId to) const;

  // Input: one UDP datagram received on `local` from `remote`. Bad, forged, replayed or stale
  // datagrams are counted in stats() and otherwise ignored; never fails.
  void HandleDatagram(Instant now, const Address& local, const Address& remote,
                      std::span<const uint8_t> bytes);
  // Input: the deadline from PollDeadline passed (calling it early or late is harmless).
  void HandleTimeout(Instant now);

  // Output: the next datagram to send, or nullopt when nothing is ready (then wait for an input
  // or the deadline). Call in a loop after every input.
  std::optional<Transmit> PollTransmit(Instant now);
  // Output: when HandleTimeout must next be called; nullopt when no timer is armed.
  std::optional<Instant> PollDeadline() const;
  // Output: the next event, or nullopt.
  std::optional<Event> PollEvent();

  // Stops: every pending reliable send completes as kFailed (events queued), nothing more is sent
  // or accepted, and later Send* return FailedPrecondition. Idempotent.
  void Shutdown(Instant now);
  bool is_shut_down() const;

  // Queries for status output and tests.
  bool IsReachable(NodeId node) const;
  std::vector<LinkStatus> Links(NodeId node) const;
  const TransportStats& stats() const;

 private:
  explicit Transport(std::unique_ptr<TransportImpl> impl);
  std::unique_ptr<TransportImpl> impl_;
};

}  // namespace rain::comm
