// GdmPersister: raind's storage thread for the GDM (docs/raind.md §4). The I/O thread must not
// wait for fsyncs — a 2-10 ms sync on the protocol thread delays token passes and acks of every
// layer — so PersistBatches (NodeStack::PollPersist) are handed here. The thread takes every
// batch queued so far, writes them as ONE synced journal record (RocksDbGdmStorage::ApplyAll:
// one fdatasync for all that queued up during the previous sync, a group commit), then reports the
// tickets, in ticket order, through `done` (raind posts them to the I/O thread as
// NodeStack::HandlePersisted).
//
// Bounded: at most kGdmPersistQueueMax batches wait here; Submit refuses beyond (the caller
// keeps the batch and offers it again after the next completion). After a storage error the
// thread writes nothing more and reports the error once, for the first ticket it failed: the
// Gdm then acknowledges nothing more and raind exits 1.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "rain/core/status.h"
#include "rain/membership/gdm_storage_rocksdb.h"

namespace rain::node {

inline constexpr size_t kGdmPersistQueueMax = 1024;
// Synced writes whose wall time is kept for Stats() (the first ones are kept, not the newest: a
// measurement window starts at ResetStats; at 1,000 writes/s this is over a minute).
inline constexpr size_t kGdmPersistSamplesMax = 1u << 16;

// What the storage thread did since the last ResetStats (since start before the first).
struct GdmPersistStats {
  uint64_t batches = 0;  // PersistBatches written
  uint64_t groups = 0;   // synced writes (one journal record + fdatasync each) they took
  // Wall time of one synced write, from the start of ApplyAll to its return: the disk's fsync
  // latency plus encoding the record. A command waits for this on every member of the
  // view: the figure that splits a slow commit into the disk's share and the rest (docs/gdm.md
  // §5).
  uint32_t write_us_p50 = 0;
  uint32_t write_us_p99 = 0;
  uint32_t write_us_max = 0;
};

class GdmPersister {
 public:
  // Called on the storage thread, once per written group, with its tickets in order and the
  // status (ok: all durable; error: none reported durable, nothing more follows).
  using Done = std::function<void(std::vector<uint64_t> tickets, const Status& status)>;

  // `storage` must outlive the persister. Starts the thread.
  GdmPersister(membership::RocksDbGdmStorage* storage, Done done);
  // Writes what is queued, then stops the thread.
  ~GdmPersister();
  GdmPersister(const GdmPersister&) = delete;
  GdmPersister& operator=(const GdmPersister&) = delete;

  // Thread-safe. Queues `batch` (tickets must arrive in order). False when kGdmPersistQueueMax
  // batches are queued: the batch is untouched and the caller must offer it again later.
  bool Submit(membership::PersistBatch& batch);
  // Thread-safe: counts and write latencies since the last ResetStats.
  GdmPersistStats Stats() const;
  void ResetStats();

 private:
  void Loop();

  membership::RocksDbGdmStorage* storage_;
  Done done_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<membership::PersistBatch> queue_;
  bool stop_ = false;
  bool failed_ = false;
  uint64_t batches_written_ = 0;
  uint64_t groups_written_ = 0;
  std::vector<uint32_t> write_us_;  // at most kGdmPersistSamplesMax
  std::thread thread_;
};

}  // namespace rain::node
