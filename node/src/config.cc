// Parsing and validation of the raind config (docs/raind.md §2) with toml++. The option tables
// ([transport], [membership]) are driven by one table of fields each, so that parsing, the
// unknown-key check and --check-config's output cannot disagree about which keys exist.
#include "rain/node/config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <variant>

#include "rain/node/stack.h"

namespace rain::node {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// sockaddr_un::sun_path holds 108 bytes including the terminating NUL.
constexpr size_t kUnixSocketPathMax = 107;

static_assert(std::is_same_v<size_t, uint64_t>, "count fields assume an LP64 size_t");

// One option of [transport] or [membership]: "<name>_ms" keys are durations in milliseconds
// (integer or fractional), the others are counts.
template <typename O>
struct Field {
  std::string_view key;
  std::variant<Duration O::*, uint32_t O::*, uint64_t O::*> member;
};

const Field<comm::TransportOptions> kTransportFields[] = {
    {"rto_initial_ms", &comm::TransportOptions::rto_initial},
    {"rto_min_ms", &comm::TransportOptions::rto_min},
    {"rto_max_ms", &comm::TransportOptions::rto_max},
    {"transmissions_per_path_max", &comm::TransportOptions::transmissions_per_path_max},
    {"ack_delay_max_ms", &comm::TransportOptions::ack_delay_max},
    {"ping_interval_ms", &comm::TransportOptions::ping_interval},
    {"link_down_pings_missed", &comm::TransportOptions::link_down_pings_missed},
    {"link_up_pings_good", &comm::TransportOptions::link_up_pings_good},
    {"packet_bytes_max", &comm::TransportOptions::packet_bytes_max},
    {"loopback_packet_bytes_max", &comm::TransportOptions::loopback_packet_bytes_max},
    {"message_bytes_max", &comm::TransportOptions::message_bytes_max},
    {"send_queue_bytes_max", &comm::TransportOptions::send_queue_bytes_max},
    {"send_queue_messages_max", &comm::TransportOptions::send_queue_messages_max},
    {"recv_window_bytes", &comm::TransportOptions::recv_window_bytes},
};

const Field<membership::RingOptions> kRingFields[] = {
    {"token_loss_base_ms", &membership::RingOptions::token_loss_base},
    {"token_loss_per_node_ms", &membership::RingOptions::token_loss_per_node},
    {"idle_token_hold_ms", &membership::RingOptions::idle_token_hold},
    {"busy_hops_per_member", &membership::RingOptions::busy_hops_per_member},
    {"busy_token_hold_ms", &membership::RingOptions::busy_token_hold},
    {"pass_keepalive_interval_ms", &membership::RingOptions::pass_keepalive_interval},
    {"call911_reply_timeout_ms", &membership::RingOptions::call911_reply_timeout},
    {"call911_retry_min_ms", &membership::RingOptions::call911_retry_min},
    {"call911_retry_max_ms", &membership::RingOptions::call911_retry_max},
    {"join_retry_interval_ms", &membership::RingOptions::join_retry_interval},
    {"joiner_ttl_ms", &membership::RingOptions::joiner_ttl},
    {"merge_probe_interval_ms", &membership::RingOptions::merge_probe_interval},
    {"merge_backoff_ms", &membership::RingOptions::merge_backoff},
    {"recovery_timeout_ms", &membership::RingOptions::recovery_timeout},
    {"max_messages_per_visit", &membership::RingOptions::max_messages_per_visit},
    {"max_bytes_per_visit", &membership::RingOptions::max_bytes_per_visit},
    {"window_messages", &membership::RingOptions::window_messages},
    {"send_queue_messages_max", &membership::RingOptions::send_queue_messages_max},
    {"max_message_bytes", &membership::RingOptions::max_message_bytes},
    {"max_retransmit_requests", &membership::RingOptions::max_retransmit_requests},
};

// Builds "file: field: problem" errors.
class Errors {
 public:
  explicit Errors(std::string file) : file_(std::move(file)) {}
  Status Bad(std::string_view field, std::string_view problem) const {
    std::string m = file_;
    m += ": ";
    m += field;
    m += ": ";
    m += problem;
    return InvalidArgumentError(std::move(m));
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

std::string Quote(std::string_view s) {
  std::string out = "\"";
  out += s;
  out += "\"";
  return out;
}

template <typename O>
Status ParseFields(const toml::table* table, std::string_view table_name,
                   std::span<const Field<O>> fields, O& out, const Errors& err) {
  if (table == nullptr) return Status::Ok();
  for (const auto& [key, value] : *table) {
    std::string field = "[" + std::string(table_name) + "] " + std::string(key.str());
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const Field<O>& f) { return f.key == key.str(); });
    if (it == fields.end()) return err.Bad(field, "unknown key");
    if (auto* d = std::get_if<Duration O::*>(&it->member)) {
      std::optional<double> ms = value.template value<double>();
      if (!ms || !std::isfinite(*ms) || *ms < 0 || *ms > 3.6e6) {
        return err.Bad(field, "must be a number of milliseconds in [0, 3600000]");
      }
      out.*(*d) =
          std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(*ms));
      continue;
    }
    std::optional<int64_t> n = value.template value<int64_t>();
    if (!n || *n < 0 || !value.is_integer())
      return err.Bad(field, "must be a non-negative integer");
    if (auto* u32 = std::get_if<uint32_t O::*>(&it->member)) {
      if (static_cast<uint64_t>(*n) > std::numeric_limits<uint32_t>::max()) {
        return err.Bad(field, "must be at most 4294967295");
      }
      out.*(*u32) = static_cast<uint32_t>(*n);
    } else {
      out.*std::get<uint64_t O::*>(it->member) = static_cast<uint64_t>(*n);
    }
  }
  return Status::Ok();
}

