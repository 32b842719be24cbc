// AVX-512 XOR kernels (this file alone is built with -mavx512f/bw/vl; the dispatcher calls it only
// when the CPU has all three). It mirrors xor_avx2.cc with 64-byte vectors and the same scalar
// tail, so that the logic tested on AVX2 machines is the logic that runs here.
#include <immintrin.h>

#include <cstring>

#include "rain/codes/xor.h"
#include "rain/core/assert.h"

namespace rain::codes::internal {
namespace {

inline __m512i Load(const uint8_t* p) { return _mm512_loadu_si512(p); }
inline void Store(uint8_t* p, __m512i v) { _mm512_storeu_si512(p, v); }

// Four named accumulators (GCC keeps an array of vectors on the stack), 256 bytes per block.
template <bool kAccumulate>
inline void Block4(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t i) {
  const uint8_t* p = srcs[0] + i;
  __m512i a0 = Load(p), a1 = Load(p + 64), a2 = Load(p + 128), a3 = Load(p + 192);
  for (int s = 1; s < nsrc; ++s) {
    p = srcs[s] + i;
    a0 = _mm512_xor_si512(a0, Load(p));
    a1 = _mm512_xor_si512(a1, Load(p + 64));
    a2 = _mm512_xor_si512(a2, Load(p + 128));
    a3 = _mm512_xor_si512(a3, Load(p + 192));
  }
  uint8_t* d = dst + i;
  if constexpr (kAccumulate) {
    a0 = _mm512_xor_si512(a0, Load(d));
    a1 = _mm512_xor_si512(a1, Load(d + 64));
    a2 = _mm512_xor_si512(a2, Load(d + 128));
    a3 = _mm512_xor_si512(a3, Load(d + 192));
  }
  Store(d, a0);
  Store(d + 64, a1);
  Store(d + 128, a2);
  Store(d + 192, a3);
}

template <bool kAccumulate>
inline void Block1(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t i) {
  __m512i a = Load(srcs[0] + i);
  for (int s = 1; s < nsrc; ++s) a = _mm512_xor_si512(a, Load(srcs[s] + i));
  if constexpr (kAccumulate) a = _mm512_xor_si512(a, Load(dst + i));
  Store(dst + i, a);
}

template <bool kAccumulate>
void Xor(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  RAIN_CHECK(nsrc >= 1, "XOR needs at least one source");
  size_t i = 0;
  for (; i + 256 <= len; i += 256) Block4<kAccumulate>(dst, srcs, nsrc, i);
  for (; i + 64 <= len; i += 64) Block1<kAccumulate>(dst, srcs, nsrc, i);
  XorScalarRange(dst, srcs, nsrc, i, len, kAccumulate);  // the tail
}

}  // namespace

void XorGenAvx512(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  Xor<false>(dst, srcs, nsrc, len);
}

void XorAccAvx512(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  Xor<true>(dst, srcs, nsrc, len);
}

}  // namespace rain::codes::internal
