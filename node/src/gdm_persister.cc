// The GDM's storage thread (gdm_persister.h).
#include "gdm_persister.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "percentile.h"
#include "rain/core/log.h"

namespace rain::node {

GdmPersister::GdmPersister(membership::RocksDbGdmStorage* storage, Done done)
    : storage_(storage), done_(std::move(done)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "rain-storage");
    Loop();
  });
}

GdmPersister::~GdmPersister() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool GdmPersister::Submit(membership::PersistBatch& batch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= kGdmPersistQueueMax) return false;
    queue_.push_back(std::move(batch));
  }
  cv_.notify_one();
  return true;
}

GdmPersistStats GdmPersister::Stats() const {
  std::vector<uint32_t> us;
  GdmPersistStats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.batches = batches_written_;
    s.groups = groups_written_;
    us = write_us_;
  }
  s.write_us_p50 = Percentile(us, 0.50);
  s.write_us_p99 = Percentile(us, 0.99);
  s.write_us_max = us.empty() ? 0 : *std::max_element(us.begin(), us.end());
  return s;
}

void GdmPersister::ResetStats() {
  std::lock_guard<std::mutex> lock(mu_);
  batches_written_ = 0;
  groups_written_ = 0;
  write_us_.clear();
}

void GdmPersister::Loop() {
  std::vector<membership::PersistBatch> group;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty() || failed_) return;  // stopping with nothing left (or nothing allowed)
      group.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    const auto start = std::chrono::steady_clock::now();
    Status s = storage_->ApplyAll(group);
    const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    std::vector<uint64_t> tickets;
    tickets.reserve(group.size());
    for (const membership::PersistBatch& b : group) tickets.push_back(b.ticket);
    group.clear();
    if (!s.ok()) {
      RAIN_LOG(kError, "raind", "GDM storage: " + s.ToString());
      std::lock_guard<std::mutex> lock(mu_);
      failed_ = true;
      queue_.clear();
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      batches_written_ += tickets.size();
      ++groups_written_;
      if (write_us_.size() < kGdmPersistSamplesMax) {
        write_us_.push_back(static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX)));
      }
    }
    done_(std::move(tickets), s);
    if (!s.ok()) return;
  }
}

}  // namespace rain::node
