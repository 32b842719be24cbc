// `rain status`: asks every node's control socket for its status (docs/raind.md §3, §3.1) and
// shows one row per node plus a one-line view and leader summary, or one JSON document with
// --json (each node's answer as is, so "gdm" and "leader" pass through). A node that
// does not answer within the deadline is a "down" row, not a failure of the command.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "local_cluster.h"
#include "status_table.h"

namespace rain::cli {
namespace {

constexpr int kStatusTimeoutMsDefault = 1000;

}  // namespace

void AddStatusCommand(CLI::App& app) {
  struct Flags {
    std::string dir = kDefaultLocalDir;
    std::vector<std::string> sockets;
    bool json = false;
    int timeout_ms = kStatusTimeoutMsDefault;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "status",
      "Show each node's state, view, members, GDM mode, leader (node and fencing epoch) and "
      "links, and whether they agree");
  CLI::Option* dir =
      cmd->add_option("--dir", flags->dir, "A local cluster's directory (default ./rain-local)");
  cmd->add_option("--socket", flags->sockets, "A node's control socket (repeatable)")
      ->excludes(dir);
  cmd->add_flag("--json", flags->json,
                "Print {\"nodes\":[...]}: each node's status object, or {node, up: false, error}");
  cmd->add_option("--timeout-ms", flags->timeout_ms,
                  "How long each node may take to answer (default 1000)")
      ->check(CLI::Range(10, 60000));
  cmd->footer("Exit status: 0 at least one node answered; 1 no cluster or no node answered.");
  cmd->callback([flags] {
    const std::chrono::milliseconds timeout(flags->timeout_ms);
    std::vector<NodeStatus> statuses;
    if (!flags->sockets.empty()) {
      for (size_t i = 0; i < flags->sockets.size(); ++i) {
        statuses.push_back(QueryNodeStatus(static_cast<int>(i + 1), flags->sockets[i], timeout));
      }
    } else {
      Result<LocalCluster> cluster = LocalCluster::Open(flags->dir);
      if (!cluster.ok()) {
        std::fprintf(stderr, "rain status: %s\n", cluster.status().message().c_str());
        if (flags->json) {
          std::printf("%s\n", nlohmann::json({{"nodes", nlohmann::json::array()},
                                              {"error", cluster.status().message()}})
                                  .dump()
                                  .c_str());
        }
        ExitStatus() = 1;
        return;
      }
      statuses = cluster->QueryAll(timeout);
    }
    if (flags->json) {
      std::printf("%s\n", StatusJson(statuses).dump().c_str());
    } else {
      std::fputs(FormatStatusTable(statuses).c_str(), stdout);
      std::printf("%s\n", SummarizeViews(statuses).c_str());
    }
    bool any_up = false;
    for (const NodeStatus& s : statuses) any_up = any_up || s.up;
    ExitStatus() = any_up ? 0 : 1;
  });
}

}  // namespace rain::cli
