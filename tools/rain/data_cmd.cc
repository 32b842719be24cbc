// `rain data ls|get|set|rm`: inspect and change the GDM's shared data items through one node's
// control socket (docs/raind.md §3.1, docs/cli.md "rain data"). With --dir the command picks a
// node of a `rain local` cluster itself: the first whose GDM is active (reads from it are
// current and writes are accepted), else the first that answers (its reads may be stale; a
// write fails with Unavailable). Mutations are answered once durable on every member of the
// view, so their deadline is longer than a status query's.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "control_client.h"
#include "data_format.h"
#include "local_cluster.h"
#include "rain/core/base64.h"

namespace rain::cli {
namespace {

using std::chrono::milliseconds;

constexpr int kDataTimeoutMsDefault = 10000;      // a commit waits for every member's fsync
constexpr auto kPickTimeout = milliseconds(500);  // per node while looking for an active one
constexpr uint64_t kLsPageItems = 1000;           // the daemon's default page (1..10000)
constexpr uint64_t kLsPageItemsMax = 10000;
// docs/raind.md §3.1: request lines up to 2 MiB, i.e. a 1 MiB value in base64.
constexpr size_t kValueBytesMax = size_t{1} << 20;

// Where to send the command and how to print the outcome; shared by the four subcommands.
struct Target {
  std::string dir = kDefaultLocalDir;
  std::string socket;
  int node = 0;  // 0: pick one (with --dir)
  int timeout_ms = kDataTimeoutMsDefault;
  bool json = false;
};

struct Endpoint {
  int node = 0;  // 0 when only a socket path was given
  std::string socket;
};

void AddTargetOptions(CLI::App* cmd, Target* t) {
  CLI::Option* dir =
      cmd->add_option("--dir", t->dir, "A `rain local` cluster's directory (default ./rain-local)");
  cmd->add_option("--socket", t->socket, "A node's control socket instead of --dir")->excludes(dir);
  cmd->add_option("--node", t->node,
                  "Use this node of the --dir cluster (default: the first whose GDM is active)")
      ->check(CLI::Range(1, kLocalNodesMax));
  cmd->add_option("--timeout-ms", t->timeout_ms,
                  "How long to wait for the answer; a write is answered once durable on every "
                  "member (default 10000)")
      ->check(CLI::Range(10, 600000));
  cmd->add_flag("--json", t->json, "Print one JSON object (the daemon's answer plus \"node\")");
  cmd->footer(
      "Item ids: decimal or 0x-hex. Exit status: 0 done; 1 failed (no cluster, no node answers, "
      "the daemon refused: Unavailable = no primary view, retry); 2 usage error.");
}

// Reports a failure: a sentence on stderr, and with --json an {"ok":false,...} object on stdout.
// Exit status 1, or 2 for a usage error (a bad id or value source, found before any request).
void Fail(const Target& t, const Status& status, const std::string& what, int node = 0,
          bool usage = false) {
  std::string sentence = ExplainDataError(status, what);
  std::fprintf(stderr, "rain data %s\n", sentence.c_str());
  if (t.json) {
    nlohmann::json out = {
        {"ok", false}, {"code", std::string(StatusCodeName(status.code()))}, {"error", sentence}};
    if (node != 0) out["node"] = node;
    std::printf("%s\n", out.dump().c_str());
  }
  ExitStatus() = usage ? 2 : 1;
}

// A failure to find the node: a --node beyond the cluster is a usage error (exit 2).
void FailPick(const Target& t, const Status& status, const std::string& what) {
  Fail(t, status, what, 0, status.code() == StatusCode::kInvalidArgument);
}

// The node to talk to (see the file comment). Errors: InvalidArgument for a bad --node,
// NotFound without a cluster in --dir, Unavailable when no node answers.
Result<Endpoint> PickNode(const Target& t) {
  if (!t.socket.empty()) return Endpoint{t.node, t.socket};
  RAIN_ASSIGN_OR_RETURN(LocalCluster cluster, LocalCluster::Open(t.dir));
  if (t.node != 0) {
    RAIN_RETURN_IF_ERROR(cluster.CheckNode(t.node));
    return Endpoint{t.node, cluster.SocketPath(t.node)};
  }
  std::optional<Endpoint> answering;
  std::string seen;
  for (int node = 1; node <= cluster.nodes(); ++node) {
    NodeStatus s = cluster.QueryStatus(node, kPickTimeout);
    if (!s.up) {
      seen += "\n  node " + std::to_string(node) + ": " + s.error;
      continue;
    }
    const nlohmann::json gdm = s.status.value("gdm", nlohmann::json::object());
    if (gdm.value("mode", std::string()) == "active")
      return Endpoint{node, cluster.SocketPath(node)};
    if (!answering) answering = Endpoint{node, cluster.SocketPath(node)};
  }
  if (answering) return *answering;
  return UnavailableError("no node of the cluster in " + t.dir + " answers:" + seen);
}

// Sends one request to `at` and returns the answer, or the daemon's refusal as a Status.
Result<nlohmann::json> Ask(const Target& t, const Endpoint& at, const nlohmann::json& request) {
  RAIN_ASSIGN_OR_RETURN(nlohmann::json answer,
                        ControlRequest(at.socket, request, milliseconds(t.timeout_ms)));
  RAIN_RETURN_IF_ERROR(AnswerStatus(answer));
  return answer;
}

std::string NodeLabel(const Endpoint& at) {
  return at.node != 0 ? "node " + std::to_string(at.node) : at.socket;
}

void PrintJson(nlohmann::json answer, const Endpoint& at) {
  if (at.node != 0) answer["node"] = at.node;
  std::printf("%s\n", answer.dump().c_str());
}

// Parses an id argument; a bad one is a usage error (exit 2).
std::optional<uint64_t> IdOrFail(const Target& t, const std::string& text, const char* what) {
  Result<uint64_t> id = ParseItemId(text);
  if (!id.ok()) {
    Fail(t, id.status(), what, 0, /*usage=*/true);
    return std::nullopt;
  }
  return *id;
}

void AddLs(CLI::App& data) {
  struct Flags {
    Target target;
    std::string after;
    uint64_t limit = 0;  // 0: everything
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = data.add_subcommand(
      "ls",
      "List items: id, kind, size, version, lock holder; says when the node's copy may be "
      "stale (its GDM is not active)");
  cmd->add_option("--after", f->after, "Only items with a larger id");
  cmd->add_option("--limit", f->limit, "At most this many items (default: all, fetched in pages)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  AddTargetOptions(cmd, &f->target);
  cmd->callback([f] {
    const Target& t = f->target;
    uint64_t cursor = 0;
    bool from_cursor = false;
    if (!f->after.empty()) {
      auto id = IdOrFail(t, f->after, "ls --after");
      if (!id) return;
      cursor = *id;
      from_cursor = true;
    }
    Result<Endpoint> at = PickNode(t);
    if (!at.ok()) return FailPick(t, at.status(), "ls");
    nlohmann::json items = nlohmann::json::array();
    nlohmann::json last;
    bool more = true;
    while (more && (f->limit == 0 || items.size() < f->limit)) {
      uint64_t page = f->limit == 0 ? kLsPageItems
                                    : std::min<uint64_t>(kLsPageItemsMax, f->limit - items.size());
      nlohmann::json request = {{"cmd", "data_ls"}, {"limit", page}};
      if (from_cursor) request["after"] = cursor;
      Result<nlohmann::json> answer = Ask(t, *at, request);
      if (!answer.ok()) return Fail(t, answer.status(), "ls on " + NodeLabel(*at), at->node);
      last = *answer;
      const nlohmann::json& got = last.value("items", nlohmann::json::array());
      for (const nlohmann::json& item : got) items.push_back(item);
      more = last.value("more", false) && !got.empty();
      if (!got.empty()) {
        cursor = got.back().value("id", uint64_t{0});
        from_cursor = true;
      }
    }
    const std::string stale = StaleNote(at->node, last);
    if (t.json) {
      nlohmann::json out = {{"ok", true},
                            {"stale", last.value("stale", false)},
                            {"mode", last.value("mode", std::string())},
                            {"index", last.value("index", uint64_t{0})},
                            {"items", items},
                            {"more", more}};
      PrintJson(std::move(out), *at);
      return;
    }
    std::fputs(FormatDataTable(items).c_str(), stdout);
    std::printf("%zu item%s from %s (GDM %s, index %llu)%s\n", items.size(),
                items.size() == 1 ? "" : "s", NodeLabel(*at).c_str(),
                last.value("mode", std::string("?")).c_str(),
                static_cast<unsigned long long>(last.value("index", uint64_t{0})),
                more ? "; more after the last (raise --limit or use --after)" : "");
    if (!stale.empty()) std::fprintf(stderr, "note: %s\n", stale.c_str());
  });
}

void AddGet(CLI::App& data) {
  struct Flags {
    Target target;
    std::string id;
    std::optional<uint64_t> offset;
    std::optional<uint64_t> length;
    std::string out;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = data.add_subcommand(
      "get", "Print an item's bytes (raw, to stdout or --out FILE; --json: base64 in value_b64)");
  cmd->add_option("ID", f->id, "The item id")->required();
  cmd->add_option("--offset", f->offset, "First byte to read (default 0)");
  cmd->add_option("--length", f->length, "Bytes to read (default: to the end; clamped)");
  cmd->add_option("--out", f->out, "Write the bytes to this file instead of stdout");
  AddTargetOptions(cmd, &f->target);
  cmd->callback([f] {
    const Target& t = f->target;
    auto id = IdOrFail(t, f->id, "get");
    if (!id) return;
    Result<Endpoint> at = PickNode(t);
    if (!at.ok()) return FailPick(t, at.status(), "get " + f->id);
    nlohmann::json request = {{"cmd", "data_get"}, {"id", *id}};
    if (f->offset) request["offset"] = *f->offset;
    if (f->length) request["length"] = *f->length;
    const std::string what = "get " + f->id + " on " + NodeLabel(*at);
    Result<nlohmann::json> answer = Ask(t, *at, request);
    if (!answer.ok()) return Fail(t, answer.status(), what, at->node);
    const std::string stale = StaleNote(at->node, *answer);
    if (!stale.empty()) std::fprintf(stderr, "note: %s\n", stale.c_str());
    if (t.json && f->out.empty()) return PrintJson(*answer, *at);
    Result<std::vector<uint8_t>> bytes = Base64Decode(answer->value("value_b64", std::string()));
    if (!bytes.ok()) {
      return Fail(t, CorruptionError("the daemon's value_b64: " + bytes.status().message()), what,
                  at->node);
    }
    if (!f->out.empty()) {
      std::ofstream file(f->out, std::ios::binary | std::ios::trunc);
      file.write(reinterpret_cast<const char*>(bytes->data()),
                 static_cast<std::streamsize>(bytes->size()));
      file.close();
      if (!file) return Fail(t, IoError("writing " + f->out, errno), what, at->node);
      if (t.json) {
        nlohmann::json out = *answer;
        out.erase("value_b64");
        out["out"] = f->out;
        PrintJson(std::move(out), *at);
      }
      return;
    }
    if (!bytes->empty() && std::fwrite(bytes->data(), 1, bytes->size(), stdout) != bytes->size()) {
      return Fail(t, IoError("writing stdout", errno), what, at->node);
    }
    std::fflush(stdout);
  });
}

// Reads at most kValueBytesMax + 1 bytes from `in`, so an oversized input is detected without
// reading it all.
Result<std::string> ReadValue(std::FILE* in, const std::string& name) {
  std::string value;
  char chunk[64 << 10];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, in)) > 0) {
    value.append(chunk, n);
    if (value.size() > kValueBytesMax) {
      return InvalidArgumentError(name + " is larger than " + std::to_string(kValueBytesMax) +
                                  " bytes, the largest value a request can carry");
    }
  }
  if (std::ferror(in)) return IoError("reading " + name, errno);
  return value;
}

Result<std::string> ValueFromSource(const std::optional<std::string>& literal,
                                    const std::string& file, bool from_stdin) {
  int sources = (literal ? 1 : 0) + (file.empty() ? 0 : 1) + (from_stdin ? 1 : 0);
  if (sources != 1) {
    return InvalidArgumentError("give the value exactly once: VALUE, --file F or --stdin");
  }
  if (literal) {
    if (literal->size() > kValueBytesMax) return InvalidArgumentError("VALUE is too large");
    return *literal;
  }
  if (from_stdin) return ReadValue(stdin, "stdin");
  std::FILE* in = std::fopen(file.c_str(), "rb");
  if (in == nullptr) return IoError("opening " + file, errno);
  Result<std::string> value = ReadValue(in, file);
  std::fclose(in);
  return value;
}

void AddSet(CLI::App& data) {
  struct Flags {
    Target target;
    std::string id;
    std::optional<std::string> value;
    std::string file;
    bool from_stdin = false;
    std::optional<uint64_t> offset;
    std::optional<uint64_t> fence;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = data.add_subcommand(
      "set",
      "Create or overwrite an item (or write at --offset) and wait until the change is durable on "
      "every member; prints the id, its version and the commit time");
  cmd->add_option("ID", f->id, "The item id; 0 allocates a new id (printed)")->required();
  CLI::Option* value = cmd->add_option("VALUE", f->value, "The value, as given on the line");
  CLI::Option* file =
      cmd->add_option("--file", f->file, "Read the value from this file")->excludes(value);
  cmd->add_flag("--stdin", f->from_stdin, "Read the value from stdin")
      ->excludes(value)
      ->excludes(file);
  cmd->add_option("--offset", f->offset,
                  "Write at this offset (<= the item's size; the value grows as needed)");
  cmd->add_option("--fence", f->fence,
                  "The election epoch the write acts under; refused if stale (see rain status)");
  AddTargetOptions(cmd, &f->target);
  cmd->callback([f] {
    const Target& t = f->target;
    auto id = IdOrFail(t, f->id, "set");
    if (!id) return;
    Result<std::string> bytes = ValueFromSource(f->value, f->file, f->from_stdin);
    if (!bytes.ok()) {
      return Fail(t, bytes.status(), "set " + f->id, 0,
                  bytes.status().code() == StatusCode::kInvalidArgument);
    }
    Result<Endpoint> at = PickNode(t);
    if (!at.ok()) return FailPick(t, at.status(), "set " + f->id);
    nlohmann::json request = {
        {"cmd", "data_set"}, {"id", *id}, {"value_b64", Base64Encode(std::string_view(*bytes))}};
    if (f->offset) request["offset"] = *f->offset;
    if (f->fence) request["fence"] = *f->fence;
    Result<nlohmann::json> answer = Ask(t, *at, request);
    if (!answer.ok()) {
      return Fail(t, answer.status(), "set " + f->id + " on " + NodeLabel(*at), at->node);
    }
    if (t.json) return PrintJson(*answer, *at);
    std::printf("%s %s: version %llu, durable on every member after %.1f ms (%s)\n",
                answer->value("created", false) ? "created" : "wrote",
                FormatItemId(answer->value("id", *id)).c_str(),
                static_cast<unsigned long long>(answer->value("version", uint64_t{0})),
                static_cast<double>(answer->value("commit_us", uint64_t{0})) / 1e3,
                NodeLabel(*at).c_str());
  });
}

void AddRm(CLI::App& data) {
  struct Flags {
    Target target;
    std::string id;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = data.add_subcommand(
      "rm", "Delete an item and wait until the deletion is durable on every member");
  cmd->add_option("ID", f->id, "The item id")->required();
  AddTargetOptions(cmd, &f->target);
  cmd->callback([f] {
    const Target& t = f->target;
    auto id = IdOrFail(t, f->id, "rm");
    if (!id) return;
    Result<Endpoint> at = PickNode(t);
    if (!at.ok()) return FailPick(t, at.status(), "rm " + f->id);
    Result<nlohmann::json> answer = Ask(t, *at, {{"cmd", "data_rm"}, {"id", *id}});
    if (!answer.ok()) {
      return Fail(t, answer.status(), "rm " + f->id + " on " + NodeLabel(*at), at->node);
    }
    if (t.json) return PrintJson(*answer, *at);
    std::printf("removed %s (%s)\n", FormatItemId(*id).c_str(), NodeLabel(*at).c_str());
  });
}

}  // namespace

void AddDataCommand(CLI::App& app) {
  CLI::App* data = app.add_subcommand(
      "data",
      "The GDM's shared data items (docs/gdm.md): list, read, write and delete them through one "
      "node's control socket");
  data->require_subcommand(1);
  AddLs(*data);
  AddGet(*data);
  AddSet(*data);
  AddRm(*data);
}

}  // namespace rain::cli
