// The XOR kernels of every instruction set this CPU runs, against the scalar oracle: every
// length 0..4097, unaligned dst and sources, 1..32 sources, and guard bytes around dst.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "rain/codes/xor.h"
#include "rain/core/rng.h"

namespace rain::codes {
namespace {

constexpr size_t kMaxLen = 4097;
constexpr int kMaxSources = 32;
constexpr size_t kGuard = 64;
constexpr uint8_t kGuardByte = 0xA5;

std::vector<IsaPath> SupportedPaths() {
  std::vector<IsaPath> paths;
  for (IsaPath p : {IsaPath::kScalar, IsaPath::kAvx2, IsaPath::kAvx512}) {
    if (CpuSupports(p)) paths.push_back(p);
  }
  return paths;
}

// Forces a path for one scope and restores the previous one.
class ScopedPath {
 public:
  explicit ScopedPath(IsaPath path) : previous_(ActivePath()) { EXPECT_TRUE(ForcePath(path).ok()); }
  ~ScopedPath() { EXPECT_TRUE(ForcePath(previous_).ok()); }

 private:
  IsaPath previous_;
};

// Random sources (each at its own offset 0..63) and a dst with guard bytes on both sides.
class Buffers {
 public:
  explicit Buffers(Rng& rng) : sources_(kMaxSources), dst_(kGuard + kMaxLen + 64 + kGuard) {
    for (auto& s : sources_) {
      s.resize(kMaxLen + 64);
      rng.Fill(s);
    }
  }

  // Pointers to `nsrc` sources at the given offsets.
  std::vector<const uint8_t*> Sources(const std::vector<size_t>& offsets) const {
    std::vector<const uint8_t*> p;
    for (size_t i = 0; i < offsets.size(); ++i) p.push_back(sources_[i].data() + offsets[i]);
    return p;
  }
  // Sets every byte to the guard value, then fills [offset, offset+len) from `rng`; returns dst.
  uint8_t* Dst(size_t offset, size_t len, Rng& rng) {
    std::memset(dst_.data(), kGuardByte, dst_.size());
    uint8_t* dst = dst_.data() + kGuard + offset;
    rng.Fill(std::span<uint8_t>(dst, len));
    return dst;
  }
  const std::vector<uint8_t>& raw() const { return dst_; }

 private:
  std::vector<std::vector<uint8_t>> sources_;
  std::vector<uint8_t> dst_;
};

// Runs XorGen and XorAcc on the active path and on the scalar oracle; compares results and the
// guard bytes.
void CheckOne(Buffers& buffers, Rng& rng, size_t len, size_t dst_offset,
              const std::vector<size_t>& src_offsets) {
  SCOPED_TRACE("len=" + std::to_string(len) + " dst_offset=" + std::to_string(dst_offset) +
               " nsrc=" + std::to_string(src_offsets.size()));
  std::vector<const uint8_t*> srcs = buffers.Sources(src_offsets);
  int nsrc = static_cast<int>(srcs.size());
  for (bool accumulate : {false, true}) {
    SCOPED_TRACE(accumulate ? "XorAcc" : "XorGen");
    uint8_t* dst = buffers.Dst(dst_offset, len, rng);
    std::vector<uint8_t> expected(dst, dst + len);
    if (accumulate) {
      XorAccScalar(expected.data(), srcs.data(), nsrc, len);
      XorAcc(dst, srcs.data(), nsrc, len);
    } else {
      XorGenScalar(expected.data(), srcs.data(), nsrc, len);
      XorGen(dst, srcs.data(), nsrc, len);
    }
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), dst));
    // Nothing outside [dst, dst+len) changed.
    const std::vector<uint8_t>& raw = buffers.raw();
    const size_t begin = kGuard + dst_offset;
    auto not_guard = [](uint8_t b) { return b != kGuardByte; };
    auto before = std::find_if(raw.begin(), raw.begin() + static_cast<ptrdiff_t>(begin), not_guard);
    ASSERT_EQ(before - raw.begin(), static_cast<ptrdiff_t>(begin)) << "wrote before dst";
    auto after =
        std::find_if(raw.begin() + static_cast<ptrdiff_t>(begin + len), raw.end(), not_guard);
    ASSERT_EQ(after, raw.end()) << "wrote after dst+len";
  }
}

TEST(XorKernels, ScalarOracleMatchesByteDefinition) {
  const uint64_t seed = 7;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  std::vector<uint8_t> a(37), b(37), c(37), out(37, 0xFF);
  rng.Fill(a);
  rng.Fill(b);
  rng.Fill(c);
  const uint8_t* srcs[] = {a.data(), b.data(), c.data()};
  XorGenScalar(out.data(), srcs, 3, out.size());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], a[i] ^ b[i] ^ c[i]) << i;
  XorAccScalar(out.data(), srcs, 2, out.size());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], c[i]) << i;
}

