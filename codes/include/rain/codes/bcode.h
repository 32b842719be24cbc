// B-code (research/CODES.md §2; Xu, Bohossian, Bruck, Wagner, IEEE Trans. Inf. Theory 45(6),
// 1999): a lowest-density MDS array code of distance 3 built from a perfect one-factorization of
// a complete graph, here Kotzig's GK_{p+1} for an odd prime p. Lengths p and p-1, so every
// cluster size 4, 5, 6, 7, 10, 11, 12, 13, ... has a distance-3 code without a parity node.
//
// Geometry (n = (p-1)/2 rows). Vertices are Z_p; data elements are the edges {u, w} of the
// complete graph on 1..p-1; parity P_v is the XOR of the data edges at v.
//  - Odd length p: column 0 holds the n edges {-t, t}, t = 1..n (all data); column k = 1..p-1
//    holds the edges {k-t, k+t}, t = 1..n, in order of t, except the one through vertex 0, and
//    P_k in its last row.
//  - Even length p-1: column 0 and its edges are dropped (so P_v lacks e_{v,-v}) and columns
//    1..p-1 become 0..p-2.
// Each data element is in exactly two parities (P_u and P_w), stored in two other columns.
//
// BCode is a Code (see code.h for the contracts); all of its methods are const and thread-safe.
// It only lists its parity groups; XorArray (xor_array.h) runs them. ParityCellsOf returns
// {P_u cell, P_w cell} for the data edge {u, w}, u < w.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rain/codes/xor_array.h"
#include "rain/core/result.h"

namespace rain::codes {

// What a B-code cell holds: the data edge {u, w} (u < w) or the parity P_u (w = -1).
struct BCodeElement {
  bool parity = false;
  int u = 0;
  int w = -1;
  friend bool operator==(const BCodeElement&, const BCodeElement&) = default;
};

class BCode final : public XorArray {
 public:
  static constexpr int kMaxLength = 31;

  // Builds B-code of length l: l = p or p-1 for an odd prime p >= 5, l <= 31. Anything else is
  // InvalidArgument with a message listing the accepted lengths.
  static Result<std::unique_ptr<BCode>> Make(int length);
  ~BCode() override;

  int length() const { return columns(); }
  // The odd prime p the code is built from (length p or p-1).
  int prime() const { return p_; }
  // The edge or parity stored in `cell` (inside the array).
  BCodeElement ElementAt(Cell cell) const;

 private:
  BCode(int length, int p);

  int p_;
  std::vector<BCodeElement> elements_;  // row-major
};

}  // namespace rain::codes
