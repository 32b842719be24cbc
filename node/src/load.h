// The `mcast` load of the control endpoint (docs/raind.md §3): a generator that feeds the GCM's
// send queue with stamped load messages as fast as it accepts them, and the counters of load
// messages delivered here (from any sender). Runs on the I/O thread only (no locks).
//
// A load message is kLoadHeaderBytes of header — the magic kLoadMagic and the sender's
// CLOCK_MONOTONIC send time in nanoseconds, little-endian — then zero padding up to `bytes`.
// Multicasts that do not start with the magic are not load and are not counted.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "rain/core/status.h"
#include "rain/core/time.h"
#include "rain/membership/gcm.h"

namespace rain::node {

inline constexpr size_t kLoadHeaderBytes = 16;
inline constexpr uint64_t kLoadMagic = 0x64616f4c6e696152ull;  // "RainLoad" little-endian
// Latency samples kept for the percentiles; later deliveries are counted but not sampled.
inline constexpr size_t kLatencySamplesMax = 1u << 21;
// Load messages per flush and bytes per I/O turn handed to the GCM, so the generator never
// monopolises the I/O thread. The byte bound matters: a 5000 x 16 KiB flood built in one turn
// (80 MB of fresh pages and copies) stalled raind 100-160 ms, longer than the peers' failure
// bound (10 + 20 + 40 ms of RTOs at rto_min), and the sender was removed from the view.
// 4 MiB keeps 1 KiB floods at 4096 per flush.
inline constexpr size_t kLoadPerFlushMax = 4096;
inline constexpr size_t kLoadBytesPerFlushMax = 4u << 20;
inline constexpr uint64_t kLoadCountMax = 100'000'000;
// Load queued in the GCM (accepted, not yet ordered) is kept below this many token visits' worth
// (RingOptions::max_bytes_per_visit): the ring takes at most one visit's worth per rotation, so
// more only grows the heap. A 20,000 x 16 KiB flood queued at once (320 MB) made the sender
// page-fault fresh memory for every payload (clear_page was 52 % of its CPU time).
inline constexpr size_t kLoadQueuedVisitsMax = 2;

class LoadGenerator {
 public:
  // Queues `count` more messages of `bytes` bytes (>= kLoadHeaderBytes, checked by the caller).
  void Start(size_t bytes, uint64_t count, membership::Service service);
  // Hands queued messages to gcm.Multicast until it refuses (queue full), kLoadPerFlushMax
  // messages, kLoadBytesPerFlushMax bytes since the first call with this `now` (one I/O turn;
  // at least one message per turn), or the GCM's send queue holds kLoadQueuedVisitsMax visits'
  // worth of bytes.
  // Returns true if it handed any.
  bool Pump(membership::Gcm& gcm, Instant now);
  // Counts a delivered multicast if it is a load message; `now_ns` is the delivery time.
  void OnDelivered(std::span<const uint8_t> payload, int64_t now_ns);
  // The mcast_stats answer.
  nlohmann::json Stats() const;
  void Reset();

 private:
  size_t bytes_ = kLoadHeaderBytes;
  membership::Service service_ = membership::Service::kAgreed;
  uint64_t queued_ = 0;  // asked for, not yet accepted by the GCM
  uint64_t sent_ = 0;    // accepted by Gcm::Multicast
  uint64_t delivered_ = 0;
  uint64_t delivered_bytes_ = 0;
  int64_t first_delivery_ns_ = 0;
  int64_t last_delivery_ns_ = 0;
  std::vector<uint32_t> latencies_us_;
  Instant turn_{};         // the `now` of the current I/O turn
  size_t turn_bytes_ = 0;  // handed to the GCM during it
};

}  // namespace rain::node
