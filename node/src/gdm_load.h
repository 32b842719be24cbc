// The `gdm_load` generator and `gdm_stats` counters of raind's control endpoint (docs/raind.md
// §3.1): the benchmark workload of `rain bench gdm` (the seed's Figure B: 10,000 items of 1 KiB,
// 500 updates per second per node). Runs on the I/O thread only, like the `mcast` load
// (load.h), and like it does bounded work per call: at most kGdmLoadPerPumpMax commands per
// Pump, at most `window` in flight. The paced rate needs no busy loop: PollDeadline names when
// the next commands are due (rounded up to kGdmLoadTick, so 500/s wakes the I/O thread 100
// times a second, not 500) and the host arms its timer there.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

#include "rain/core/rng.h"
#include "rain/core/status.h"
#include "rain/core/time.h"
#include "rain/membership/gdm.h"

namespace rain::node {

struct GdmLoadParams {
  uint64_t id_base = 1;
  uint64_t items = 10000;
  uint64_t item_bytes = 1024;
  bool create = false;  // write every item once, then stop
  uint64_t rate = 500;  // per second; 0: as fast as the window allows
  uint64_t duration_ms = 30000;
  uint64_t window = 256;  // commands in flight
};

inline constexpr uint64_t kGdmLoadItemsMax = 10'000'000;
inline constexpr uint64_t kGdmLoadWindowMax = 65536;
inline constexpr uint64_t kGdmLoadRateMax = 10'000'000;
inline constexpr uint64_t kGdmLoadDurationMsMax = 24ull * 3600 * 1000;
inline constexpr size_t kGdmLoadPerPumpMax = 256;
inline constexpr Duration kGdmLoadTick = std::chrono::milliseconds(10);
// After the Gdm refused a command with Unavailable (not active yet), wait this long.
inline constexpr Duration kGdmLoadRetryDelay = std::chrono::milliseconds(20);

// Checks a gdm_load request's fields against the limits above and `item_bytes_max`.
// InvalidArgument naming the field.
Status ValidateGdmLoad(const GdmLoadParams& p, size_t item_bytes_max);

class GdmLoad {
 public:
  explicit GdmLoad(uint64_t seed) : rng_(seed) {}

  // Replaces the running load (its commands in flight still complete and are counted).
  void Start(const GdmLoadParams& p, Instant now);
  // Issues the commands due at `now` on `gdm` (bounded, see above). True if it issued any.
  bool Pump(membership::Gdm& gdm, Instant now);
  // When Pump has work next (a paced issue, a retry, the end); nullopt when idle or waiting
  // only for completions.
  std::optional<Instant> PollDeadline() const;
  // A GDM event at this node: completions of this generator's ops, applied mutations.
  void OnEvent(const membership::GdmEvent& e, Instant now);
  // The gdm_stats answer; `index`: the Gdm's apply index now.
  nlohmann::json Stats(uint64_t index) const;
  void Reset();

 private:
  void Finish() { running_ = false; }

  Rng rng_;
  GdmLoadParams p_;
  bool running_ = false;
  Instant start_{};
  Instant end_{};
  uint64_t next_create_ = 0;         // create mode: the next offset to write
  std::vector<uint64_t> retry_;      // create mode: offsets refused with Unavailable
  uint64_t issued_since_start_ = 0;  // pacing
  std::optional<Instant> retry_at_;  // after an Unavailable refusal
  std::unordered_map<membership::OpId, Instant> in_flight_;          // op -> issue time
  std::unordered_map<membership::OpId, uint64_t> in_flight_offset_;  // create mode only

  uint64_t issued_ = 0;
  uint64_t completed_ = 0;
  uint64_t failed_ = 0;
  uint64_t unavailable_ = 0;
  uint64_t applied_ = 0;
  int64_t first_done_ns_ = 0;
  int64_t last_done_ns_ = 0;
  std::vector<uint32_t> latencies_us_;
};

}  // namespace rain::node
