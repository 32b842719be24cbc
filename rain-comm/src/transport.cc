// Stub bodies; the implementation follows.
#include "rain/comm/transport.h"

namespace rain::comm {

class TransportImpl {
 public:
  explicit TransportImpl(TransportOptions o) : options(std::move(o)) {}
  TransportOptions options;
  TransportStats stats;
};

Result<Transport> Transport::Create(TransportOptions options) {
  return Transport(std::make_unique<TransportImpl>(std::move(options)));
}
Transport::Transport(std::unique_ptr<TransportImpl> impl) : impl_(std::move(impl)) {}
Transport::Transport(Transport&&) noexcept = default;
Transport& Transport::operator=(Transport&&) noexcept = default;
Transport::~Transport() = default;
const TransportOptions& Transport::options() const { return impl_->options; }
Status Transport::AddTarget(NodeId, const std::vector<Address>&) {
  return UnimplementedError("stub");
}
Status Transport::AddTarget(NodeId, const std::vector<Path>&) { return UnimplementedError("stub"); }
Status Transport::RegisterChannel(ChannelId, std::string) { return UnimplementedError("stub"); }
uint64_t Transport::LogicalTime() const { return 0; }
Result<MessageId> Transport::SendReliable(Instant, NodeId, ChannelId, std::vector<uint8_t>&&,
                                          Strategy) {
  return UnimplementedError("stub");
}
Result<MessageId> Transport::SendReliable(Instant, NodeId, ChannelId,
                                          std::shared_ptr<const std::vector<uint8_t>>, Strategy) {
  return UnimplementedError("stub");
}
Status Transport::SendUnreliable(Instant, NodeId, ChannelId, std::span<const uint8_t>) {
  return UnimplementedError("stub");
}
uint32_t Transport::UnreliableBytesMax(NodeId) const { return 0; }
void Transport::HandleDatagram(Instant, const Address&, const Address&, std::span<const uint8_t>) {}
void Transport::HandleTimeout(Instant) {}
std::optional<Transmit> Transport::PollTransmit(Instant) { return std::nullopt; }
std::optional<Instant> Transport::PollDeadline() const { return std::nullopt; }
std::optional<Event> Transport::PollEvent() { return std::nullopt; }
void Transport::Shutdown(Instant) {}
bool Transport::is_shut_down() const { return false; }
bool Transport::IsReachable(NodeId) const { return false; }
std::vector<LinkStatus> Transport::Links(NodeId) const { return {}; }
const TransportStats& Transport::stats() const { return impl_->stats; }

}  // namespace rain::comm
