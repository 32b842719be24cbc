#include "udp_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace rain::comm::driver_internal {

std::string SocketAddress::ToString() const {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (storage.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (storage.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "<unknown address family>";
}

Result<SocketAddress> ParseSocketAddress(const std::string& text) {
  SocketAddress out;
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return InvalidArgumentError("address '" + text + "' has no port");
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port > 65535) {
    return InvalidArgumentError("address '" + text + "': bad port");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out.storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a->sin6_addr) != 1) {
      return InvalidArgumentError("address '" + text + "': bad IPv6 host");
    }
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&out.storage);
  a->sin_family = AF_INET;
  a->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
    return InvalidArgumentError("address '" + text + "': bad IPv4 host");
  }
  out.length = sizeof(sockaddr_in);
  return out;
}

bool SameAddress(const SocketAddress& a, const SocketAddress& b) {
  if (a.storage.ss_family != b.storage.ss_family) return false;
  if (a.storage.ss_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage);
    auto* y = reinterpret_cast<const sockaddr_in*>(&b.storage);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a.storage.ss_family == AF_INET6) {
    auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    auto* y = reinterpret_cast<const sockaddr_in6*>(&b.storage);
    return x->sin6_port == y->sin6_port &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

SocketAddress ToSocketAddress(const Address& a) {
  SocketAddress out;
  if (a.family == Address::Family::kIpv4) {
    auto* s = reinterpret_cast<sockaddr_in*>(&out.storage);
    s->sin_family = AF_INET;
    s->sin_port = htons(a.port);
    std::memcpy(&s->sin_addr, a.ip.data(), 4);
    out.length = sizeof(sockaddr_in);
  } else if (a.family == Address::Family::kIpv6) {
    auto* s = reinterpret_cast<sockaddr_in6*>(&out.storage);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(a.port);
    std::memcpy(&s->sin6_addr, a.ip.data(), 16);
    out.length = sizeof(sockaddr_in6);
  }
  return out;
}

Address FromSocketAddress(const SocketAddress& s) {
  Address a;
  if (s.storage.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&s.storage);
    a.family = Address::Family::kIpv4;
    std::memcpy(a.ip.data(), &in->sin_addr, 4);
    a.port = ntohs(in->sin_port);
  } else if (s.storage.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&s.storage);
    a.family = Address::Family::kIpv6;
    std::memcpy(a.ip.data(), &in6->sin6_addr, 16);
    a.port = ntohs(in6->sin6_port);
  }
  return a;
}

ReceiveBatch::ReceiveBatch() : buffer_(new uint8_t[kBatchMax * kDatagramBytesMax]) {}

std::span<const uint8_t> ReceiveBatch::bytes(size_t i) const {
  return {buffer_.get() + i * kDatagramBytesMax, length_[i]};
}

Result<std::unique_ptr<UdpSocket>> UdpSocket::Bind(const SocketAddress& local,
                                                   const UdpSocketOptions& options) {
  int fd = ::socket(local.storage.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoError("socket()", errno);
  // FORCE variants need CAP_NET_ADMIN; without it the plain ones are capped by rmem_max.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &options.receive_buffer_bytes, sizeof(int)) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer_bytes, sizeof(int));
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &options.send_buffer_bytes, sizeof(int)) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &options.send_buffer_bytes, sizeof(int));
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local.storage), local.length) != 0) {
    int e = errno;
    ::close(fd);
    return IoError("bind(" + local.ToString() + ")", e);
  }
  SocketAddress bound;
  bound.length = sizeof(bound.storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound.storage), &bound.length) != 0) {
    int e = errno;
    ::close(fd);
    return IoError("getsockname", e);
  }
  return std::unique_ptr<UdpSocket>(new UdpSocket(fd, bound));
}

UdpSocket::~UdpSocket() { ::close(fd_); }

Result<size_t> UdpSocket::Receive(ReceiveBatch& batch) {
  std::array<mmsghdr, ReceiveBatch::kBatchMax> msgs{};
  std::array<iovec, ReceiveBatch::kBatchMax> iov{};
  for (size_t i = 0; i < ReceiveBatch::kBatchMax; ++i) {
    iov[i] = {batch.buffer_.get() + i * ReceiveBatch::kDatagramBytesMax,
              ReceiveBatch::kDatagramBytesMax};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &batch.from_[i].storage;
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  batch.count_ = 0;
  int n;
  // ICMP errors from earlier sends surface here (ECONNREFUSED on an unconnected socket is not
  // reported on Linux, but be tolerant): they are not fatal for a datagram socket. Reporting one
  // clears it, and datagrams may be queued behind it: read again (a few times at most), because
  // the driver's edge-triggered wait reports a non-empty socket only once (0 means empty).
  constexpr int kSocketErrorsSkippedMax = 4;
  for (int errors = 0;; ++errors) {
    do {
      n = ::recvmmsg(fd_, msgs.data(), ReceiveBatch::kBatchMax, MSG_DONTWAIT, nullptr);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) break;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) {
      if (errors < kSocketErrorsSkippedMax) continue;
      return IoError("recvmmsg on " + local_.ToString() + ": socket errors in a row", errno);
    }
    return IoError("recvmmsg on " + local_.ToString(), errno);
  }
  for (int i = 0; i < n; ++i) {
    batch.length_[i] = msgs[i].msg_len;
    batch.from_[i].length = msgs[i].msg_hdr.msg_namelen;
    // A truncated datagram cannot be a valid TM packet: report it as empty, the core drops it.
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) batch.length_[i] = 0;
  }
  batch.count_ = static_cast<size_t>(n);
  return batch.count_;
}

Result<size_t> UdpSocket::Send(std::span<const OutgoingDatagram> datagrams) {
  constexpr size_t kBatchMax = 64;
  size_t done = 0;
  while (done < datagrams.size()) {
    size_t n = std::min(kBatchMax, datagrams.size() - done);
    std::array<mmsghdr, kBatchMax> msgs{};
    std::array<iovec, kBatchMax> iov{};
    for (size_t i = 0; i < n; ++i) {
      const OutgoingDatagram& d = datagrams[done + i];
      iov[i] = {const_cast<uint8_t*>(d.bytes.data()), d.bytes.size()};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = const_cast<sockaddr_storage*>(&d.to.storage);
      msgs[i].msg_hdr.msg_namelen = d.to.length;
    }
    int sent;
    do {
      sent = ::sendmmsg(fd_, msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return done;
      // The first datagram was refused (no route, too big, interface down): skip it.
      ++send_errors_;
      ++done;
      continue;
    }
    done += static_cast<size_t>(sent);
  }
  return done;
}

}  // namespace rain::comm::driver_internal
