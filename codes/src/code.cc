// The parts of Code that every code shares: geometry, erasure checks, delta update and verify.
#include "rain/codes/code.h"

#include <algorithm>
#include <cstring>

#include "rain/codes/xor.h"
#include "rain/core/assert.h"

namespace rain::codes {

void Code::InitGeometry(int columns, int rows, int max_erasures, const std::vector<bool>& is_data) {
  RAIN_CHECK(columns > 0 && rows > 0, "empty geometry");
  RAIN_CHECK(is_data.size() == static_cast<size_t>(columns * rows), "is_data size");
  columns_ = columns;
  rows_ = rows;
  max_erasures_ = max_erasures;
  data_index_.assign(is_data.size(), -1);
  data_cells_.clear();
  for (int c = 0; c < columns; ++c) {
    for (int r = 0; r < rows; ++r) {
      if (!is_data[static_cast<size_t>(r * columns + c)]) continue;
      data_index_[static_cast<size_t>(r * columns + c)] = static_cast<int>(data_cells_.size());
      data_cells_.push_back({r, c});
    }
  }
}

Status Code::CheckErasures(std::span<const int> erased) const {
  std::vector<bool> seen(static_cast<size_t>(columns_), false);
  for (int c : erased) {
    if (c < 0 || c >= columns_) {
      return InvalidArgumentError("erased column " + std::to_string(c) + " is out of range for " +
                                  Spec() + " (columns 0.." + std::to_string(columns_ - 1) + ")");
    }
    if (seen[static_cast<size_t>(c)]) {
      return InvalidArgumentError("erased column " + std::to_string(c) + " is listed twice");
    }
    seen[static_cast<size_t>(c)] = true;
  }
  if (static_cast<int>(erased.size()) > max_erasures_) {
    return DataLossError(std::to_string(erased.size()) + " columns lost, " + Spec() +
                         " rebuilds at most " + std::to_string(max_erasures_));
  }
  return Status::Ok();
}

Result<std::vector<Cell>> Code::Update(const StripeView& stripe, Cell data,
                                       std::span<const uint8_t> new_data) const {
  if (data.row < 0 || data.row >= rows_ || data.column < 0 || data.column >= columns_) {
    return InvalidArgumentError("cell outside the stripe");
  }
  if (Kind(data) != CellKind::kData) return InvalidArgumentError("cell is parity, not data");
  if (new_data.size() != stripe.element_bytes) {
    return InvalidArgumentError("new element is " + std::to_string(new_data.size()) +
                                " bytes, the stripe's elements are " +
                                std::to_string(stripe.element_bytes));
  }
  uint8_t* element = stripe.Element(data);
  std::vector<Cell> parities = ParityCellsOf(data);
  if (XorOnly()) {
    // One pass over the old element, the new one and each parity (kMaxDeltaParities covers
    // every XOR code here: each data element is in exactly two parities).
    constexpr size_t kMaxDeltaParities = 8;
    RAIN_CHECK(parities.size() <= kMaxDeltaParities, "too many parities for a fused update");
    uint8_t* targets[kMaxDeltaParities];
    for (size_t i = 0; i < parities.size(); ++i) targets[i] = stripe.Element(parities[i]);
    XorDelta(element, new_data.data(), targets, static_cast<int>(parities.size()),
             stripe.element_bytes);
    return parities;
  }
  // Uninitialised: every byte is written before it is read.
  std::unique_ptr<uint8_t[]> delta(new uint8_t[stripe.element_bytes]);
  for (size_t i = 0; i < stripe.element_bytes; ++i) delta[i] = element[i] ^ new_data[i];
  for (Cell p : parities) {
    ApplyDelta(p, data, delta.get(), stripe.Element(p), stripe.element_bytes);
  }
  std::memcpy(element, new_data.data(), stripe.element_bytes);
  return parities;
}

namespace {

// An owned copy of a stripe, for the checks Verify runs without touching the caller's buffers.
struct StripeCopy {
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<uint8_t*> pointers;
  StripeView view;

  StripeCopy(const StripeView& from, int rows) {
    size_t column_bytes = static_cast<size_t>(rows) * from.element_bytes;
    for (uint8_t* col : from.columns) buffers.emplace_back(col, col + column_bytes);
    for (auto& b : buffers) pointers.push_back(b.data());
    view = {pointers, from.element_bytes};
  }
};

bool ParitiesMatch(const Code& code, const StripeView& stripe) {
  StripeCopy encoded(stripe, code.rows());
  code.Encode(encoded.view);
  for (int c = 0; c < code.columns(); ++c) {
    for (int r = 0; r < code.rows(); ++r) {
      if (code.Kind({r, c}) != CellKind::kParity) continue;
      if (std::memcmp(encoded.view.Element({r, c}), stripe.Element({r, c}), stripe.element_bytes) !=
          0) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

VerifyReport Code::Verify(const StripeView& stripe) const {
  RAIN_CHECK(stripe.columns.size() == static_cast<size_t>(columns_), "stripe column count");
  VerifyReport report;
  if (ParitiesMatch(*this, stripe)) return report;
  report.consistent = false;
  if (max_erasures_ < 2) return report;  // one parity detects but cannot locate
  // A column is the corrupt one when rebuilding it from the others leaves a consistent stripe.
  // With distance >= 3 at most one column can pass, so a unique pass locates the error.
  int found = -1;
  for (int c = 0; c < columns_; ++c) {
    StripeCopy candidate(stripe, rows_);
    const int erased[] = {c};
    if (!Decode(candidate.view, erased).ok()) continue;
    if (!ParitiesMatch(*this, candidate.view)) continue;
    if (found >= 0) return report;  // two explanations: cannot tell
    found = c;
  }
  if (found >= 0) report.corrupt_column = found;
  return report;
}

}  // namespace rain::codes
