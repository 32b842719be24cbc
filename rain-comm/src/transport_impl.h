// TransportImpl: the glue of the TM core — peers, their paths, keys and replay windows; the
// event queue; timers. The protocol pieces live in send_queue (window, retransmission, failover),
// receive (acks, reassembly, order), link_monitor, congestion, auth and wire; packet_io.cc turns
// them into datagrams and back (RAINCORE.md §1–2; docs/transport.md).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "auth.h"
#include "lamport.h"
#include "path_state.h"
#include "rain/comm/transport.h"
#include "rain/comm/wire.h"
#include "receive.h"
#include "send_queue.h"

namespace rain::comm {

struct Peer {
  Peer(const TransportOptions& options, NodeId node)
      : id(node), send(options, node), recv(options, node) {}

  NodeId id;
  std::vector<PathState> paths;
  uint32_t fragment_bytes = 0;     // payload per data frame: what fits the smallest path
  uint64_t incarnation = 0;        // 0: not heard from yet
  std::unique_ptr<PacketKey> key;  // for `incarnation`
  std::unique_ptr<ReplayWindow> replay;
  uint64_t next_packet_number = 1;  // ours towards this peer
  SendQueue send;
  ReceiveState recv;
  bool reachable = false;
};

// A small packet waiting to go out: ping, pong or unreliable datagram.
struct ControlPacket {
  NodeId peer = kNoNode;
  Address local;
  Address remote;
  std::variant<wire::PingFrame, wire::PongFrame, wire::DatagramFrame> frame;
  std::vector<uint8_t> payload;  // owns a datagram's bytes
};

class TransportImpl {
 public:
  explicit TransportImpl(TransportOptions options);

  Status AddTarget(NodeId node, const std::vector<Path>& paths);
  Status RegisterChannel(ChannelId channel, std::string name);
  Result<MessageId> SendReliable(Instant now, NodeId to, ChannelId channel,
                                 std::shared_ptr<const std::vector<uint8_t>> bytes,
                                 Strategy strategy);
  Status SendUnreliable(Instant now, NodeId to, ChannelId channel, std::span<const uint8_t> bytes);
  uint32_t UnreliableBytesMax(NodeId to) const;
  void HandleDatagram(Instant now, const Address& local, const Address& remote,
                      std::span<const uint8_t> bytes);
  void HandleTimeout(Instant now);
  std::optional<Transmit> PollTransmit(Instant now);
  std::optional<Instant> PollDeadline() const;
  std::optional<Event> PollEvent();
  void Shutdown(Instant now);
  bool IsReachable(NodeId node) const;
  std::vector<LinkStatus> Links(NodeId node) const;

  TransportOptions options;
  TransportStats stats;
  LamportClock clock;
  bool shut_down = false;

 private:
  friend class PacketIo;
  Peer* FindPeer(NodeId node);
  void Emit(Event e);
  void CollectCompletions(Peer& peer);
  void EvaluateLinks(Peer& peer);
  void OnPeerIncarnation(Peer& peer, uint64_t incarnation, std::unique_ptr<PacketKey> key);
  PathState* FindPath(Peer& peer, const Address& local, const Address& remote);
  uint32_t PathPacketBytes(const Path& p) const;
  Duration HandshakeBound(const Peer& peer) const;

  // packet_io.cc
  std::vector<uint8_t> StartPacket(Peer& peer, uint64_t packet_number, size_t capacity) const;
  Transmit FinishPacket(Peer& peer, uint64_t packet_number, std::vector<uint8_t>&& bytes,
                        const Address& local, const Address& remote);
  std::optional<Transmit> BuildControl(ControlPacket& c);
  std::optional<Transmit> BuildData(Peer& peer, Instant now);
  std::optional<Transmit> BuildAckOnly(Peer& peer, Instant now);
  void ApplyFrames(Peer& peer, const wire::PacketView& v, Instant now, const Address& local,
                   const Address& remote);
  bool AdmitFrames(Peer& peer, const wire::PacketView& v) const;

  PacketKey own_key_;
  std::map<NodeId, std::unique_ptr<Peer>> peers_;
  std::map<uint16_t, std::string> channels_;
  std::deque<ControlPacket> control_;
  std::deque<Event> events_;
  uint64_t next_message_id_ = 1;
  NodeId round_robin_ = kNoNode;  // the peer served last by PollTransmit
};

}  // namespace rain::comm
