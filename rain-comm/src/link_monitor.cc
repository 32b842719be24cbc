#include "link_monitor.h"

#include <algorithm>

namespace rain::comm {

uint64_t LinkMonitor::OnPingDue(Instant now) {
  if (outstanding_ping_ != 0) {
    ++missed_;
    good_ = 0;
  }
  outstanding_ping_ = next_ping_id_++;
  outstanding_sent_ = now;
  return outstanding_ping_;
}

std::optional<Duration> LinkMonitor::OnPong(uint64_t ping_id, uint32_t remote_transitions,
                                            Instant now) {
  OnRemoteTransitions(remote_transitions);
  if (ping_id == 0 || ping_id != outstanding_ping_) return std::nullopt;
  outstanding_ping_ = 0;
  missed_ = 0;
  ++good_;
  return now - outstanding_sent_;
}

void LinkMonitor::OnRemoteTransitions(uint32_t remote_transitions) {
  // The rules keep the peer at most two transitions ahead; more is a protocol violation (or a
  // faulty peer) and is clamped, so one packet can never make us emit a flood of transitions.
  const uint32_t most = transitions_local_ + 2;
  transitions_remote_ = std::max(transitions_remote_, std::min(remote_transitions, most));
}

bool LinkMonitor::Evaluate() {
  if (transitions_local_ < transitions_remote_) {  // catch up with the peer
    ++transitions_local_;
    missed_ = 0;
    good_ = 0;
    return true;
  }
  if (up() && missed_ >= options_->link_down_pings_missed &&
      transitions_local_ <= transitions_remote_ + 1) {
    ++transitions_local_;
    good_ = 0;
    return true;
  }
  if (!up() && good_ >= options_->link_up_pings_good && transitions_local_ <= transitions_remote_) {
    ++transitions_local_;
    missed_ = 0;
    return true;
  }
  return false;
}

void LinkMonitor::Reset() {
  transitions_local_ = 0;
  transitions_remote_ = 0;
  outstanding_ping_ = 0;
  missed_ = 0;
  good_ = 0;
}

}  // namespace rain::comm
