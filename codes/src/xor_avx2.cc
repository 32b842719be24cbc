// AVX2 XOR kernels (this file alone is built with -mavx2; the dispatcher in xor_kernels.cc calls
// it only when the CPU has AVX2). The model is ISA-L's xor_gen: per block, the running XOR of
// every source stays in registers and dst is stored once; loads are unaligned (as fast as aligned
// ones on current cores when they do not cross a line, and never wrong).
#include <immintrin.h>

#include <cstring>

#include "rain/codes/xor.h"
#include "rain/core/assert.h"

namespace rain::codes::internal {
namespace {

inline __m256i Load(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
inline void Store(uint8_t* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }

// XOR of all sources over kVectors × 32 bytes at offset i, with dst folded in for accumulate.
template <int kVectors, bool kAccumulate>
inline void Block(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t i) {
  __m256i acc[kVectors];
  for (int v = 0; v < kVectors; ++v) acc[v] = Load(srcs[0] + i + 32 * v);
  for (int s = 1; s < nsrc; ++s) {
    const uint8_t* p = srcs[s] + i;
    for (int v = 0; v < kVectors; ++v) acc[v] = _mm256_xor_si256(acc[v], Load(p + 32 * v));
  }
  if constexpr (kAccumulate) {
    for (int v = 0; v < kVectors; ++v) acc[v] = _mm256_xor_si256(acc[v], Load(dst + i + 32 * v));
  }
  for (int v = 0; v < kVectors; ++v) Store(dst + i + 32 * v, acc[v]);
}

// The last len % 32 bytes: 8 at a time, then single bytes.
template <bool kAccumulate>
void Tail(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t i, size_t len) {
  for (; i + 8 <= len; i += 8) {
    uint64_t x;
    std::memcpy(&x, srcs[0] + i, 8);
    for (int s = 1; s < nsrc; ++s) {
      uint64_t y;
      std::memcpy(&y, srcs[s] + i, 8);
      x ^= y;
    }
    if constexpr (kAccumulate) {
      uint64_t d;
      std::memcpy(&d, dst + i, 8);
      x ^= d;
    }
    std::memcpy(dst + i, &x, 8);
  }
  for (; i < len; ++i) {
    uint8_t x = srcs[0][i];
    for (int s = 1; s < nsrc; ++s) x ^= srcs[s][i];
    dst[i] = kAccumulate ? static_cast<uint8_t>(dst[i] ^ x) : x;
  }
}

template <bool kAccumulate>
void Xor(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  RAIN_CHECK(nsrc >= 1, "XOR needs at least one source");
  size_t i = 0;
  // Eight vectors per block hide load latency; 16 ymm registers leave room for the address math.
  for (; i + 256 <= len; i += 256) Block<8, kAccumulate>(dst, srcs, nsrc, i);
  for (; i + 32 <= len; i += 32) Block<1, kAccumulate>(dst, srcs, nsrc, i);
  Tail<kAccumulate>(dst, srcs, nsrc, i, len);
}

}  // namespace

void XorGenAvx2(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  Xor<false>(dst, srcs, nsrc, len);
}

void XorAccAvx2(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  Xor<true>(dst, srcs, nsrc, len);
}

}  // namespace rain::codes::internal