template <typename O>
void DescribeFields(std::ostringstream& s, std::span<const Field<O>> fields, const O& o) {
  for (const Field<O>& f : fields) {
    s << f.key << " = ";
    if (auto* d = std::get_if<Duration O::*>(&f.member)) {
      s << std::chrono::duration<double, std::milli>(o.*(*d)).count();
    } else if (auto* u32 = std::get_if<uint32_t O::*>(&f.member)) {
      s << o.*(*u32);
    } else {
      s << o.*std::get<uint64_t O::*>(f.member);
    }
    s << "\n";
  }
}

Result<std::string> Str(const toml::table& t, std::string_view key, bool required,
                        const Errors& err) {
  const toml::node* n = t.get(key);
  if (n == nullptr) {
    if (required) return err.Bad(key, "missing (required)");
    return std::string();
  }
  std::optional<std::string> s = n->value<std::string>();
  if (!s || !n->is_string()) return err.Bad(key, "must be a string");
  return *s;
}

std::string Resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  if (path.is_relative()) path = base / path;
  return path.lexically_normal().string();
}

Result<NodeEntry> ParseNode(const toml::node& n, size_t index, const Errors& err) {
  std::string where = "[[node]] #" + std::to_string(index + 1);
  const toml::table* t = n.as_table();
  if (t == nullptr) return err.Bad(where, "must be a table");
  NodeEntry e;
  for (const auto& [key, value] : *t) {
    if (key.str() != "id" && key.str() != "addresses") {
      return err.Bad(where + " " + std::string(key.str()), "unknown key");
    }
  }
  const toml::node* id = t->get("id");
  if (id == nullptr) return err.Bad(where + " id", "missing (required)");
  std::optional<int64_t> v = id->value<int64_t>();
  if (!v || !id->is_integer() || *v < 1 || *v > kNodeIdMax) {
    return err.Bad(where + " id", "must be an integer in 1.." + std::to_string(kNodeIdMax));
  }
  e.id = NodeId{static_cast<uint32_t>(*v)};
  where = "[[node]] id = " + std::to_string(*v);
  const toml::array* a = t->get_as<toml::array>("addresses");
  if (a == nullptr) return err.Bad(where + " addresses", "missing, or not an array of \"ip:port\"");
  if (a->empty() || a->size() > kAddressesPerNodeMax) {
    return err.Bad(where + " addresses",
                   "must hold 1.." + std::to_string(kAddressesPerNodeMax) + " addresses");
  }
  for (size_t i = 0; i < a->size(); ++i) {
    std::string field = where + " addresses[" + std::to_string(i) + "]";
    std::optional<std::string> s = (*a)[i].value<std::string>();
    if (!s || !(*a)[i].is_string()) return err.Bad(field, "must be a string \"ip:port\"");
    Result<comm::Address> addr = ParseAddress(*s);
    if (!addr.ok()) return err.Bad(field, addr.status().message());
    if (std::find(e.addresses.begin(), e.addresses.end(), *addr) != e.addresses.end()) {
      return err.Bad(field, Quote(*s) + " is listed twice");
    }
    e.addresses.push_back(*addr);
  }
  return e;
}

