// The Transport facade and TransportImpl's commands, timers and events (packet_io.cc has the
// datagram side). RAINCORE.md §1–2; docs/transport.md.
#include "rain/comm/transport.h"

#include <algorithm>
#include <set>
#include <string>

#include "rain/core/assert.h"
#include "transport_impl.h"

namespace rain::comm {
namespace {

Status ValidateOptions(const TransportOptions& o) {
  auto bad = [](const std::string& field, const std::string& why) {
    return InvalidArgumentError("TransportOptions." + field + " " + why);
  };
  if (o.self == kNoNode) return bad("self", "must be a node id (not 0)");
  if (o.incarnation == 0) return bad("incarnation", "must not be 0");
  if (o.local_addresses.empty()) return bad("local_addresses", "is empty");
  for (const Address& a : o.local_addresses) {
    if (!a.valid()) return bad("local_addresses", "holds an invalid address");
  }
  const uint32_t kPacketMin = 256;
  const uint32_t kUdpMax = 65507;
  if (o.packet_bytes_max < kPacketMin || o.packet_bytes_max > kUdpMax) {
    return bad("packet_bytes_max", "must be in [256, 65507]");
  }
  if (o.loopback_packet_bytes_max < kPacketMin || o.loopback_packet_bytes_max > kUdpMax) {
    return bad("loopback_packet_bytes_max", "must be in [256, 65507]");
  }
  if (o.message_bytes_max == 0 || o.message_bytes_max == UINT32_MAX) {
    return bad("message_bytes_max", "must be in [1, 4 GiB - 2]");
  }
  if (o.send_queue_bytes_max < o.message_bytes_max) {
    return bad("send_queue_bytes_max", "must be at least message_bytes_max");
  }
  if (o.send_queue_messages_max == 0) return bad("send_queue_messages_max", "must be > 0");
  if (o.recv_window_bytes == 0) return bad("recv_window_bytes", "must be > 0");
  if (o.channels_max == 0 || o.channels_max > 65536) {
    return bad("channels_max", "must be in [1, 65536]");
  }
  if (o.peers_max == 0) return bad("peers_max", "must be > 0");
  if (o.paths_per_peer_max == 0 || o.paths_per_peer_max > kPathsHardMax) {
    return bad("paths_per_peer_max", "must be in [1, 16]");
  }
  if (o.events_queued_max == 0) return bad("events_queued_max", "must be > 0");
  if (o.gso_segments_max == 0) return bad("gso_segments_max", "must be > 0");
  if (o.rto_min <= Duration{0} || o.rto_max < o.rto_min || o.rto_initial < o.rto_min ||
      o.rto_initial > o.rto_max) {
    return bad("rto_*", "need 0 < rto_min <= rto_initial <= rto_max");
  }
  if (o.transmissions_per_path_max == 0 || o.transmissions_per_path_max > 255) {
    return bad("transmissions_per_path_max", "must be in [1, 255]");
  }
  if (o.ack_every_packets == 0) return bad("ack_every_packets", "must be > 0");
  if (o.ack_delay_max < Duration{0}) return bad("ack_delay_max", "must be >= 0");
  if (o.ack_ranges_max == 0 || o.ack_ranges_max > wire::kAckRangesWireMax) {
    return bad("ack_ranges_max", "must be in [1, 64]");
  }
  if (o.reorder_threshold_packets == 0) return bad("reorder_threshold_packets", "must be > 0");
  if (o.sent_packets_tracked_max == 0) return bad("sent_packets_tracked_max", "must be > 0");
  if (o.cwnd_min_packets == 0 || o.cwnd_initial_packets < o.cwnd_min_packets) {
    return bad("cwnd_*_packets", "need 0 < cwnd_min_packets <= cwnd_initial_packets");
  }
  if (o.cwnd_bytes_max < uint64_t{o.cwnd_initial_packets} * o.loopback_packet_bytes_max &&
      o.cwnd_bytes_max < uint64_t{o.cwnd_initial_packets} * o.packet_bytes_max) {
    return bad("cwnd_bytes_max", "is below the initial window");
  }
  if (!(o.cwnd_decrease_factor > 0 && o.cwnd_decrease_factor < 1)) {
    return bad("cwnd_decrease_factor", "must be in (0, 1)");
  }
  if (!(o.loss_fraction_congestion > 0 && o.loss_fraction_congestion <= 1)) {
    return bad("loss_fraction_congestion", "must be in (0, 1]");
  }
  if (!(o.rtt_inflation_congestion > 0)) return bad("rtt_inflation_congestion", "must be > 0");
  if (o.ping_interval <= Duration{0}) return bad("ping_interval", "must be > 0");
  if (o.link_down_pings_missed == 0) return bad("link_down_pings_missed", "must be > 0");
  if (o.link_up_pings_good == 0) return bad("link_up_pings_good", "must be > 0");
  if (o.replay_window_packets < 64) return bad("replay_window_packets", "must be >= 64");
  if (!PacketAuthAvailable()) {
    return UnimplementedError("packet authentication needs AES-NI and PCLMUL (AES-256-GCM)");
  }
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TransportImpl

TransportImpl::TransportImpl(TransportOptions o)
    : options(std::move(o)),
      own_key_(options.cluster_key, options.cluster_id, options.self, options.incarnation) {}

Peer* TransportImpl::FindPeer(NodeId node) {
  auto it = peers_.find(node);
  return it == peers_.end() ? nullptr : it->second.get();
}

uint32_t TransportImpl::PathPacketBytes(const Path& p) const {
  if (p.packet_bytes_max != 0) return p.packet_bytes_max;
  if (p.local.IsLoopback() && p.remote.IsLoopback()) return options.loopback_packet_bytes_max;
  return options.packet_bytes_max;
}

void TransportImpl::Emit(Event e) {
  RAIN_CHECK(events_.size() < options.events_queued_max,
             "TM event queue full: the owner does not drain PollEvent");
  events_.push_back(std::move(e));
}

void TransportImpl::CollectCompletions(Peer& peer) {
  for (SendCompleted& c : peer.send.completed()) Emit(c);
  peer.send.completed().clear();
}

Status TransportImpl::AddTarget(NodeId node, const std::vector<Path>& paths) {
  if (node == kNoNode || node == options.self) {
    return InvalidArgumentError("AddTarget: " + ToString(node) + " is not a peer");
  }
  if (paths.empty()) return InvalidArgumentError("AddTarget " + ToString(node) + ": no address");
  if (paths.size() > options.paths_per_peer_max) {
    return ResourceExhaustedError("AddTarget " + ToString(node) + ": " +
                                  std::to_string(paths.size()) +
                                  " addresses exceed paths_per_peer_max");
  }
  std::set<std::pair<Address, Address>> seen;
  for (const Path& p : paths) {
    if (!p.local.valid() || !p.remote.valid()) {
      return InvalidArgumentError("AddTarget " + ToString(node) + ": invalid address");
    }
    if (!seen.insert({p.local, p.remote}).second) {
      return InvalidArgumentError("AddTarget " + ToString(node) + ": repeated path " +
                                  p.local.ToString() + " -> " + p.remote.ToString());
    }
    const uint32_t bytes = p.packet_bytes_max;
    if (bytes != 0 && (bytes < 256 || bytes > 65507)) {
      return InvalidArgumentError("AddTarget " + ToString(node) +
                                  ": packet_bytes_max must be in [256, 65507]");
    }
  }
  Peer* peer = FindPeer(node);
  if (peer == nullptr) {
    if (peers_.size() >= options.peers_max) {
      return ResourceExhaustedError("AddTarget: peers_max (" + std::to_string(options.peers_max) +
                                    ") reached");
    }
    peer = peers_.emplace(node, std::make_unique<Peer>(options, node)).first->second.get();
  } else {
    bool same = peer->paths.size() == paths.size();
    for (size_t i = 0; same && i < paths.size(); ++i) same = peer->paths[i].path == paths[i];
    if (same) return Status::Ok();
    // New paths: messages cut for the old ones fail (docs/transport.md).
    peer->send.FailAll(stats);
    CollectCompletions(*peer);
    peer->send = SendQueue(options, node);
    for (PathState& ps : peer->paths) {
      if (ps.monitor.up()) {
        Emit(LinkChanged{node, ps.path.local, ps.path.remote, false,
                         ps.monitor.transitions_local() + 1});
      }
    }
    peer->paths.clear();
  }
  uint32_t smallest = UINT32_MAX;
  for (const Path& p : paths) {
    const uint32_t bytes = PathPacketBytes(p);
    smallest = std::min(smallest, bytes);
    peer->paths.emplace_back(options, p, bytes);
  }
  peer->fragment_bytes = static_cast<uint32_t>(smallest - wire::kHeaderBytes - wire::kMacBytes -
                                               wire::kDataFrameHeaderBytes);
  EvaluateLinks(*peer);
  return Status::Ok();
}

Status TransportImpl::RegisterChannel(ChannelId channel, std::string name) {
  if (channels_.count(ToInt(channel))) {
    return AlreadyExistsError("channel " + std::to_string(ToInt(channel)) + " is registered (" +
                              channels_[ToInt(channel)] + ")");
  }
  if (channels_.size() >= options.channels_max) {
    return ResourceExhaustedError("channels_max (" + std::to_string(options.channels_max) +
                                  ") reached");
  }
  channels_.emplace(ToInt(channel), std::move(name));
  return Status::Ok();
}

Result<MessageId> TransportImpl::SendReliable(Instant now, NodeId to, ChannelId channel,
                                              std::shared_ptr<const std::vector<uint8_t>> bytes,
                                              Strategy strategy) {
  if (shut_down) return FailedPreconditionError("SendReliable: the transport is shut down");
  if (bytes == nullptr) return InvalidArgumentError("SendReliable: null buffer");
  Peer* peer = FindPeer(to);
  if (peer == nullptr) return NotFoundError("SendReliable: unknown peer " + ToString(to));
  if (!channels_.count(ToInt(channel))) {
    return FailedPreconditionError("SendReliable: channel " + std::to_string(ToInt(channel)) +
                                   " is not registered");
  }
  if (bytes->size() > options.message_bytes_max) {
    return InvalidArgumentError("SendReliable: " + std::to_string(bytes->size()) +
                                " bytes exceed message_bytes_max (" +
                                std::to_string(options.message_bytes_max) + ")");
  }
  RAIN_RETURN_IF_ERROR(peer->send.CanEnqueue(bytes->size()));
  const MessageId id{next_message_id_++};
  peer->send.Enqueue(id, channel, std::move(bytes), strategy, clock.Tick(), peer->fragment_bytes,
                     now);
  return id;
}

uint32_t TransportImpl::UnreliableBytesMax(NodeId to) const {
  auto it = peers_.find(to);
  if (it == peers_.end()) return 0;
  uint32_t smallest = UINT32_MAX;
  for (const PathState& ps : it->second->paths) smallest = std::min(smallest, ps.packet_bytes);
  return static_cast<uint32_t>(smallest - wire::kHeaderBytes - wire::kMacBytes -
                               wire::kDatagramFrameHeaderBytes);
}

Status TransportImpl::SendUnreliable(Instant /*now*/, NodeId to, ChannelId channel,
                                     std::span<const uint8_t> bytes) {
  if (shut_down) return FailedPreconditionError("SendUnreliable: the transport is shut down");
  Peer* peer = FindPeer(to);
  if (peer == nullptr) return NotFoundError("SendUnreliable: unknown peer " + ToString(to));
  if (!channels_.count(ToInt(channel))) {
    return FailedPreconditionError("SendUnreliable: channel " + std::to_string(ToInt(channel)) +
                                   " is not registered");
  }
  if (bytes.size() > UnreliableBytesMax(to)) {
    return InvalidArgumentError("SendUnreliable: " + std::to_string(bytes.size()) +
                                " bytes exceed one packet (" +
                                std::to_string(UnreliableBytesMax(to)) + ")");
  }
  if (peer->incarnation == 0) {
    return UnavailableError("SendUnreliable: not yet heard from " + ToString(to) +
                            " (its incarnation is unknown); retry after a ping round trip");
  }
  const PathState* chosen = &peer->paths[0];
  for (const PathState& ps : peer->paths) {
    if (ps.monitor.up()) {
      chosen = &ps;
      break;
    }
  }
  ControlPacket c;
  c.peer = to;
  c.local = chosen->path.local;
  c.remote = chosen->path.remote;
  c.payload.assign(bytes.begin(), bytes.end());
  c.frame = wire::DatagramFrame{channel, clock.Tick(), {}};
  control_.push_back(std::move(c));
  return Status::Ok();
}

void TransportImpl::EvaluateLinks(Peer& peer) {
  bool any_up = false;
  for (PathState& ps : peer.paths) {
    while (ps.monitor.Evaluate()) {
      Emit(LinkChanged{peer.id, ps.path.local, ps.path.remote, ps.monitor.up(),
                       ps.monitor.transitions_local()});
    }
    any_up = any_up || ps.monitor.up();
  }
  if (any_up != peer.reachable) {
    peer.reachable = any_up;
    Emit(PeerReachability{peer.id, any_up});
  }
}

void TransportImpl::OnPeerIncarnation(Peer& peer, uint64_t incarnation,
                                      std::unique_ptr<PacketKey> key) {
  if (peer.incarnation != 0) {  // a restart: fresh state for the new pair of incarnations
    peer.send.FailAll(stats);
    CollectCompletions(peer);
    peer.send = SendQueue(options, peer.id);
    peer.recv = ReceiveState(options, peer.id);
    for (PathState& ps : peer.paths) {
      if (ps.monitor.up()) {
        Emit(LinkChanged{peer.id, ps.path.local, ps.path.remote, false,
                         ps.monitor.transitions_local() + 1});
      }
      ps.monitor.Reset();
      ps.bytes_in_flight = 0;
      ps.rto_running = false;
      ps.rto_backoff = 0;
      ps.any_acked = false;
    }
    if (peer.reachable) {
      peer.reachable = false;
      Emit(PeerReachability{peer.id, false});
    }
    Emit(PeerRestarted{peer.id, incarnation});
  }
  peer.incarnation = incarnation;
  peer.key = std::move(key);
  peer.replay = std::make_unique<ReplayWindow>(options.replay_window_packets);
}

Duration TransportImpl::HandshakeBound(const Peer& peer) const {
  // A peer never heard from (no pong to any ping): its messages fail after the same bound as
  // transmissions that all time out (docs/transport.md §6).
  return FailureDetectionBound(options, peer.paths.size());
}

PathState* TransportImpl::FindPath(Peer& peer, const Address& local, const Address& remote) {
  PathState* by_remote = nullptr;
  for (PathState& ps : peer.paths) {
    if (ps.path.remote != remote) continue;
    if (ps.path.local == local) return &ps;
    if (by_remote == nullptr) by_remote = &ps;
  }
  return by_remote;
}

void TransportImpl::HandleTimeout(Instant now) {
  if (shut_down) return;
  for (auto& [id, peer_ptr] : peers_) {
    Peer& peer = *peer_ptr;
    for (uint32_t i = 0; i < peer.paths.size(); ++i) {
      PathState& ps = peer.paths[i];
      if (now >= ps.next_ping) {
        const uint64_t ping_id = ps.monitor.OnPingDue(now);
        ControlPacket c;
        c.peer = peer.id;
        c.local = ps.path.local;
        c.remote = ps.path.remote;
        c.frame = wire::PingFrame{ping_id, ps.monitor.transitions_local()};
        control_.push_back(std::move(c));
        ps.next_ping = now + options.ping_interval;
      }
      if (ps.rto_running && now >= ps.RtoDeadline(options)) {
        peer.send.OnRtoExpired(i, now, peer.paths, stats);
      } else if (auto probe = ps.ProbeDeadline(options); probe && now >= *probe) {
        peer.send.OnProbeTimeout(i, peer.paths, stats);
      }
    }
    if (auto d = peer.send.loss_deadline(); d && now >= *d) {
      peer.send.DetectLosses(now, peer.paths, stats);
    }
    if (peer.incarnation == 0 && now - HandshakeBound(peer) >= Instant{}) {
      peer.send.FailEnqueuedBefore(now - HandshakeBound(peer), stats);
    }
    EvaluateLinks(peer);
    CollectCompletions(peer);
  }
}

std::optional<Instant> TransportImpl::PollDeadline() const {
  if (shut_down) return std::nullopt;
  std::optional<Instant> best;
  auto consider = [&best](Instant t) {
    if (!best || t < *best) best = t;
  };
  for (const auto& [id, peer] : peers_) {
    for (const PathState& ps : peer->paths) {
      consider(ps.next_ping);
      if (ps.rto_running) consider(ps.RtoDeadline(options));
      if (auto probe = ps.ProbeDeadline(options)) consider(*probe);
    }
    if (auto d = peer->send.loss_deadline()) consider(*d);
    if (peer->incarnation == 0) {
      if (auto oldest = peer->send.OldestEnqueued()) consider(*oldest + HandshakeBound(*peer));
    }
    if (peer->recv.ack_pending()) {
      if (auto d = peer->recv.ack_deadline()) consider(*d);
    }
  }
  return best;
}

std::optional<Event> TransportImpl::PollEvent() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void TransportImpl::Shutdown(Instant /*now*/) {
  if (shut_down) return;
  for (auto& [id, peer] : peers_) {
    peer->send.FailAll(stats);
    CollectCompletions(*peer);
  }
  control_.clear();
  shut_down = true;
}

bool TransportImpl::IsReachable(NodeId node) const {
  auto it = peers_.find(node);
  return it != peers_.end() && it->second->reachable;
}

std::vector<LinkStatus> TransportImpl::Links(NodeId node) const {
  std::vector<LinkStatus> out;
  auto it = peers_.find(node);
  if (it == peers_.end()) return out;
  for (const PathState& ps : it->second->paths) {
    LinkStatus s;
    s.path = ps.path;
    s.up = ps.monitor.up();
    s.transitions_local = ps.monitor.transitions_local();
    s.transitions_remote = ps.monitor.transitions_remote();
    s.srtt_ns = ps.rtt.has_sample() ? ps.rtt.srtt().count() : 0;
    s.rto_ns = ps.RtoWithBackoff(options).count();
    s.cwnd_bytes = ps.cc.cwnd_bytes();
    s.bytes_in_flight = ps.bytes_in_flight;
    out.push_back(s);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Transport: the public facade.

Result<Transport> Transport::Create(TransportOptions options) {
  RAIN_RETURN_IF_ERROR(ValidateOptions(options));
  return Transport(std::make_unique<TransportImpl>(std::move(options)));
}
Transport::Transport(std::unique_ptr<TransportImpl> impl) : impl_(std::move(impl)) {}
Transport::Transport(Transport&&) noexcept = default;
Transport& Transport::operator=(Transport&&) noexcept = default;
Transport::~Transport() = default;

const TransportOptions& Transport::options() const { return impl_->options; }

Status Transport::AddTarget(NodeId node, const std::vector<Address>& addresses) {
  std::vector<Path> paths;
  const auto& locals = impl_->options.local_addresses;
  for (size_t i = 0; i < addresses.size(); ++i) {
    paths.push_back(Path{i < locals.size() ? locals[i] : locals[0], addresses[i], 0});
  }
  return impl_->AddTarget(node, paths);
}
Status Transport::AddTarget(NodeId node, const std::vector<Path>& paths) {
  return impl_->AddTarget(node, paths);
}
Status Transport::RegisterChannel(ChannelId channel, std::string name) {
  return impl_->RegisterChannel(channel, std::move(name));
}
uint64_t Transport::LogicalTime() const { return impl_->clock.now(); }

Result<MessageId> Transport::SendReliable(Instant now, NodeId to, ChannelId channel,
                                          std::vector<uint8_t>&& bytes, Strategy strategy) {
  return impl_->SendReliable(
      now, to, channel, std::make_shared<const std::vector<uint8_t>>(std::move(bytes)), strategy);
}
Result<MessageId> Transport::SendReliable(Instant now, NodeId to, ChannelId channel,
                                          std::shared_ptr<const std::vector<uint8_t>> bytes,
                                          Strategy strategy) {
  return impl_->SendReliable(now, to, channel, std::move(bytes), strategy);
}
Status Transport::SendUnreliable(Instant now, NodeId to, ChannelId channel,
                                 std::span<const uint8_t> bytes) {
  return impl_->SendUnreliable(now, to, channel, bytes);
}
uint32_t Transport::UnreliableBytesMax(NodeId to) const { return impl_->UnreliableBytesMax(to); }
void Transport::HandleDatagram(Instant now, const Address& local, const Address& remote,
                               std::span<const uint8_t> bytes) {
  impl_->HandleDatagram(now, local, remote, bytes);
}
void Transport::HandleTimeout(Instant now) { impl_->HandleTimeout(now); }
std::optional<Transmit> Transport::PollTransmit(Instant now) { return impl_->PollTransmit(now); }
std::optional<Instant> Transport::PollDeadline() const { return impl_->PollDeadline(); }
std::optional<Event> Transport::PollEvent() { return impl_->PollEvent(); }
void Transport::Shutdown(Instant now) { impl_->Shutdown(now); }
bool Transport::is_shut_down() const { return impl_->shut_down; }
bool Transport::IsReachable(NodeId node) const { return impl_->IsReachable(node); }
std::vector<LinkStatus> Transport::Links(NodeId node) const { return impl_->Links(node); }
const TransportStats& Transport::stats() const { return impl_->stats; }

}  // namespace rain::comm
