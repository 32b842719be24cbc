// The data commands of raind's control endpoint (docs/raind.md §3.1): data_ls, data_get,
// data_set and data_rm on the node's Gdm, and the `gdm` / `leader` JSON of status and watch.
// Runs on the I/O thread only (the control thread reaches it through TransportDriver::Run).
//
// data_set / data_rm are answered when their OpCompleted arrives (the change is durable on every
// member of the view): Set/Rm return nullopt and the answer goes later to the AnswerSink under
// the id the control server gave the request. At most kDeferredDataMax such answers wait at once.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "rain/core/time.h"
#include "rain/election/election.h"
#include "rain/membership/gdm.h"

namespace rain::node {

inline constexpr size_t kDeferredDataMax = 4096;
inline constexpr uint64_t kDataLsLimitDefault = 1000;
inline constexpr uint64_t kDataLsLimitMax = 10000;

// "no_view" | "non_primary" | "syncing" | "catching_up" | "active" (the control endpoint's names).
const char* GdmModeName(membership::GdmMode m);
// The status "gdm" object.
nlohmann::json GdmStatusJson(const membership::Gdm& gdm);
// The status / watch "leader" value: null or {node, epoch, view, self}.
nlohmann::json LeaderJson(const election::Election& e);

class DataCommands {
 public:
  using AnswerSink = std::function<void(uint64_t answer_id, const nlohmann::json& answer)>;
  explicit DataCommands(AnswerSink sink) : sink_(std::move(sink)) {}

  nlohmann::json Ls(const membership::Gdm& gdm, const nlohmann::json& r) const;
  nlohmann::json Get(const membership::Gdm& gdm, const nlohmann::json& r) const;
  // nullopt: issued, the answer follows through the sink under `answer_id`; else the error.
  std::optional<nlohmann::json> Set(membership::Gdm& gdm, const nlohmann::json& r,
                                    uint64_t answer_id, Instant now);
  std::optional<nlohmann::json> Rm(membership::Gdm& gdm, const nlohmann::json& r,
                                   uint64_t answer_id, Instant now);
  // Every GDM event of the node: OpCompleted of a deferred command answers it (or re-issues a
  // set that raced with another node's create or delete, once).
  void OnEvent(membership::Gdm& gdm, const membership::GdmEvent& e, Instant now);
  size_t waiting() const { return waiting_.size(); }

 private:
  struct Waiting {
    uint64_t answer_id = 0;
    Instant issued{};
    bool remove = false;
    bool created = false;
    bool retried = false;
    membership::ItemId id = 0;
    uint64_t offset = 0;
    bool has_offset = false;
    uint64_t fence = 0;
    std::vector<uint8_t> bytes;  // kept for the one re-issue (set only)
  };
  // Issues w's command; the error answer if the Gdm refused it at once.
  std::optional<nlohmann::json> Issue(membership::Gdm& gdm, Waiting w, Instant now);

  AnswerSink sink_;
  std::unordered_map<membership::OpId, Waiting> waiting_;
};

}  // namespace rain::node
