// The GDM's storage thread (gdm_persister.h).
#include "gdm_persister.h"

#include <pthread.h>

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

uint64_t GdmPersister::batches_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_written_;
}

uint64_t GdmPersister::groups_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return groups_written_;
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
    Status s = storage_->ApplyAll(group);
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
    }
    done_(std::move(tickets), s);
    if (!s.ok()) return;
  }
}

}  // namespace rain::node
