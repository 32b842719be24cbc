// NodeStack: the sans-IO composition of one node's protocol layers above the Transport Manager:
// today the GCM (rain::membership::Gcm), next the GDM and the election. It is the glue of
// docs/membership.md §1: it registers the GCM channel on the Transport, routes the Transport's
// deliveries on that channel to Gcm::HandleMessage and its SendCompleted to HandleSendOutcome
// (TM MessageId <-> GCM SendTag), hands Gcm::PollSend to SendReliable / SendUnreliable, and
// persists Gcm::stable_state() through the StableStorage seam before any output of an input
// reaches the Transport (docs/membership.md §8).
//
// Shape: the Transport is owned by the host (the TransportDriver in raind, or a test/simulator
// adapter) and passed to every call. Inputs: HandleTransportEvent, HandleTimeout and the GCM
// commands (via gcm()); after every input the host calls Flush (which moves the GCM's outputs
// into the Transport), then drains the Transport, PollEvent (GCM events) and re-arms its timer
// at min(PollDeadline(), Transport::PollDeadline()). This is exactly comm::UpperLayer, so raind
// runs it on the driver's I/O thread. No sockets, clocks or threads inside.
//
// Not thread-safe: one thread drives one NodeStack (and its Transport).
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "rain/comm/transport.h"
#include "rain/comm/types.h"
#include "rain/core/result.h"
#include "rain/core/rng.h"
#include "rain/core/status.h"
#include "rain/core/time.h"
#include "rain/membership/gcm.h"

namespace rain::node {

// The Transport channel the GCM uses (registered at every node).
inline constexpr comm::ChannelId kGcmChannel{1};

// Where the GCM's acceptor state goes before the outputs of an input leave the node. Save must
// be durable when it returns OK (raind: write a temporary file, fsync, rename).
class StableStorage {
 public:
  virtual ~StableStorage() = default;
  // Stores `state`, replacing the previous one. An error stops the stack (see NodeStack::health).
  virtual Status Save(const membership::StableState& state) = 0;
};

struct NodeStackOptions {
  membership::GcmConfig gcm;
  comm::ChannelId channel = kGcmChannel;
  // The token carries failure detection: sent on every path at once, a dead path costs nothing
  // and the send fails only when all paths are exhausted together (docs/raind.md "Defaults").
  comm::Strategy token_strategy = comm::Strategy::kParallel;
  // Data batches, 911s and direct messages: one path at a time (no doubled bandwidth).
  comm::Strategy other_strategy = comm::Strategy::kSequential;
};

struct NodeStackStats {
  uint64_t gcm_messages_in = 0;
  uint64_t gcm_messages_rejected = 0;  // HandleMessage refused them (malformed, foreign)
  uint64_t reliable_sends = 0;
  uint64_t unreliable_sends = 0;
  uint64_t send_errors = 0;  // the Transport refused a send at once (reported as failed)
  uint64_t stable_saves = 0;
};

class NodeStack {
 public:
  // Registers options.channel on `transport` (peers must be added by the host), then creates the
  // Gcm with `stable` (what the previous incarnation persisted). `storage` must outlive the
  // stack. Errors: the Transport's RegisterChannel errors, InvalidArgument (GcmConfig).
  static Result<std::unique_ptr<NodeStack>> Create(comm::Transport& transport,
                                                   NodeStackOptions options, Rng rng, Instant now,
                                                   membership::StableState stable,
                                                   StableStorage* storage);

  // --- Inputs ---
  // One Transport event. Events of other channels are ignored (later layers take them).
  void HandleTransportEvent(comm::Transport& transport, Instant now, comm::Event event);
  // Call when PollDeadline() has passed.
  void HandleTimeout(comm::Transport& transport, Instant now);

  // --- Outputs ---
  // Persists the stable state if it changed, then hands every pending GCM send to `transport`.
  // A send the Transport refuses is reported to the GCM as failed at once (the GCM may answer
  // with more sends, handled in the same call up to kFlushRoundsMax rounds). Returns true if it
  // handed anything over or still has work (call again). After a storage error nothing is sent.
  bool Flush(comm::Transport& transport, Instant now);
  std::optional<membership::Event> PollEvent() { return gcm_.PollEvent(); }
  std::optional<Instant> PollDeadline() const;

  // The GCM for commands (Multicast, Send, AcquireMasterLock, ...) and queries. After a command
  // the host must call Flush, like after any input.
  membership::Gcm& gcm() { return gcm_; }
  const membership::Gcm& gcm() const { return gcm_; }

  // OK, or the storage error that stopped the stack (the host must shut the node down: it can no
  // longer promise what it persisted).
  const Status& health() const { return health_; }
  const NodeStackStats& stats() const { return stats_; }

  // GCM sends handed over per Flush round before the next persist check.
  static constexpr int kFlushRoundsMax = 64;

 private:
  NodeStack(NodeStackOptions options, Rng rng, Instant now, membership::StableState stable,
            StableStorage* storage);
  bool Persist();
  void Send(comm::Transport& transport, Instant now, membership::Transmit t);

  NodeStackOptions options_;
  membership::Gcm gcm_;
  StableStorage* storage_;
  membership::StableState saved_;
  Status health_;
  std::unordered_map<uint64_t, membership::SendTag> tags_;  // TM MessageId -> GCM tag
  std::vector<membership::SendTag> refused_;  // sends the TM refused: failed outcomes to report
  NodeStackStats stats_;
};

}  // namespace rain::node
