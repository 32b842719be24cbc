// Gcm: the Group Communication Manager, the token-ring membership protocol and the services on
// the ring (research/RAINCORE.md §1 "GCM", §2 "Token-ring group membership"), as a sans-IO
// state machine (DESIGN.md §3 rule 1).
//
// Inputs carry `now`: HandleMessage (a whole message from the Transport Manager),
// HandleSendOutcome (the TM's delivered/failed for a reliable send this Gcm issued),
// HandleTimeout, and the commands below. Outputs are drained by the host after every input:
// PollSend (messages to hand to the TM), PollEvent (views, deliveries, lock grants),
// PollDeadline (when to call HandleTimeout). No sockets, clocks, threads or global randomness.
//
// The host must persist stable_state() before transmitting the outputs of an input if it wants
// the primary-view guarantee to survive restarts (docs/membership.md "Stable state"), and pass
// it back to the constructor on restart.
//
// Seed API mapping (RAINCORE.md §1): GCM_queryCommunicationMembership ->
// CommunicationMembership, GCM_queryEligibleMembership -> EligibleMembership,
// GCM_setParameters/getParameters -> SetParameters/parameters, GCM_acquireMasterLock /
// releaseMasterLock -> AcquireMasterLock / ReleaseMasterLock, GCM_sendReliableMessage /
// sendUnreliableMessage -> Multicast (ordered, all members) and Send (to chosen nodes).
// Notification callbacks are events; the driver turns them into callbacks.
//
// Not thread-safe: one thread drives one Gcm.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <variant>
#include <vector>

#include "rain/core/ids.h"
#include "rain/core/rng.h"
#include "rain/core/status.h"
#include "rain/core/time.h"
#include "rain/membership/options.h"
#include "rain/membership/view.h"
#include "rain/membership/wire.h"

namespace rain::membership {

class OrderedLog;  // src/ordered_log.h

// Tag of a reliable send: the TM reports HandleSendOutcome(tag, delivered) exactly once.
using SendTag = uint64_t;

// One message for the Transport Manager. The bytes are shared between the copies of a
// multicast (one per destination), so a batch is encoded once.
struct Transmit {
  NodeId to = kNoNode;
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  SendTag tag = 0;  // 0 for unreliable sends
  bool reliable = true;
};

// --- Events (the seed's notification callbacks) ---
struct ViewInstalled {
  View view;
};
// An ordered multicast message, delivered in the same total order at every member of `view`.
// `safe`: this node knew every member of `view` held the message when delivering it. Messages
// flushed at a view change are delivered with safe = false (docs/membership.md "Virtual
// synchrony").
struct Delivered {
  NodeId sender = kNoNode;
  ViewId view;
  uint64_t seq = 0;
  Service service = Service::kAgreed;
  bool safe = false;
  std::vector<uint8_t> payload;
};
// A point-to-point message from Send() (not ordered with the multicast stream).
struct Received {
  NodeId from = kNoNode;
  bool reliable = true;
  std::vector<uint8_t> payload;
};
struct DirectSendFailed {
  NodeId to = kNoNode;
  // The payload given to Send, so the user can re-send exactly what failed (null when unknown:
  // then anything sent to `to` may be lost).
  std::shared_ptr<const std::vector<uint8_t>> payload;
};
// A reliable Send made with notify_delivered: the TM acknowledged it at `to` (for pacing bulk
// point-to-point traffic such as a state transfer).
struct DirectSendDelivered {
  NodeId to = kNoNode;
  std::shared_ptr<const std::vector<uint8_t>> payload;
};
struct MasterLockGranted {};
// The lock was taken away: its holder left the primary view, or the ring was regenerated.
struct MasterLockLost {};

using Event = std::variant<ViewInstalled, Delivered, Received, DirectSendFailed, MasterLockGranted,
                           MasterLockLost, DirectSendDelivered>;

// What must survive a restart for the single-primary guarantee (like Paxos acceptor state).
struct StableState {
  Ballot promised;       // highest ballot granted or accepted
  ViewId last_view;      // newest view whose token this node accepted
  ViewId known_primary;  // newest primary view this node has seen created
  friend bool operator==(const StableState&, const StableState&) = default;
};

// Node states: the token phase of the newest token this node accepted, or kStarved.
// Mapping to Totem: Starved ~ Gather, Chaos ~ Commit, Reserve ~ Recovery, Agreement ~
// Operational.
enum class NodeState : uint8_t { kStarved, kChaos, kReserve, kAgreement };
const char* ToString(NodeState s);

struct GcmConfig {
  NodeId self = kNoNode;
  std::vector<NodeId> eligible;  // configured members, including self
  uint64_t cluster_id = 0;
  RingOptions options;
};

// Why the ring changed, counted since start (status, logs): a pass that failed means the
// successor was removed at once; a token loss means no token arrived within TokenLossTimeout
// and a 911 regenerated the ring, the slow way to a new view.
struct GcmCounters {
  uint64_t token_visits = 0;         // token arrivals at this node
  uint64_t token_pass_failures = 0;  // a pass to the successor failed on every path
  uint64_t token_losses = 0;         // no token within TokenLossTimeout: this node called 911
  uint64_t recovery_timeouts = 0;    // a view's retransmissions never came: gave the token up
  uint64_t token_alive_sent = 0;     // TokenAlive rounds sent while a pass was unacknowledged
  uint64_t busy_holds = 0;           // a busy token waited here (CPU contended, nothing to send)
  Duration token_held{};             // total time the token spent here
};

class Gcm {
 public:
  // A node starts outside every ring and calls 911 at once (a join). `stable` is what the
  // previous incarnation persisted (default: first start).
  Gcm(GcmConfig config, Rng rng, Instant now, StableState stable = {});
  ~Gcm();
  Gcm(const Gcm&) = delete;
  Gcm& operator=(const Gcm&) = delete;

