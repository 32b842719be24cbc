// Placeholder until its owner lands it.
#include "commands.h"
namespace rain::cli {
void AddBenchCommand(CLI::App& app) { app.add_subcommand("bench", "Benchmarks (todo)"); }
}  // namespace rain::cli