Result<LogLevel> ParseLogLevel(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return InvalidArgumentError(Quote(s) + " is not one of debug, info, warn, error");
}

const char* LogLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool ValidClusterName(std::string_view s) {
  if (s.empty() || s.size() > kClusterNameBytesMax) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// Measured choices; docs/raind.md "Defaults and failure detection" has the reasoning and the
// figures (kill -9 of one of 5 -> last survivor's view, idle CPU, CPU-saturated idle runs).
comm::TransportOptions DefaultTransportOptions() {
  comm::TransportOptions o;
  // F, the time to report a send to a dead node failed, is T RTOs in a row on every path (the
  // token goes on both paths at once): 10 + 20 + 40 = 70 ms at rto_min on a quiet machine. On a
  // saturated one the RTT variance inflates the RTO, and rto_max = 80 lets it (F <= 3 x 80 =
  // 240 ms): a live node must stay silent that long to be removed. rto_max = 40 gave false
  // removals with the CPUs 8x oversubscribed (docs/raind.md).
  o.rto_min = std::chrono::milliseconds(10);
  o.rto_initial = std::chrono::milliseconds(80);
  o.rto_max = std::chrono::milliseconds(80);
  o.transmissions_per_path_max = 3;
  // Pings only keep the link monitor's history; the failure rule needs no pong. Fewer pings cut
  // idle CPU (a link is reported down after 3 missed pings = 0.75 s).
  o.ping_interval = std::chrono::milliseconds(250);
  return o;
}

membership::RingOptions DefaultRingOptions() {
  membership::RingOptions o;
  // Token visits dominate idle CPU (each is a few datagrams on two paths and several syscalls):
  // 10 ms per hop keeps a 5-node ring under 1 % CPU per node, at the price of waiting up to one
  // 50 ms rotation before the dead node's predecessor tries to pass.
  o.idle_token_hold = std::chrono::milliseconds(10);
  // While the I/O thread waits for a CPU much of the time (CpuContention), a busy token with
  // nothing to add waits up to 1 ms at each such holder instead of spinning: 5 local nodes on 2
  // CPUs, seed load, 15 s rows: CPU per node 32.3 -> 28.3 %, commit p99 15.4 -> 7.3 ms.
  // Unconditional holds cost 2 local nodes (uncontended) 2x the CPU and 1.5x the p99, hence
  // the host's verdict (docs/membership.md "Busy holds").
  o.busy_token_hold = std::chrono::milliseconds(1);
  // TokenLossTimeout(5) = 100 + 5 x (5 + 10) = 175 ms: an idle rotation (50 ms) plus 125 ms
  // for slow visits and descheduled holders. It no longer has to exceed F (up to 240 ms): a node
  // waiting for its pass's outcome sends TokenAlive every pass_keepalive_interval (20 ms), and
  // data messages of the view re-arm the timer too. A holder's death costs 175 ms + a 911
  // instead of 275 ms + a 911 (docs/membership.md §11). 60 ms (135 ms at n = 5) regenerated the
  // ring 5 times in 150 s with the CPUs saturated (`rain bench membership --soak 150 --cpu-hog`,
  // load 3-5); 100 ms: no view change in the same run.
  o.token_loss_base = std::chrono::milliseconds(100);
  o.token_loss_per_node = std::chrono::milliseconds(5);
  // A starved node regenerates with whoever answered its 911 in time: 15 ms let nodes of a
  // CPU-starved machine regenerate alone (singleton views); 50 ms costs only the rare
  // crashed-holder case.
  o.call911_reply_timeout = std::chrono::milliseconds(50);
  // A GDM item of exactly 1 MiB plus its commit header must fit one ordered multicast
  // (GdmItemBytesMax = max_message_bytes - kGdmCommitReserveBytes, rain/node/stack.h).
  o.max_message_bytes = (1u << 20) + kGdmCommitReserveBytes;
  // One rotation carries up to n x max_bytes_per_visit; with 4 MiB and every node sending,
  // 20 MiB per rotation at ~100 MB/s outlasted TokenLossTimeout(5) = 275 ms and the 16 KiB
  // all-senders flood changed the view (4 of 4 runs, load 7-9); 2 MiB: 0 of 3 (docs/raind.md §5).
  o.max_bytes_per_visit = 2u << 20;
  return o;
}

uint64_t GcmClusterId(std::string_view cluster) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : cluster) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

