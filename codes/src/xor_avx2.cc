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

// XOR of all sources over 256 bytes at offset i, dst folded in when accumulating. The eight
// accumulators are named, not an array: GCC at -O2 keeps an array of vectors on the stack.
template <bool kAccumulate>
inline void Block8(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t i) {
  const uint8_t* p = srcs[0] + i;
  __m256i a0 = Load(p), a1 = Load(p + 32), a2 = Load(p + 64), a3 = Load(p + 96);
  __m256i a4 = Load(p + 128), a5 = Load(p + 160), a6 = Load(p + 192), a7 = Load(p + 224);
  for (int s = 1; s < nsrc; ++s) {
    p = srcs[s] + i;
    a0 = _mm256_xor_si256(a0, Load(p));
    a1 = _mm256_xor_si256(a1, Load(p + 32));
    a2 = _mm256_xor_si256(a2, Load(p + 64));
    a3 = _mm256_xor_si256(a3, Load(p + 96));
    a4 = _mm256_xor_si256(a4, Load(p + 128));
    a5 = _mm256_xor_si256(a5, Load(p + 160));
    a6 = _mm256_xor_si256(a6, Load(p + 192));
    a7 = _mm256_xor_si256(a7, Load(p + 224));
  }
  uint8_t* d = dst + i;
  if constexpr (kAccumulate) {
    a0 = _mm256_xor_si256(a0, Load(d));
    a1 = _mm256_xor_si256(a1, Load(d + 32));
    a2 = _mm256_xor_si256(a2, Load(d + 64));
    a3 = _mm256_xor_si256(a3, Load(d + 96));
    a4 = _mm256_xor_si256(a4, Load(d + 128));
    a5 = _mm256_xor_si256(a5, Load(d + 160));
    a6 = _mm256_xor_si256(a6, Load(d + 192));
    a7 = _mm256_xor_si256(a7, Load(d + 224));
  }
  Store(d, a0);
  Store(d + 32, a1);
  Store(d + 64, a2);
  Store(d + 96, a3);
  Store(d + 128, a4);
  Store(d + 160, a5);
  Store(d + 192, a6);
  Store(d + 224, a7);
}

// One vector at offset i.
template <bool kAccumulate>
inline void Block1(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t i) {
  __m256i a = Load(srcs[0] + i);
  for (int s = 1; s < nsrc; ++s) a = _mm256_xor_si256(a, Load(srcs[s] + i));
  if constexpr (kAccumulate) a = _mm256_xor_si256(a, Load(dst + i));
  Store(dst + i, a);
}

template <bool kAccumulate>
void Xor(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  RAIN_CHECK(nsrc >= 1, "XOR needs at least one source");
  size_t i = 0;
  // Eight vectors per block hide load latency; 16 ymm registers leave room for the address math.
  for (; i + 256 <= len; i += 256) Block8<kAccumulate>(dst, srcs, nsrc, i);
  for (; i + 32 <= len; i += 32) Block1<kAccumulate>(dst, srcs, nsrc, i);
  XorScalarRange(dst, srcs, nsrc, i, len, kAccumulate);  // the tail
}

}  // namespace

void XorGenAvx2(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  Xor<false>(dst, srcs, nsrc, len);
}

void XorAccAvx2(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  Xor<true>(dst, srcs, nsrc, len);
}

void XorDeltaAvx2(uint8_t* data, const uint8_t* new_data, uint8_t* const* parities, int nparity,
                  size_t len) {
  RAIN_CHECK(nparity >= 0, "negative parity count");
  size_t i = 0;
  // Two vectors per step: the delta stays in registers while every parity is updated.
  for (; i + 64 <= len; i += 64) {
    const __m256i n0 = Load(new_data + i), n1 = Load(new_data + i + 32);
    const __m256i d0 = _mm256_xor_si256(Load(data + i), n0);
    const __m256i d1 = _mm256_xor_si256(Load(data + i + 32), n1);
    for (int p = 0; p < nparity; ++p) {
      uint8_t* q = parities[p] + i;
      Store(q, _mm256_xor_si256(Load(q), d0));
      Store(q + 32, _mm256_xor_si256(Load(q + 32), d1));
    }
    Store(data + i, n0);
    Store(data + i + 32, n1);
  }
  for (; i < len; ++i) {
    const uint8_t delta = data[i] ^ new_data[i];
    for (int p = 0; p < nparity; ++p) parities[p][i] ^= delta;
    data[i] = new_data[i];
  }
}

}  // namespace rain::codes::internal
