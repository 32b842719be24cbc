// The GDM's Storage seam: where a member's items and state meta persist (DESIGN.md: "Items
// persist in RocksDB on each node"), as leveldb's Env is the one seam to the OS.
//
// The GDM never calls Storage itself (it is sans-IO): it hands out PersistBatch values
// (Gdm::PollPersist) and the host applies them here, in ticket order, then reports each
// completion (Gdm::HandlePersisted). Apply returns only once the batch is durable (fsync'd).
// At start the host calls Load() and passes the state to the Gdm constructor.
//
// Two implementations: RocksDbGdmStorage (gdm_storage_rocksdb.h, production, one synced
// WriteBatch per persist) and MemoryGdmStorage here (tests and simulation: a disk whose staged,
// unsynced batches are lost by Crash()).
#pragma once

#include <deque>
#include <map>

#include "rain/core/result.h"
#include "rain/membership/gdm_types.h"

namespace rain::membership {

class GdmStorage {
 public:
  virtual ~GdmStorage() = default;
  // Makes `batch` durable, atomically (all of it or none survives a crash). IoError on failure.
  virtual Status Apply(const PersistBatch& batch) = 0;
  // The durable state (empty GdmState on a fresh store). Corruption if unreadable.
  virtual Result<GdmState> Load() = 0;
};

// A simulated disk. Stage() writes a batch to the "page cache" (not durable), SyncThrough()
// makes staged batches up to a ticket durable in order, Crash() loses everything staged.
// Apply() = Stage + SyncThrough. Not thread-safe.
class MemoryGdmStorage : public GdmStorage {
 public:
  Status Apply(const PersistBatch& batch) override;
  Result<GdmState> Load() override { return durable_; }

  void Stage(PersistBatch batch) { staged_.push_back(std::move(batch)); }
  // Durable through `ticket` (staged batches with larger tickets stay staged).
  void SyncThrough(uint64_t ticket);
  void Crash() { staged_.clear(); }
  size_t staged() const { return staged_.size(); }
  const GdmState& durable() const { return durable_; }

 private:
  static void ApplyTo(GdmState& s, const PersistBatch& b);
  GdmState durable_;
  std::deque<PersistBatch> staged_;
};

}  // namespace rain::membership
