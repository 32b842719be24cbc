#include "rain/comm/address.h"

#include <cstdio>

namespace rain::comm {

Address Address::Ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  return Ipv4(std::array<uint8_t, 4>{a, b, c, d}, port);
}

Address Address::Ipv4(std::array<uint8_t, 4> ip4, uint16_t port) {
  Address r;
  r.family = Family::kIpv4;
  for (int i = 0; i < 4; ++i) r.ip[i] = ip4[i];
  r.port = port;
  return r;
}

Address Address::Ipv6(std::array<uint8_t, 16> ip6, uint16_t port) {
  Address r;
  r.family = Family::kIpv6;
  r.ip = ip6;
  r.port = port;
  return r;
}

bool Address::IsLoopback() const {
  if (family == Family::kIpv4) return ip[0] == 127;
  if (family == Family::kIpv6) {
    for (int i = 0; i < 15; ++i) {
      if (ip[i] != 0) return false;
    }
    return ip[15] == 1;
  }
  return false;
}

std::string Address::ToString() const {
  char buf[64];
  if (family == Family::kIpv4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], port);
    return buf;
  }
  if (family == Family::kIpv6) {
    std::string s = "[";
    for (int i = 0; i < 16; i += 2) {
      if (i > 0) s += ':';
      std::snprintf(buf, sizeof buf, "%x", (ip[i] << 8) | ip[i + 1]);
      s += buf;
    }
    std::snprintf(buf, sizeof buf, "]:%u", port);
    return s + buf;
  }
  return "none";
}

size_t AddressHash::operator()(const Address& a) const {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  mix(static_cast<uint8_t>(a.family));
  for (uint8_t b : a.ip) mix(b);
  mix(static_cast<uint8_t>(a.port));
  mix(static_cast<uint8_t>(a.port >> 8));
  return static_cast<size_t>(h);
}

}  // namespace rain::comm
