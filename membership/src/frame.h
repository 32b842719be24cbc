// The 16-byte frame every membership message (GCM wire.h, GDM gdm_wire.h) starts with:
// version u8, type u8, flags u16 (0), cluster_id u64, crc32c u32 of everything after the
// header. One implementation so both protocols check foreign, damaged and future frames alike.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rain/core/codec.h"
#include "rain/core/crc32c.h"
#include "rain/core/result.h"

namespace rain::membership::internal {

inline constexpr size_t kFrameHeaderBytes = 16;

// Writes the header with a zero checksum; SealFrame patches it once the body is written.
inline void BeginFrame(Writer& w, uint8_t version, uint8_t type, uint64_t cluster_id) {
  w.U8(version);
  w.U8(type);
  w.U16(0);
  w.U64(cluster_id);
  w.U32(0);
}

inline std::vector<uint8_t> SealFrame(Writer& w) {
  std::vector<uint8_t> out = w.Take();
  uint32_t crc = Crc32c(std::span<const uint8_t>(out).subspan(kFrameHeaderBytes));
  for (int i = 0; i < 4; ++i) out[12 + i] = static_cast<uint8_t>(crc >> (8 * i));
  return out;
}

// Reads and checks the header of `bytes` through `r` (positioned at the start); returns the
// type byte. `who` ("gcm", "gdm") prefixes the error messages.
inline Result<uint8_t> OpenFrame(Reader& r, std::span<const uint8_t> bytes, uint8_t version,
                                 uint64_t cluster_id, const char* who) {
  uint8_t got_version = r.U8("version");
  uint8_t type = r.U8("type");
  uint16_t flags = r.U16("flags");
  uint64_t cluster = r.U64("cluster_id");
  uint32_t crc = r.U32("crc32c");
  if (!r.ok()) return r.status();
  std::string w(who);
  if (got_version != version)
    return CorruptionError(w + ": unknown wire version " + std::to_string(got_version));
  if (flags != 0) return CorruptionError(w + ": unknown flags");
  if (cluster != cluster_id) return FailedPreconditionError(w + ": message of another cluster");
  if (Crc32c(bytes.subspan(kFrameHeaderBytes)) != crc) return CorruptionError(w + ": bad checksum");
  return type;
}

}  // namespace rain::membership::internal
