// NodeStack: the sans-IO composition of one node's protocol layers above the Transport Manager:
// the GCM (rain::membership::Gcm) and, when created with a DataLayerStart, the GDM
// (rain::membership::Gdm) and the election (rain::election::Election) on top of it. It is the glue
// of docs/membership.md §1: it registers the GCM channel on the Transport, routes the Transport's
// deliveries on that channel to Gcm::HandleMessage and its SendCompleted to HandleSendOutcome
// (TM MessageId <-> GCM SendTag), hands Gcm::PollSend to SendReliable / SendUnreliable, and
// persists Gcm::stable_state() through the StableStorage seam before any output of an input
// reaches the Transport (docs/membership.md §8).
//
// With the data layer (docs/gdm.md §2 "What the host must do"): every Gcm event goes to
// Gdm::HandleGcmEvent in order (ViewInstalled also to Election::HandleView) and then to the
// host (PollEvent); Gdm::PollGcmCommand runs on the Gcm (a refusal is HandleCommandRefused);
// Gdm::PollPersist batches go to the host through PollPersist (the host makes them durable,
// in ticket order, e.g. on a storage thread, and reports back with HandlePersisted: the stack
// stays sans-IO); EpochDurable goes to Election::HandleEpochDurable; the election's
// stable_epoch() is persisted through EpochStorage with the GCM state before outputs leave.
// GDM and election events reach the host through PollGdmEvent / PollElectionEvent.
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
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "rain/comm/transport.h"
#include "rain/comm/types.h"
#include "rain/core/result.h"
#include "rain/core/rng.h"
#include "rain/core/status.h"
#include "rain/core/time.h"
#include "rain/election/election.h"
#include "rain/membership/gcm.h"
#include "rain/membership/gdm.h"

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

// Where the election's highest announced epoch goes before the outputs of an input leave the node
// (raind: <data_dir>/election.state). Save must be durable when it returns OK.
class EpochStorage {
 public:
  virtual ~EpochStorage() = default;
  // Stores `epoch`, replacing the previous one. An error stops the stack (see health()).
  virtual Status SaveEpoch(uint64_t epoch) = 0;
};

// Bytes of a GCM message kept for the GDM's commit header (frame 16, commit fields 32, one op
// 22: 70 bytes today), so that an item of max_item_bytes always fits one GCM message.
// A GDM point-to-point message at least this large (a state-transfer chunk, not an ack) is paced:
// at most kDirectWindowBytes of them in flight per target. The donor of a 30 MB state used to hand
// the TM all of it at once for every stale member; the burst filled the peers' socket buffers,
// token passes failed on both paths, and the ring dissolved (docs/gdm.md, "State transfer").
inline constexpr size_t kDirectPacedBytesMin = 64u << 10;
inline constexpr size_t kDirectWindowBytes = 1u << 20;
inline constexpr size_t kGdmCommitReserveBytes = 4096;

// The largest GDM item a stack with these ring options can carry: the GCM's max_message_bytes
// less kGdmCommitReserveBytes (raind's default max_message_bytes is 1 MiB + 4 KiB, so items of
// exactly 1 MiB fit). 0 if max_message_bytes is not larger than the reserve.
size_t GdmItemBytesMax(const membership::RingOptions& o);

// The data layer's start: the GDM's options and restored state (GdmStorage::Load), the
// election's stable epoch (what EpochStorage last saved) and where to save it.
struct DataLayerStart {
  // cluster_id 0 takes the GCM's; max_item_bytes 0 takes GdmItemBytesMax (larger: refused).
  membership::GdmOptions gdm{.max_item_bytes = 0};
  membership::GdmState restored;
  uint64_t stable_epoch = 0;
  EpochStorage* epoch_storage = nullptr;  // must outlive the stack
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
  uint64_t epoch_saves = 0;
  uint64_t gdm_commands_refused = 0;  // the Gcm refused a GDM multicast or send
  uint64_t gdm_messages_dropped = 0;  // HandleGcmEvent refused a payload (malformed GDM message)
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
  // As above, with the GDM and the election on the GCM (see the header comment). Errors as
  // above, and InvalidArgument for a missing EpochStorage or an item limit the GCM cannot carry.
  static Result<std::unique_ptr<NodeStack>> Create(comm::Transport& transport,
                                                   NodeStackOptions options, Rng rng, Instant now,
                                                   membership::StableState stable,
                                                   StableStorage* storage, DataLayerStart data);

