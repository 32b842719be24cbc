// Fuzzes the GCM wire decoder (rain/membership/wire.h, docs/membership.md "Wire format").
// Properties: no crash or sanitizer report on any input, and every message the decoder accepts
// survives a round trip: Decode(Encode(m)) == m.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "rain/membership/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr uint64_t kCluster = 42;
  auto decoded = rain::membership::Decode(std::span<const uint8_t>(data, size), kCluster);
  if (!decoded.ok()) return 0;
  auto again = rain::membership::Decode(rain::membership::Encode(*decoded, kCluster), kCluster);
  if (!again.ok() || !(*again == *decoded)) std::abort();
  return 0;
}
