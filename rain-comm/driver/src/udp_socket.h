// A non-blocking UDP socket with batched receive and send (recvmmsg / sendmmsg), private to the
// TM driver. One per local address. Plain POSIX: the driver waits for readiness with epoll on
// fd() (edge-triggered) and calls these when the socket is ready.
//
// Why batches: on loopback a TM transfer is tens of thousands of datagrams per second; one
// syscall per datagram costs more than the copy. recvmmsg/sendmmsg move up to kBatchMax per call.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rain/comm/address.h"
#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::comm::driver_internal {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string ToString() const;  // "10.99.1.1:7000"
};

// Parses "a.b.c.d:port" or "[v6]:port".
Result<SocketAddress> ParseSocketAddress(const std::string& text);
bool SameAddress(const SocketAddress& a, const SocketAddress& b);
// The core names endpoints with comm::Address; only the driver knows sockaddr.
SocketAddress ToSocketAddress(const Address& a);
Address FromSocketAddress(const SocketAddress& s);

struct UdpSocketOptions {
  int receive_buffer_bytes = 8 << 20;  // SO_RCVBUF(FORCE): absorbs bursts of a sliding window
  int send_buffer_bytes = 8 << 20;
};

// Datagrams received by one ReceiveBatch call; views valid until the next call.
class ReceiveBatch {
 public:
  static constexpr size_t kBatchMax = 32;
  static constexpr size_t kDatagramBytesMax = 65536;

  ReceiveBatch();
  size_t size() const { return count_; }
  std::span<const uint8_t> bytes(size_t i) const;
  const SocketAddress& from(size_t i) const { return from_[i]; }

 private:
  friend class UdpSocket;
  std::unique_ptr<uint8_t[]> buffer_;  // kBatchMax * kDatagramBytesMax
  std::array<SocketAddress, kBatchMax> from_;
  std::array<size_t, kBatchMax> length_{};
  size_t count_ = 0;
};

struct OutgoingDatagram {
  SocketAddress to;
  std::vector<uint8_t> bytes;
};

class UdpSocket {
 public:
  static Result<std::unique_ptr<UdpSocket>> Bind(const SocketAddress& local,
                                                 const UdpSocketOptions& options);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  int fd() const { return fd_; }
  // The bound address (with the real port if 0 was asked for).
  const SocketAddress& local() const { return local_; }

  // Receives what is queued, up to kBatchMax, without blocking. 0 means nothing was waiting.
  Result<size_t> Receive(ReceiveBatch& batch);
  // Sends datagrams[0..] without blocking; returns how many left (a prefix). Datagrams the
  // kernel rejects outright (unreachable, too big) count as sent: UDP may drop anyway, and the
  // TM retransmits or tries another address.
  Result<size_t> Send(std::span<const OutgoingDatagram> datagrams);

  uint64_t send_errors() const { return send_errors_; }

 private:
  UdpSocket(int fd, SocketAddress local) : fd_(fd), local_(local) {}
  int fd_;
  SocketAddress local_;
  uint64_t send_errors_ = 0;
};

}  // namespace rain::comm::driver_internal
