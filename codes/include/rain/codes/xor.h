// XOR kernels: the only arithmetic X-code and B-code need (research/CODES.md §1–2), and the inner
// loop of every encode, decode and delta update they run.
//
// Like ISA-L's xor_gen, one kernel computes dst = src0 ^ src1 ^ ... over any number of sources,
// loading each source once per vector and keeping the running XOR in registers. There is one
// implementation per instruction set (scalar, AVX2, AVX-512, each in its own file with its own
// compile flags); the fastest one the CPU runs is chosen once, at the first call, with cpuid
// (__builtin_cpu_supports). The environment variable RAIN_CODES_ISA=scalar|avx2|avx512 forces a
// path at that first call; a value this CPU cannot run prints an error to stderr and falls back to
// the best path. ForcePath switches paths at run time (tests, benchmarks).
//
// Every kernel takes any length (including 0) and any alignment of dst and sources, and handles
// the tail itself. The scalar kernels are always built and are the oracle in tests.
//
// Thread safety: the kernels are pure functions of their arguments; ForcePath may race with
// running kernels (each call uses one path throughout).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::codes {

enum class IsaPath { kScalar, kAvx2, kAvx512 };

// "scalar", "avx2", "avx512".
std::string_view IsaPathName(IsaPath path);
// Parses a name IsaPathName returns; InvalidArgument for anything else.
Result<IsaPath> ParseIsaPath(std::string_view name);

// Whether this CPU (and OS) can run `path`. kScalar always can.
bool CpuSupports(IsaPath path);
// The fastest path this CPU runs.
IsaPath BestPath();
// The path XorGen/XorAcc use now (chosen at the first call, see the header comment).
IsaPath ActivePath();
// Makes every later kernel call use `path`. FailedPrecondition, leaving the active path as it
// was, when the CPU cannot run it.
Status ForcePath(IsaPath path);

// dst = srcs[0] ^ srcs[1] ^ ... ^ srcs[nsrc-1], each `len` bytes. nsrc >= 1. dst may be equal
// to a source (every block is read before it is written) but must not partly overlap one.
void XorGen(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len);
// dst ^= srcs[0] ^ ... ^ srcs[nsrc-1]. nsrc >= 1; overlap rules as XorGen.
void XorAcc(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len);

// A delta update in one pass: every parities[i] ^= data ^ new_data, then data = new_data. This is
// the small write of an XOR code (each parity covering the element changes by the same delta),
// reading each buffer once instead of building the delta first. nparity >= 0; the buffers must
// not overlap.
void XorDelta(uint8_t* data, const uint8_t* new_data, uint8_t* const* parities, int nparity,
              size_t len);

// The reference kernels: portable C++, always built, the oracle in tests.
void XorGenScalar(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len);
void XorAccScalar(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len);
void XorDeltaScalar(uint8_t* data, const uint8_t* new_data, uint8_t* const* parities, int nparity,
                    size_t len);

namespace internal {

// One instruction set's kernels; the dispatcher picks one of these tables.
struct XorKernels {
  void (*gen)(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len);
  void (*acc)(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len);
  void (*delta)(uint8_t* data, const uint8_t* new_data, uint8_t* const* parities, int nparity,
                size_t len);
};

// Defined in xor_avx2.cc / xor_avx512.cc (built with their own -m flags); call them only when
// CpuSupports says so.
void XorGenAvx2(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len);
void XorAccAvx2(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len);
// Also the AVX-512 path's delta kernel: a delta update is bound by memory, not vector width.
void XorDeltaAvx2(uint8_t* data, const uint8_t* new_data, uint8_t* const* parities, int nparity,
                  size_t len);
void XorGenAvx512(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len);
void XorAccAvx512(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len);

// The scalar XOR over bytes [begin, len) of dst and every source: dst = XOR of the sources, or
// dst ^= it when `accumulate`. The scalar kernels are this over [0, len); the SIMD kernels call
// it for their tails.
void XorScalarRange(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t begin, size_t len,
                    bool accumulate);

// The path the first call picks given the value of RAIN_CODES_ISA (nullptr when unset). Sets
// `*warning` to a message for stderr when the value is unknown or the CPU cannot run it (then
// the result is BestPath()); leaves it empty otherwise. Exposed for tests.
IsaPath ChoosePath(const char* env_value, std::string* warning);

}  // namespace internal

}  // namespace rain::codes
