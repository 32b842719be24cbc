// The mcast load generator and its delivery counters (load.h).
#include "load.h"

#include <algorithm>

#include "percentile.h"
#include "rain/core/codec.h"

namespace rain::node {

void LoadGenerator::Start(size_t bytes, uint64_t count, membership::Service service) {
  bytes_ = std::max(bytes, kLoadHeaderBytes);
  service_ = service;
  queued_ = std::min(kLoadCountMax, queued_ + count);
}

bool LoadGenerator::Pump(membership::Gcm& gcm, Instant now) {
  // The driver calls Flush again, with the same `now`, as long as anything made progress, so
  // the byte budget is per I/O turn (per `now`), not per call.
  if (now != turn_) {
    turn_ = now;
    turn_bytes_ = 0;
  }
  const size_t gcm_queued_max =
      std::max<size_t>(1, kLoadQueuedVisitsMax * gcm.parameters().max_bytes_per_visit / bytes_);
  size_t handed = 0;
  while (queued_ > 0 && handed < kLoadPerFlushMax && gcm.send_queue_messages() < gcm_queued_max &&
         (turn_bytes_ == 0 || turn_bytes_ + bytes_ <= kLoadBytesPerFlushMax)) {
    Writer w(bytes_);
    w.U64(kLoadMagic);
    w.U64(static_cast<uint64_t>(ToNanos(MonotonicClock::now())));
    std::vector<uint8_t> payload = w.Take();
    payload.resize(bytes_, 0);
    if (!gcm.Multicast(now, std::move(payload), service_).ok()) break;  // queue full: next flush
    --queued_;
    ++sent_;
    ++handed;
    turn_bytes_ += bytes_;
  }
  return handed > 0;
}

void LoadGenerator::OnDelivered(std::span<const uint8_t> payload, int64_t now_ns) {
  if (payload.size() < kLoadHeaderBytes) return;
  Reader r(payload);
  if (r.U64("magic") != kLoadMagic) return;
  int64_t sent_ns = static_cast<int64_t>(r.U64("stamp"));
  ++delivered_;
  delivered_bytes_ += payload.size();
  if (first_delivery_ns_ == 0) first_delivery_ns_ = now_ns;
  last_delivery_ns_ = now_ns;
  if (latencies_us_.size() < kLatencySamplesMax) {
    int64_t us = std::max<int64_t>(0, (now_ns - sent_ns) / 1000);
    latencies_us_.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
  }
}

nlohmann::json LoadGenerator::Stats() const {
  return {{"ok", true},
          {"queued", queued_},
          {"sent", sent_},
          {"delivered", delivered_},
          {"delivered_bytes", delivered_bytes_},
          {"first_delivery_mono_ns", first_delivery_ns_},
          {"last_delivery_mono_ns", last_delivery_ns_},
          {"latency_us_p50", Percentile(latencies_us_, 0.50)},
          {"latency_us_p99", Percentile(latencies_us_, 0.99)}};
}

void LoadGenerator::Reset() {
  // Messages still queued keep going (mcast_reset zeroes counters, it does not cancel).
  sent_ = 0;
  delivered_ = 0;
  delivered_bytes_ = 0;
  first_delivery_ns_ = 0;
  last_delivery_ns_ = 0;
  latencies_us_.clear();
}

}  // namespace rain::node
