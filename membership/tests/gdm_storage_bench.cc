// gdm_storage_bench: what one GDM persist costs on this disk. Times RocksDbGdmStorage::Apply (one
// synced journal record per PersistBatch, checkpointed into RocksDB in the background) of batches
// of 1 KiB items drawn from a 10,000-item state, and, for comparison, the same items as one
// RocksDB WriteBatch written straight to RocksDB with sync=true and sync=false (what the storage
// did before the journal; sync=false splits the fsync from the rest: WAL, memtable). It answers how
// many updates/s one node can make durable for a given batch size (docs/benchmarks.md "GDM apply
// cost"). Usage: gdm_storage_bench [dir] [batches] [batch_items]   (dir defaults to a fresh temp
// dir; it is removed at exit)
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <time.h>
#include <unistd.h>

#include "rain/membership/gdm_storage_rocksdb.h"
#include "rain/membership/gdm_wire.h"

using namespace rain;
using namespace rain::membership;

namespace {

constexpr uint64_t kItems = 10000;
constexpr size_t kValueBytes = 1024;

PersistBatch MakeBatch(uint64_t ticket, size_t n, uint64_t& next) {
  PersistBatch b;
  b.ticket = ticket;
  for (size_t i = 0; i < n; ++i) {
    Item item{
        .kind = ItemKind::kData, .version = ticket, .bytes = std::vector<uint8_t>(kValueBytes)};
    item.bytes[0] = static_cast<uint8_t>(ticket);
    b.items.emplace_back(1 + (next++ * 7919) % kItems, std::move(item));
  }
  b.meta.index = ticket;
  return b;
}

// This thread's CPU time in microseconds: what the write costs the node, apart from waiting
// for the disk (and for the other processes of a shared machine).
double CpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

struct Stats {
  double p50_us, p99_us, mean_us, cpu_us;
};

// Times `batches` calls of write(batch): wall clock per call, thread CPU per call on average.
template <typename Write>
Stats Time(int batches, size_t n, uint64_t& next, Write write) {
  std::vector<double> us;
  double cpu = 0;
  for (int t = 1; t <= batches; ++t) {
    PersistBatch b = MakeBatch(static_cast<uint64_t>(t), n, next);
    double c0 = CpuUs();
    auto t0 = std::chrono::steady_clock::now();
    write(b);
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    cpu += CpuUs() - c0;
  }
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double x : us) sum += x;
  double k = static_cast<double>(us.size());
  return {us[us.size() / 2], us[std::min(us.size() - 1, us.size() * 99 / 100)], sum / k, cpu / k};
}

void Print(const char* what, size_t n, const Stats& s) {
  std::printf(
      "%-31s batch %3zu: wall p50 %6.0f us p99 %6.0f us mean %6.0f us (%6.0f items/s); "
      "CPU %5.0f us/batch %5.2f us/item\n",
      what, n, s.p50_us, s.p99_us, s.mean_us, static_cast<double>(n) * 1e6 / s.mean_us, s.cpu_us,
      s.cpu_us / static_cast<double>(n));
}

void Check(const Status& s) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  std::exit(1);
}

// The same records RocksDbGdmStorage writes (key "i" + big-endian id, EncodeItem value, meta
// "m"), with a choice of sync, so that sync=false isolates the fsync.
void RawWrite(rocksdb::DB* db, bool sync, const PersistBatch& b) {
  rocksdb::WriteBatch wb;
  for (const auto& [id, item] : b.items) {
    std::string k = "i";
    for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(id >> (8 * i)));
    Writer w;
    EncodeItem(w, id, *item);
    wb.Put(k, rocksdb::Slice(reinterpret_cast<const char*>(w.bytes().data()), w.bytes().size()));
  }
  std::vector<uint8_t> meta = EncodeState(b.meta);
  wb.Put("m", rocksdb::Slice(reinterpret_cast<const char*>(meta.data()), meta.size()));
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db->Write(wo, &wb);
  if (!s.ok()) Check(IoError("rocksdb write: " + s.ToString(), 0));
}

}  // namespace

int main(int argc, char** argv) {
  bool temp = argc <= 1 || std::string(argv[1]) == "-";
  std::filesystem::path dir = temp ? std::filesystem::temp_directory_path() /
                                         ("gdm_storage_bench." + std::to_string(getpid()))
                                   : std::filesystem::path(argv[1]);
  const int batches = argc > 2 ? std::atoi(argv[2]) : 200;
  std::vector<size_t> sizes = {1, 50, 500};
  if (argc > 3) sizes = {std::strtoull(argv[3], nullptr, 10)};
  std::filesystem::remove_all(dir / "gdm");
  std::filesystem::remove_all(dir / "raw");
  std::filesystem::create_directories(dir);
  std::printf("dir %s, %d batches per row, 1 KiB items over %llu ids\n", dir.c_str(), batches,
              static_cast<unsigned long long>(kItems));
  uint64_t next = 0;
  {
    auto storage = RocksDbGdmStorage::Open((dir / "gdm").string());
    Check(storage.status());
    // Fill the 10,000 items first, as a running node's store holds them.
    for (uint64_t t = 1; t <= kItems / 500; ++t) Check((*storage)->Apply(MakeBatch(t, 500, next)));
    for (size_t n : sizes) {
      Print("RocksDbGdmStorage::Apply", n,
            Time(batches, n, next, [&](const PersistBatch& b) { Check((*storage)->Apply(b)); }));
    }
  }
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, (dir / "raw").string(), &raw);
    if (!s.ok()) Check(IoError("rocksdb open: " + s.ToString(), 0));
    std::unique_ptr<rocksdb::DB> db(raw);
    for (uint64_t t = 1; t <= kItems / 500; ++t) RawWrite(db.get(), false, MakeBatch(t, 500, next));
    for (size_t n : sizes) {
      for (bool sync : {true, false}) {
        Print(sync ? "same WriteBatch, sync=true" : "same WriteBatch, sync=false", n,
              Time(batches, n, next, [&](const PersistBatch& b) { RawWrite(db.get(), sync, b); }));
      }
    }
  }
  if (temp) std::filesystem::remove_all(dir);
  return 0;
}
