// Swarm testing on the simulator: many seeds per run, each seed choosing its own random mix of
// faults (loss, duplication, reordering, jitter, bandwidth, link cuts, partitions, crashes), so
// that over many seeds every combination is tried without one test per combination.
//
// Seeds: by default seeds 1..N (N from the test, or RAIN_SEEDS=N), shifted by RAIN_SEED_BASE if
// set. RAIN_SEED=N runs only seed N (a replay: same seed, same run). A failing seed is printed
// with the exact command that replays it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rain/core/rng.h"
#include "rain/core/status.h"
#include "rain/core/time.h"
#include "rain/sim/network.h"
#include "rain/sim/simulator.h"

namespace rain::sim {

// The seeds this run covers, from the environment (see the header paragraph).
struct SeedPlan {
  std::vector<uint64_t> seeds;
  bool replay = false;  // RAIN_SEED was given
};
SeedPlan SeedsFromEnv(uint64_t default_count);

// "RAIN_SEED=42 /path/to/binary --gtest_filter=Suite.Test".
std::string ReplayCommand(uint64_t seed, const std::string& gtest_filter);

struct SeedReport {
  uint64_t runs = 0;
  std::vector<uint64_t> failed_seeds;
  std::string first_failure;  // the Status text of the first failing seed
};
// Runs `run(seed)` for every planned seed; prints each failure with its seed and replay command
// to stderr; stops after `failures_max` failures.
SeedReport RunSeeds(const SeedPlan& plan, const std::string& gtest_filter,
                    const std::function<Status(uint64_t seed)>& run, size_t failures_max = 5);

// One seed's fault mix.
struct FaultMix {
  LinkParams link;  // applied to every link while faults are on
  bool cut_links = false;
  bool partitions = false;
  bool crashes = false;
  Duration fault_gap_max = std::chrono::milliseconds(300);  // between fault events
  Duration fault_duration_max = std::chrono::milliseconds(800);
  std::string ToString() const;
};
// Draws a mix: each fault kind is on with some probability, with random strength.
FaultMix RandomFaultMix(Rng& rng, bool allow_crashes);

// Schedules random fault events from the mix on `sim` during [from, to) and then, at `to`, heals
// everything: links restored, partition healed, crashed nodes restarted, every link set to
// `calm`. Any address pair may be cut; at least one node always stays up.
void ScheduleFaults(Simulator& sim, const FaultMix& mix, Instant from, Instant to,
                    const LinkParams& calm);

}  // namespace rain::sim
