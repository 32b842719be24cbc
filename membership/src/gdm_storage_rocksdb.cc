// RocksDB implementation of the GDM's Storage seam, behind a journal (gdm_storage_rocksdb.h).
#include "rain/membership/gdm_storage_rocksdb.h"

#include <fcntl.h>
#include <pthread.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

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

Status Errno(const std::string& what) {
  const int e = errno;
  return IoError("gdm journal: " + what, e);
}

std::string JournalPath(const std::string& dir, uint64_t seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%016" PRIx64 ".log", seq);
  return dir + "/" + name;
}

// The journal files in `dir`, oldest first. Other files are not ours and are left alone.
Result<std::vector<uint64_t>> ListJournal(const std::string& dir) {
  std::vector<uint64_t> seqs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    uint64_t seq = 0;
    int used = 0;
    if (name.size() == 20 && std::sscanf(name.c_str(), "%16" SCNx64 ".log%n", &seq, &used) == 1 &&
        used == 20) {
      seqs.push_back(seq);
    }
  }
  if (ec) return IoError("gdm journal: listing " + dir, ec.value());
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open " + dir);
  const int rc = ::fsync(fd);
  Status s = rc == 0 ? Status::Ok() : Errno("fsync " + dir);
  ::close(fd);
  return s;
}

Result<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("gdm journal: cannot read " + path, errno);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return IoError("gdm journal: reading " + path, errno);
  return bytes;
}

// The database's items and meta, without the journal.
Result<GdmState> LoadCheckpoint(rocksdb::DB& db) {
  std::string meta;
  rocksdb::Status s = db.Get(rocksdb::ReadOptions(), "m", &meta);
  if (s.IsNotFound()) return GdmState{};
  RAIN_RETURN_IF_ERROR(FromRocks(s, "gdm: rocksdb read meta"));
  RAIN_ASSIGN_OR_RETURN(GdmState state,
                        DecodeState(std::span<const uint8_t>(
                            reinterpret_cast<const uint8_t*>(meta.data()), meta.size())));
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
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

size_t JitteredLimit(size_t journal_bytes) {
  static thread_local std::minstd_rand rng{std::random_device{}()};
  return journal_bytes + static_cast<size_t>(rng() % (journal_bytes + 1));
}

}  // namespace

RocksDbGdmStorage::RocksDbGdmStorage(std::unique_ptr<rocksdb::DB> db, std::string journal_dir,
                                     RocksDbGdmStorageOptions options)
    : db_(std::move(db)), journal_dir_(std::move(journal_dir)), options_(options) {
  checkpointer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "rain-checkpoint");
    CheckpointLoop();
  });
}

RocksDbGdmStorage::~RocksDbGdmStorage() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  checkpointer_.join();
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<RocksDbGdmStorage>> RocksDbGdmStorage::Open(
    const std::string& dir, RocksDbGdmStorageOptions options) {
  if (options.journal_bytes == 0) return InvalidArgumentError("gdm: journal_bytes must be > 0");
  rocksdb::Options ro;
  ro.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  RAIN_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(ro, dir, &raw), "gdm: open rocksdb"));
  std::unique_ptr<rocksdb::DB> db(raw);
  const std::string journal_dir = dir + "/journal";
  std::error_code ec;
  std::filesystem::create_directories(journal_dir, ec);
  if (ec) return IoError("gdm journal: creating " + journal_dir, ec.value());

  // Replay what the previous run journaled but did not checkpoint.
  RAIN_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, ListJournal(journal_dir));
  JournalDelta delta;
  uint64_t replayed = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const std::string path = JournalPath(journal_dir, seqs[i]);
    RAIN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(path));
    JournalScan scan = ScanJournal(bytes);
    const bool newest = i + 1 == seqs.size();
    // Only the newest file's last append can have been cut short by a crash; anything else
    // wrong means acknowledged writes are unreadable, which must stop the node, not be skipped.
    if (scan.end == JournalEnd::kCorrupt || (scan.end == JournalEnd::kTorn && !newest))
      return CorruptionError(path + ": " + scan.why);
    replayed += scan.batches.size();
    for (PersistBatch& b : scan.batches) delta.Add(std::move(b));
  }
  std::unique_ptr<RocksDbGdmStorage> storage(
      new RocksDbGdmStorage(std::move(db), journal_dir, options));
  storage->stats_.replayed_batches = replayed;
  if (!seqs.empty()) {
    RAIN_RETURN_IF_ERROR(storage->Checkpoint(delta, seqs.back()));
    storage->stats_.checkpoints = 1;
    storage->stats_.checkpoint_items = delta.items.size();
  }
  RAIN_RETURN_IF_ERROR(storage->StartJournalFile(seqs.empty() ? 1 : seqs.back() + 1));
  return storage;
}

