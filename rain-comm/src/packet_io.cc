// Datagrams in and out: packet assembly (header, frames, MAC) for PollTransmit, and
// authentication, replay and incarnation checks then frame dispatch for HandleDatagram
// (docs/transport.md §"Wire format", §"Authentication", §"Incarnations").
#include <string>

#include "rain/core/assert.h"
#include "transport_impl.h"

namespace rain::comm {
namespace {

struct PacketBuilder {
  Writer w;
  uint64_t packet_number;
};

}  // namespace

// --- out ------------------------------------------------------------------------------------

std::vector<uint8_t> TransportImpl::StartPacket(Peer& peer, uint64_t packet_number,
                                                size_t capacity) const {
  Writer w(capacity);
  wire::EncodeHeader(w, wire::PacketHeader{.flags = 0,
                                           .cluster_id = options.cluster_id,
                                           .src = options.self,
                                           .dst = peer.id,
                                           .src_incarnation = options.incarnation,
                                           .dst_incarnation = peer.incarnation,
                                           .packet_number = packet_number});
  return w.Take();
}

Transmit TransportImpl::FinishPacket(Peer& peer, uint64_t packet_number,
                                     std::vector<uint8_t>&& bytes, const Address& local,
                                     const Address& remote) {
  const size_t n = bytes.size();
  bytes.resize(n + kMacBytes);
  own_key_.Seal(std::span<const uint8_t>(bytes.data(), n), peer.id, packet_number,
                std::span<uint8_t>(bytes.data() + n, kMacBytes));
  ++stats.packets_sent;
  stats.bytes_sent += bytes.size();
  Transmit t;
  t.local = local;
  t.remote = remote;
  t.segment_bytes = bytes.size();
  t.bytes = std::move(bytes);
  return t;
}

namespace {

// Appends frames to a packet started by StartPacket (whose vector already holds the header).
class FrameWriter {
 public:
  explicit FrameWriter(std::vector<uint8_t>&& header, size_t capacity) : w_(capacity) {
    w_.Bytes(std::span<const uint8_t>(header));
  }
  Writer& w() { return w_; }

