// Placeholder until its owner lands it.
#include "commands.h"
namespace rain::cli {
void AddCodesCommand(CLI::App& app) { app.add_subcommand("codes", "Erasure-code files (todo)"); }
}  // namespace rain::cli