uint32_t TransportClusterId(std::string_view cluster) {
  uint64_t h = GcmClusterId(cluster);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

Result<comm::Address> ParseAddress(std::string_view text) {
  std::string s(text);
  std::string host;
  std::string port;
  bool v6 = !s.empty() && s.front() == '[';
  if (v6) {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return InvalidArgumentError(Quote(s) + " is not [ipv6]:port");
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos) return InvalidArgumentError(Quote(s) + " is not ip:port");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgumentError(Quote(s) + ": the port is not a number");
  }
  long p = std::stol(port);
  if (p < 1 || p > 65535) return InvalidArgumentError(Quote(s) + ": the port must be 1..65535");
  if (v6) {
    std::array<uint8_t, 16> ip{};
    if (inet_pton(AF_INET6, host.c_str(), ip.data()) != 1) {
      return InvalidArgumentError(Quote(s) + ": " + Quote(host) + " is not an IPv6 address");
    }
    return comm::Address::Ipv6(ip, static_cast<uint16_t>(p));
  }
  std::array<uint8_t, 4> ip{};
  if (inet_pton(AF_INET, host.c_str(), ip.data()) != 1) {
    return InvalidArgumentError(Quote(s) + ": " + Quote(host) + " is not an IPv4 address");
  }
  return comm::Address::Ipv4(ip, static_cast<uint16_t>(p));
}