 private:
  Writer w_;
};

}  // namespace

std::optional<Transmit> TransportImpl::BuildControl(ControlPacket& c) {
  Peer* peer = FindPeer(c.peer);
  if (peer == nullptr) return std::nullopt;
  const uint64_t pn = peer->next_packet_number++;
  const size_t capacity = wire::kHeaderBytes + wire::kDatagramFrameHeaderBytes + c.payload.size() +
                          wire::kPingFrameBytes + kMacBytes;
  FrameWriter fw(StartPacket(*peer, pn, capacity), capacity);
  if (auto* ping = std::get_if<wire::PingFrame>(&c.frame)) {
    wire::EncodePing(fw.w(), *ping);
  } else if (auto* pong = std::get_if<wire::PongFrame>(&c.frame)) {
    wire::EncodePong(fw.w(), *pong);
  } else {
    auto d = std::get<wire::DatagramFrame>(c.frame);
    d.payload = c.payload;
    wire::EncodeDatagram(fw.w(), d);
  }
  return FinishPacket(*peer, pn, fw.w().Take(), c.local, c.remote);
}

std::optional<Transmit> TransportImpl::BuildData(Peer& peer, Instant now) {
  if (peer.incarnation == 0 || peer.paths.empty()) return std::nullopt;
  std::optional<PacketPlan> plan = peer.send.Plan(peer.paths, stats);
  CollectCompletions(peer);
  if (!plan) return std::nullopt;
  const PathState& ps = peer.paths[plan->path];
  const uint64_t pn = peer.next_packet_number++;
  Writer w(ps.packet_bytes);
  wire::EncodeHeader(w, wire::PacketHeader{.flags = 0,
                                           .cluster_id = options.cluster_id,
                                           .src = options.self,
                                           .dst = peer.id,
                                           .src_incarnation = options.incarnation,
                                           .dst_incarnation = peer.incarnation,
                                           .packet_number = pn});
  if (peer.recv.ack_pending()) {
    const size_t ranges = std::min<size_t>(options.ack_ranges_max, wire::kAckRangesWireMax);
    if (wire::kAckFrameFixedBytes + (ranges - 1) * wire::kAckRangeBytes <= plan->room_left) {
      wire::EncodeAck(w, peer.recv.BuildAck(now));
    }
  }
  for (const FragmentRef& ref : plan->fragments) wire::EncodeData(w, peer.send.Frame(ref));
  const Address local = ps.path.local;
  const Address remote = ps.path.remote;
  const uint32_t wire_bytes = static_cast<uint32_t>(w.size() + kMacBytes);
  RAIN_CHECK(wire_bytes <= ps.packet_bytes, "packet larger than its path allows");
  peer.send.OnSent(pn, std::move(*plan), wire_bytes, now, peer.paths);
  return FinishPacket(peer, pn, w.Take(), local, remote);
}

std::optional<Transmit> TransportImpl::BuildAckOnly(Peer& peer, Instant now) {
  if (peer.incarnation == 0 || peer.paths.empty() || !peer.recv.AckDue(now)) return std::nullopt;
  Address local = peer.recv.ack_local();
  Address remote = peer.recv.ack_remote();
  if (!local.valid() || !remote.valid()) {
    local = peer.paths[0].path.local;
    remote = peer.paths[0].path.remote;
  }
  const uint64_t pn = peer.next_packet_number++;
  const wire::AckFrame ack = peer.recv.BuildAck(now);
  const size_t capacity = wire::kHeaderBytes + wire::AckFrameBytes(ack) + kMacBytes;
  FrameWriter fw(StartPacket(peer, pn, capacity), capacity);
  wire::EncodeAck(fw.w(), ack);
  return FinishPacket(peer, pn, fw.w().Take(), local, remote);
}

std::optional<Transmit> TransportImpl::PollTransmit(Instant now) {
  if (shut_down) return std::nullopt;
  while (!control_.empty()) {
    ControlPacket c = std::move(control_.front());
    control_.pop_front();
    if (auto t = BuildControl(c)) return t;
  }
  // Due acks first (piggybacked on data when there is some), so bulk data to one peer never
  // delays another peer's ack.
  for (auto& [id, peer] : peers_) {
    if (!peer->recv.AckDue(now)) continue;
    if (auto t = BuildData(*peer, now)) return t;
    if (auto t = BuildAckOnly(*peer, now)) return t;
  }
  // Data, round robin over peers.
  if (peers_.empty()) return std::nullopt;
  auto start = peers_.upper_bound(round_robin_);
  for (size_t i = 0; i < peers_.size(); ++i) {
    if (start == peers_.end()) start = peers_.begin();
    Peer& peer = *start->second;
    ++start;
    if (auto t = BuildData(peer, now)) {
      round_robin_ = peer.id;
      return t;
    }
  }
  return std::nullopt;
}

// --- in -------------------------------------------------------------------------------------

bool TransportImpl::AdmitFrames(Peer& peer, const wire::PacketView& v) const {
  wire::FrameReader frames(v.frames);
  wire::Frame f;
  bool data = false;
  while (frames.Next(f)) {
    if (auto* d = std::get_if<wire::DataFrame>(&f)) {
      data = true;
      if (d->message_bytes > options.message_bytes_max) return false;
      if (!channels_.count(ToInt(d->channel))) return false;  // unregistered: not acked
      if (!peer.recv.CanAccept(*d)) return false;             // no buffer: not acked
    } else if (std::holds_alternative<wire::DatagramFrame>(f)) {
      data = true;
    }
  }
  if (!frames.status().ok()) return false;
  // Data and datagrams only for this incarnation of ours (pings and pongs may precede the
  // handshake).
  if (data && v.header.dst_incarnation != options.incarnation) return false;
  return true;
}

void TransportImpl::HandleDatagram(Instant now, const Address& local, const Address& remote,
                                   std::span<const uint8_t> bytes) {
  if (shut_down) return;
  Result<wire::PacketView> decoded = wire::DecodePacket(bytes);
  if (!decoded.ok()) {
    ++stats.rejected_malformed;
    return;
  }
  const wire::PacketView& v = *decoded;
  const wire::PacketHeader& h = v.header;
  Peer* peer = FindPeer(h.src);
  if (h.cluster_id != options.cluster_id || h.dst != options.self || peer == nullptr) {
    ++stats.rejected_auth;
    return;
  }
  if (h.src_incarnation == 0 || h.src_incarnation < peer->incarnation) {
    ++stats.rejected_stale;
    return;
  }
  std::unique_ptr<PacketKey> new_key;
  const PacketKey* key = peer->key.get();
  if (h.src_incarnation != peer->incarnation) {
    new_key = std::make_unique<PacketKey>(options.cluster_key, options.cluster_id, h.src,
                                          h.src_incarnation);
    key = new_key.get();
  }
  if (!key->Verify(v.authenticated, options.self, h.packet_number, v.mac)) {
    ++stats.rejected_auth;
    return;
  }
  if (h.dst_incarnation != 0 && h.dst_incarnation != options.incarnation) {
    ++stats.rejected_stale;  // meant for an earlier incarnation of ours
    return;
  }
  if (!new_key && !peer->replay->Fresh(h.packet_number)) {
    ++stats.rejected_replay;
    return;
  }
  if (!AdmitFrames(*peer, v)) {
    ++stats.rejected_malformed;
    return;
  }
  if (new_key) OnPeerIncarnation(*peer, h.src_incarnation, std::move(new_key));
  peer->replay->Accept(h.packet_number);
  ++stats.packets_received;
  stats.bytes_received += bytes.size();
  ApplyFrames(*peer, v, now, local, remote);
  EvaluateLinks(*peer);
  CollectCompletions(*peer);
}

void TransportImpl::ApplyFrames(Peer& peer, const wire::PacketView& v, Instant now,
                                const Address& local, const Address& remote) {
  PathState* path = FindPath(peer, local, remote);
  bool ack_eliciting = false;
  bool ack_now = false;
  std::vector<MessageDelivered> delivered;
  wire::FrameReader frames(v.frames);
  wire::Frame frame;
  while (frames.Next(frame)) {
    if (auto* ack = std::get_if<wire::AckFrame>(&frame)) {
      peer.send.OnAck(*ack, now, peer.paths, stats);
    } else if (auto* d = std::get_if<wire::DataFrame>(&frame)) {
      ack_eliciting = true;
      switch (peer.recv.OnData(*d, delivered)) {
        case ReceiveState::DataResult::kNew:
          break;
        case ReceiveState::DataResult::kCompleted:
          ack_now = true;
          break;
        case ReceiveState::DataResult::kDuplicate:
        case ReceiveState::DataResult::kInconsistent:
          ++stats.duplicate_fragments;
          ack_now = true;
          break;
      }
    } else if (auto* g = std::get_if<wire::DatagramFrame>(&frame)) {
      if (channels_.count(ToInt(g->channel))) {
        clock.Observe(g->logical_time);
        Emit(DatagramReceived{peer.id, g->channel, g->logical_time,
                              std::vector<uint8_t>(g->payload.begin(), g->payload.end())});
      }
    } else if (auto* ping = std::get_if<wire::PingFrame>(&frame)) {
      uint32_t t = 0;
      if (path != nullptr) {
        path->monitor.OnRemoteTransitions(ping->transitions);
        t = path->monitor.transitions_local();
      }
      ControlPacket c;
      c.peer = peer.id;
      c.local = local;
      c.remote = remote;
      c.frame = wire::PongFrame{ping->ping_id, t};
      control_.push_back(std::move(c));
    } else if (auto* pong = std::get_if<wire::PongFrame>(&frame)) {
      if (path != nullptr) {
        if (auto rtt = path->monitor.OnPong(pong->ping_id, pong->transitions, now)) {
          path->rtt.OnSample(*rtt);
          path->cc.OnRttSample(*rtt, now);
          path->rto_backoff = 0;  // the path is alive
        }
      }
    }
  }
  for (MessageDelivered& m : delivered) {
    clock.Observe(m.logical_time);
    ++stats.messages_delivered;
    Emit(std::move(m));
  }
  peer.recv.OnPacket(v.header.packet_number, ack_eliciting, ack_now, now, local, remote);
}

}  // namespace rain::comm