Status RocksDbGdmStorage::StartJournalFile(uint64_t seq) {
  if (fd_ >= 0) ::close(fd_);
  const std::string path = JournalPath(journal_dir_, seq);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return Errno("create " + path);
  seq_ = seq;
  file_bytes_ = 0;
  file_limit_ = JitteredLimit(options_.journal_bytes);
  // The file's name must be durable before a record in it is acknowledged.
  return SyncDir(journal_dir_);
}

Status RocksDbGdmStorage::Append(std::span<const uint8_t> record) {
  size_t done = 0;
  while (done < record.size()) {
    const ssize_t n = ::write(fd_, record.data() + done, record.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write " + JournalPath(journal_dir_, seq_));
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) return Errno("fdatasync " + JournalPath(journal_dir_, seq_));
  file_bytes_ += record.size();
  return Status::Ok();
}

Status RocksDbGdmStorage::Apply(const PersistBatch& batch) {
  PersistBatch copy = batch;
  return ApplyAll(std::span<PersistBatch>(&copy, 1));
}

Status RocksDbGdmStorage::ApplyAll(std::span<PersistBatch> batches) {
  if (!failed_.ok()) return failed_;
  if (batches.empty()) return Status::Ok();
  bool rotate = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!checkpoint_status_.ok()) failed_ = checkpoint_status_;
    if (failed_.ok() && file_bytes_ >= file_limit_ && !checkpointing_) {
      // Hand this file's net effect to the checkpoint thread and journal into a new file. While
      // a checkpoint runs the file simply grows: one checkpoint at a time keeps the journal's
      // surviving files a suffix (the class comment's argument for replay).
      checkpointing_ = std::make_shared<const JournalDelta>(std::move(active_));
      active_ = JournalDelta{};
      through_ = seq_;
      rotate = true;
    }
  }
  if (!failed_.ok()) return failed_;
  if (rotate) {
    cv_.notify_all();
    if (Status s = StartJournalFile(seq_ + 1); !s.ok()) return failed_ = s;
  }
  const std::vector<uint8_t> record = EncodeJournalRecord(batches);
  if (Status s = Append(record); !s.ok()) return failed_ = s;
  for (PersistBatch& b : batches) active_.Add(std::move(b));
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.journal_records;
  stats_.journal_bytes += record.size();
  return Status::Ok();
}

Result<GdmState> RocksDbGdmStorage::Load() {
  std::shared_ptr<const JournalDelta> frozen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    frozen = checkpointing_;
  }
  // If that checkpoint lands while the database is read, applying it again changes nothing.
  RAIN_ASSIGN_OR_RETURN(GdmState state, LoadCheckpoint(*db_));
  if (frozen) frozen->ApplyTo(state);
  active_.ApplyTo(state);
  return state;
}

RocksDbGdmStorageStats RocksDbGdmStorage::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status RocksDbGdmStorage::WaitForCheckpoint() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !checkpointing_ || !checkpoint_status_.ok(); });
  return checkpoint_status_;
}

Status RocksDbGdmStorage::Checkpoint(const JournalDelta& delta, uint64_t through) {
  rocksdb::WriteBatch wb;
  if (delta.replace_all) wb.DeleteRange("i", "j");
  for (const auto& [id, item] : delta.items) {
    if (item) {
      Writer w;
      EncodeItem(w, id, *item);
      wb.Put(ItemKey(id), AsSlice(w.bytes()));
    } else {
      wb.Delete(ItemKey(id));
    }
  }
  if (delta.meta) wb.Put("m", AsSlice(EncodeState(*delta.meta)));
  // The journal already holds these writes durably, so RocksDB's own WAL would write them a
  // second time; the flush to SST files is what makes the checkpoint durable, atomically (a
  // memtable never holds part of a WriteBatch).
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  RAIN_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "gdm: rocksdb checkpoint write"));
  rocksdb::FlushOptions fo;
  fo.wait = true;
  RAIN_RETURN_IF_ERROR(FromRocks(db_->Flush(fo), "gdm: rocksdb checkpoint flush"));
  RAIN_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, ListJournal(journal_dir_));
  for (uint64_t seq : seqs) {  // oldest first: the survivors of a crash here are a suffix
    if (seq > through) break;
    const std::string path = JournalPath(journal_dir_, seq);
    if (::unlink(path.c_str()) != 0) return Errno("unlink " + path);
  }
  return SyncDir(journal_dir_);
}

void RocksDbGdmStorage::CheckpointLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || (checkpointing_ && checkpoint_status_.ok()); });
    if (!checkpointing_ || !checkpoint_status_.ok()) return;  // stopping, nothing to finish
    std::shared_ptr<const JournalDelta> delta = checkpointing_;
    const uint64_t through = through_;
    lock.unlock();
    Status s = Checkpoint(*delta, through);
    lock.lock();
    checkpoint_status_ = s;
    if (s.ok()) {
      checkpointing_.reset();
      ++stats_.checkpoints;
      stats_.checkpoint_items += delta->items.size();
    }
    cv_.notify_all();
  }
}

}  // namespace rain::membership
