// File I/O for the shard tool (`rain codes encode|decode|verify`): whole reads and writes on file
// descriptors, temporary files that replace their target only when complete, the directory scan
// that finds one encode's shards by their headers, the batched block reader that checks element
// CRCs, and a progress bar. The format itself (headers, CRC layout) is pure computation in
// rain/codes/shard_format.h; this file is the part that touches the disk.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rain/codes/code.h"
#include "rain/codes/shard_format.h"
#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::cli {

// An owned file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Opens `path` read-only. NotFound when it does not exist, IoError otherwise.
Result<Fd> OpenForRead(const std::string& path);
// The size of an open file.
Result<uint64_t> FileSize(int fd, const std::string& path);

// Reads up to out.size() bytes at `offset`, retrying short reads; returns how many were read
// (fewer only at end of file).
Result<size_t> ReadAt(int fd, uint64_t offset, std::span<uint8_t> out, const std::string& path);
// Writes all of `bytes` at the current position.
Status WriteAll(int fd, std::span<const uint8_t> bytes, const std::string& path);

// A file written under a temporary name in the directory of its final path and renamed over the
// final path by Commit() (after fsync), so that a failed or interrupted run never leaves a
// partial file under the final name. Destroying an uncommitted TempFile removes it.
class TempFile {
 public:
  static Result<TempFile> Create(const std::string& final_path);
  TempFile(TempFile&& other) noexcept = default;
  TempFile& operator=(TempFile&&) noexcept = default;
  ~TempFile();

  int fd() const { return fd_.get(); }
  const std::string& final_path() const { return final_path_; }
  // fsync, close, rename over final_path.
  Status Commit();

 private:
  TempFile() = default;
  Fd fd_;
  std::string temp_path_;
  std::string final_path_;
  bool committed_ = false;
};

// 128 random bits from the OS (getrandom): unique per encode without any coordination.
Result<codes::ShardSetId> RandomShardSetId();

// One file of a directory that holds a valid shard header.
struct ScannedShard {
  std::string path;
  codes::ShardHeader header;
  uint64_t file_bytes = 0;  // the shard file's actual size
};

// What a directory holds.
struct DirScan {
  std::vector<ScannedShard> shards;                     // valid headers, sorted by path
  std::vector<std::string> foreign;                     // no shard magic: not ours, ignored
  std::vector<std::pair<std::string, Status>> damaged;  // shard magic, unreadable header
};

// Reads the first kShardHeaderBytes of every regular file in `dir` (not recursive).
// ResourceExhausted when the directory has more than kShardDirEntriesMax entries.
inline constexpr size_t kShardDirEntriesMax = 65536;
Result<DirScan> ScanShardDir(const std::string& dir);

// The shards of one encode, one slot per column.
struct ShardSet {
  codes::ShardHeader header;  // of the first shard; column is meaningless here
  std::unique_ptr<codes::Code> code;
  std::vector<std::optional<ScannedShard>> by_column;
  // Further shard files for a column that already has one (copies): not used.
  std::vector<std::string> duplicates;
};

// Picks the one encode in `scan` (or the one whose set id starts with `set_prefix`). NotFound
// when there is none; FailedPrecondition, listing them, when shards of several encodes are mixed;
// Corruption when shards share a set id but disagree on code, geometry or size.
Result<ShardSet> SelectShardSet(const DirScan& scan, const std::string& dir,
                                const std::string& set_prefix);

// The health of one column over a batch of stripes.
struct ColumnHealth {
  // Per stripe of the batch: bit r set when element r is unusable (shard missing, block past the
  // end of a truncated file, or the element failing its CRC). Rows <= kShardRowsMax = 64.
  std::vector<uint64_t> bad_rows;
  uint64_t bad_elements = 0;     // elements that failed their CRC
  uint64_t missing_stripes = 0;  // blocks absent (missing shard or truncated file)
  // The first failing elements (stripe, row), up to kBadElementsListed per call.
  std::vector<std::pair<uint64_t, int>> first_bad;
};
inline constexpr size_t kBadElementsListed = 8;
static_assert(codes::kShardRowsMax <= 64, "ColumnHealth::bad_rows is a 64-bit mask");
// The mask of rows [0, rows).
inline uint64_t AllRows(int rows) { return rows >= 64 ? ~uint64_t{0} : (uint64_t{1} << rows) - 1; }

// Reads the blocks of stripes [first, first + count) of column `column` into `blocks` (count ×
// BlockBytes bytes) and checks every element CRC. `fd` < 0 means the shard is missing. Only an
// I/O error is a failure; damage is reported in the result.
Result<ColumnHealth> LoadColumnBlocks(const codes::ShardHeader& header, int column, int fd,
                                      uint64_t shard_file_bytes, uint64_t first, uint64_t count,
                                      std::span<uint8_t> blocks, const std::string& path);

// A run of consecutive data elements of one column, in data order: the file bytes of a stripe
// are the runs one after the other. Copying runs rather than elements keeps small elements cheap.
struct DataRun {
  int column = 0;
  int first_row = 0;
  int rows = 0;
};
std::vector<DataRun> DataRuns(const codes::Code& code);

// How many stripes to move per read: about kBatchBytesTarget of shard bytes, at least 1.
inline constexpr uint64_t kBatchBytesTarget = 16u << 20;
uint64_t BatchStripes(const codes::ShardHeader& header);

// A progress bar on stderr, drawn only when stderr is a terminal, the caller asked for it and the
// work is at least kProgressMinBytes; redrawn at most every kProgressRedraw.
class Progress {
 public:
  static constexpr uint64_t kProgressMinBytes = 32u << 20;
  static constexpr std::chrono::milliseconds kProgressRedraw{100};

  Progress(const char* label, uint64_t total_bytes, bool wanted);
  ~Progress();
  void Update(uint64_t done_bytes);

 private:
  void Draw(uint64_t done_bytes);
  const char* label_;
  uint64_t total_bytes_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// Seconds since `start` on the monotonic clock.
double SecondsSince(std::chrono::steady_clock::time_point start);

}  // namespace rain::cli
