// raind's configuration: the TOML file of docs/raind.md §2, parsed and validated into the options
// of every layer (TransportOptions, GcmConfig with RingOptions) plus the daemon's paths.
//
// Errors are InvalidArgument with one sentence that names the file, the field and what is wrong
// ("raind.toml: [[node]] #2 addresses[1]: \"127.0.0.1\" is not ip:port"), because a person reads
// them: `raind --check-config` and the rain CLI print them as they are. Unknown keys are errors
// (a typo must not silently fall back to a default). The key file is read here too: its
// permissions (no group/other access) and format (64 hex characters) are checked.
//
// raind's defaults for the Transport and the ring are chosen for failover on a LAN
// (docs/raind.md "Defaults and failure detection"); DefaultTransportOptions / DefaultRingOptions
// return them, and the [transport] / [membership] tables override single fields.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rain/comm/address.h"
#include "rain/comm/options.h"
#include "rain/comm/transport.h"
#include "rain/core/ids.h"
#include "rain/core/log.h"
#include "rain/core/result.h"
#include "rain/core/status.h"
#include "rain/membership/gcm.h"
#include "rain/membership/options.h"

namespace rain::node {

// Limits of the config file (named so that the errors can quote them).
inline constexpr size_t kClusterNameBytesMax = 64;
inline constexpr size_t kNodesMax = 1024;
inline constexpr uint32_t kNodeIdMax = 65535;
inline constexpr size_t kAddressesPerNodeMax = 8;

struct NodeEntry {
  NodeId id = kNoNode;
  std::vector<comm::Address> addresses;  // in order of preference; index = path
};

struct NodeConfig {
  std::string config_path;  // as given
  std::string cluster;
  std::string key_file;        // resolved against the config file's directory
  std::string data_dir;        // resolved
  std::string control_socket;  // resolved; default <data_dir>/control.sock
  LogLevel log_level = LogLevel::kInfo;
  NodeId self = kNoNode;
  std::vector<NodeEntry> nodes;  // sorted by id
  // Everything but `incarnation` (chosen at start, see stable_store.h): self, cluster id and key,
  // local addresses (this node's [[node]] addresses), the raind defaults and [transport].
  comm::TransportOptions transport;
  // self, eligible (every [[node]] id), cluster id, the raind defaults and [membership].
  membership::GcmConfig gcm;
};

// raind's defaults (docs/raind.md "Defaults and failure detection"); the library defaults
// (options.h of each module) are tuned for the simulator and benchmarks, these for failover.
comm::TransportOptions DefaultTransportOptions();
membership::RingOptions DefaultRingOptions();

// The cluster ids derived from the cluster name (FNV-1a 64; the TM's is the 64-bit hash folded
// to 32 bits), so that every node of one cluster computes the same ids from the same name.
uint64_t GcmClusterId(std::string_view cluster);
uint32_t TransportClusterId(std::string_view cluster);

// "127.0.0.1:17101" or "[::1]:17101" -> Address. InvalidArgument on anything else (port 0
// included: peers must be able to reach the address).
Result<comm::Address> ParseAddress(std::string_view text);

// Reads a key file: exactly 64 hex characters, optionally followed by one newline, mode without
// group/other bits. FailedPrecondition for the permissions, InvalidArgument for the format,
// NotFound / IoError when unreadable.
Result<std::array<uint8_t, 32>> ReadKeyFile(const std::string& path);

// Parses `text` as the config file `path` (used for error messages and as the base of relative
// paths). Reads the key file. Does not touch data_dir.
Result<NodeConfig> ParseConfig(std::string_view text, const std::string& path);
// Reads and parses the file at `path`.
Result<NodeConfig> LoadConfig(const std::string& path);

// The resolved configuration in TOML form (every option with its effective value), for
// `raind --check-config`. Never prints the key.
std::string DescribeConfig(const NodeConfig& config);

// Adds every other [[node]] as a Transport target: its i-th address is reached from this node's
// i-th address (docs/raind.md §2).
Status AddPeers(comm::Transport& transport, const NodeConfig& config);

}  // namespace rain::node
