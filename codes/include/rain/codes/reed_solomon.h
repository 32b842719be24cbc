// Reed–Solomon over GF(2^8) for any k data + m parity columns, through ISA-L (DESIGN.md §2,
// research/CODES.md §3). The one code in codes/ that is not XOR-only: it serves the (k, m) that
// X-code and B-code cannot (m > 2, lengths that are not prime-related), and it is the baseline
// that `rain bench codes` measures the array codes against.
//
// Geometry: rows = 1, columns = k + m; columns 0..k-1 hold data and k..k+m-1 parity, so an
// element is a whole chunk. The generator is ISA-L's Cauchy matrix (`gf_gen_cauchy1_matrix`):
// identity on top, 1/(i ^ j) below. Every square submatrix of a Cauchy matrix is invertible, so
// any k surviving columns rebuild the rest. ISA-L's Vandermonde generator (`gf_gen_rs_matrix`) is
// not MDS for larger (k, m) (intel/isa-l issues 10, 40, 46) and is never used here.
//
// Decoding picks the first k surviving columns, inverts their k×k generator rows and expresses
// every column to rebuild as one row of coefficients over those survivors, so one
// `ec_encode_data` pass writes all of them (data and parity alike). The expanded ISA-L tables for
// each (erased, wanted) pattern are cached in a bounded LRU (kDecodePlanCacheEntries).
//
// Thread safety: all methods are const and may run concurrently; the plan cache is locked.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "rain/codes/code.h"
#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::codes {

class ReedSolomon final : public Code {
 public:
  // GF(2^8) has 256 elements; a Cauchy matrix needs k + m distinct points, and ISA-L's tables
  // index columns with a byte.
  static constexpr int kMaxColumns = 255;
  // Decode plans kept per code. One plan per erasure pattern; a cluster loses a handful of
  // patterns at a time, and a plan is at most k × m × 32 bytes of tables.
  static constexpr size_t kDecodePlanCacheEntries = 64;

  // Builds RS(k, m). InvalidArgument unless k >= 1, m >= 1 and k + m <= kMaxColumns.
  static Result<std::unique_ptr<ReedSolomon>> Make(int k, int m);

  std::string Spec() const override;  // "rs:K+M"
  int k() const { return k_; }
  int m() const { return m_; }

  // The generator coefficient that parity column `parity_column` (k..k+m-1) applies to data
  // column `data_column` (0..k-1). Exposed for tests and for the bench.
  uint8_t Coefficient(int parity_column, int data_column) const;

  void Encode(const StripeView& stripe) const override;
  Status Decode(const StripeView& stripe, std::span<const int> erased) const override;
  // With rows = 1 every wanted cell is a whole column: only the wanted columns are rebuilt.
  Status DecodeCells(const StripeView& stripe, std::span<const int> erased,
                     std::span<const Cell> wanted) const override;
  // All m parity cells, in column order.
  std::vector<Cell> ParityCellsOf(Cell data) const override;
  // parity ^= g[parity][data] · delta over GF(2^8) (ISA-L ec_encode_data_update).
  void ApplyDelta(Cell parity, Cell data, const uint8_t* delta, uint8_t* parity_element,
                  size_t element_bytes) const override;

  // How many decode plans are cached now (for tests of the bound).
  size_t CachedPlans() const;

 private:
  // A set of columns as a bitmap: 255 columns fit in four words.
  using ColumnSet = std::array<uint64_t, 4>;
  // What one decode needs: k source columns and, for each output column, its k coefficients
  // expanded into ISA-L tables (32 bytes per coefficient).
  struct Plan {
    std::vector<int> sources;
    std::vector<int> outputs;
    std::vector<uint8_t> tables;
  };
  using PlanKey = std::pair<ColumnSet, ColumnSet>;  // (erased, outputs)

  ReedSolomon(int k, int m);

  // Validates and rebuilds `outputs` (a subset of `erased`) from the survivors.
  Status Rebuild(const StripeView& stripe, std::span<const int> erased,
                 const ColumnSet& outputs) const;
  std::shared_ptr<const Plan> GetPlan(const ColumnSet& erased, const ColumnSet& outputs) const;
  std::shared_ptr<const Plan> BuildPlan(const ColumnSet& erased, const ColumnSet& outputs) const;

  int k_;
  int m_;
  std::vector<uint8_t> generator_;      // (k + m) × k, row-major; top k rows are identity
  std::vector<uint8_t> encode_tables_;  // ISA-L tables of the m parity rows, m × k × 32

  mutable std::mutex mu_;
  // Most recently used at the front; the map points into the list.
  mutable std::list<std::pair<PlanKey, std::shared_ptr<const Plan>>> lru_;
  mutable std::map<PlanKey, decltype(lru_)::iterator> plans_;
};

}  // namespace rain::codes
