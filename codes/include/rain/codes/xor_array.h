// XorArray: the public face of the XOR array-code engine (codes/src/xor_array_code.h), shared by
// the codes that are built from parity groups of XORs: X-code (xcode.h) and B-code (bcode.h).
//
// A subclass only describes its geometry and parity groups (Init); encode, decode, partial decode
// and delta updates all run the engine's cached peeling schedules over the SIMD kernels of xor.h.
// All methods are const and thread-safe once constructed (see code.h for the contracts).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rain/codes/code.h"

namespace rain::codes {

class XorArrayCode;
struct ParityGroup;

class XorArray : public Code {
 public:
  ~XorArray() override;

  // The spec given to Init, e.g. "xcode:7".
  std::string Spec() const override;
  void Encode(const StripeView& stripe) const override;
  Status Decode(const StripeView& stripe, std::span<const int> erased) const override;
  Status DecodeCells(const StripeView& stripe, std::span<const int> erased,
                     std::span<const Cell> wanted) const override;
  // The parity cells whose groups hold `data`, in group order; empty for a parity cell or a cell
  // outside the array.
  std::vector<Cell> ParityCellsOf(Cell data) const override;
  void ApplyDelta(Cell parity, Cell data, const uint8_t* delta, uint8_t* parity_element,
                  size_t element_bytes) const override;
  bool XorOnly() const final { return true; }

 protected:
  XorArray();
  // Called once from the subclass constructor: builds the engine (which checks that the groups
  // cover the array and that every pattern of up to `max_erasures` columns can be peeled) and the
  // Code geometry from it.
  void Init(std::string spec, int columns, int rows, int max_erasures,
            std::vector<ParityGroup> groups);

 private:
  std::unique_ptr<const XorArrayCode> engine_;
};

}  // namespace rain::codes
