// Views, ids, ballots and options (include/rain/membership/view.h, options.h).
#include <algorithm>

#include "rain/membership/options.h"
#include "rain/membership/view.h"

namespace rain::membership {

bool View::Contains(NodeId n) const {
  return std::find(members.begin(), members.end(), n) != members.end();
}

std::string ToString(const Ballot& b) {
  return "b" + std::to_string(b.epoch) + "." + std::to_string(ToInt(b.node));
}

std::string ToString(const ViewId& v) {
  return "v" + std::to_string(v.epoch) + "." + std::to_string(ToInt(v.ringer)) + "." +
         std::to_string(v.seq) + "." + std::to_string(ToInt(v.creator));
}

std::string ToString(const View& v) {
  std::string s = ToString(v.id) + (v.primary ? " primary {" : " non-primary {");
  for (size_t i = 0; i < v.members.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(ToInt(v.members[i]));
  }
  return s + "} prev=" + ToString(v.prev_primary);
}

bool HoldsMajority(const std::vector<NodeId>& members, const std::vector<NodeId>& eligible) {
  size_t in = 0;
  for (NodeId m : members) {
    if (std::find(eligible.begin(), eligible.end(), m) != eligible.end()) ++in;
  }
  return 2 * in > eligible.size();
}

Status RingOptions::Validate() const {
  if (idle_token_hold < Duration(0)) return InvalidArgumentError("idle_token_hold < 0");
  if (token_loss_base <= Duration(0)) return InvalidArgumentError("token_loss_base must be > 0");
  if (call911_retry_min > call911_retry_max)
    return InvalidArgumentError("call911_retry_min > call911_retry_max");
  if (max_messages_per_visit == 0 || window_messages == 0 || max_bytes_per_visit == 0)
    return InvalidArgumentError("multicast limits must be > 0");
  if (max_message_bytes > max_bytes_per_visit)
    return InvalidArgumentError("max_message_bytes > max_bytes_per_visit");
  if (max_members == 0 || max_members > 1024)
    return InvalidArgumentError("max_members must be in [1, 1024]");
  if (busy_token_hold < Duration(0) || busy_token_hold > idle_token_hold)
    return InvalidArgumentError("busy_token_hold must be in [0, idle_token_hold]");
  if (token_loss_base <= idle_token_hold * 4)
    return InvalidArgumentError("token_loss_base must be well above idle_token_hold");
  if (pass_keepalive_interval <= Duration(0) || pass_keepalive_interval * 2 > token_loss_base)
    return InvalidArgumentError("pass_keepalive_interval must be in (0, token_loss_base / 2]");
  return Status::Ok();
}

Duration TokenLossTimeout(const RingOptions& o, size_t ring_size) {
  return o.token_loss_base + o.token_loss_per_node * static_cast<int64_t>(ring_size) +
         o.idle_token_hold * static_cast<int64_t>(ring_size);
}

}  // namespace rain::membership
