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
inline std::string ToString(NodeId id) { return "n" + std::to_string(ToInt(id)); }

}  // namespace rain
