// XorArray: forwards the Code interface to the engine; the one place X-code and B-code share.
#include "rain/codes/xor_array.h"

#include "rain/core/assert.h"
#include "xor_array_code.h"

namespace rain::codes {

XorArray::XorArray() = default;
XorArray::~XorArray() = default;

void XorArray::Init(std::string spec, int columns, int rows, int max_erasures,
                    std::vector<ParityGroup> groups) {
  RAIN_CHECK(engine_ == nullptr, "XorArray::Init called twice");
  engine_ = std::make_unique<XorArrayCode>(std::move(spec), columns, rows, max_erasures,
                                           std::move(groups));
  std::vector<bool> is_data;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < columns; ++c) is_data.push_back(engine_->Kind({r, c}) == CellKind::kData);
  }
  InitGeometry(columns, rows, max_erasures, is_data);
}

std::string XorArray::Spec() const { return engine_->Spec(); }

void XorArray::Encode(const StripeView& stripe) const { engine_->Encode(stripe); }

Status XorArray::Decode(const StripeView& stripe, std::span<const int> erased) const {
  return engine_->Decode(stripe, erased);
}

Status XorArray::DecodeCells(const StripeView& stripe, std::span<const int> erased,
                             std::span<const Cell> wanted) const {
  return engine_->DecodeCells(stripe, erased, wanted);
}

std::vector<Cell> XorArray::ParityCellsOf(Cell data) const { return engine_->ParityCellsOf(data); }

void XorArray::ApplyDelta(Cell parity, Cell data, const uint8_t* delta, uint8_t* parity_element,
                          size_t element_bytes) const {
  engine_->ApplyDelta(parity, data, delta, parity_element, element_bytes);
}

}  // namespace rain::codes
