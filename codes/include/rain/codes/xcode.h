// X-code (research/CODES.md §1; Xu and Bruck, IEEE Trans. Inf. Theory 45(1), 1999): an MDS array
// code of prime length n with distance 3. The stripe is an n × n array; rows 0..n-3 of every
// column hold data and rows n-2 and n-1 hold the diagonal (P) and anti-diagonal (Q) parities, so
// no node is a parity node. Each data element is in exactly one P and one Q group, stored in two
// other columns: a small write updates exactly two parity elements (optimal update), and encoding
// costs 2 − 2/(n−2) XORs per data element (optimal encoding).
//
// XCode is a Code (see code.h for the contracts); all of its methods are const and thread-safe.
// The work is done by the generic XOR array-code engine (codes/src/xor_array_code.h), so encode,
// decode and delta updates run the SIMD XOR kernels of xor.h over cached peeling schedules.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rain/codes/code.h"
#include "rain/core/result.h"

namespace rain::codes {

class XorArrayCode;

class XCode final : public Code {
 public:
  static constexpr int kMinLength = 5;
  static constexpr int kMaxLength = 31;

  // Builds X-code of length n: n prime and 5 <= n <= 31. Anything else is InvalidArgument with a
  // message naming the accepted lengths (X-code is MDS only for prime n, CODES.md §1).
  static Result<std::unique_ptr<XCode>> Make(int n);
  ~XCode() override;

  // "xcode:N".
  std::string Spec() const override;
  int length() const { return columns(); }

  void Encode(const StripeView& stripe) const override;
  Status Decode(const StripeView& stripe, std::span<const int> erased) const override;
  Status DecodeCells(const StripeView& stripe, std::span<const int> erased,
                     std::span<const Cell> wanted) const override;
  // {P cell, Q cell} for a data cell; empty for a parity cell or a cell outside the array.
  std::vector<Cell> ParityCellsOf(Cell data) const override;
  void ApplyDelta(Cell parity, Cell data, const uint8_t* delta, uint8_t* parity_element,
                  size_t element_bytes) const override;
  bool XorOnly() const override { return true; }

 private:
  explicit XCode(int n);

  std::unique_ptr<const XorArrayCode> engine_;
};

}  // namespace rain::codes
