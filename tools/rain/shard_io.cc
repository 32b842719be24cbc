// File I/O for the shard tool (shard_io.h).
#include "shard_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "rain/core/assert.h"
#include "rain/core/codec.h"

namespace rain::cli {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Fd> OpenForRead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError(path + ": no such file");
    return IoError("opening " + path, errno);
  }
  return Fd(fd);
}

Result<uint64_t> FileSize(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(path + " is not a regular file");
  return static_cast<uint64_t>(st.st_size);
}

Result<size_t> ReadAt(int fd, uint64_t offset, std::span<uint8_t> out, const std::string& path) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("reading " + path, errno);
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return done;
}

Status WriteAll(int fd, std::span<const uint8_t> bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("writing " + path, errno);
    }
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<TempFile> TempFile::Create(const std::string& final_path) {
  std::filesystem::path final(final_path);
  std::filesystem::path dir = final.parent_path();
  if (dir.empty()) dir = ".";
  // Built with append: g++ 12 at -O3 reports a false -Wrestrict for `"." + std::string`.
  std::string temp_name(".");
  temp_name.append(final.filename().string()).append(".rain-tmp-XXXXXX");
  std::string pattern = (dir / temp_name).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return IoError("creating a temporary file in " + dir.string(), errno);
  TempFile t;
  t.fd_ = Fd(fd);
  t.temp_path_ = name.data();
  t.final_path_ = final_path;
  return t;
}

TempFile::~TempFile() {
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

Status TempFile::Commit() {
  RAIN_CHECK(!committed_ && fd_.valid(), "TempFile committed twice");
  // Shard and output files are created with the user's umask, like any file a tool writes
  // (mkstemp alone would leave them 0600).
  mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd_.get(), 0666 & ~mask) != 0) return IoError("chmod " + temp_path_, errno);
  if (::fsync(fd_.get()) != 0) return IoError("fsync " + temp_path_, errno);
  fd_ = Fd();
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return IoError("renaming " + temp_path_ + " to " + final_path_, errno);
  }
  committed_ = true;
  return Status::Ok();
}

Result<codes::ShardSetId> RandomShardSetId() {
  codes::ShardSetId id;
  size_t done = 0;
  while (done < id.bytes.size()) {
    ssize_t n = ::getrandom(id.bytes.data() + done, id.bytes.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("getrandom", errno);
    }
    done += static_cast<size_t>(n);
  }
  return id;
}

Result<DirScan> ScanShardDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return NotFoundError(dir + ": no such directory");
    return IoError("opening directory " + dir, errno);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (names.size() == kShardDirEntriesMax) {
      ::closedir(d);
      return ResourceExhaustedError(dir + " has more than " + std::to_string(kShardDirEntriesMax) +
                                    " entries");
    }
    names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());

  DirScan scan;
  for (const std::string& name : names) {
    std::string path = (std::filesystem::path(dir) / name).string();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    // Our own temporaries of an encode or decode in progress (or killed) are not shards yet.
    if (name.find(".rain-tmp-") != std::string::npos) continue;
    RAIN_ASSIGN_OR_RETURN(Fd fd, OpenForRead(path));
    std::vector<uint8_t> head(codes::kShardHeaderBytes);
    RAIN_ASSIGN_OR_RETURN(size_t got, ReadAt(fd.get(), 0, head, path));
    head.resize(got);
    if (!codes::HasShardMagic(head)) {
      scan.foreign.push_back(path);
      continue;
    }
    Result<codes::ShardHeader> header = codes::DecodeShardHeader(head);
    if (!header.ok()) {
      scan.damaged.emplace_back(path, header.status());
      continue;
    }
    scan.shards.push_back({path, *header, static_cast<uint64_t>(st.st_size)});
  }
  return scan;
}

Result<ShardSet> SelectShardSet(const DirScan& scan, const std::string& dir,
                                const std::string& set_prefix) {
  std::map<codes::ShardSetId, std::vector<const ScannedShard*>> sets;
  for (const ScannedShard& s : scan.shards) {
    if (s.header.set_id.ToHex().starts_with(set_prefix)) sets[s.header.set_id].push_back(&s);
  }
  if (sets.empty()) {
    std::string msg = "no shard files in " + dir;
    if (!set_prefix.empty()) msg += " with a set id starting '" + set_prefix + "'";
    if (!scan.damaged.empty()) {
      msg += " (" + std::to_string(scan.damaged.size()) + " with a damaged header, first " +
             scan.damaged.front().first + ": " + scan.damaged.front().second.message() + ")";
    }
    return NotFoundError(msg);
  }
  if (sets.size() > 1) {
    std::string msg = dir + " holds shards of " + std::to_string(sets.size()) +
                      " different encodes; move the foreign ones away or pick one with --set:";
    for (const auto& [id, shards] : sets) {
      msg += "\n  set " + id.ToHex().substr(0, 12) + " (" + shards.front()->header.spec + ", " +
             std::to_string(shards.front()->header.file_bytes) + " bytes):";
      for (const ScannedShard* s : shards) msg += " " + s->path;
    }
    return FailedPreconditionError(msg);
  }
  const std::vector<const ScannedShard*>& members = sets.begin()->second;
  ShardSet set;
  set.header = members.front()->header;
  Result<std::unique_ptr<codes::Code>> code = codes::ValidateShardHeader(set.header);
  if (!code.ok()) return code.status();  // cannot happen: DecodeShardHeader validated it
  set.code = std::move(code).value();
  set.by_column.resize(static_cast<size_t>(set.header.columns));
  for (const ScannedShard* s : members) {
    // A set id is random, so two shards that share one but disagree on anything else were
    // forged or written by a broken encoder: refuse rather than guess which one is right.
    if (!s->header.SameSetAs(set.header)) {
      return CorruptionError(s->path + " and " + members.front()->path + " share set id " +
                             set.header.set_id.ToHex().substr(0, 12) +
                             " but disagree on code, geometry or file size");
    }
    auto& slot = set.by_column[static_cast<size_t>(s->header.column)];
    if (slot.has_value()) {
      set.duplicates.push_back(s->path);
    } else {
      slot = *s;
    }
  }
  return set;
}

