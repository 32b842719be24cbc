// The gdm_load generator (gdm_load.h).
#include "gdm_load.h"

#include <algorithm>

#include "load.h"  // kLatencySamplesMax
#include "percentile.h"

namespace rain::node {

Status ValidateGdmLoad(const GdmLoadParams& p, size_t item_bytes_max) {
  if (p.items < 1 || p.items > kGdmLoadItemsMax) {
    return InvalidArgumentError("\"items\" must be in 1.." + std::to_string(kGdmLoadItemsMax));
  }
  if (p.id_base == 0 || p.id_base >= membership::kAutoIdBit ||
      p.items > membership::kAutoIdBit - p.id_base) {
    return InvalidArgumentError("\"id_base\" must be ≥ 1 and the ids below 2^63");
  }
  if (p.item_bytes > item_bytes_max) {
    return InvalidArgumentError("\"item_bytes\" must be in 0.." + std::to_string(item_bytes_max));
  }
  if (p.rate > kGdmLoadRateMax) {
    return InvalidArgumentError("\"rate\" must be in 0.." + std::to_string(kGdmLoadRateMax));
  }
  if (p.duration_ms > kGdmLoadDurationMsMax) {
    return InvalidArgumentError("\"duration_ms\" must be in 0.." +
                                std::to_string(kGdmLoadDurationMsMax));
  }
  if (p.window < 1 || p.window > kGdmLoadWindowMax) {
    return InvalidArgumentError("\"window\" must be in 1.." + std::to_string(kGdmLoadWindowMax));
  }
  return Status::Ok();
}

void GdmLoad::Start(const GdmLoadParams& p, Instant now) {
  p_ = p;
  running_ = true;
  start_ = now;
  end_ = now + std::chrono::milliseconds(p.duration_ms);
  next_create_ = 0;
  retry_.clear();
  issued_since_start_ = 0;
  retry_at_.reset();
  in_flight_offset_.clear();
}

bool GdmLoad::Pump(membership::Gdm& gdm, Instant now) {
  if (!running_) return false;
  if (!p_.create && now >= end_) {
    Finish();
    return false;
  }
  if (retry_at_ && now < *retry_at_) return false;
  retry_at_.reset();
  uint64_t due = UINT64_MAX;
  if (p_.rate != 0) {
    auto elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(now - start_).count();
    due = static_cast<uint64_t>(elapsed_us) * p_.rate / 1'000'000 + 1;
  }
  bool any = false;
  for (size_t n = 0; n < kGdmLoadPerPumpMax; ++n) {
    if (in_flight_.size() >= p_.window || issued_since_start_ >= due) break;
    uint64_t offset = 0;
    if (p_.create) {
      if (!retry_.empty()) {
        offset = retry_.back();
      } else if (next_create_ < p_.items) {
        offset = next_create_;
      } else {
        if (in_flight_offset_.empty()) Finish();
        break;
      }
    } else {
      offset = rng_.Below(p_.items);
    }
    const membership::ItemId id = p_.id_base + offset;
    // Cheap, not constant: the first 8 bytes carry the issue count, so replicas change.
    std::vector<uint8_t> bytes(p_.item_bytes, static_cast<uint8_t>(issued_));
    for (size_t i = 0; i < std::min<size_t>(8, bytes.size()); ++i) {
      bytes[i] = static_cast<uint8_t>(issued_ >> (8 * i));
    }
    Result<membership::OpId> op = gdm.Find(id) != nullptr ? gdm.Write(now, id, std::move(bytes))
                                                          : gdm.Create(now, id, std::move(bytes));
    if (!op.ok()) {
      // Unavailable (not active) or ResourceExhausted (pending limit): try again a bit later
      // rather than queueing without bound.
      if (op.status().code() == StatusCode::kUnavailable)
        ++unavailable_;
      else
        ++failed_;
      retry_at_ = now + kGdmLoadRetryDelay;
      break;
    }
    if (p_.create) {
      if (!retry_.empty() && retry_.back() == offset) {
        retry_.pop_back();
      } else {
        ++next_create_;
      }
      in_flight_offset_[*op] = offset;
    }
    in_flight_[*op] = now;
    ++issued_;
    ++issued_since_start_;
    any = true;
  }
  return any;
}

std::optional<Instant> GdmLoad::PollDeadline() const {
  if (!running_) return std::nullopt;
  if (retry_at_) return retry_at_;
  if (in_flight_.size() >= p_.window) return p_.create ? std::nullopt : std::optional(end_);
  if (p_.rate == 0) return p_.create ? std::nullopt : std::optional(end_);
  // The time the next command is due, rounded up to a tick: batches of rate * tick.
  const uint64_t next_us = issued_since_start_ * 1'000'000 / p_.rate;
  const auto tick_us = std::chrono::duration_cast<std::chrono::microseconds>(kGdmLoadTick).count();
  const uint64_t rounded = (next_us + static_cast<uint64_t>(tick_us) - 1) /
                           static_cast<uint64_t>(tick_us) * static_cast<uint64_t>(tick_us);
  Instant at = start_ + std::chrono::microseconds(rounded);
  return p_.create ? at : std::min(at, end_);
}

void GdmLoad::OnEvent(const membership::GdmEvent& e, Instant now) {
  if (std::holds_alternative<membership::ItemChanged>(e) ||
      std::holds_alternative<membership::ItemCreated>(e) ||
      std::holds_alternative<membership::ItemDeleted>(e)) {
    ++applied_;
    return;
  }
  const auto* c = std::get_if<membership::OpCompleted>(&e);
  if (c == nullptr) return;
  auto it = in_flight_.find(c->op);
  if (it == in_flight_.end()) return;
  Instant issued_at = it->second;
  in_flight_.erase(it);
  auto off = in_flight_offset_.find(c->op);
  std::optional<uint64_t> offset;
  if (off != in_flight_offset_.end()) {
    offset = off->second;
    in_flight_offset_.erase(off);
  }
  if (c->status.ok()) {
    ++completed_;
    const int64_t now_ns = ToNanos(now);
    if (first_done_ns_ == 0) first_done_ns_ = now_ns;
    last_done_ns_ = now_ns;
    if (latencies_us_.size() < kLatencySamplesMax) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - issued_at).count();
      latencies_us_.push_back(static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX)));
    }
    return;
  }
  if (c->status.code() == StatusCode::kUnavailable) {
    ++unavailable_;
    if (offset && running_ && p_.create) retry_.push_back(*offset);  // retried by a later tick
  } else {
    ++failed_;
  }
}

nlohmann::json GdmLoad::Stats(uint64_t index) const {
  return {{"ok", true},
          {"running", running_},
          {"issued", issued_},
          {"completed", completed_},
          {"failed", failed_},
          {"unavailable", unavailable_},
          {"commit_us_p50", Percentile(latencies_us_, 0.50)},
          {"commit_us_p99", Percentile(latencies_us_, 0.99)},
          {"first_done_mono_ns", first_done_ns_},
          {"last_done_mono_ns", last_done_ns_},
          {"applied", applied_},
          {"index", index}};
}

void GdmLoad::Reset() {
  issued_ = completed_ = failed_ = unavailable_ = applied_ = 0;
  first_done_ns_ = last_done_ns_ = 0;
  latencies_us_.clear();
  // Ops in flight keep their issue times: they still complete and are counted after the reset.
}

}  // namespace rain::node