Result<std::array<uint8_t, 32>> ReadKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFoundError("key file " + path + " does not exist");
    return IoError("key file " + path, errno);
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return FailedPreconditionError("key file " + path + " has mode " + mode +
                                   "; group and others must have no access (chmod 600)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("key file " + path, errno);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!text.empty() && text.back() == '\n') text.pop_back();
  std::array<uint8_t, 32> key{};
  if (text.size() != 2 * key.size()) {
    return InvalidArgumentError("key file " + path + " must hold 64 hexadecimal characters (" +
                                std::to_string(text.size()) + " found)");
  }
  for (size_t i = 0; i < key.size(); ++i) {
    int hi = HexDigit(text[2 * i]);
    int lo = HexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return InvalidArgumentError("key file " + path + " holds a non-hexadecimal character");
    }
    key[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return key;
}

Result<NodeConfig> ParseConfig(std::string_view text, const std::string& path) {
  Errors err(path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << "line " << e.source().begin.line << " column " << e.source().begin.column;
    return err.Bad(where.str(), std::string(e.description()));
  }
  static const std::set<std::string_view> kTopKeys = {"cluster",  "key_file",       "node_id",
                                                      "data_dir", "control_socket", "log_level",
                                                      "node",     "membership",     "transport"};
  for (const auto& [key, value] : root) {
    if (!kTopKeys.contains(key.str())) return err.Bad(key.str(), "unknown key");
  }

  NodeConfig c;
  c.config_path = path;
  fs::path base = fs::absolute(fs::path(path)).parent_path();

  RAIN_ASSIGN_OR_RETURN(c.cluster, Str(root, "cluster", true, err));
  if (!ValidClusterName(c.cluster)) {
    return err.Bad("cluster", Quote(c.cluster) + " must match [A-Za-z0-9_-]{1,64}");
  }
  RAIN_ASSIGN_OR_RETURN(std::string key_file, Str(root, "key_file", true, err));
  if (key_file.empty()) return err.Bad("key_file", "must not be empty");
  c.key_file = Resolve(base, key_file);
  RAIN_ASSIGN_OR_RETURN(std::string data_dir, Str(root, "data_dir", true, err));
  if (data_dir.empty()) return err.Bad("data_dir", "must not be empty");
  c.data_dir = Resolve(base, data_dir);
  RAIN_ASSIGN_OR_RETURN(std::string socket, Str(root, "control_socket", false, err));
  c.control_socket =
      socket.empty() ? (fs::path(c.data_dir) / "control.sock").string() : Resolve(base, socket);
  if (c.control_socket.size() > kUnixSocketPathMax) {
    return err.Bad("control_socket", Quote(c.control_socket) + " is longer than " +
                                         std::to_string(kUnixSocketPathMax) +
                                         " bytes (a Unix socket path limit)");
  }
  RAIN_ASSIGN_OR_RETURN(std::string level, Str(root, "log_level", false, err));
  if (!level.empty()) {
    Result<LogLevel> l = ParseLogLevel(level);
    if (!l.ok()) return err.Bad("log_level", l.status().message());
    c.log_level = *l;
  }

  const toml::node* self = root.get("node_id");
  if (self == nullptr) return err.Bad("node_id", "missing (required)");
  std::optional<int64_t> self_id = self->value<int64_t>();
  if (!self_id || !self->is_integer() || *self_id < 1 || *self_id > kNodeIdMax) {
    return err.Bad("node_id", "must be an integer in 1.." + std::to_string(kNodeIdMax));
  }
  c.self = NodeId{static_cast<uint32_t>(*self_id)};

  const toml::array* nodes = root.get_as<toml::array>("node");
  if (nodes == nullptr || nodes->empty()) {
    return err.Bad("[[node]]", "missing: list every eligible node as a [[node]] table");
  }
  if (nodes->size() > kNodesMax) {
    return err.Bad("[[node]]", "more than " + std::to_string(kNodesMax) + " nodes");
  }
  std::set<comm::Address> all_addresses;
  for (size_t i = 0; i < nodes->size(); ++i) {
    RAIN_ASSIGN_OR_RETURN(NodeEntry e, ParseNode((*nodes)[i], i, err));
    for (const NodeEntry& other : c.nodes) {
      if (other.id == e.id) {
        return err.Bad("[[node]] id = " + std::to_string(ToInt(e.id)), "the id is used twice");
      }
    }
    for (const comm::Address& a : e.addresses) {
      if (!all_addresses.insert(a).second) {
        return err.Bad("[[node]] id = " + std::to_string(ToInt(e.id)) + " addresses",
                       a.ToString() + " is used by two nodes");
      }
    }
    c.nodes.push_back(std::move(e));
  }
  std::sort(c.nodes.begin(), c.nodes.end(),
            [](const NodeEntry& a, const NodeEntry& b) { return a.id < b.id; });
  auto me = std::find_if(c.nodes.begin(), c.nodes.end(),
                         [&](const NodeEntry& e) { return e.id == c.self; });
  if (me == c.nodes.end()) {
    return err.Bad("node_id", std::to_string(*self_id) + " is not the id of any [[node]]");
  }

  c.transport = DefaultTransportOptions();
  RAIN_RETURN_IF_ERROR(ParseFields<comm::TransportOptions>(
      root.get_as<toml::table>("transport"), "transport", kTransportFields, c.transport, err));
  if (root.get("transport") != nullptr && !root.get("transport")->is_table()) {
    return err.Bad("transport", "must be a table");
  }
  c.gcm.options = DefaultRingOptions();
  RAIN_RETURN_IF_ERROR(ParseFields<membership::RingOptions>(
      root.get_as<toml::table>("membership"), "membership", kRingFields, c.gcm.options, err));
  if (root.get("membership") != nullptr && !root.get("membership")->is_table()) {
    return err.Bad("membership", "must be a table");
  }

  c.transport.self = c.self;
  c.transport.cluster_id = TransportClusterId(c.cluster);
  c.transport.local_addresses = me->addresses;
  c.gcm.self = c.self;
  c.gcm.cluster_id = GcmClusterId(c.cluster);
  for (const NodeEntry& e : c.nodes) c.gcm.eligible.push_back(e.id);

  if (Status s = c.gcm.options.Validate(); !s.ok()) return err.Bad("[membership]", s.message());
  if (GdmItemBytesMax(c.gcm.options) == 0) {
    return err.Bad("[membership]", "max_message_bytes must be larger than the GDM's " +
                                       std::to_string(kGdmCommitReserveBytes) +
                                       " bytes of commit header reserve");
  }
  comm::TransportOptions probe = c.transport;
  probe.incarnation = 1;  // chosen at start; any valid value checks the rest
  if (Status s = comm::Transport::Create(probe).status(); !s.ok()) {
    return err.Bad("[transport]", s.message());
  }

  Result<std::array<uint8_t, 32>> key = ReadKeyFile(c.key_file);
  if (!key.ok()) return err.Bad("key_file", key.status().message());
  c.transport.cluster_key = *key;
  return c;
}

Result<NodeConfig> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int e = errno;
    return InvalidArgumentError(path + ": cannot read the config file (" + std::strerror(e) + ")");
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseConfig(text, path);
}

