// RocksDbGdmStorage: the production Storage seam of the GDM (gdm_storage.h): a journal in front
// of RocksDB (docs/gdm.md §5 "Storage").
//
// Layout of `dir`: a RocksDB database, where key "m" holds the state meta (index, digest,
// epoch, leader, last_primary; EncodeState with no items) and key "i" + big-endian u64 id holds
// each item (EncodeItem), so items iterate in id order; and `dir/journal/<seq>.log`, the
// journal files (gdm_journal.h), numbered in the order they were written.
//
// A write (ApplyAll) is one journal record appended and fdatasync'd: durable and atomic when it
// returns. Once a journal file holds options.journal_bytes (times a random factor in [1, 2), so
// replicas that journal the same bytes do not all checkpoint at once), the next write starts a
// new file and a background thread checkpoints the old files' net effect (JournalDelta: each
// item once) into RocksDB as one WriteBatch without RocksDB's WAL, flushes it to SST files, and
// only then deletes those journal files (oldest first, then fsyncs the directory). Open
// replays whatever journal files are left over the database (a crash during the newest file's
// last append leaves a torn record there, which is ignored: it was never acknowledged),
// checkpoints them, and starts a new file. Replaying a file the database already holds is
// harmless: the surviving files are always a suffix of the journal, and a suffix's net effect
// is already in the checkpoint that covers it.
//
// Built as its own small target (rain::gdm_rocksdb) so the sans-IO GDM core links no I/O.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "rain/membership/gdm_journal.h"
#include "rain/membership/gdm_storage.h"

namespace rocksdb {
class DB;
}

namespace rain::membership {

struct RocksDbGdmStorageOptions {
  // A journal file's size (before the random factor) at which it is checkpointed. Larger: fewer
  // checkpoints (each writes every changed item once) but a longer replay at Open.
  size_t journal_bytes = size_t{32} << 20;
};

struct RocksDbGdmStorageStats {
  uint64_t replayed_batches = 0;  // read back from a previous run's journal at Open
  uint64_t journal_records = 0;   // synced appends since Open
  uint64_t journal_bytes = 0;     // their bytes
  uint64_t checkpoints = 0;       // finished since Open (the one at Open included)
  uint64_t checkpoint_items = 0;  // items they wrote or deleted
};

class RocksDbGdmStorage : public GdmStorage {
 public:
  // Opens (creating if missing) the store in `dir`, replaying and checkpointing the journal
  // files a previous run left. IoError if the disk or RocksDB refuses; Corruption if a journal
  // file other than the newest has a bad record, or any has a record that does not decode.
  static Result<std::unique_ptr<RocksDbGdmStorage>> Open(const std::string& dir,
                                                         RocksDbGdmStorageOptions options = {});
  // Waits for a running checkpoint; the newest journal file stays for the next Open.
  ~RocksDbGdmStorage() override;
  RocksDbGdmStorage(const RocksDbGdmStorage&) = delete;
  RocksDbGdmStorage& operator=(const RocksDbGdmStorage&) = delete;

  Status Apply(const PersistBatch& batch) override;
  // Makes `batches` (consecutive tickets, in order) durable together with ONE journal append
  // and one fdatasync (a host's storage thread coalesces what queued up while the previous write
  // was syncing). Moves the items out of `batches` (tickets and meta stay). Empty: Ok, nothing
  // written. IoError, also for a failed background checkpoint; after an error every later call
  // fails too.
  Status ApplyAll(std::span<PersistBatch> batches);
  // The durable state. Not concurrently with ApplyAll (both belong to the storage thread).
  Result<GdmState> Load() override;
  // Thread-safe.
  RocksDbGdmStorageStats Stats() const;
  // Blocks until no checkpoint is running; its status (tests).
  Status WaitForCheckpoint();

 private:
  RocksDbGdmStorage(std::unique_ptr<rocksdb::DB> db, std::string journal_dir,
                    RocksDbGdmStorageOptions options);
  // Writes `delta` into RocksDB, flushes it to SST files, then deletes journal files <= `through`.
  Status Checkpoint(const JournalDelta& delta, uint64_t through);
  Status StartJournalFile(uint64_t seq);
  Status Append(std::span<const uint8_t> record);
  void CheckpointLoop();

  std::unique_ptr<rocksdb::DB> db_;
  const std::string journal_dir_;
  const RocksDbGdmStorageOptions options_;

  // The storage thread's (ApplyAll / Load): the journal file being appended and what its
  // records changed since the last hand-off to the checkpoint thread.
  int fd_ = -1;
  uint64_t seq_ = 0;
  size_t file_bytes_ = 0;
  size_t file_limit_ = 0;
  JournalDelta active_;
  Status failed_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const JournalDelta> checkpointing_;  // being written, covers files <= through_
  uint64_t through_ = 0;
  Status checkpoint_status_;
  bool stop_ = false;
  RocksDbGdmStorageStats stats_;
  std::thread checkpointer_;
};

}  // namespace rain::membership
