// `rain bench ...`: the measurements behind docs/benchmarks.md. Each benchmark is one
// sub-subcommand registered by its own Add* function below; adding one (e.g. `bench transport`)
// is one more call in AddBenchCommand. Results go to stdout (a table, or one JSON object with
// --json); progress goes to stderr so that --json output stays parseable.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "rain/bench/codes_bench.h"
#include "rain/bench/gdm_bench.h"
#include "rain/bench/membership_bench.h"
#include "rain/bench/report.h"
#include "rain/bench/transport_bench.h"

namespace rain::cli {

namespace {

void AddBenchCodes(CLI::App& bench) {
  struct Flags {
    bench::CodesBenchOptions options;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = bench.add_subcommand(
      "codes",
      "X-code and B-code vs ISA-L Reed-Solomon, xor_gen and memcpy: encode, decode1, decode2 and "
      "update throughput, warm and cold, interleaved repetitions (median)");
  cmd->add_flag("--json", flags->json, "Print one JSON object {\"rows\": [...]} and nothing else");
  CLI::Option* reps = cmd->add_option("--reps", flags->options.reps,
                                      "Repetitions; each row is the median (default 7)")
                          ->check(CLI::Range(1, 1000));
  cmd->add_flag("--quick", flags->options.quick,
                "Smoke run: tiny cold set, one short sample per row, 1 repetition unless --reps");
  cmd->add_option("--element-bytes", flags->options.element_bytes,
                  "X-code/B-code element size, a multiple of 64 (default 4096)");
  cmd->callback([flags, reps] {
    bench::CodesBenchOptions options = flags->options;
    if (options.quick && reps->count() == 0) options.reps = 1;
    auto report = bench::RunCodesBench(options, stderr);
    if (!report.ok()) {
      std::fprintf(stderr, "rain bench codes: %s\n", report.status().ToString().c_str());
      ExitStatus() = report.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
      return;
    }
    if (flags->json) {
      bench::WriteJson(stdout, bench::CodesBenchJson(*report));
    } else {
      std::fputs(bench::FormatCodesTable(*report).c_str(), stdout);
    }
  });
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks, each against its baseline in one run");
  bench->require_subcommand(1);
  AddBenchCodes(*bench);
  bench::AddTransportBenchCommand(*bench, &ExitStatus());
  bench::AddMembershipBenchCommand(*bench, &ExitStatus());
  bench::AddGdmBenchCommand(*bench, &ExitStatus());
}

}  // namespace rain::cli
