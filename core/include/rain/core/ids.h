// Identifiers shared by every layer.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace rain {

// A node of the cluster, as configured (1, 2, ...). A strong type so it cannot be mixed up with
// a column, a port or a count. 0 is never a valid node.
enum class NodeId : uint32_t {};

inline constexpr NodeId kNoNode{0};
inline uint32_t ToInt(NodeId id) { return static_cast<uint32_t>(id); }
inline std::string ToString(NodeId id) {
  // Appended rather than `"n" + std::to_string(...)`: g++ 12 at -O3 reports a false -Wrestrict
  // on that form (GCC PR 105651).
  std::string out = "n";
  out += std::to_string(ToInt(id));
  return out;
}

}  // namespace rain