  // --- Inputs ---
  // A whole message from `from`. Malformed or foreign messages are dropped (the status says
  // why; the protocol state is unchanged on error).
  Status HandleMessage(Instant now, NodeId from, std::span<const uint8_t> bytes);
  // The TM's verdict on a reliable send: delivered, or failed on every path.
  void HandleSendOutcome(Instant now, SendTag tag, bool delivered);
  void HandleTimeout(Instant now);

  // --- Commands ---
  // Queues an ordered multicast to every member of the view in which it will be ordered
  // (including self). ResourceExhausted when the send queue is full, InvalidArgument when too
  // large.
  Status Multicast(Instant now, std::vector<uint8_t> payload, Service service = Service::kAgreed);
  // Point-to-point to each of `to`, reliable (failure -> DirectSendFailed) or unreliable. With
  // `notify_delivered` (reliable only) each target's acknowledgement is a DirectSendDelivered.
  Status Send(Instant now, std::span<const NodeId> to, std::vector<uint8_t> payload, bool reliable,
              bool notify_delivered = false);
  // Asks for the master lock; MasterLockGranted follows when the token grants it (only in a
  // primary view). FailedPrecondition if already held or requested.
  Status AcquireMasterLock(Instant now);
  // Releases the lock or withdraws a request. FailedPrecondition if neither.
  Status ReleaseMasterLock(Instant now);
  // The host's view of its CPU: contended when this node's threads wait for a CPU much of the
  // time (raind: the I/O thread's run-queue delay). While contended, a busy token with nothing
  // to send here waits up to busy_token_hold, and new work wakes a busy token too.
  void SetCpuContended(Instant now, bool contended);
  bool cpu_contended() const { return cpu_contended_; }
  Status SetParameters(const RingOptions& options);
  const RingOptions& parameters() const { return config_.options; }

  // --- Queries ---
  // The installed view's members (empty before the first view).
  std::vector<NodeId> CommunicationMembership() const;
  const std::vector<NodeId>& EligibleMembership() const { return config_.eligible; }
  const std::optional<View>& view() const { return view_; }
  NodeState state() const { return state_; }
  bool master_lock_held() const { return lock_held_; }
  const StableState& stable_state() const { return stable_; }
  NodeId self() const { return config_.self; }
  // Multicasts accepted by Multicast and not yet ordered (taken at this node's token visits).
  size_t send_queue_messages() const { return send_queue_.size(); }
  const GcmCounters& counters() const { return counters_; }
  bool holds_token() const { return holding_; }
  // Testing aid: does this node hold message `seq` of view `view` (received, not collected)?
  bool HoldsMessage(const ViewId& view, uint64_t seq) const;

  // --- Outputs ---
  std::optional<Transmit> PollSend();
  std::optional<Event> PollEvent();
  std::optional<Instant> PollDeadline() const;

 private:
  struct Queued {
    std::vector<uint8_t> payload;
    Service service;
  };
  enum class TagKind : uint8_t { kToken, k911, kData, kDirect };
  struct TagInfo {
    TagKind kind;
    NodeId to;
    std::shared_ptr<const std::vector<uint8_t>> payload;  // kDirect: the user's payload
    bool notify_delivered = false;                        // kDirect: DirectSendDelivered
  };
  struct Joiner {
    ViewId known_primary;
    Instant expires;
  };
  struct Attempt {  // a 911 in progress (src/gcm_911.cc)
    Ballot ballot;
    Call911Mode mode;
    Instant deadline;
    std::map<NodeId, std::optional<Reply911>> replies;  // nullopt: unreachable
  };

  // gcm.cc: plumbing
  void Out(NodeId to, std::shared_ptr<const std::vector<uint8_t>> bytes, bool reliable,
           TagKind kind, std::shared_ptr<const std::vector<uint8_t>> payload = nullptr);
  void SendMsg(NodeId to, const Message& m, bool reliable, TagKind kind);
  void Emit(Event e);
  size_t RingSize() const;
  void ArmTokenLoss(Instant now);
  NodeId SuccessorOf(const std::vector<NodeId>& members, NodeId n) const;

