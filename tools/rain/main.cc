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
  CLI::App app{
      "rain: a Reliable Array of Independent Nodes.\n"
      "Erasure-coded storage, membership and checkpointing for a cluster of Linux "
      "machines."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rain 0.1.0");
  rain::cli::AddCodesCommand(app);
  rain::cli::AddBenchCommand(app);
  rain::cli::AddKeygenCommand(app);
  rain::cli::AddLocalCommand(app);
  rain::cli::AddStatusCommand(app);
  rain::cli::AddDataCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // app.exit prints help, the version or the error. --help and --version are successes; every
    // other parse error is a usage error, exit 2 as documented (CLI11's own codes are 105+).
    return app.exit(e) == 0 ? 0 : 2;
  }
  return rain::cli::ExitStatus();
}