std::string DescribeConfig(const NodeConfig& c) {
  std::ostringstream s;
  s << "# resolved from " << c.config_path << " (key not shown)\n"
    << "cluster = " << Quote(c.cluster) << "   # TM cluster id " << c.transport.cluster_id << "\n"
    << "key_file = " << Quote(c.key_file) << "\n"
    << "node_id = " << ToInt(c.self) << "\n"
    << "data_dir = " << Quote(c.data_dir) << "\n"
    << "control_socket = " << Quote(c.control_socket) << "\n"
    << "log_level = " << Quote(LogLevelName(c.log_level)) << "\n";
  for (const NodeEntry& e : c.nodes) {
    s << "\n[[node]]\nid = " << ToInt(e.id) << "\naddresses = [";
    for (size_t i = 0; i < e.addresses.size(); ++i) {
      s << (i ? ", " : "") << Quote(e.addresses[i].ToString());
    }
    s << "]\n";
  }
  s << "\n[membership]\n";
  DescribeFields<membership::RingOptions>(s, kRingFields, c.gcm.options);
  s << "\n[transport]\n";
  DescribeFields<comm::TransportOptions>(s, kTransportFields, c.transport);
  return s.str();
}

Status AddPeers(comm::Transport& transport, const NodeConfig& config) {
  for (const NodeEntry& e : config.nodes) {
    if (e.id == config.self) continue;
    RAIN_RETURN_IF_ERROR(transport.AddTarget(e.id, e.addresses)
                             .WithContext("adding node " + std::to_string(ToInt(e.id))));
  }
  return Status::Ok();
}

}  // namespace rain::node
