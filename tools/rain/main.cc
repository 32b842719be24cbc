// rain: the RAIN command line. Human output by default, --json for scripts.
#include <cstdio>

#include "commands.h"

namespace rain::cli {
int& ExitStatus() {
  static int status = 0;
  return status;
}
}  // namespace rain::cli

int main(int argc, char** argv) {
  CLI::App app{"rain: a Reliable Array of Independent Nodes.\n"
               "Erasure-coded storage, membership and checkpointing for a cluster of Linux "
               "machines."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rain 0.1.0");
  rain::cli::AddCodesCommand(app);
  rain::cli::AddBenchCommand(app);
  CLI11_PARSE(app, argc, argv);
  return rain::cli::ExitStatus();
}
