// The `rain` command line: each command family lives in its own file and adds itself to the
// CLI11 app here. Callbacks store their exit status in ExitStatus(); main returns it.
#pragma once

#include <CLI/CLI.hpp>

namespace rain::cli {

void AddCodesCommand(CLI::App& app);   // rain codes encode|decode|verify
void AddBenchCommand(CLI::App& app);   // rain bench codes|...
void AddKeygenCommand(CLI::App& app);  // rain keygen FILE
void AddLocalCommand(CLI::App& app);   // rain local up|down|start|stop|kill|pause|resume
void AddStatusCommand(CLI::App& app);  // rain status
void AddDataCommand(CLI::App& app);    // rain data ls|get|set|rm

// The process exit status the command that ran wants (0 success, 1 failure, 2 usage).
int& ExitStatus();

}  // namespace rain::cli
