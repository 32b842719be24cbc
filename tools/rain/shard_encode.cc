// `rain codes encode`: a file into one shard file per column (shard_tool.h).
//
// Per batch of stripes: read the file bytes once into a staging buffer, scatter them into the
// column buffers in the code's data order (the column buffers hold exactly the bytes each shard
// file gets: per stripe, the CRC table then the elements), encode the parity in place, fill in
// the element CRCs, and append each column buffer to its shard with one write.
#include <cstring>
#include <filesystem>
#include <system_error>

#include "rain/core/assert.h"
#include "rain/core/codec.h"
#include "shard_io.h"
#include "shard_tool.h"

namespace rain::cli {
namespace {

void PutU32(uint8_t* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

Result<EncodeReport> EncodeFile(const EncodeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<codes::Code>> made = codes::MakeCode(options.code_spec);
  if (!made.ok()) return made.status().WithContext("--code " + options.code_spec);
  std::unique_ptr<codes::Code> code = std::move(made).value();
  RAIN_ASSIGN_OR_RETURN(Fd input, OpenForRead(options.input_path));
  RAIN_ASSIGN_OR_RETURN(const uint64_t file_bytes, FileSize(input.get(), options.input_path));
  const uint32_t element_bytes = options.element_bytes != 0
                                     ? options.element_bytes
                                     : codes::DefaultShardElementBytes(*code, file_bytes);
  RAIN_ASSIGN_OR_RETURN(const codes::ShardPlan plan,
                        codes::PlanShards(*code, file_bytes, element_bytes));
  RAIN_ASSIGN_OR_RETURN(const codes::ShardSetId set_id, RandomShardSetId());

  std::error_code ec;
  std::filesystem::create_directories(options.output_dir, ec);
  if (ec) return IoError("creating " + options.output_dir, ec.value());
  const std::string base = std::filesystem::path(options.input_path).filename().string();

  const int columns = code->columns();
  std::vector<codes::ShardHeader> headers;
  std::vector<TempFile> shards;
  for (int c = 0; c < columns; ++c) {
    headers.push_back(codes::MakeShardHeader(*code, plan, file_bytes, set_id, c));
    const std::string path =
        (std::filesystem::path(options.output_dir) / (base + "." + std::to_string(c))).string();
    RAIN_ASSIGN_OR_RETURN(TempFile shard, TempFile::Create(path));
    RAIN_RETURN_IF_ERROR(WriteAll(shard.fd(), codes::EncodeShardHeader(headers.back()), path));
    shards.push_back(std::move(shard));
  }

  const codes::ShardHeader& h = headers.front();
  const uint64_t block_bytes = h.BlockBytes();
  const uint64_t batch = BatchStripes(h);
  const std::vector<DataRun> runs = DataRuns(*code);
  std::vector<std::vector<uint8_t>> column_bufs(static_cast<size_t>(columns),
                                                std::vector<uint8_t>(batch * block_bytes));
  std::vector<uint8_t> staging(batch * plan.stripe_data_bytes);
  std::vector<uint8_t*> column_ptrs(static_cast<size_t>(columns));
  Progress progress("encode", file_bytes, options.progress);

  for (uint64_t first = 0; first < plan.stripe_count; first += batch) {
    const uint64_t count = std::min(batch, plan.stripe_count - first);
    const uint64_t offset = first * plan.stripe_data_bytes;
    const uint64_t want = std::min(count * plan.stripe_data_bytes, file_bytes - offset);
    RAIN_ASSIGN_OR_RETURN(
        size_t got,
        ReadAt(input.get(), offset, std::span<uint8_t>(staging).first(want), options.input_path));
    if (got != want) {
      return AbortedError(options.input_path + " shrank while it was being encoded");
    }
    // The last stripe is zero-padded; the header records the exact size.
    std::memset(staging.data() + want, 0, count * plan.stripe_data_bytes - want);

    for (uint64_t i = 0; i < count; ++i) {
      const uint8_t* src = staging.data() + i * plan.stripe_data_bytes;
      for (int c = 0; c < columns; ++c) {
        column_ptrs[static_cast<size_t>(c)] = column_bufs[static_cast<size_t>(c)].data() +
                                              i * block_bytes + h.ElementsOffsetInBlock();
      }
      for (const DataRun& run : runs) {
        const size_t n = static_cast<size_t>(run.rows) * element_bytes;
        std::memcpy(column_ptrs[static_cast<size_t>(run.column)] +
                        static_cast<size_t>(run.first_row) * element_bytes,
                    src, n);
        src += n;
      }
      code->Encode(codes::StripeView{.columns = column_ptrs, .element_bytes = element_bytes});
      for (int c = 0; c < columns; ++c) {
        uint8_t* block = column_bufs[static_cast<size_t>(c)].data() + i * block_bytes;
        for (int row = 0; row < h.rows; ++row) {
          std::span<const uint8_t> element(
              block + h.ElementsOffsetInBlock() + static_cast<uint64_t>(row) * element_bytes,
              element_bytes);
          PutU32(block + h.CrcOffsetInBlock(row),
                 codes::ShardElementCrc(set_id, first + i, c, row, element));
        }
      }
    }
    for (int c = 0; c < columns; ++c) {
      RAIN_RETURN_IF_ERROR(WriteAll(
          shards[static_cast<size_t>(c)].fd(),
          std::span<const uint8_t>(column_bufs[static_cast<size_t>(c)]).first(count * block_bytes),
          shards[static_cast<size_t>(c)].final_path()));
    }
    progress.Update(offset + want);
  }

  // A file that grew while being read would be encoded with its old size: refuse.
  RAIN_ASSIGN_OR_RETURN(const uint64_t size_after, FileSize(input.get(), options.input_path));
  if (size_after != file_bytes) {
    return AbortedError(options.input_path + " changed size while it was being encoded");
  }

  EncodeReport report;
  report.header = h;
  for (TempFile& shard : shards) {
    RAIN_RETURN_IF_ERROR(shard.Commit());
    report.shards.emplace_back(shard.final_path(), h.ShardFileBytes());
  }
  report.seconds = SecondsSince(start);
  return report;
}

}  // namespace rain::cli
