// The scalar XOR kernels (the oracle) and the run-time dispatch between instruction sets, in the
// style of ISA-L's multibinary dispatch: the choice is made once and kept in one atomic pointer.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "rain/codes/xor.h"
#include "rain/core/assert.h"

namespace rain::codes {
namespace {

constexpr internal::XorKernels kScalarKernels = {&XorGenScalar, &XorAccScalar, &XorDeltaScalar};
constexpr internal::XorKernels kAvx2Kernels = {&internal::XorGenAvx2, &internal::XorAccAvx2,
                                               &internal::XorDeltaAvx2};
constexpr internal::XorKernels kAvx512Kernels = {&internal::XorGenAvx512, &internal::XorAccAvx512,
                                                 &internal::XorDeltaAvx2};

const internal::XorKernels* KernelsFor(IsaPath path) {
  switch (path) {
    case IsaPath::kScalar:
      return &kScalarKernels;
    case IsaPath::kAvx2:
      return &kAvx2Kernels;
    case IsaPath::kAvx512:
      return &kAvx512Kernels;
  }
  RAIN_CHECK(false, "unknown IsaPath");
  return nullptr;
}

std::atomic<IsaPath> active_path{IsaPath::kScalar};
std::atomic<const internal::XorKernels*> active_kernels{nullptr};

// Picks the path on first use; later calls only load the pointer.
const internal::XorKernels* Kernels() {
  const internal::XorKernels* k = active_kernels.load(std::memory_order_acquire);
  if (k != nullptr) [[likely]]
    return k;
  static const internal::XorKernels* const initial = [] {
    std::string warning;
    IsaPath path = internal::ChoosePath(std::getenv("RAIN_CODES_ISA"), &warning);
    if (!warning.empty()) std::fprintf(stderr, "rain codes: %s\n", warning.c_str());
    const internal::XorKernels* chosen = KernelsFor(path);
    // A ForcePath that ran first wins; otherwise publish the environment's choice.
    const internal::XorKernels* expected = nullptr;
    if (active_kernels.compare_exchange_strong(expected, chosen, std::memory_order_acq_rel)) {
      active_path.store(path, std::memory_order_release);
    }
    return chosen;
  }();
  (void)initial;
  return active_kernels.load(std::memory_order_acquire);
}

}  // namespace

std::string_view IsaPathName(IsaPath path) {
  switch (path) {
    case IsaPath::kScalar:
      return "scalar";
    case IsaPath::kAvx2:
      return "avx2";
    case IsaPath::kAvx512:
      return "avx512";
  }
  return "unknown";
}

Result<IsaPath> ParseIsaPath(std::string_view name) {
  for (IsaPath p : {IsaPath::kScalar, IsaPath::kAvx2, IsaPath::kAvx512}) {
    if (name == IsaPathName(p)) return p;
  }
  return InvalidArgumentError("unknown instruction-set path '" + std::string(name) +
                              "'; expected scalar, avx2 or avx512");
}

bool CpuSupports(IsaPath path) {
  switch (path) {
    case IsaPath::kScalar:
      return true;
    case IsaPath::kAvx2:
      return __builtin_cpu_supports("avx2");
    case IsaPath::kAvx512:
      // The AVX-512 kernels use byte-granular masks (BW) and 256-bit forms (VL).
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
  }
  return false;
}

IsaPath BestPath() {
  if (CpuSupports(IsaPath::kAvx512)) return IsaPath::kAvx512;
  if (CpuSupports(IsaPath::kAvx2)) return IsaPath::kAvx2;
  return IsaPath::kScalar;
}

IsaPath ActivePath() {
  Kernels();
  return active_path.load(std::memory_order_acquire);
}

Status ForcePath(IsaPath path) {
  if (!CpuSupports(path)) {
    return FailedPreconditionError("this CPU cannot run the " + std::string(IsaPathName(path)) +
                                   " XOR kernels");
  }
  Kernels();  // settle the first-use choice so it cannot overwrite this one later
  active_kernels.store(KernelsFor(path), std::memory_order_release);
  active_path.store(path, std::memory_order_release);
  return Status::Ok();
}

void XorGenScalar(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  internal::XorScalarRange(dst, srcs, nsrc, 0, len, false);
}

void XorAccScalar(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  internal::XorScalarRange(dst, srcs, nsrc, 0, len, true);
}

void XorDeltaScalar(uint8_t* data, const uint8_t* new_data, uint8_t* const* parities, int nparity,
                    size_t len) {
  RAIN_CHECK(nparity >= 0, "negative parity count");
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t old_word, new_word;
    std::memcpy(&old_word, data + i, 8);
    std::memcpy(&new_word, new_data + i, 8);
    const uint64_t delta = old_word ^ new_word;
    for (int p = 0; p < nparity; ++p) {
      uint64_t parity_word;
      std::memcpy(&parity_word, parities[p] + i, 8);
      parity_word ^= delta;
      std::memcpy(parities[p] + i, &parity_word, 8);
    }
    std::memcpy(data + i, &new_word, 8);
  }
  for (; i < len; ++i) {
    const uint8_t delta = data[i] ^ new_data[i];
    for (int p = 0; p < nparity; ++p) parities[p][i] ^= delta;
    data[i] = new_data[i];
  }
}

void XorDelta(uint8_t* data, const uint8_t* new_data, uint8_t* const* parities, int nparity,
              size_t len) {
  Kernels()->delta(data, new_data, parities, nparity, len);
}

void XorGen(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  Kernels()->gen(dst, srcs, nsrc, len);
}

void XorAcc(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t len) {
  Kernels()->acc(dst, srcs, nsrc, len);
}

namespace internal {

// Word at a time; memcpy keeps unaligned loads and stores defined behaviour.
void XorScalarRange(uint8_t* dst, const uint8_t* const* srcs, int nsrc, size_t begin, size_t len,
                    bool accumulate) {
  RAIN_CHECK(nsrc >= 1, "XOR needs at least one source");
  size_t i = begin;
  for (; i + 8 <= len; i += 8) {
    uint64_t x;
    std::memcpy(&x, srcs[0] + i, 8);
    for (int s = 1; s < nsrc; ++s) {
      uint64_t y;
      std::memcpy(&y, srcs[s] + i, 8);
      x ^= y;
    }
    if (accumulate) {
      uint64_t d;
      std::memcpy(&d, dst + i, 8);
      x ^= d;
    }
    std::memcpy(dst + i, &x, 8);
  }
  for (; i < len; ++i) {
    uint8_t x = srcs[0][i];
    for (int s = 1; s < nsrc; ++s) x ^= srcs[s][i];
    dst[i] = accumulate ? static_cast<uint8_t>(dst[i] ^ x) : x;
  }
}

IsaPath ChoosePath(const char* env_value, std::string* warning) {
  warning->clear();
  IsaPath best = BestPath();
  if (env_value == nullptr || *env_value == '\0') return best;
  Result<IsaPath> wanted = ParseIsaPath(env_value);
  if (!wanted.ok()) {
    *warning = "RAIN_CODES_ISA: " + wanted.status().message() + "; using " +
               std::string(IsaPathName(best));
    return best;
  }
  if (!CpuSupports(*wanted)) {
    *warning = "RAIN_CODES_ISA=" + std::string(env_value) + ": this CPU cannot run it; using " +
               std::string(IsaPathName(best));
    return best;
  }
  return *wanted;
}

}  // namespace internal

}  // namespace rain::codes
