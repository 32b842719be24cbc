// What raind keeps in its data_dir between runs: the GCM's stable state (docs/membership.md §8),
// the election's epoch (docs/election.md) and the incarnation counter of the Transport
// (docs/transport.md §4).
//
// Both files are replaced atomically (write <name>.tmp, fsync it, rename over <name>, fsync the
// directory), so a crash leaves the old or the new content, never a torn one. The stable state
// file carries a magic, a version and a CRC32C: a damaged file is an error (Corruption), never
// silently a fresh start, because forgetting a promise can fork the primary view chain.
#pragma once

#include <cstdint>
#include <string>

#include "rain/core/result.h"
#include "rain/core/status.h"
#include "rain/membership/gcm.h"
#include "rain/node/stack.h"

namespace rain::node {

// Writes `bytes` to `path` atomically and durably (tmp, fsync, rename, fsync dir). IoError.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// The stable state in <data_dir>/gcm.state.
class FileStableStorage : public StableStorage {
 public:
  explicit FileStableStorage(std::string path) : path_(std::move(path)) {}
  // The stored state; the default (first start) when the file does not exist. Corruption for a
  // damaged file, IoError when unreadable.
  Result<membership::StableState> Load() const;
  // Durable on return (see WriteFileAtomically).
  Status Save(const membership::StableState& state) override;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The election's highest announced epoch in <data_dir>/election.state (docs/election.md: an
// epoch at or below it is never announced again, also after a restart). Same discipline and
// damage rule as gcm.state: magic, version, CRC32C; a damaged file is Corruption.
class FileEpochStorage : public EpochStorage {
 public:
  explicit FileEpochStorage(std::string path) : path_(std::move(path)) {}
  // The stored epoch; 0 (first start) when the file does not exist. Corruption, IoError.
  Result<uint64_t> Load() const;
  // Durable on return (see WriteFileAtomically).
  Status SaveEpoch(uint64_t epoch) override;

 private:
  std::string path_;
};

std::string EncodeElectionEpoch(uint64_t epoch);
Result<uint64_t> DecodeElectionEpoch(std::string_view bytes);

// The byte form of the stable state file (exposed for tests).
std::string EncodeStableState(const membership::StableState& state);
Result<membership::StableState> DecodeStableState(std::string_view bytes);

// Reads <data_dir>/incarnation, picks the next incarnation and stores it before returning:
// max(stored + 1, wall_clock_ns). The wall clock keeps it growing even when the data_dir is
// wiped; the counter keeps it growing when the clock steps back. Never 0.
Result<uint64_t> NextIncarnation(const std::string& data_dir, uint64_t wall_clock_ns);

}  // namespace rain::node
