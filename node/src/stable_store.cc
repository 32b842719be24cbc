// The data_dir files of raind (include/rain/node/stable_store.h).
#include "rain/node/stable_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>

#include "rain/core/codec.h"
#include "rain/core/crc32c.h"

namespace rain::node {
namespace {

constexpr uint64_t kStableMagic = 0x3174537344696152ull;  // "RaiDsSt1" little-endian
constexpr uint8_t kStableVersion = 1;
constexpr size_t kIncarnationFileBytesMax = 64;
constexpr uint64_t kEpochMagic = 0x3163456c45696152ull;  // "RaiElEc1" little-endian
constexpr uint8_t kEpochVersion = 1;

void PutView(Writer& w, const membership::ViewId& v) {
  w.U64(v.epoch);
  w.U32(ToInt(v.ringer));
  w.U64(v.seq);
  w.U32(ToInt(v.creator));
}

membership::ViewId GetView(Reader& r) {
  membership::ViewId v;
  v.epoch = r.U64("view epoch");
  v.ringer = NodeId{r.U32("view ringer")};
  v.seq = r.U64("view seq");
  v.creator = NodeId{r.U32("view creator")};
  return v;
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return NotFoundError(path + " does not exist");
    return IoError("reading " + path, errno);
  }
  std::string text;
  text.resize(max_bytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > max_bytes) return CorruptionError(path + " is larger than expected");
  return text;
}

}  // namespace

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("creating " + tmp, errno);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      ::close(fd);
      return IoError("writing " + tmp, e);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return IoError("fsync " + tmp, e);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IoError("renaming " + tmp, errno);
  // The rename itself must survive a crash too.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return IoError("opening " + dir, errno);
  int rc = ::fsync(dfd);
  int e = errno;
  ::close(dfd);
  if (rc != 0) return IoError("fsync " + dir, e);
  return Status::Ok();
}

std::string EncodeStableState(const membership::StableState& s) {
  Writer w;
  w.U64(kStableMagic);
  w.U8(kStableVersion);
  w.U64(s.promised.epoch);
  w.U32(ToInt(s.promised.node));
  PutView(w, s.last_view);
  PutView(w, s.known_primary);
  w.U32(Crc32c(w.bytes()));
  const std::vector<uint8_t>& b = w.bytes();
  return std::string(b.begin(), b.end());
}

Result<membership::StableState> DecodeStableState(std::string_view bytes) {
  std::span<const uint8_t> all(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (all.size() < 4) return CorruptionError("stable state: truncated");
  std::span<const uint8_t> body = all.first(all.size() - 4);
  Reader crc_reader(all.subspan(all.size() - 4));
  if (crc_reader.U32("crc") != Crc32c(body)) return CorruptionError("stable state: bad checksum");
  Reader r(body);
  if (r.U64("magic") != kStableMagic) return CorruptionError("stable state: not a raind file");
  if (uint8_t v = r.U8("version"); r.ok() && v != kStableVersion) {
    return CorruptionError("stable state: unknown version " + std::to_string(v));
  }
  membership::StableState s;
  s.promised.epoch = r.U64("promised epoch");
  s.promised.node = NodeId{r.U32("promised node")};
  s.last_view = GetView(r);
  s.known_primary = GetView(r);
  if (!r.ok()) return CorruptionError("stable state: " + r.status().message());
  if (r.remaining() != 0) return CorruptionError("stable state: trailing bytes");
  return s;
}

Result<membership::StableState> FileStableStorage::Load() const {
  Result<std::string> text = ReadSmallFile(path_, 1024);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return membership::StableState{};
    return text.status();
  }
  Result<membership::StableState> s = DecodeStableState(*text);
  if (!s.ok()) return s.status().WithContext(path_);
  return s;
}

Status FileStableStorage::Save(const membership::StableState& state) {
  return WriteFileAtomically(path_, EncodeStableState(state));
}

std::string EncodeElectionEpoch(uint64_t epoch) {
  Writer w;
  w.U64(kEpochMagic);
  w.U8(kEpochVersion);
  w.U64(epoch);
  w.U32(Crc32c(w.bytes()));
  const std::vector<uint8_t>& b = w.bytes();
  return std::string(b.begin(), b.end());
}

Result<uint64_t> DecodeElectionEpoch(std::string_view bytes) {
  std::span<const uint8_t> all(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (all.size() < 4) return CorruptionError("election state: truncated");
  std::span<const uint8_t> body = all.first(all.size() - 4);
  Reader crc_reader(all.subspan(all.size() - 4));
  if (crc_reader.U32("crc") != Crc32c(body)) return CorruptionError("election state: bad checksum");
  Reader r(body);
  if (r.U64("magic") != kEpochMagic) return CorruptionError("election state: not a raind file");
  if (uint8_t v = r.U8("version"); r.ok() && v != kEpochVersion) {
    return CorruptionError("election state: unknown version " + std::to_string(v));
  }
  uint64_t epoch = r.U64("epoch");
  if (!r.ok()) return CorruptionError("election state: " + r.status().message());
  if (r.remaining() != 0) return CorruptionError("election state: trailing bytes");
  return epoch;
}

Result<uint64_t> FileEpochStorage::Load() const {
  Result<std::string> text = ReadSmallFile(path_, 1024);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return uint64_t{0};
    return text.status();
  }
  Result<uint64_t> e = DecodeElectionEpoch(*text);
  if (!e.ok()) return e.status().WithContext(path_);
  return e;
}

Status FileEpochStorage::SaveEpoch(uint64_t epoch) {
  return WriteFileAtomically(path_, EncodeElectionEpoch(epoch));
}

Result<uint64_t> NextIncarnation(const std::string& data_dir, uint64_t wall_clock_ns) {
  const std::string path = (std::filesystem::path(data_dir) / "incarnation").string();
  uint64_t stored = 0;
  Result<std::string> text = ReadSmallFile(path, kIncarnationFileBytesMax);
  if (text.ok()) {
    std::string_view t = *text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.remove_suffix(1);
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), stored);
    if (ec != std::errc() || end != t.data() + t.size()) {
      return CorruptionError(path + " does not hold a number");
    }
  } else if (text.status().code() != StatusCode::kNotFound) {
    return text.status();
  }
  uint64_t next = std::max(stored + 1, wall_clock_ns);
  if (next == 0) next = 1;
  RAIN_RETURN_IF_ERROR(WriteFileAtomically(path, std::to_string(next) + "\n"));
  return next;
}

}  // namespace rain::node
