// The three operations of `rain codes`: encode a file into one shard file per column, decode a
// directory of shards back into the file, verify a directory of shards. They stream stripe by
// stripe in batches (memory stays about kBatchBytesTarget whatever the file size) and return
// what they did as plain structs; codes_cmd.cc prints them (human or --json) and maps errors to
// exit codes. The on-disk format is docs/shard-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rain/codes/shard_format.h"
#include "rain/core/result.h"

namespace rain::cli {

struct EncodeOptions {
  std::string code_spec;       // "xcode:5", "bcode:6", "rs:10+4"
  std::string input_path;      // a regular file
  std::string output_dir;      // created if missing
  uint32_t element_bytes = 0;  // 0: DefaultShardElementBytes
  bool progress = false;       // a progress bar on stderr when it is a terminal
};

struct EncodeReport {
  codes::ShardHeader header;                             // of column 0
  std::vector<std::pair<std::string, uint64_t>> shards;  // path, bytes; by column
  double seconds = 0;
};

// Writes <output_dir>/<input basename>.<column> for every column. Each shard is written under a
// temporary name and renamed when complete. Errors: InvalidArgument (bad spec or element size,
// input not a regular file), NotFound (no input), IoError, Aborted (input changed size while
// being read).
Result<EncodeReport> EncodeFile(const EncodeOptions& options);

struct DecodeOptions {
  std::string shard_dir;
  std::string output_path;
  std::string set_prefix;  // pick the encode whose set id starts with this (when mixed)
  bool progress = false;
};

struct DecodeReport {
  codes::ShardHeader header;
  std::vector<int> missing_columns;  // no shard file at all
  uint64_t bad_elements = 0;         // elements that failed their CRC (treated as lost)
  uint64_t missing_blocks = 0;       // blocks absent from truncated shards
  uint64_t stripes_repaired = 0;     // stripes that needed Code::DecodeCells
  std::vector<std::string> ignored;  // foreign files, damaged headers, duplicates
  double seconds = 0;
};

// Rebuilds the file into output_path (written to a temporary file, renamed at the end: on any
// error no output file appears). Columns whose block of a stripe is missing or fails a CRC are
// erased for that stripe only. Errors: NotFound (no shards), FailedPrecondition (shards of
// several encodes), Corruption (inconsistent shards), DataLoss (a stripe lost more columns than
// the code rebuilds; the message names the stripe), IoError.
Result<DecodeReport> DecodeShards(const DecodeOptions& options);

struct VerifyOptions {
  std::string shard_dir;
  std::string set_prefix;
  bool progress = false;
};

struct ShardVerdict {
  enum class State { kOk, kMissing, kDamaged };
  int column = 0;
  std::string path;  // empty when missing
  State state = State::kOk;
  uint64_t bad_elements = 0;
  uint64_t missing_blocks = 0;                      // truncated file
  uint64_t trailing_bytes = 0;                      // bytes past the last block
  std::vector<std::pair<uint64_t, int>> first_bad;  // (stripe, row)
};

struct VerifyReport {
  codes::ShardHeader header;
  std::vector<ShardVerdict> shards;  // one per column
  std::vector<std::string> ignored;  // foreign files, damaged headers, duplicates
  bool intact = false;               // every shard present and every element good
  bool recoverable = false;          // decode would succeed
  int max_erasures = 0;              // columns per stripe the code rebuilds
  uint64_t stripes_degraded = 0;     // stripes with at least one unusable column
  // The first stripe with more unusable columns than the code rebuilds, when !recoverable.
  uint64_t first_lost_stripe = 0;
  double seconds = 0;
};

// Reads every block of every shard and checks every element CRC. Damage is a result, not an
// error; errors are those of DecodeShards before any data is read, and IoError.
Result<VerifyReport> VerifyShards(const VerifyOptions& options);

}  // namespace rain::cli
