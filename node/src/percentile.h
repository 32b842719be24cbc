// The q-quantile (0..1) of a sample of microsecond figures, by selection (the caller's copy is
// reordered). 0 for an empty sample. Shared by raind's load generators and the storage thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace rain::node {

inline uint32_t Percentile(std::vector<uint32_t> v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace rain::node