  // gcm_token.cc: the ring (Chaos -> Reserve -> Agreement)
  void HandleToken(Instant now, NodeId from, Token t);
  bool AcceptToken(const Token& t) const;
  void NoteAccepted(const Token& t);
  void OnTokenArrival(Instant now, Token t);
  void Visit(Instant now);
  void VisitChaos(Instant now, Token& t);
  void VisitReserve(Instant now, Token& t);
  bool VisitAgreement(Instant now, Token& t);
  void PassToken(Instant now, Token t);
  void CreateView(Instant now, Token& t, std::vector<NodeId> members, ViewId extra_known);
  void OnTokenPassFailed(Instant now);
  bool TryInstall(Instant now, Token& t);
  void WriteRecord(Token& t);
  void SendRecoveryRetransmissions(const Token& t);
  bool MaybeAddJoiner(Instant now, Token& t);
  void DropHeldToken();

  // gcm_911.cc: starvation, regeneration, joins, merges
  void StartCall911(Instant now, Call911Mode mode);
  void HandleCall911(Instant now, NodeId from, const Call911& m);
  void HandleReply911(Instant now, NodeId from, const Reply911& m);
  void On911Unreachable(Instant now, NodeId to);
  void MaybeDecide911(Instant now, bool timed_out);
  void Regenerate(Instant now, Ballot ballot, const std::vector<NodeId>& grantors, ViewId known);
  void BecomeStarved(Instant now);
  void HandleProbe(Instant now, NodeId from, const Probe& p);
  void SendProbes(Instant now);
  void MaybeStartMerge(Instant now, const ViewId& foreign);
  Duration Backoff();

  // gcm_multicast.cc: ordered multicast on the token
  void HandleData(Instant now, NodeId from, DataBatch b);
  void AssignMessages(Instant now, Token& t);
  void UpdateAruAndDeliver(Token& t);
  void DeliverReady();
  void ServeRetransmissions(Token& t);
  void MaybeWake(Instant now);
  void HandleWake(Instant now, const Wake& w);
  void HandleTokenAlive(Instant now, NodeId from, const TokenAlive& a);
  void MaybeSendTokenAlive(Instant now);
  void ResetLogsForView(const ViewId& id);

  // master lock (gcm_lock.cc)
  void LockOnVisit(Token& t);
  void LockOnInstall(const Token& t);
  static void LockPurge(Token& t);

  GcmConfig config_;
  Rng rng_;
  StableState stable_;
  NodeState state_ = NodeState::kStarved;

  // Token knowledge.
  std::optional<Token> last_token_;  // the token as it last left (or arrived at) this node
  GcmCounters counters_;
  Instant token_arrived_at_{};
  bool holding_ = false;        // last_token_ is here
  bool busy_held_ = false;      // ... and waits because the CPU is contended (busy_token_hold)
  bool cpu_contended_ = false;  // SetCpuContended
  Instant hold_until_{};
  SendTag pass_tag_ = 0;                        // the reliable send that carried last_token_ on
  std::optional<Instant> next_token_alive_at_;  // pass_tag_'s outcome is awaited
  bool self_loop_ = false;  // a one-member ring passes the token to itself at loop_at_
  Instant loop_at_{};
  Instant token_loss_at_{};
  Instant last_token_at_{};      // last time this node accepted or passed the token
  bool record_written_ = false;  // for last_token_->view
  bool retrans_done_ = false;
  std::optional<Instant> recovery_deadline_;

  std::optional<View> view_;             // installed
  std::unique_ptr<OrderedLog> log_;      // messages of view_
  std::unique_ptr<OrderedLog> pending_;  // early messages of the view being formed
  uint64_t prev_visit_aru_ = 0;
  uint64_t prev_visit_msg_seq_ = 0;
  uint64_t safe_upto_ = 0;
  std::deque<Queued> send_queue_;
  bool wake_sent_ = false;
  std::optional<Instant> wake_seen_at_;  // a Wake arrived while the token was elsewhere

  // 911, joins, merges.
  std::optional<Attempt> attempt_;
  Instant next_911_at_{};
  uint64_t max_epoch_heard_ = 0;
  std::map<NodeId, Joiner> joiners_;
  Instant next_probe_at_{};
  Instant next_merge_at_{};

  // Master lock.
  bool lock_wanted_ = false;
  bool lock_held_ = false;
  bool lock_release_pending_ = false;

  // Outputs.
  std::deque<Transmit> sends_;
  std::deque<Event> events_;
  SendTag next_tag_ = 1;
  std::unordered_map<SendTag, TagInfo> tags_;
};

}  // namespace rain::membership
