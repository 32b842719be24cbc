// raind: one RAIN node (docs/raind.md). Thin: parse the command line, load the config, run
// rain::node::Daemon until SIGTERM/SIGINT or a `shutdown` command.
//
// Exit codes: 0 clean shutdown (or --check-config OK), 1 runtime failure (bind, data_dir,
// persisting the stable state, the election epoch or the GDM), 2 usage or bad config.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <thread>

#include "rain/core/log.h"
#include "rain/node/config.h"
#include "rain/node/daemon.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

int Run(const std::string& config_path) {
  rain::Result<rain::node::NodeConfig> config = rain::node::LoadConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "raind: %s\n", config.status().message().c_str());
    return kExitUsage;
  }
  rain::SetLogLevel(config->log_level);

  // Every thread inherits the mask, so SIGTERM/SIGINT reach only the sigwait thread below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  rain::Result<std::unique_ptr<rain::node::Daemon>> daemon = rain::node::Daemon::Start(*config);
  if (!daemon.ok()) {
    std::fprintf(stderr, "raind: %s\n", daemon.status().ToString().c_str());
    return kExitRuntime;
  }
  rain::node::Daemon* d = daemon->get();
  std::thread waiter([d, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    d->RequestShutdown();
  });
  rain::Status reason = d->WaitForShutdownRequest();
  d->Stop();
  // A `shutdown` command or a fatal error ended the run: release the sigwait thread.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  if (!reason.ok()) {
    std::fprintf(stderr, "raind: %s\n", reason.ToString().c_str());
    return kExitRuntime;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "raind: one RAIN node (Transport Manager, GCM membership, GDM data, election) and its\n"
      "control socket.\n"
      "Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage or bad config."};
  std::string config_path;
  std::string check_path;
  bool foreground = false;
  auto* run = app.add_option("--config", config_path, "run the node of this config file (TOML)");
  auto* check = app.add_option("--check-config", check_path,
                               "parse and validate the config, print it resolved, exit");
  app.add_flag("--foreground", foreground, "stay in the foreground, log to stderr (the default)");
  run->excludes(check);
  app.require_option(1, 2);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (!check_path.empty()) {
    rain::Result<rain::node::NodeConfig> config = rain::node::LoadConfig(check_path);
    if (!config.ok()) {
      std::fprintf(stderr, "raind: %s\n", config.status().message().c_str());
      return kExitUsage;
    }
    std::fputs(rain::node::DescribeConfig(*config).c_str(), stdout);
    return kExitOk;
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "raind: --config FILE or --check-config FILE is required (see --help)\n");
    return kExitUsage;
  }
  return Run(config_path);
}
