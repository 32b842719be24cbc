// How `rain status` and `rain local up` show a cluster: the per-node table, the one-line view
// summary and the --json document, all built from the nodes' answers to {"cmd":"status"}
// (docs/raind.md §3). Pure formatting: no I/O.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "local_cluster.h"

namespace rain::cli {

// One row per node: state, view id, members, primary, the GDM mode and the leader it knows
// ("1 e7": node 1, epoch 7; "none"; "-" from a daemon without a GDM), and per peer
// "id:up/total" links; a node that did not answer shows "down" and why.
std::string FormatStatusTable(const std::vector<NodeStatus>& statuses);

// "one view 3.1.7.1: members 1 2 3 4 5, primary; leader node 1 epoch 7; 5 of 5 nodes answer" or
// "split: 2 views (...)"; counts nodes without a view and nodes that did not answer. The leader
// part says "no leader", names nodes that know none yet, or lists disagreeing leaders; it is
// left out when no node reports one (a daemon without the election).
std::string SummarizeViews(const std::vector<NodeStatus>& statuses);

// {"nodes":[<each node's status object with "up":true, or {"node":i,"up":false,"error":...}>]}.
nlohmann::json StatusJson(const std::vector<NodeStatus>& statuses);

}  // namespace rain::cli