TEST(XorKernels, EveryLengthOnEveryPath) {
  for (IsaPath path : SupportedPaths()) {
    SCOPED_TRACE(std::string(IsaPathName(path)));
    ScopedPath scoped(path);
    ASSERT_EQ(ActivePath(), path);
    const uint64_t seed = 1000 + static_cast<uint64_t>(path);
    SCOPED_TRACE("seed=" + std::to_string(seed));
    Rng rng(seed);
    Buffers buffers(rng);
    for (size_t len = 0; len <= kMaxLen; ++len) {
      // Source counts cycle through 1..32 and offsets through 0..63 as the length grows.
      std::vector<size_t> offsets(1 + len % kMaxSources);
      for (auto& o : offsets) o = rng.Below(64);
      CheckOne(buffers, rng, len, len % 64, offsets);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(XorKernels, EveryOffsetAndSourceCountOnEveryPath) {
  for (IsaPath path : SupportedPaths()) {
    SCOPED_TRACE(std::string(IsaPathName(path)));
    ScopedPath scoped(path);
    const uint64_t seed = 2000 + static_cast<uint64_t>(path);
    SCOPED_TRACE("seed=" + std::to_string(seed));
    Rng rng(seed);
    Buffers buffers(rng);
    for (size_t len :
         {size_t{0}, size_t{1}, size_t{31}, size_t{33}, size_t{255}, size_t{257}, size_t{300}}) {
      for (int nsrc = 1; nsrc <= kMaxSources; ++nsrc) {
        for (size_t offset = 0; offset < 64; ++offset) {
          std::vector<size_t> offsets(static_cast<size_t>(nsrc));
          for (size_t i = 0; i < offsets.size(); ++i) offsets[i] = (offset + 7 * i) % 64;
          CheckOne(buffers, rng, len, offset, offsets);
          if (HasFatalFailure()) return;
        }
      }
    }
  }
}

TEST(XorKernels, DstMayEqualASource) {
  for (IsaPath path : SupportedPaths()) {
    SCOPED_TRACE(std::string(IsaPathName(path)));
    ScopedPath scoped(path);
    Rng rng(3);
    std::vector<uint8_t> a(1000), b(1000);
    rng.Fill(a);
    rng.Fill(b);
    std::vector<uint8_t> expected(1000);
    for (size_t i = 0; i < a.size(); ++i) expected[i] = a[i] ^ b[i];
    const uint8_t* srcs[] = {a.data(), b.data()};
    XorGen(a.data(), srcs, 2, a.size());
    EXPECT_EQ(a, expected);
  }
}

// XorDelta against its definition, byte by byte: parity ^= old ^ new, then data = new.
TEST(XorKernels, DeltaUpdateEveryLengthOnEveryPath) {
  for (IsaPath path : SupportedPaths()) {
    SCOPED_TRACE(std::string(IsaPathName(path)));
    ScopedPath scoped(path);
    const uint64_t seed = 2000 + static_cast<uint64_t>(path);
    SCOPED_TRACE("seed=" + std::to_string(seed));
    Rng rng(seed);
    constexpr int kParities = 3;
    std::vector<uint8_t> data(kMaxLen + 64), fresh(kMaxLen + 64);
    std::vector<std::vector<uint8_t>> parity(kParities, std::vector<uint8_t>(kMaxLen + 64));
    for (size_t len = 0; len <= kMaxLen; ++len) {
      const size_t off = rng.Below(64);
      const int nparity = static_cast<int>(len % (kParities + 1));
      rng.Fill(data);
      rng.Fill(fresh);
      for (auto& q : parity) rng.Fill(q);
      std::vector<uint8_t> want_data = data;
      std::vector<std::vector<uint8_t>> want_parity = parity;
      for (size_t i = off; i < off + len; ++i) {
        for (int q = 0; q < nparity; ++q) want_parity[q][i] ^= data[i] ^ fresh[i];
        want_data[i] = fresh[i];
      }
      uint8_t* targets[kParities];
      for (int q = 0; q < kParities; ++q) targets[q] = parity[q].data() + off;
      XorDelta(data.data() + off, fresh.data() + off, targets, nparity, len);
      ASSERT_EQ(data, want_data) << "len " << len;
      for (int q = 0; q < kParities; ++q) ASSERT_EQ(parity[q], want_parity[q]) << "len " << len;
    }
  }
}

TEST(XorDispatch, ScalarAlwaysSupportedAndBestIsSupported) {
  EXPECT_TRUE(CpuSupports(IsaPath::kScalar));
  EXPECT_TRUE(CpuSupports(BestPath()));
}

TEST(XorDispatch, ForcePathRefusesWhatTheCpuLacks) {
  IsaPath before = ActivePath();
  for (IsaPath p : {IsaPath::kScalar, IsaPath::kAvx2, IsaPath::kAvx512}) {
    Status s = ForcePath(p);
    EXPECT_EQ(s.ok(), CpuSupports(p)) << IsaPathName(p);
    if (!s.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
      EXPECT_NE(s.message().find(std::string(IsaPathName(p))), std::string::npos);
    }
  }
  ASSERT_TRUE(ForcePath(before).ok());
  EXPECT_EQ(ActivePath(), before);
}

TEST(XorDispatch, ParsesPathNames) {
  for (IsaPath p : {IsaPath::kScalar, IsaPath::kAvx2, IsaPath::kAvx512}) {
    Result<IsaPath> parsed = ParseIsaPath(IsaPathName(p));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_EQ(ParseIsaPath("sse").status().code(), StatusCode::kInvalidArgument);
}

TEST(XorDispatch, EnvironmentChoosesOrFallsBackWithAWarning) {
  std::string warning;
  EXPECT_EQ(internal::ChoosePath(nullptr, &warning), BestPath());
  EXPECT_TRUE(warning.empty());
  EXPECT_EQ(internal::ChoosePath("scalar", &warning), IsaPath::kScalar);
  EXPECT_TRUE(warning.empty());
  EXPECT_EQ(internal::ChoosePath("neon", &warning), BestPath());
  EXPECT_NE(warning.find("neon"), std::string::npos);
  for (IsaPath p : {IsaPath::kAvx2, IsaPath::kAvx512}) {
    std::string name(IsaPathName(p));
    IsaPath chosen = internal::ChoosePath(name.c_str(), &warning);
    if (CpuSupports(p)) {
      EXPECT_EQ(chosen, p);
      EXPECT_TRUE(warning.empty());
    } else {
      EXPECT_EQ(chosen, BestPath());
      EXPECT_NE(warning.find("cannot run"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace rain::codes