Result<ColumnHealth> LoadColumnBlocks(const codes::ShardHeader& h, int column, int fd,
                                      uint64_t shard_file_bytes, uint64_t first, uint64_t count,
                                      std::span<uint8_t> blocks, const std::string& path) {
  const uint64_t block_bytes = h.BlockBytes();
  RAIN_CHECK(blocks.size() >= count * block_bytes, "block buffer too small");
  ColumnHealth health;
  health.bad_rows.assign(count, AllRows(h.rows));
  uint64_t whole_blocks = 0;
  if (fd >= 0) {
    // Only the blocks the file really holds are read; a truncated file loses its tail stripes,
    // not the whole shard.
    const uint64_t start = h.BlockOffset(first);
    const uint64_t available = shard_file_bytes > start ? shard_file_bytes - start : 0;
    const uint64_t want = std::min(available, count * block_bytes);
    RAIN_ASSIGN_OR_RETURN(size_t got, ReadAt(fd, start, blocks.first(want), path));
    whole_blocks = got / block_bytes;
  }
  health.missing_stripes = count - whole_blocks;
  for (uint64_t i = 0; i < whole_blocks; ++i) {
    const uint8_t* block = blocks.data() + i * block_bytes;
    uint64_t bad_rows = 0;
    for (int row = 0; row < h.rows; ++row) {
      Reader crc_reader(std::span<const uint8_t>(block + h.CrcOffsetInBlock(row), 4));
      const uint32_t stored = crc_reader.U32("element_crc32c");
      std::span<const uint8_t> element(
          block + h.ElementsOffsetInBlock() + static_cast<uint64_t>(row) * h.element_bytes,
          h.element_bytes);
      if (stored != codes::ShardElementCrc(h.set_id, first + i, column, row, element)) {
        bad_rows |= uint64_t{1} << row;
        ++health.bad_elements;
        if (health.first_bad.size() < kBadElementsListed) {
          health.first_bad.emplace_back(first + i, row);
        }
      }
    }
    health.bad_rows[i] = bad_rows;
  }
  return health;
}

std::vector<DataRun> DataRuns(const codes::Code& code) {
  std::vector<DataRun> runs;
  for (int i = 0; i < code.data_elements(); ++i) {
    codes::Cell cell = code.DataCell(i);
    if (!runs.empty() && runs.back().column == cell.column &&
        runs.back().first_row + runs.back().rows == cell.row) {
      ++runs.back().rows;
    } else {
      runs.push_back({cell.column, cell.row, 1});
    }
  }
  return runs;
}

uint64_t BatchStripes(const codes::ShardHeader& h) {
  const uint64_t stripe_shard_bytes = h.BlockBytes() * static_cast<uint64_t>(h.columns);
  return std::max<uint64_t>(1, kBatchBytesTarget / stripe_shard_bytes);
}

Progress::Progress(const char* label, uint64_t total_bytes, bool wanted)
    : label_(label),
      total_bytes_(total_bytes),
      enabled_(wanted && total_bytes >= kProgressMinBytes && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  if (enabled_) std::fputs("\r\033[K", stderr);  // erase the bar; results follow on stdout
}

void Progress::Update(uint64_t done_bytes) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < kProgressRedraw && done_bytes < total_bytes_) return;
  last_draw_ = now;
  Draw(done_bytes);
}

void Progress::Draw(uint64_t done_bytes) {
  constexpr int kBarWidth = 30;
  const double fraction =
      total_bytes_ == 0 ? 1.0 : static_cast<double>(done_bytes) / static_cast<double>(total_bytes_);
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kBarWidth, '.');
  const double seconds = SecondsSince(start_);
  const double mb_per_s = seconds > 0 ? static_cast<double>(done_bytes) / 1e6 / seconds : 0;
  std::fprintf(stderr, "\r%s [%s] %3d%% %.1f/%.1f MiB %.0f MB/s\033[K", label_, bar.c_str(),
               static_cast<int>(fraction * 100), static_cast<double>(done_bytes) / (1 << 20),
               static_cast<double>(total_bytes_) / (1 << 20), mb_per_s);
  std::fflush(stderr);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace rain::cli
