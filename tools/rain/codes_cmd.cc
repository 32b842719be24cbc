// `rain codes encode|decode|verify`: a standalone erasure-coding file tool in the spirit of zfec
// and par2, built on the codes/ module and the shard format of docs/shard-format.md. This file is
// the command line only: options, human and --json output, exit codes. The work is in
// shard_encode.cc / shard_decode.cc, the file I/O in shard_io.cc.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "rain/codes/shard_format.h"
#include "shard_tool.h"

namespace rain::cli {
namespace {

// Exit codes (also in the --help epilog and docs/shard-format.md).
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // data loss, I/O, inconsistent or unusable shards
constexpr int kExitUsage = 2;    // the command line or its arguments are wrong
constexpr int kExitDamaged = 3;  // verify only: shards missing or damaged, file still recoverable

constexpr const char* kExitEpilog =
    "Exit status: 0 success; 1 failure (data loss, I/O error, unusable or mixed shards); "
    "2 usage error (bad option, unknown code spec); 3 (verify only) shards missing or damaged "
    "but the file is recoverable.";

constexpr const char* kCodeHelp =
    "Code spec: xcode:N (N prime, 5..31), bcode:L (L = p or p-1, p an odd prime >= 5, L <= 31), "
    "rs:K+M (K data + M parity columns, K + M <= 255)";

int ExitCodeFor(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

// Reports an error: always a line on stderr; with --json also one JSON object on stdout, so a
// script reading stdout always gets an object.
void Fail(const Status& s, bool json) {
  std::fprintf(stderr, "rain codes: %s\n", s.ToString().c_str());
  if (json) {
    nlohmann::json out = {
        {"ok", false}, {"status", std::string(StatusCodeName(s.code()))}, {"error", s.message()}};
    std::printf("%s\n", out.dump().c_str());
  }
  ExitStatus() = ExitCodeFor(s);
}

void NoteIgnored(const std::vector<std::string>& ignored, bool json) {
  if (json) return;  // listed in the JSON object instead
  for (const std::string& line : ignored) std::fprintf(stderr, "note: ignoring %s\n", line.c_str());
}

double MBps(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
}

std::string Columns(const std::vector<int>& columns) {
  std::string out;
  for (int c : columns) out += (out.empty() ? "" : ", ") + std::to_string(c);
  return out;
}

nlohmann::json SetJson(const codes::ShardHeader& h) {
  return {{"set_id", h.set_id.ToHex()},
          {"code", h.spec},
          {"columns", h.columns},
          {"rows", h.rows},
          {"element_bytes", h.element_bytes},
          {"file_bytes", h.file_bytes},
          {"stripes", h.stripe_count}};
}

struct EncodeArgs {
  EncodeOptions options;
  uint64_t element_bytes = 0;
  bool json = false;
  bool no_progress = false;
};

void RunEncode(EncodeArgs& args) {
  if (args.element_bytes > codes::kShardElementBytesMax) {
    Fail(InvalidArgumentError("--element-bytes " + std::to_string(args.element_bytes) +
                              " is larger than " + std::to_string(codes::kShardElementBytesMax)),
         args.json);
    return;
  }
  args.options.element_bytes = static_cast<uint32_t>(args.element_bytes);
  args.options.progress = !args.no_progress;
  Result<EncodeReport> r = EncodeFile(args.options);
  if (!r.ok()) return Fail(r.status(), args.json);
  const codes::ShardHeader& h = r->header;
  uint64_t shard_bytes = 0;
  for (const auto& [path, bytes] : r->shards) shard_bytes += bytes;
  if (args.json) {
    nlohmann::json out = SetJson(h);
    out["ok"] = true;
    out["input"] = args.options.input_path;
    out["shards"] = nlohmann::json::array();
    for (const auto& [path, bytes] : r->shards) {
      out["shards"].push_back({{"path", path}, {"bytes", bytes}});
    }
    out["shard_bytes_total"] = shard_bytes;
    out["seconds"] = r->seconds;
    out["mb_per_s"] = MBps(h.file_bytes, r->seconds);
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf(
        "encoded %s (%llu bytes) with %s into %d shards in %s\n"
        "  %llu stripes of %u-byte elements, %llu shard bytes in all, set %s\n"
        "  %.3f s, %.1f MB/s\n",
        args.options.input_path.c_str(), static_cast<unsigned long long>(h.file_bytes),
        h.spec.c_str(), h.columns, args.options.output_dir.c_str(),
        static_cast<unsigned long long>(h.stripe_count), h.element_bytes,
        static_cast<unsigned long long>(shard_bytes), h.set_id.ToHex().substr(0, 12).c_str(),
        r->seconds, MBps(h.file_bytes, r->seconds));
  }
  ExitStatus() = kExitOk;
}

struct DecodeArgs {
  DecodeOptions options;
  bool json = false;
  bool no_progress = false;
};

void RunDecode(DecodeArgs& args) {
  args.options.progress = !args.no_progress;
  Result<DecodeReport> r = DecodeShards(args.options);
  if (!r.ok()) return Fail(r.status(), args.json);
  const codes::ShardHeader& h = r->header;
  NoteIgnored(r->ignored, args.json);
  if (args.json) {
    nlohmann::json out = SetJson(h);
    out["ok"] = true;
    out["output"] = args.options.output_path;
    out["missing_columns"] = r->missing_columns;
    out["corrupt_elements"] = r->bad_elements;
    out["missing_blocks"] = r->missing_blocks;
    out["stripes_repaired"] = r->stripes_repaired;
    out["ignored"] = r->ignored;
    out["seconds"] = r->seconds;
    out["mb_per_s"] = MBps(h.file_bytes, r->seconds);
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("decoded %s (%llu bytes) from %s shards, set %s\n",
                args.options.output_path.c_str(), static_cast<unsigned long long>(h.file_bytes),
                h.spec.c_str(), h.set_id.ToHex().substr(0, 12).c_str());
    std::printf("  missing columns: %s; corrupt elements: %llu; blocks lost to truncation: %llu\n",
                r->missing_columns.empty() ? "none" : Columns(r->missing_columns).c_str(),
                static_cast<unsigned long long>(r->bad_elements),
                static_cast<unsigned long long>(r->missing_blocks));
    std::printf("  %llu of %llu stripes repaired; %.3f s, %.1f MB/s\n",
                static_cast<unsigned long long>(r->stripes_repaired),
                static_cast<unsigned long long>(h.stripe_count), r->seconds,
                MBps(h.file_bytes, r->seconds));
  }
  ExitStatus() = kExitOk;
}

struct VerifyArgs {
  VerifyOptions options;
  bool json = false;
  bool no_progress = false;
};

const char* StateName(ShardVerdict::State s) {
  switch (s) {
    case ShardVerdict::State::kOk:
      return "ok";
    case ShardVerdict::State::kMissing:
      return "missing";
    case ShardVerdict::State::kDamaged:
      return "damaged";
  }
  return "?";
}

std::string DescribeDamage(const ShardVerdict& v) {
  std::string out;
  auto add = [&out](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  if (v.bad_elements > 0) {
    std::string s = std::to_string(v.bad_elements) + " corrupt element" +
                    (v.bad_elements == 1 ? "" : "s") + " (";
    for (size_t i = 0; i < v.first_bad.size(); ++i) {
      s += (i ? ", " : "") + std::string("stripe ") + std::to_string(v.first_bad[i].first) +
           " row " + std::to_string(v.first_bad[i].second);
    }
    if (v.bad_elements > v.first_bad.size()) s += ", ...";
    add(s + ")");
  }
  if (v.missing_blocks > 0) {
    add("truncated: the last " + std::to_string(v.missing_blocks) + " stripe blocks are missing");
  }
  if (v.trailing_bytes > 0) {
    add(std::to_string(v.trailing_bytes) + " unexpected bytes after the last stripe");
  }
  return out;
}

void RunVerify(VerifyArgs& args) {
  args.options.progress = !args.no_progress;
  Result<VerifyReport> r = VerifyShards(args.options);
  if (!r.ok()) return Fail(r.status(), args.json);
  const codes::ShardHeader& h = r->header;
  NoteIgnored(r->ignored, args.json);
  if (args.json) {
    nlohmann::json out = SetJson(h);
    out["ok"] = true;
    out["intact"] = r->intact;
    out["recoverable"] = r->recoverable;
    out["stripes_degraded"] = r->stripes_degraded;
    if (!r->recoverable) out["first_lost_stripe"] = r->first_lost_stripe;
    out["shards"] = nlohmann::json::array();
    for (const ShardVerdict& v : r->shards) {
      nlohmann::json s = {{"column", v.column},
                          {"path", v.path},
                          {"status", StateName(v.state)},
                          {"corrupt_elements", v.bad_elements},
                          {"missing_blocks", v.missing_blocks},
                          {"trailing_bytes", v.trailing_bytes}};
      s["first_corrupt"] = nlohmann::json::array();
      for (const auto& [stripe, row] : v.first_bad) {
        s["first_corrupt"].push_back({{"stripe", stripe}, {"row", row}});
      }
      out["shards"].push_back(std::move(s));
    }
    out["ignored"] = r->ignored;
    out["seconds"] = r->seconds;
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("set %s: %s, %llu bytes, %llu stripes of %u-byte elements\n",
                h.set_id.ToHex().substr(0, 12).c_str(), h.spec.c_str(),
                static_cast<unsigned long long>(h.file_bytes),
                static_cast<unsigned long long>(h.stripe_count), h.element_bytes);
    for (const ShardVerdict& v : r->shards) {
      std::string line = "  column " + std::to_string(v.column) + "  " +
                         (v.path.empty() ? "-" : v.path) + "  " + StateName(v.state);
      if (v.state == ShardVerdict::State::kDamaged) line += ": " + DescribeDamage(v);
      std::printf("%s\n", line.c_str());
    }
    if (r->intact) {
      std::printf("result: intact\n");
    } else if (r->recoverable) {
      int missing = 0, damaged = 0;
      for (const ShardVerdict& v : r->shards) {
        missing += v.state == ShardVerdict::State::kMissing;
        damaged += v.state == ShardVerdict::State::kDamaged;
      }
      std::printf(
          "result: damaged but recoverable (%d missing, %d damaged shards; %llu of %llu stripes "
          "degraded)\n",
          missing, damaged, static_cast<unsigned long long>(r->stripes_degraded),
          static_cast<unsigned long long>(h.stripe_count));
    } else {
      std::printf(
          "result: NOT recoverable: stripe %llu has more unusable columns than %s "
          "rebuilds (%d)\n",
          static_cast<unsigned long long>(r->first_lost_stripe), h.spec.c_str(), r->max_erasures);
    }
  }
  ExitStatus() = r->intact ? kExitOk : r->recoverable ? kExitDamaged : kExitFailure;
}

// The flags every codes subcommand shares: output mode, progress, and the exit-status epilog.
void AddOutputFlags(CLI::App* command, bool& json, bool& no_progress) {
  command->add_flag("--json", json, "Print one JSON object");
  command->add_flag("--no-progress", no_progress, "No progress bar on stderr");
  command->footer(kExitEpilog);
}

}  // namespace

void AddCodesCommand(CLI::App& app) {
  CLI::App* codes =
      app.add_subcommand("codes", "Erasure-code a file into shard files, rebuild it, check shards");
  codes->require_subcommand(1);
  codes->footer(kExitEpilog);

  auto encode_args = std::make_shared<EncodeArgs>();
  CLI::App* encode = codes->add_subcommand(
      "encode", "Encode FILE into one shard file per code column, DIR/<name>.<column>");
  encode->add_option("--code", encode_args->options.code_spec, kCodeHelp)->required();
  encode->add_option("file", encode_args->options.input_path, "The file to encode")->required();
  encode
      ->add_option("-o,--output", encode_args->options.output_dir,
                   "Directory for the shards (created if missing)")
      ->required();
  encode->add_option("--element-bytes", encode_args->element_bytes,
                     "Bytes per code element (default: 64 KiB, less for small files)");
  AddOutputFlags(encode, encode_args->json, encode_args->no_progress);
  encode->callback([encode_args] { RunEncode(*encode_args); });

  auto decode_args = std::make_shared<DecodeArgs>();
  CLI::App* decode = codes->add_subcommand(
      "decode", "Rebuild the file from the shards in DIR (any sufficient subset)");
  decode->add_option("dir", decode_args->options.shard_dir, "Directory of shards")->required();
  decode
      ->add_option("-o,--output", decode_args->options.output_path,
                   "The rebuilt file (replaced only when complete)")
      ->required();
  decode->add_option("--set", decode_args->options.set_prefix,
                     "Use the encode whose set id starts with this (when DIR holds several)");
  AddOutputFlags(decode, decode_args->json, decode_args->no_progress);
  decode->callback([decode_args] { RunDecode(*decode_args); });

  auto verify_args = std::make_shared<VerifyArgs>();
  CLI::App* verify = codes->add_subcommand(
      "verify", "Check every shard in DIR: missing, corrupt elements, truncation");
  verify->add_option("dir", verify_args->options.shard_dir, "Directory of shards")->required();
  verify->add_option("--set", verify_args->options.set_prefix,
                     "Use the encode whose set id starts with this (when DIR holds several)");
  AddOutputFlags(verify, verify_args->json, verify_args->no_progress);
  verify->callback([verify_args] { RunVerify(*verify_args); });
}

}  // namespace rain::cli
