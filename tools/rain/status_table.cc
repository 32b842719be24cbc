#include "status_table.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

namespace rain::cli {
namespace {

std::string ViewId(const nlohmann::json& view) {
  if (!view.is_object() || !view.contains("id")) return "";
  return view["id"].is_string() ? view["id"].get<std::string>() : view["id"].dump();
}

nlohmann::json ViewOf(const NodeStatus& s) {
  return s.up && s.status.contains("view") && s.status["view"].is_object() ? s.status["view"]
                                                                           : nlohmann::json();
}

std::string Members(const nlohmann::json& view) {
  std::vector<int> members;
  if (view.is_object() && view.contains("members") && view["members"].is_array()) {
    for (const auto& m : view["members"]) {
      if (m.is_number_integer()) members.push_back(m.get<int>());
    }
  }
  std::sort(members.begin(), members.end());
  std::string out;
  for (int m : members) out += (out.empty() ? "" : " ") + std::to_string(m);
  return out;
}

// "2:2/2 3:1/2 4:0/2!": links up of all links per peer; ! = the TM reports the peer unreachable.
std::string Links(const nlohmann::json& status) {
  std::string out;
  if (!status.contains("peers") || !status["peers"].is_array()) return "-";
  for (const auto& peer : status["peers"]) {
    int up = 0;
    int total = 0;
    if (peer.contains("links") && peer["links"].is_array()) {
      for (const auto& link : peer["links"]) {
        ++total;
        if (link.value("up", false)) ++up;
      }
    }
    out += (out.empty() ? "" : " ") + std::to_string(peer.value("node", 0)) + ":";
    out += std::to_string(up) + "/" + std::to_string(total);
    if (!peer.value("reachable", true)) out += "!";
  }
  return out.empty() ? "-" : out;
}

// The GDM and election columns of one node (docs/raind.md §3.1); "-" from daemons without them.
struct GdmCells {
  std::string mode = "-";
  std::string leader = "-";
};

GdmCells GdmOf(const nlohmann::json& status) {
  GdmCells cells;
  if (status.contains("gdm") && status["gdm"].is_object()) {
    cells.mode = status["gdm"].value("mode", std::string("?"));
  }
  if (status.contains("leader")) {
    const nlohmann::json& leader = status["leader"];
    cells.leader = leader.is_object() ? std::to_string(leader.value("node", 0)) + " e" +
                                            std::to_string(leader.value("epoch", uint64_t{0}))
                                      : "none";
  }
  return cells;
}

std::string Row(const std::string& node, const std::string& state, const std::string& view,
                const std::string& members, const std::string& primary, const GdmCells& gdm,
                const std::string& links, size_t view_width, size_t members_width) {
  char line[512];
  std::snprintf(line, sizeof(line), "%-5s %-10s %-*s %-*s %-8s %-12s %-9s %s\n", node.c_str(),
                state.c_str(), static_cast<int>(view_width), view.c_str(),
                static_cast<int>(members_width), members.c_str(), primary.c_str(), gdm.mode.c_str(),
                gdm.leader.c_str(), links.c_str());
  return line;
}

// "; leader node 1 epoch 7" when every answering node that knows a leader names the same one,
// with the nodes that know none; the disagreement otherwise; "" when no node reports leaders.
std::string SummarizeLeader(const std::vector<NodeStatus>& statuses) {
  std::map<std::pair<int, uint64_t>, std::vector<int>> by_leader;  // (node, epoch) -> reporters
  std::vector<int> none;
  bool reported = false;
  for (const NodeStatus& s : statuses) {
    if (!s.up || !s.status.contains("leader")) continue;
    reported = true;
    const nlohmann::json& leader = s.status["leader"];
    const int node = s.status.value("node", s.node);
    if (!leader.is_object()) {
      none.push_back(node);
      continue;
    }
    by_leader[{leader.value("node", 0), leader.value("epoch", uint64_t{0})}].push_back(node);
  }
  if (!reported) return "";
  auto list = [](const std::vector<int>& nodes) {
    std::string out;
    for (int n : nodes) out += (out.empty() ? "" : " ") + std::to_string(n);
    return out;
  };
  std::string out;
  if (by_leader.empty()) {
    out = "; no leader";
  } else if (by_leader.size() == 1) {
    const auto& [leader, nodes] = *by_leader.begin();
    out =
        "; leader node " + std::to_string(leader.first) + " epoch " + std::to_string(leader.second);
    if (!none.empty()) out += " (no leader yet at nodes " + list(none) + ")";
    return out;
  } else {
    out = "; leaders differ:";
    for (const auto& [leader, nodes] : by_leader) {
      out += " node " + std::to_string(leader.first) + " epoch " + std::to_string(leader.second) +
             " at nodes " + list(nodes) + ";";
    }
    out.pop_back();
  }
  if (!none.empty() && !by_leader.empty()) out += "; no leader at nodes " + list(none);
  return out;
}

}  // namespace

std::string FormatStatusTable(const std::vector<NodeStatus>& statuses) {
  size_t view_width = 4;
  size_t members_width = 7;
  for (const NodeStatus& s : statuses) {
    view_width = std::max(view_width, ViewId(ViewOf(s)).size());
    members_width = std::max(members_width, Members(ViewOf(s)).size());
  }
  std::string out = Row("node", "state", "view", "members", "primary", {"gdm", "leader"},
                        "links (peer:up/total, ! unreachable)", view_width, members_width);
  for (const NodeStatus& s : statuses) {
    const std::string node = std::to_string(s.up ? s.status.value("node", s.node) : s.node);
    if (!s.up) {
      out += Row(node, "down", "-", "-", "-", GdmCells{}, "(" + s.error + ")", view_width,
                 members_width);
      continue;
    }
    const nlohmann::json view = ViewOf(s);
    out += Row(node, s.status.value("state", std::string("?")),
               view.is_object() ? ViewId(view) : "-", view.is_object() ? Members(view) : "-",
               view.is_object() ? (view.value("primary", false) ? "yes" : "no") : "-",
               GdmOf(s.status), Links(s.status), view_width, members_width);
  }
  return out;
}

std::string SummarizeViews(const std::vector<NodeStatus>& statuses) {
  std::map<std::string, std::vector<int>> by_view;  // view id -> nodes that installed it
  std::map<std::string, nlohmann::json> views;
  int answered = 0;
  int no_view = 0;
  for (const NodeStatus& s : statuses) {
    if (!s.up) continue;
    ++answered;
    const nlohmann::json view = ViewOf(s);
    if (!view.is_object()) {
      ++no_view;
      continue;
    }
    by_view[ViewId(view)].push_back(s.status.value("node", s.node));
    views[ViewId(view)] = view;
  }
  std::string tail = SummarizeLeader(statuses) + "; " + std::to_string(answered) + " of " +
                     std::to_string(statuses.size()) + " nodes answer" +
                     (no_view > 0 ? ", " + std::to_string(no_view) + " without a view" : "");
  if (answered == 0) return "no node answers";
  if (by_view.empty()) return "no view installed" + tail;
  if (by_view.size() == 1) {
    const auto& [id, view] = *views.begin();
    return "one view " + id + ": members " + Members(view) +
           (view.value("primary", false) ? ", primary" : ", NOT primary") + tail;
  }
  std::string out = "split: " + std::to_string(by_view.size()) + " views";
  for (const auto& [id, nodes] : by_view) {
    std::string who;
    for (int n : nodes) who += (who.empty() ? "" : " ") + std::to_string(n);
    out += "; " + id + " (members " + Members(views[id]) +
           (views[id].value("primary", false) ? ", primary" : "") + ") at nodes " + who;
  }
  return out + tail;
}

nlohmann::json StatusJson(const std::vector<NodeStatus>& statuses) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const NodeStatus& s : statuses) {
    if (s.up) {
      nlohmann::json obj = s.status;
      obj["up"] = true;
      nodes.push_back(std::move(obj));
    } else {
      nodes.push_back({{"node", s.node}, {"up", false}, {"error", s.error}});
    }
  }
  return {{"nodes", std::move(nodes)}};
}

}  // namespace rain::cli
