// GdmSim: the GDM and the election running on the GCM harness (harness.h), with a simulated
// disk per node, for the GDM's randomized suite (gdm_random_test.cc) and named scenarios
// (gdm_test.cc).
//
// It wraps testing::Cluster rather than changing it: after every harness event it feeds each
// node's new GCM events (views, deliveries, point-to-point messages, in their original order)
// into that node's Gdm, runs the Gdm's outputs (multicasts and sends through the Cluster,
// persist batches onto the node's MemoryGdmStorage with a random fsync latency) and checks the
// invariants (DESIGN.md §4, docs/gdm.md "Simulation"):
//   - replicas identical after the same delivered message (active members, per (view, seq));
//   - transactions all or nothing (items 100 and 101 are only ever written together);
//   - lock mutual exclusion (at most one holder per lock among members of one view);
//   - one leader per epoch, epochs growing at every node (across restarts too);
//   - acknowledged writes never lost (checked after every node crashed at once and at the end).
// Crash() loses what the node's disk had staged but not synced.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "harness.h"
#include "rain/election/election.h"
#include "rain/membership/gdm.h"
#include "rain/membership/gdm_storage.h"

namespace rain::membership::testing {

inline constexpr ItemId kTxnItemA = 100;
inline constexpr ItemId kTxnItemB = 101;

struct GdmSimConfig {
  int nodes = 3;
  uint64_t seed = 1;
  Duration fsync_min = 100us;
  Duration fsync_max = 3ms;
  GdmOptions gdm{.cluster_id = 7};
  // Report the fsyncs that finished by one instant with one HandlePersistedThrough (as a
  // storage that coalesces batches does) instead of one HandlePersisted each.
  bool persisted_through = false;
};

class GdmSim {
 public:
  explicit GdmSim(GdmSimConfig cfg);
  ~GdmSim();

  Cluster& cluster() { return *cluster_; }
  std::vector<NodeId> ids() const { return cluster_->ids(); }
  bool up(NodeId n) const { return cluster_->up(n); }
  Gdm& gdm(NodeId n) { return *node(n).gdm; }
  election::Election& election(NodeId n) { return *node(n).election; }
  Instant now() const { return cluster_->now(); }

  void RunFor(Duration d);
  bool RunUntil(const std::function<bool()>& pred, Duration max);

  // Crash loses the node's unsynced disk writes; Restart rebuilds Gdm and Election from disk.
  void Crash(NodeId n);
  void Restart(NodeId n);

  // Runs a command on node n's Gdm (then its outputs). The op is remembered: its completion is
  // recorded (Outcome) and, for ok writes, checked by the acked-writes checker.
  // `checked_value`: the whole value the command writes (checked once acknowledged).
  using Command = std::function<Result<OpId>(Gdm&, Instant)>;
  Result<OpId> Do(NodeId n, const Command& cmd, std::string checked_value = "");
  std::optional<Status> Outcome(NodeId n, OpId op) const;

  // Every live node active in one primary view with identical states.
  bool AllActiveAndEqual();
  // Checks that every acknowledged write is present in every live node's state.
  void CheckAckedWrites();

  const std::vector<std::string>& violations() const { return violations_; }
  std::string Report() const;
  static std::string Describe(const GdmState& s);
  uint64_t acked_writes() const { return acked_count_; }
  uint64_t applied_checks() const { return applied_checks_; }

 private:
  struct DiskOp {
    uint64_t ticket;
    Instant due;
  };
  struct Node {
    std::unique_ptr<Gdm> gdm;
    std::unique_ptr<election::Election> election;
    MemoryGdmStorage disk;
    uint64_t stable_epoch = 0;  // election's persisted state
    uint64_t max_epoch_seen = 0;
    std::deque<DiskOp> disk_ops;
    size_t views_seen = 0, deliveries_seen = 0, received_seen = 0, delivered_seen = 0;
    int failures_seen = 0;
    // Which messages of `chain_view` this node was fed, hashed in order: a member removed from a
    // view may deliver a subset of it in the flush (docs/membership.md §6), so only members
    // with the same delivered history in the view are comparable after a message.
    ViewId chain_view;
    uint64_t chain = 0;
    std::map<OpId, Status> outcomes;
    std::map<OpId, std::string> op_values;  // ops that write a checked value
  };

  Node& node(NodeId n) { return nodes_[ToInt(n) - 1]; }
  const Node& node(NodeId n) const { return nodes_[ToInt(n) - 1]; }
  void Boot(NodeId n);
  void Pump();
  void Feed(NodeId n, const Event& e, bool check_replica);
  void Flush(NodeId n);
  void OnGdmEvent(NodeId n, GdmEvent& e);
  void CheckNode(NodeId n);
  void CheckLocks();
  uint64_t Fingerprint(const GdmState& s) const;
  void Violation(const std::string& s);

  GdmSimConfig cfg_;
  Rng rng_;
  std::unique_ptr<Cluster> cluster_;
  std::vector<Node> nodes_;
  bool pumping_ = false;
  bool fed_ = true;  // a Gdm had an input since the last checks

  // Checker state.
  // (view, seq, delivered history) -> the first node's fingerprint after that message.
  std::map<std::tuple<ViewId, uint64_t, uint64_t>, std::pair<NodeId, uint64_t>> after_message_;
  std::map<uint64_t, std::pair<NodeId, ViewId>> leaders_;  // epoch -> (leader, view)
  // (node, value) -> (item, version) as applied at that node.
  std::map<std::pair<NodeId, std::string>, std::pair<ItemId, uint64_t>> value_versions_;
  std::map<ItemId, std::pair<uint64_t, std::string>> acked_;  // item -> newest acked write
  uint64_t acked_count_ = 0;
  uint64_t applied_checks_ = 0;
  std::vector<std::string> violations_;
};

}  // namespace rain::membership::testing
