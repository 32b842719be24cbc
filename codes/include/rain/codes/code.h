// One interface for the systematic MDS codes that protect every RAIN stripe (DESIGN.md §2,
// research/CODES.md): X-code, B-code (XOR-only array codes, distance 3) and Reed–Solomon
// (ISA-L, any k + m).
//
// A *stripe* is an array of `columns` × `rows` *elements*, each `element_bytes` long (any size
// >= 1). Column j of a stripe is stored on one node as a *chunk*: in memory a column is one
// contiguous buffer of rows × element_bytes bytes with element r at offset r × element_bytes.
// Every element is either data or parity (CellKind). Reed–Solomon is the case rows = 1.
//
// Data order: the data elements of a stripe are numbered 0 .. data_elements()-1 column by
// column (column 0 top to bottom, then column 1, ...), skipping parity. A byte stream is laid
// into a stripe in that order, so contiguous bytes land on one node and a read of a column
// returns them in order.
//
// Pure computation: no I/O, no allocation on the encode/decode hot paths once a schedule is
// cached. All methods are const and thread-safe (schedule caches are internally locked).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::codes {

// An element's position in the stripe array.
struct Cell {
  int row = 0;
  int column = 0;
  friend bool operator==(const Cell&, const Cell&) = default;
  friend auto operator<=>(const Cell&, const Cell&) = default;
};

enum class CellKind : uint8_t { kData, kParity };

// A stripe in memory: one pointer per column, each to rows × element_bytes bytes. The code never
// owns or frees these buffers. Columns may be at any alignment.
struct StripeView {
  std::span<uint8_t* const> columns;
  size_t element_bytes = 0;

  uint8_t* Element(Cell c) const { return columns[c.column] + c.row * element_bytes; }
};

// What Verify found.
struct VerifyReport {
  bool consistent = true;  // every parity matches its data
  // Set when the stripe is inconsistent and exactly one column, rebuilt from the others, makes
  // it consistent again: that column is corrupt (a distance-3 code locates one bad column).
  std::optional<int> corrupt_column;
};

class Code {
 public:
  virtual ~Code() = default;

  // The spec that MakeCode accepts: "xcode:5", "bcode:6", "rs:10+4".
  virtual std::string Spec() const = 0;
  int columns() const { return columns_; }
  int rows() const { return rows_; }
  // How many whole columns any pattern of which can be rebuilt (2 for X-code and B-code, m for
  // RS).
  int max_erasures() const { return max_erasures_; }

  CellKind Kind(Cell c) const {
    return data_index_[Index(c)] >= 0 ? CellKind::kData : CellKind::kParity;
  }
  int data_elements() const { return static_cast<int>(data_cells_.size()); }
  // The i-th data element in data order (see the header comment).
  Cell DataCell(int index) const { return data_cells_[static_cast<size_t>(index)]; }
  // The data-order index of a data cell, or -1 for a parity cell.
  int DataIndex(Cell c) const { return data_index_[Index(c)]; }
  // Data bytes one stripe holds for a given element size.
  size_t DataBytes(size_t element_bytes) const { return data_cells_.size() * element_bytes; }

  // Computes every parity element from the data elements. Cannot fail: the view must have
  // columns() columns (checked).
  virtual void Encode(const StripeView& stripe) const = 0;

  // Rebuilds every element of the `erased` columns (their input contents are ignored) from the
  // others. Fails with InvalidArgument for a column index out of range or repeated, and with
  // DataLoss when more columns are erased than the code can rebuild; then nothing outside the
  // erased columns was written.
  virtual Status Decode(const StripeView& stripe, std::span<const int> erased) const = 0;

  // Rebuilds at least the `wanted` cells (each must lie in an erased column) with as little work
  // as the code allows: a degraded read decodes only what it returns. May also write other
  // elements of erased columns, never elements of surviving columns. Errors as Decode.
  virtual Status DecodeCells(const StripeView& stripe, std::span<const int> erased,
                             std::span<const Cell> wanted) const = 0;

  // The parity cells that depend on data cell `data` (exactly 2 for X-code and B-code, m for
  // RS). The order is fixed and matches ApplyDelta.
  virtual std::vector<Cell> ParityCellsOf(Cell data) const = 0;

  // parity_element ^= f(delta) where delta = old ^ new of data cell `data` and `parity` is one of
  // ParityCellsOf(data); f is identity for XOR codes and a GF(2^8) multiply for RS. This is the
  // step a parity node runs when a data node sends it a delta (small writes).
  virtual void ApplyDelta(Cell parity, Cell data, const uint8_t* delta, uint8_t* parity_element,
                          size_t element_bytes) const = 0;

  // True when every parity is the plain XOR of its data (X-code, B-code): a delta then applies
  // to each parity unchanged, and Update runs as one fused pass (XorDelta).
  virtual bool XorOnly() const { return false; }

  // Delta update in place: replaces data cell `data` with `new_data` (element_bytes long) and
  // updates the parities that cover it. Returns the parity cells it changed. For an XOR-only
  // code this reads and writes each touched element once.
  Result<std::vector<Cell>> Update(const StripeView& stripe, Cell data,
                                   std::span<const uint8_t> new_data) const;

  // Checks every parity against its data and, when they disagree, tries to locate a single
  // corrupt column. Does not modify the stripe.
  VerifyReport Verify(const StripeView& stripe) const;

 protected:
  // Subclasses call this from their constructor with their geometry and, for every cell in row-
  // major order, whether it holds data.
  void InitGeometry(int columns, int rows, int max_erasures, const std::vector<bool>& is_data);
  // Validates an erasure list: in range, no repeats. DataLoss beyond max_erasures().
  Status CheckErasures(std::span<const int> erased) const;

 private:
  size_t Index(Cell c) const { return static_cast<size_t>(c.row * columns_ + c.column); }

  int columns_ = 0;
  int rows_ = 0;
  int max_erasures_ = 0;
  std::vector<Cell> data_cells_;
  std::vector<int> data_index_;  // row-major, -1 for parity
};

// Parses a code spec and builds the code: "xcode:N" (N prime, 5..31), "bcode:L" (L = p or p-1
// for an odd prime p >= 5, L <= 31), "rs:K+M" (K >= 1, M >= 1, K + M <= 255). Anything else is
// InvalidArgument with a message that says what is accepted.
Result<std::unique_ptr<Code>> MakeCode(std::string_view spec);

}  // namespace rain::codes
