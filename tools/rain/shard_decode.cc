// `rain codes decode` and `rain codes verify`: a directory of shards back into the file, and a
// report on the health of every shard (shard_tool.h).
//
// Decode reads, per batch of stripes, only the columns that hold data. A stripe whose data
// elements all pass their CRCs is copied out as is (the fast path: no parity read, no decode).
// Otherwise the parity-only columns of the batch are read too, every column with an unusable
// element in that stripe is erased for that stripe only, and Code::DecodeCells rebuilds just the
// data cells of the erased columns (a file decode never needs the parity rebuilt).
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "rain/core/assert.h"
#include "shard_io.h"
#include "shard_tool.h"

namespace rain::cli {
namespace {

// The shards of one encode, opened.
struct OpenSet {
  ShardSet set;
  std::vector<Fd> fds;                  // invalid for missing columns
  std::vector<uint64_t> shard_bytes;    // actual file sizes
  std::vector<uint64_t> data_row_mask;  // per column: rows that hold data
  std::vector<std::string> ignored;
};

Result<OpenSet> OpenShardSet(const std::string& dir, const std::string& set_prefix) {
  RAIN_ASSIGN_OR_RETURN(DirScan scan, ScanShardDir(dir));
  RAIN_ASSIGN_OR_RETURN(ShardSet set, SelectShardSet(scan, dir, set_prefix));
  OpenSet open;
  for (const std::string& path : scan.foreign) open.ignored.push_back(path + ": not a shard file");
  for (const auto& [path, status] : scan.damaged) {
    open.ignored.push_back(path + ": damaged shard header (" + status.message() + ")");
  }
  for (const std::string& path : set.duplicates) {
    open.ignored.push_back(path + ": a second copy of a column already found");
  }
  for (const ScannedShard& s : scan.shards) {
    if (s.header.set_id != set.header.set_id) {
      open.ignored.push_back(s.path + ": shard of another encode (set " +
                             s.header.set_id.ToHex().substr(0, 12) + ")");
    }
  }
  const int columns = set.header.columns;
  open.fds.resize(static_cast<size_t>(columns));
  open.shard_bytes.assign(static_cast<size_t>(columns), 0);
  open.data_row_mask.assign(static_cast<size_t>(columns), 0);
  for (int i = 0; i < set.code->data_elements(); ++i) {
    codes::Cell cell = set.code->DataCell(i);
    open.data_row_mask[static_cast<size_t>(cell.column)] |= uint64_t{1} << cell.row;
  }
  for (int c = 0; c < columns; ++c) {
    const auto& shard = set.by_column[static_cast<size_t>(c)];
    if (!shard.has_value()) continue;
    RAIN_ASSIGN_OR_RETURN(open.fds[static_cast<size_t>(c)], OpenForRead(shard->path));
    open.shard_bytes[static_cast<size_t>(c)] = shard->file_bytes;
  }
  open.set = std::move(set);
  return open;
}

std::string JoinColumns(const std::vector<int>& columns) {
  std::string out;
  for (int c : columns) out += (out.empty() ? "" : ", ") + std::to_string(c);
  return out;
}

}  // namespace

Result<DecodeReport> DecodeShards(const DecodeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RAIN_ASSIGN_OR_RETURN(OpenSet open, OpenShardSet(options.shard_dir, options.set_prefix));
  const codes::ShardHeader& h = open.set.header;
  const codes::Code& code = *open.set.code;
  const int columns = h.columns;

  DecodeReport report;
  report.header = h;
  report.ignored = open.ignored;
  for (int c = 0; c < columns; ++c) {
    const auto& shard = open.set.by_column[static_cast<size_t>(c)];
    if (!shard.has_value()) report.missing_columns.push_back(c);
    std::error_code ec;
    if (shard.has_value() && std::filesystem::equivalent(shard->path, options.output_path, ec)) {
      return InvalidArgumentError("output " + options.output_path + " is shard " + shard->path);
    }
  }
  // Refuse before allocating anything when too few shards hold even one block: a header alone
  // (or a set of truncated shards) cannot make us allocate stripe buffers for nothing.
  if (h.stripe_count > 0) {
    int usable = 0;
    for (int c = 0; c < columns; ++c) {
      if (open.fds[static_cast<size_t>(c)].valid() &&
          open.shard_bytes[static_cast<size_t>(c)] >= h.BlockOffset(1)) {
        ++usable;
      }
    }
    if (usable < columns - code.max_erasures()) {
      return DataLossError("only " + std::to_string(usable) + " of " + std::to_string(columns) +
                           " shards hold data; " + h.spec + " needs at least " +
                           std::to_string(columns - code.max_erasures()));
    }
  }

  RAIN_ASSIGN_OR_RETURN(TempFile output, TempFile::Create(options.output_path));
  const uint64_t block_bytes = h.BlockBytes();
  const uint64_t stripe_data_bytes = code.DataBytes(h.element_bytes);
  const uint64_t batch = BatchStripes(h);
  const std::vector<DataRun> runs = DataRuns(code);
  std::vector<std::vector<uint8_t>> column_bufs(static_cast<size_t>(columns),
                                                std::vector<uint8_t>(batch * block_bytes));
  std::vector<uint8_t> staging(batch * stripe_data_bytes);
  std::vector<uint8_t*> column_ptrs(static_cast<size_t>(columns));
  Progress progress("decode", h.file_bytes, options.progress);

  for (uint64_t first = 0; first < h.stripe_count; first += batch) {
    const uint64_t count = std::min(batch, h.stripe_count - first);
    std::vector<std::optional<ColumnHealth>> health(static_cast<size_t>(columns));
    auto load = [&](int c) -> Status {
      const size_t ci = static_cast<size_t>(c);
      if (health[ci].has_value()) return Status::Ok();
      const auto& shard = open.set.by_column[ci];
      RAIN_ASSIGN_OR_RETURN(
          ColumnHealth loaded,
          LoadColumnBlocks(h, c, open.fds[ci].get(), open.shard_bytes[ci], first, count,
                           column_bufs[ci], shard.has_value() ? shard->path : std::string()));
      report.bad_elements += loaded.bad_elements;
      if (shard.has_value()) report.missing_blocks += loaded.missing_stripes;
      health[ci] = std::move(loaded);
      return Status::Ok();
    };
    for (int c = 0; c < columns; ++c) {
      if (open.data_row_mask[static_cast<size_t>(c)] != 0) RAIN_RETURN_IF_ERROR(load(c));
    }

    for (uint64_t i = 0; i < count; ++i) {
      for (int c = 0; c < columns; ++c) {
        column_ptrs[static_cast<size_t>(c)] = column_bufs[static_cast<size_t>(c)].data() +
                                              i * block_bytes + h.ElementsOffsetInBlock();
      }
      bool data_lost = false;
      for (int c = 0; c < columns; ++c) {
        const size_t ci = static_cast<size_t>(c);
        if (health[ci].has_value() && (health[ci]->bad_rows[i] & open.data_row_mask[ci]) != 0) {
          data_lost = true;
        }
      }
      if (data_lost) {
        for (int c = 0; c < columns; ++c) RAIN_RETURN_IF_ERROR(load(c));
        std::vector<int> erased;
        for (int c = 0; c < columns; ++c) {
          if (health[static_cast<size_t>(c)]->bad_rows[i] != 0) erased.push_back(c);
        }
        if (static_cast<int>(erased.size()) > code.max_erasures()) {
          return DataLossError("stripe " + std::to_string(first + i) + " of " +
                               std::to_string(h.stripe_count) + ": columns " + JoinColumns(erased) +
                               " are missing or corrupt; " + h.spec + " rebuilds at most " +
                               std::to_string(code.max_erasures()));
        }
        std::vector<codes::Cell> wanted;
        for (int c : erased) {
          for (int row = 0; row < h.rows; ++row) {
            if (code.Kind({row, c}) == codes::CellKind::kData) wanted.push_back({row, c});
          }
        }
        RAIN_RETURN_IF_ERROR(code.DecodeCells(
            codes::StripeView{.columns = column_ptrs, .element_bytes = h.element_bytes}, erased,
            wanted));
        ++report.stripes_repaired;
      }
      uint8_t* dst = staging.data() + i * stripe_data_bytes;
      for (const DataRun& run : runs) {
        const size_t n = static_cast<size_t>(run.rows) * h.element_bytes;
        std::memcpy(dst,
                    column_ptrs[static_cast<size_t>(run.column)] +
                        static_cast<size_t>(run.first_row) * h.element_bytes,
                    n);
        dst += n;
      }
    }
    // The last stripe's padding is not part of the file.
    const uint64_t offset = first * stripe_data_bytes;
    const uint64_t out_bytes = std::min(count * stripe_data_bytes, h.file_bytes - offset);
    RAIN_RETURN_IF_ERROR(WriteAll(output.fd(), std::span<const uint8_t>(staging).first(out_bytes),
                                  options.output_path));
    progress.Update(offset + out_bytes);
  }
  RAIN_RETURN_IF_ERROR(output.Commit());
  report.seconds = SecondsSince(start);
  return report;
}

Result<VerifyReport> VerifyShards(const VerifyOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RAIN_ASSIGN_OR_RETURN(OpenSet open, OpenShardSet(options.shard_dir, options.set_prefix));
  const codes::ShardHeader& h = open.set.header;
  const codes::Code& code = *open.set.code;
  const int columns = h.columns;

  VerifyReport report;
  report.header = h;
  report.ignored = open.ignored;
  report.recoverable = true;
  report.max_erasures = code.max_erasures();
  for (int c = 0; c < columns; ++c) {
    const auto& shard = open.set.by_column[static_cast<size_t>(c)];
    ShardVerdict v;
    v.column = c;
    if (!shard.has_value()) {
      v.state = ShardVerdict::State::kMissing;
    } else {
      v.path = shard->path;
      if (shard->file_bytes > h.ShardFileBytes()) {
        v.trailing_bytes = shard->file_bytes - h.ShardFileBytes();
      }
    }
    report.shards.push_back(v);
  }

  const uint64_t block_bytes = h.BlockBytes();
  const uint64_t batch = BatchStripes(h);
  // Verify holds one batch of one column at a time: it never needs a whole stripe in memory.
  std::vector<uint8_t> blocks(batch * block_bytes);
  std::vector<int> unusable(static_cast<size_t>(std::min(batch, h.stripe_count)));
  Progress progress("verify", h.file_bytes, options.progress);
  for (uint64_t first = 0; first < h.stripe_count; first += batch) {
    const uint64_t count = std::min(batch, h.stripe_count - first);
    std::fill(unusable.begin(), unusable.end(), 0);
    for (int c = 0; c < columns; ++c) {
      ShardVerdict& v = report.shards[static_cast<size_t>(c)];
      const size_t ci = static_cast<size_t>(c);
      RAIN_ASSIGN_OR_RETURN(ColumnHealth health,
                            LoadColumnBlocks(h, c, open.fds[ci].get(), open.shard_bytes[ci], first,
                                             count, blocks, v.path));
      for (uint64_t i = 0; i < count; ++i) {
        if (health.bad_rows[i] != 0) ++unusable[i];
      }
      if (v.state == ShardVerdict::State::kMissing) continue;
      v.bad_elements += health.bad_elements;
      v.missing_blocks += health.missing_stripes;
      for (const auto& bad : health.first_bad) {
        if (v.first_bad.size() < kBadElementsListed) v.first_bad.push_back(bad);
      }
    }
    for (uint64_t i = 0; i < count; ++i) {
      if (unusable[i] > 0) ++report.stripes_degraded;
      if (unusable[i] > code.max_erasures() && report.recoverable) {
        report.recoverable = false;
        report.first_lost_stripe = first + i;
      }
    }
    progress.Update(std::min(h.file_bytes, (first + count) * code.DataBytes(h.element_bytes)));
  }

  report.intact = true;
  for (ShardVerdict& v : report.shards) {
    if (v.state == ShardVerdict::State::kMissing) {
      report.intact = false;
    } else if (v.bad_elements > 0 || v.missing_blocks > 0 || v.trailing_bytes > 0) {
      v.state = ShardVerdict::State::kDamaged;
      report.intact = false;
    }
  }
  // With no stripes (an empty file) nothing can be lost, but every shard still should be there.
  report.seconds = SecondsSince(start);
  return report;
}

}  // namespace rain::cli
