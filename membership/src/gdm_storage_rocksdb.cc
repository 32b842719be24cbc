// RocksDB implementation of the GDM's Storage seam (gdm_storage_rocksdb.h).
#include "rain/membership/gdm_storage_rocksdb.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "rain/core/codec.h"
#include "rain/membership/gdm_wire.h"

namespace rain::membership {
namespace {

std::string ItemKey(ItemId id) {
  std::string k = "i";
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(id >> (8 * i)));
  return k;
}

rocksdb::Slice AsSlice(const std::vector<uint8_t>& v) {
  return rocksdb::Slice(reinterpret_cast<const char*>(v.data()), v.size());
}

Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return CorruptionError(std::string(what) + ": " + s.ToString());
  return IoError(std::string(what) + ": " + s.ToString(), 0);
}

}  // namespace

RocksDbGdmStorage::RocksDbGdmStorage(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
RocksDbGdmStorage::~RocksDbGdmStorage() = default;

Result<std::unique_ptr<RocksDbGdmStorage>> RocksDbGdmStorage::Open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  RAIN_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, dir, &raw), "gdm: open rocksdb"));
  return std::unique_ptr<RocksDbGdmStorage>(
      new RocksDbGdmStorage(std::unique_ptr<rocksdb::DB>(raw)));
}

Status RocksDbGdmStorage::Apply(const PersistBatch& batch) {
  return ApplyAll(std::span<const PersistBatch>(&batch, 1));
}

Status RocksDbGdmStorage::ApplyAll(std::span<const PersistBatch> batches) {
  if (batches.empty()) return Status::Ok();
  // One WriteBatch keeps its operations in order, so a later batch's replace_all (DeleteRange)
  // removes what earlier ones put, exactly as applying them one by one would.
  rocksdb::WriteBatch wb;
  for (const PersistBatch& batch : batches) {
    if (batch.replace_all) wb.DeleteRange("i", "j");
    for (const auto& [id, item] : batch.items) {
      if (item) {
        Writer w;
        EncodeItem(w, id, *item);
        wb.Put(ItemKey(id), AsSlice(w.bytes()));
      } else {
        wb.Delete(ItemKey(id));
      }
    }
  }
  // Only the newest meta matters: it describes the state after every batch.
  wb.Put("m", AsSlice(EncodeState(batches.back().meta)));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, &wb), "gdm: rocksdb write");
}

Result<GdmState> RocksDbGdmStorage::Load() {
  std::string meta;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), "m", &meta);
  if (s.IsNotFound()) return GdmState{};
  RAIN_RETURN_IF_ERROR(FromRocks(s, "gdm: rocksdb read meta"));
  RAIN_ASSIGN_OR_RETURN(GdmState state,
                        DecodeState(std::span<const uint8_t>(
                            reinterpret_cast<const uint8_t*>(meta.data()), meta.size())));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("i"); it->Valid() && it->key().starts_with("i"); it->Next()) {
    Reader r(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(it->value().data()),
                                      it->value().size()));
    ItemId id = 0;
    Item item;
    if (!DecodeItem(r, id, item) || r.remaining() != 0)
      return CorruptionError("gdm: bad item record in rocksdb");
    state.items.emplace(id, std::move(item));
  }
  RAIN_RETURN_IF_ERROR(FromRocks(it->status(), "gdm: rocksdb scan"));
  return state;
}

}  // namespace rain::membership
