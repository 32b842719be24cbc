// X-code (research/CODES.md §1; Xu and Bruck, IEEE Trans. Inf. Theory 45(1), 1999): an MDS array
// code of prime length n with distance 3. The stripe is an n × n array; rows 0..n-3 of every
// column hold data and rows n-2 and n-1 hold the diagonal (P) and anti-diagonal (Q) parities, so
// no node is a parity node. Each data element is in exactly one P and one Q group, stored in two
// other columns: a small write updates exactly two parity elements (optimal update), and encoding
// costs 2 − 2/(n−2) XORs per data element (optimal encoding).
//
// XCode is a Code (see code.h for the contracts); all of its methods are const and thread-safe.
// It only lists its parity groups; XorArray (xor_array.h) runs them. ParityCellsOf returns
// {P cell, Q cell} for a data cell.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rain/codes/xor_array.h"
#include "rain/core/result.h"

namespace rain::codes {

class XCode final : public XorArray {
 public:
  static constexpr int kMinLength = 5;
  static constexpr int kMaxLength = 31;

  // Builds X-code of length n: n prime and 5 <= n <= 31. Anything else is InvalidArgument with a
  // message naming the accepted lengths (X-code is MDS only for prime n, CODES.md §1).
  static Result<std::unique_ptr<XCode>> Make(int n);
  ~XCode() override;

  int length() const { return columns(); }

 private:
  explicit XCode(int n);
};

}  // namespace rain::codes
