// Reed–Solomon through ISA-L: Cauchy generator, one-pass decode, cached decode plans.
#include "rain/codes/reed_solomon.h"

#include <isa-l/erasure_code.h>

#include <algorithm>
#include <utility>

#include "rain/core/assert.h"

namespace rain::codes {

namespace {

// ISA-L takes lengths as int; longer elements are processed in pieces of this many bytes (a
// multiple of 64 so every piece but the last keeps ISA-L on its vector path).
constexpr size_t kMaxPassBytes = size_t{1} << 30;
// ISA-L expands each GF(2^8) coefficient into a 32-byte multiplication table.
constexpr size_t kTableBytes = 32;

bool Contains(const std::array<uint64_t, 4>& set, int column) {
  return (set[static_cast<size_t>(column) / 64] >> (column % 64)) & 1;
}

void Insert(std::array<uint64_t, 4>& set, int column) {
  set[static_cast<size_t>(column) / 64] |= uint64_t{1} << (column % 64);
}

bool Empty(const std::array<uint64_t, 4>& set) {
  return std::all_of(set.begin(), set.end(), [](uint64_t w) { return w == 0; });
}

}  // namespace

Result<std::unique_ptr<ReedSolomon>> ReedSolomon::Make(int k, int m) {
  if (k < 1 || m < 1 || k > kMaxColumns - m) {
    return InvalidArgumentError("rs:" + std::to_string(k) + "+" + std::to_string(m) +
                                " is not a Reed-Solomon code RAIN builds: need k >= 1, m >= 1 "
                                "and k + m <= " +
                                std::to_string(kMaxColumns));
  }
  return std::unique_ptr<ReedSolomon>(new ReedSolomon(k, m));
}

ReedSolomon::ReedSolomon(int k, int m) : k_(k), m_(m) {
  std::vector<bool> is_data(static_cast<size_t>(k + m), false);
  std::fill(is_data.begin(), is_data.begin() + k, true);
  InitGeometry(k + m, /*rows=*/1, /*max_erasures=*/m, is_data);

  generator_.resize(static_cast<size_t>((k + m) * k));
  gf_gen_cauchy1_matrix(generator_.data(), k + m, k);
  encode_tables_.resize(static_cast<size_t>(m * k) * kTableBytes);
  ec_init_tables(k, m, &generator_[static_cast<size_t>(k * k)], encode_tables_.data());
}

std::string ReedSolomon::Spec() const {
  return "rs:" + std::to_string(k_) + "+" + std::to_string(m_);
}

uint8_t ReedSolomon::Coefficient(int parity_column, int data_column) const {
  RAIN_CHECK(parity_column >= k_ && parity_column < k_ + m_, "not a parity column");
  RAIN_CHECK(data_column >= 0 && data_column < k_, "not a data column");
  return generator_[static_cast<size_t>(parity_column * k_ + data_column)];
}

void ReedSolomon::Encode(const StripeView& stripe) const {
  RAIN_CHECK(stripe.columns.size() == static_cast<size_t>(k_ + m_), "stripe column count");
  std::array<uint8_t*, kMaxColumns> data;
  std::array<uint8_t*, kMaxColumns> parity;
  for (size_t done = 0; done < stripe.element_bytes;) {
    size_t len = std::min(stripe.element_bytes - done, kMaxPassBytes);
    for (int c = 0; c < k_; ++c) data[static_cast<size_t>(c)] = stripe.columns[c] + done;
    for (int p = 0; p < m_; ++p) parity[static_cast<size_t>(p)] = stripe.columns[k_ + p] + done;
    ec_encode_data(static_cast<int>(len), k_, m_, const_cast<unsigned char*>(encode_tables_.data()),
                   data.data(), parity.data());
    done += len;
  }
}

Status ReedSolomon::Decode(const StripeView& stripe, std::span<const int> erased) const {
  RAIN_RETURN_IF_ERROR(CheckErasures(erased));
  ColumnSet outputs{};
  for (int c : erased) Insert(outputs, c);
  return Rebuild(stripe, erased, outputs);
}

Status ReedSolomon::DecodeCells(const StripeView& stripe, std::span<const int> erased,
                                std::span<const Cell> wanted) const {
  RAIN_RETURN_IF_ERROR(CheckErasures(erased));
  ColumnSet erased_set{};
  for (int c : erased) Insert(erased_set, c);
  ColumnSet outputs{};
  for (Cell cell : wanted) {
    if (cell.row != 0 || cell.column < 0 || cell.column >= columns() ||
        !Contains(erased_set, cell.column)) {
      return InvalidArgumentError("wanted cell (" + std::to_string(cell.row) + ", " +
                                  std::to_string(cell.column) + ") is not in an erased column of " +
                                  Spec());
    }
    Insert(outputs, cell.column);
  }
  return Rebuild(stripe, erased, outputs);
}

Status ReedSolomon::Rebuild(const StripeView& stripe, std::span<const int> erased,
                            const ColumnSet& outputs) const {
  RAIN_CHECK(stripe.columns.size() == static_cast<size_t>(k_ + m_), "stripe column count");
  if (Empty(outputs)) return Status::Ok();
  ColumnSet erased_set{};
  for (int c : erased) Insert(erased_set, c);
  std::shared_ptr<const Plan> plan = GetPlan(erased_set, outputs);

  std::array<uint8_t*, kMaxColumns> sources;
  std::array<uint8_t*, kMaxColumns> targets;
  const int target_count = static_cast<int>(plan->outputs.size());
  for (size_t done = 0; done < stripe.element_bytes;) {
    size_t len = std::min(stripe.element_bytes - done, kMaxPassBytes);
    for (int i = 0; i < k_; ++i) {
      sources[static_cast<size_t>(i)] =
          stripe.columns[plan->sources[static_cast<size_t>(i)]] + done;
    }
    for (int i = 0; i < target_count; ++i) {
      targets[static_cast<size_t>(i)] =
          stripe.columns[plan->outputs[static_cast<size_t>(i)]] + done;
    }
    ec_encode_data(static_cast<int>(len), k_, target_count,
                   const_cast<unsigned char*>(plan->tables.data()), sources.data(), targets.data());
    done += len;
  }
  return Status::Ok();
}

std::shared_ptr<const ReedSolomon::Plan> ReedSolomon::GetPlan(const ColumnSet& erased,
                                                              const ColumnSet& outputs) const {
  const PlanKey key{erased, outputs};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(key);
    if (it != plans_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Built outside the lock: inverting a large matrix takes a while and other patterns' decodes
  // should not wait for it. Two threads may build the same plan; the second insert is dropped.
  std::shared_ptr<const Plan> plan = BuildPlan(erased, outputs);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second->second;
  lru_.emplace_front(key, plan);
  plans_.emplace(key, lru_.begin());
  if (lru_.size() > kDecodePlanCacheEntries) {
    plans_.erase(lru_.back().first);
    lru_.pop_back();  // a decode still holding the plan keeps it alive through its shared_ptr
  }
  return plan;
}

std::shared_ptr<const ReedSolomon::Plan> ReedSolomon::BuildPlan(const ColumnSet& erased,
                                                                const ColumnSet& outputs) const {
  auto plan = std::make_shared<Plan>();
  // Prefer data columns as sources: their generator rows are unit vectors.
  for (int c = 0; c < k_ + m_ && static_cast<int>(plan->sources.size()) < k_; ++c) {
    if (!Contains(erased, c)) plan->sources.push_back(c);
  }
  RAIN_CHECK(static_cast<int>(plan->sources.size()) == k_, "fewer than k survivors");
  for (int c = 0; c < k_ + m_; ++c) {
    if (Contains(outputs, c)) plan->outputs.push_back(c);
  }

  const size_t k = static_cast<size_t>(k_);
  // survivors = B · data, so data = B^-1 · survivors.
  std::vector<uint8_t> b(k * k);
  for (size_t i = 0; i < k; ++i) {
    const uint8_t* row = &generator_[static_cast<size_t>(plan->sources[i]) * k];
    std::copy(row, row + k, &b[i * k]);
  }
  std::vector<uint8_t> inverse(k * k);
  RAIN_CHECK(gf_invert_matrix(b.data(), inverse.data(), k_) == 0,
             "a square submatrix of the Cauchy generator is singular");

  // Column c = G[c] · data = (G[c] · B^-1) · survivors: one coefficient row per output, so data
  // and parity columns come out of the same pass.
  std::vector<uint8_t> coefficients(plan->outputs.size() * k, 0);
  for (size_t o = 0; o < plan->outputs.size(); ++o) {
    const uint8_t* g = &generator_[static_cast<size_t>(plan->outputs[o]) * k];
    uint8_t* out = &coefficients[o * k];
    for (size_t i = 0; i < k; ++i) {
      if (g[i] == 0) continue;
      for (size_t j = 0; j < k; ++j) out[j] ^= gf_mul(g[i], inverse[i * k + j]);
    }
  }
  plan->tables.resize(coefficients.size() * kTableBytes);
  ec_init_tables(k_, static_cast<int>(plan->outputs.size()), coefficients.data(),
                 plan->tables.data());
  return plan;
}

size_t ReedSolomon::CachedPlans() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

std::vector<Cell> ReedSolomon::ParityCellsOf(Cell data) const {
  RAIN_CHECK(data.row == 0 && data.column >= 0 && data.column < k_, "not a data cell");
  std::vector<Cell> parities;
  parities.reserve(static_cast<size_t>(m_));
  for (int p = k_; p < k_ + m_; ++p) parities.push_back({0, p});
  return parities;
}

void ReedSolomon::ApplyDelta(Cell parity, Cell data, const uint8_t* delta, uint8_t* parity_element,
                             size_t element_bytes) const {
  RAIN_CHECK(data.row == 0 && data.column >= 0 && data.column < k_, "not a data cell");
  RAIN_CHECK(parity.row == 0 && parity.column >= k_ && parity.column < k_ + m_,
             "not a parity cell");
  // The row of tables for this parity, with k entries; vec_i picks the data column's entry.
  unsigned char* tables = const_cast<unsigned char*>(
      &encode_tables_[static_cast<size_t>((parity.column - k_) * k_) * kTableBytes]);
  for (size_t done = 0; done < element_bytes;) {
    size_t len = std::min(element_bytes - done, kMaxPassBytes);
    unsigned char* source = const_cast<unsigned char*>(delta + done);
    unsigned char* target = parity_element + done;
    ec_encode_data_update(static_cast<int>(len), k_, /*rows=*/1, data.column, tables, source,
                          &target);
    done += len;
  }
}

}  // namespace rain::codes