  // --- Inputs ---
  // One Transport event. Events of other channels are ignored (later layers take them).
  void HandleTransportEvent(comm::Transport& transport, Instant now, comm::Event event);
  // Call when PollDeadline() has passed.
  void HandleTimeout(comm::Transport& transport, Instant now);
  // The host made the GDM batch `ticket` (from PollPersist) durable, or failed to. Batches must
  // be reported in ticket order. A failure stops the stack (health()): the GDM acknowledges
  // nothing more and the node must restart. Data layer only.
  void HandlePersisted(Instant now, uint64_t ticket, const Status& status);
  // Every batch up to and including `ticket` is durable (a storage that coalesced them into one
  // write): one durable ack for all of them instead of one per batch. Data layer only.
  void HandlePersistedThrough(Instant now, uint64_t ticket, const Status& status);

  // --- Outputs ---
  // Persists the stable state if it changed, then hands every pending GCM send to `transport`.
  // A send the Transport refuses is reported to the GCM as failed at once (the GCM may answer
  // with more sends, handled in the same call up to kFlushRoundsMax rounds). Returns true if it
  // handed anything over or still has work (call again). After a storage error nothing is sent.
  bool Flush(comm::Transport& transport, Instant now);
  // GCM events, in order (with the data layer: after the GDM and the election saw them).
  std::optional<membership::Event> PollEvent();
  // Data layer only (nullopt without): GDM events (OpCompleted, item callbacks, ...), election
  // events, and GDM persist batches for the host's storage, in ticket order.
  std::optional<membership::GdmEvent> PollGdmEvent();
  std::optional<election::ElectionEvent> PollElectionEvent();
  std::optional<membership::PersistBatch> PollPersist();
  std::optional<Instant> PollDeadline() const;

  // The GCM for commands (Multicast, Send, AcquireMasterLock, ...) and queries. After a command
  // the host must call Flush, like after any input.
  membership::Gcm& gcm() { return gcm_; }
  const membership::Gcm& gcm() const { return gcm_; }
  // The GDM for commands (Create, Write, ...) and reads, and the election for queries; nullptr
  // without the data layer. After a GDM command the host must call Flush.
  membership::Gdm* gdm() { return gdm_.get(); }
  const membership::Gdm* gdm() const { return gdm_.get(); }
  const election::Election* election() const { return election_.get(); }

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
  // stack_data.cc: moves everything between the Gcm, the Gdm, the election and the host queues
  // until nothing moves. Returns true if anything moved. No-op without the data layer.
  bool RouteDataLayer(Instant now);
  void RunGdmCommand(Instant now, membership::GcmCommand c);
  // Bulk point-to-point GDM messages (snapshot chunks) leave at most kDirectWindowBytes per
  // target at a time; an outcome (delivered or failed) lets the next ones go.
  void PaceDirect(Instant now, NodeId to);
  void OnPacedOutcome(Instant now, NodeId to, size_t bytes);

  NodeStackOptions options_;
  membership::Gcm gcm_;
  StableStorage* storage_;
  membership::StableState saved_;
  Status health_;
  std::unordered_map<uint64_t, membership::SendTag> tags_;  // TM MessageId -> GCM tag
  std::vector<membership::SendTag> refused_;  // sends the TM refused: failed outcomes to report
  NodeStackStats stats_;

  // The data layer (null without). The queues are drained by the host after every Flush, so
  // they hold one input's worth of events.
  std::unique_ptr<membership::Gdm> gdm_;
  std::unique_ptr<election::Election> election_;
  EpochStorage* epoch_storage_ = nullptr;
  uint64_t saved_epoch_ = 0;
  std::deque<membership::Event> gcm_events_;
  std::deque<membership::GdmEvent> gdm_events_;
  std::deque<election::ElectionEvent> election_events_;
  std::deque<membership::PersistBatch> persists_;
  struct DirectPacing {
    std::deque<std::vector<uint8_t>> queued;
    size_t in_flight_bytes = 0;
  };
  std::map<NodeId, DirectPacing> paced_;
};

}  // namespace rain::node
