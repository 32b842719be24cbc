// Address: an opaque network endpoint (IPv4 or IPv6 address plus UDP port) as a small value type.
//
// The Transport Manager core never touches sockets (DESIGN.md §3 rule 1): it names endpoints with
// Address values, and the driver (rain-comm/driver) maps them to sockets. A Path pairs the local
// address to send from with the remote address to send to; the link monitor watches each path
// (RAINCORE.md §2, consistent-history link monitor).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>

namespace rain::comm {

struct Address {
  enum class Family : uint8_t { kNone = 0, kIpv4 = 4, kIpv6 = 6 };

  Family family = Family::kNone;
  // Network byte order. IPv4 uses ip[0..3]; the rest stays zero.
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;  // host byte order

  static Address Ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);
  static Address Ipv4(std::array<uint8_t, 4> ip4, uint16_t port);
  static Address Ipv6(std::array<uint8_t, 16> ip6, uint16_t port);

  bool valid() const { return family != Family::kNone; }
  // 127.0.0.0/8 or ::1. Paths whose two ends are loopback use TransportOptions::
  // loopback_packet_bytes_max.
  bool IsLoopback() const;
  // "10.0.0.1:7000" or "[::1]:7000".
  std::string ToString() const;

  friend auto operator<=>(const Address&, const Address&) = default;
  friend bool operator==(const Address&, const Address&) = default;
};

struct AddressHash {
  size_t operator()(const Address& a) const;
};

// One way to reach a peer: send from `local` to `remote`. packet_bytes_max 0 means "the default
// for this kind of path" (TransportOptions::packet_bytes_max, or loopback_packet_bytes_max when
// both ends are loopback).
struct Path {
  Address local;
  Address remote;
  uint32_t packet_bytes_max = 0;

  friend bool operator==(const Path&, const Path&) = default;
};

}  // namespace rain::comm
