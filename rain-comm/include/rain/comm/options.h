// TransportOptions: every limit, timer and key of the Transport Manager, named with units last
// and filled at the call site (`TransportOptions{.self = NodeId{1}, ...}`) (DESIGN.md §3 rule 3).
// Defaults and their reasons are listed in docs/transport.md §"Limits".
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "rain/comm/address.h"
#include "rain/core/ids.h"
#include "rain/core/time.h"

namespace rain::comm {

struct TransportOptions {
  // --- identity and key ---
  NodeId self = kNoNode;  // this node; never kNoNode
  // A number that differs on every start of this node and only grows (e.g. the wall-clock time in
  // nanoseconds at start, or a counter persisted on disk). 0 is invalid. Peers recognise a restart
  // by it and drop the old incarnation's packets; with `self` it makes every packet nonce unique.
  uint64_t incarnation = 0;
  uint32_t cluster_id = 0;                // in every packet header; a packet of another cluster
                                          // is rejected before its MAC is checked
  std::array<uint8_t, 32> cluster_key{};  // the cluster key (from the key file)
  // The local addresses the driver listens on. AddTarget(node, addresses) pairs the peer's i-th
  // address with local_addresses[i] (or local_addresses[0] when there are fewer).
  std::vector<Address> local_addresses;

  // --- sizes ---
  uint32_t packet_bytes_max = 1400;              // UDP payload per datagram on an ordinary path
  uint32_t loopback_packet_bytes_max = 65000;    // ... when both ends of the path are loopback
  uint32_t message_bytes_max = 64u << 20;        // largest reliable message (≤ 4 GiB - 1)
  uint64_t send_queue_bytes_max = 256ull << 20;  // reliable bytes pending per peer
  uint32_t send_queue_messages_max = 65536;      // reliable messages pending per peer
  uint64_t recv_window_bytes = 16ull << 20;      // flow-control window advertised to each peer
  uint32_t channels_max = 256;
  uint32_t peers_max = 1024;
  uint32_t paths_per_peer_max = 8;
  uint32_t events_queued_max = 1u << 20;  // beyond this the owner is not draining PollEvent: a bug
  uint32_t gso_segments_max = 1;          // datagrams per Transmit (1: no batching)

  // --- acknowledgements and retransmission (RFC 6298 / RFC 9002 style) ---
  Duration rto_initial = std::chrono::milliseconds(200);  // before the first RTT sample on a path
  Duration rto_min = std::chrono::milliseconds(20);
  Duration rto_max = std::chrono::seconds(2);
  // RTO expirations in a row on one path (no ack or pong from it in between) before the path is
  // exhausted and data moves to the next path; when every path of a peer is exhausted, every
  // pending message to it fails (docs/transport.md §6, FailureDetectionBound).
  uint32_t transmissions_per_path_max = 3;
  uint32_t ack_every_packets = 2;  // ack at once after this many unacked data packets
  Duration ack_delay_max =
      std::chrono::milliseconds(1);  // otherwise ack after at most this (never for a packet that
                                     // completes a message or arrives out of order)
  uint32_t ack_ranges_max = 32;      // SACK ranges per ack frame
  uint32_t reorder_threshold_packets = 3;  // lost if this many later packets on the path are acked
  uint32_t sent_packets_tracked_max = 1u << 20;  // per peer, packets awaiting an ack

  // --- congestion control (per path) ---
  uint32_t cwnd_initial_packets = 10;
  uint32_t cwnd_min_packets = 2;
  uint64_t cwnd_bytes_max = 64ull << 20;
  // A loss event shrinks cwnd only when it looks like congestion: queueing delay (latest RTT above
  // min RTT by more than this fraction) or more than loss_fraction_congestion of the packets of
  // the last round trip lost. Random loss alone keeps the window (docs/transport.md).
  double rtt_inflation_congestion = 0.5;
  double loss_fraction_congestion = 0.25;
  double cwnd_decrease_factor = 0.7;
  // Delay signal: when even the smallest RTT sample of a round is above the path's base RTT by
  // the queueing threshold (rtt_inflation_congestion · base RTT, at least 1 ms), a queue stands
  // in front of the bottleneck: the window stops growing and shrinks by cwnd_decrease_factor
  // (once per round). Keeps the window from filling socket or router buffers (bufferbloat).
  bool cwnd_delay_backoff = true;

  // --- link monitor (RAINCORE.md §2) ---
  Duration ping_interval = std::chrono::milliseconds(100);
  uint32_t link_down_pings_missed = 3;  // k: consecutive pings without a pong → down
  uint32_t link_up_pings_good = 2;      // consecutive pings answered → up

  // --- replay protection ---
  uint32_t replay_window_packets = 4096;  // packet numbers remembered per peer incarnation
};

// The failure-detection bound of docs/transport.md §6 for a peer with `paths` paths: once no
// path has acknowledged anything (nor answered a ping) for this long while data was in flight,
// every pending message to the peer has failed. paths × transmissions_per_path_max × rto_max.
inline Duration FailureDetectionBound(const TransportOptions& options, size_t paths) {
  return options.rto_max * options.transmissions_per_path_max *
         static_cast<int64_t>(std::max<size_t>(1, paths));
}

}  // namespace rain::comm
