// RocksDbGdmStorage: the production Storage seam of the GDM (gdm_storage.h) on RocksDB.
//
// One RocksDB database per node (the directory is the host's choice). Layout: key "m" holds the
// state meta (index, digest, epoch, leader, last_primary; EncodeState with no items), key
// "i" + big-endian u64 id holds each item (EncodeItem), so items iterate in id order. Every
// PersistBatch is one rocksdb::WriteBatch written with sync = true (fsync'd WAL), so a batch is
// durable and atomic when Apply returns. A replace_all batch deletes the whole "i" range first.
// Built as its own small target (rain::gdm_rocksdb) so the sans-IO GDM core links no I/O.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "rain/membership/gdm_storage.h"

namespace rocksdb {
class DB;
}

namespace rain::membership {

class RocksDbGdmStorage : public GdmStorage {
 public:
  // Opens (creating if missing) the database in `dir`. IoError if RocksDB refuses.
  static Result<std::unique_ptr<RocksDbGdmStorage>> Open(const std::string& dir);
  ~RocksDbGdmStorage() override;

  Status Apply(const PersistBatch& batch) override;
  // Applies `batches` (consecutive tickets, in order) as ONE synced WriteBatch: durable and
  // atomic together when it returns, one fsync for all (a host's storage thread coalesces what
  // queued up while the previous write was syncing). Empty: Ok, nothing written. IoError.
  Status ApplyAll(std::span<const PersistBatch> batches);
  Result<GdmState> Load() override;

 private:
  explicit RocksDbGdmStorage(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace rain::membership
