// XorArrayCode: the engine behind X-code and B-code (research/CODES.md §1–2). A code is given as
// its geometry plus a list of parity groups, each parity cell being the XOR of a list of data
// cells; everything else — encode, decode of any correctable erasure pattern, partial decode,
// delta updates — follows from that list, so a new XOR array code is just a new group list.
//
// Encode and decode both run a *schedule*: a list of steps "target = XOR of sources". Encoding's
// schedule is one step per parity group. A decoding schedule comes from peeling: repeatedly take
// a group with exactly one unknown cell and solve for it. Schedules depend only on the set of
// erased columns, so they are computed once per pattern and cached (a bounded map under a
// mutex). DecodeCells runs only the steps the wanted cells depend on.
//
// A schedule runs strip by strip: every step over bytes [o, o+S) of its elements, then the next
// strip. S is chosen so that a strip of the whole stripe stays in the core's caches, so each data
// element comes from memory once even though it feeds two parities.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "rain/codes/code.h"

namespace rain::codes {

// One parity element and the data elements it is the XOR of.
struct ParityGroup {
  Cell parity;
  std::vector<Cell> data;
};

class XorArrayCode final : public Code {
 public:
  // A step of a schedule: target = XOR of sources[first .. first+count).
  struct Step {
    Cell target;
    uint32_t first = 0;
    uint32_t count = 0;
  };
  struct Schedule {
    std::vector<Step> steps;
    std::vector<Cell> sources;
  };

  // Limits that keep the hot paths free of allocation (fixed-size bitsets and pointer arrays).
  static constexpr int kMaxColumns = 64;
  static constexpr int kMaxCells = 1024;
  static constexpr int kMaxGroupCells = 64;
  // Distinct erasure patterns cached; beyond it schedules are computed per call. Enough for
  // every 1- and 2-column pattern of 31 columns (31 + 465).
  static constexpr size_t kMaxCachedSchedules = 1024;

  // `groups` must give every parity cell exactly one group and every data cell at least one;
  // violations are bugs (RAIN_CHECK). The code must correct every pattern of up to
  // `max_erasures` columns by peeling; a pattern that gets stuck is a bug caught at decode time.
  XorArrayCode(std::string spec, int columns, int rows, int max_erasures,
               std::vector<ParityGroup> groups);

  std::string Spec() const override { return spec_; }
  void Encode(const StripeView& stripe) const override;
  Status Decode(const StripeView& stripe, std::span<const int> erased) const override;
  Status DecodeCells(const StripeView& stripe, std::span<const int> erased,
                     std::span<const Cell> wanted) const override;
  // The parity cells whose groups hold `data`, in group order; empty for a parity cell or a cell
  // outside the array.
  std::vector<Cell> ParityCellsOf(Cell data) const override;
  void ApplyDelta(Cell parity, Cell data, const uint8_t* delta, uint8_t* parity_element,
                  size_t element_bytes) const override;

  const std::vector<ParityGroup>& groups() const { return groups_; }
  // The schedule Decode runs for a set of erased columns (already validated), or nullptr when
  // peeling gets stuck. Exposed for tests and docs.
  std::shared_ptr<const Schedule> DecodeSchedule(std::span<const int> erased) const;
  // Bytes of each element one strip covers.
  size_t strip_bytes() const { return strip_bytes_; }

 private:
  int CellId(Cell c) const { return c.row * columns() + c.column; }
  static uint64_t Mask(std::span<const int> erased);
  std::shared_ptr<const Schedule> BuildPeelingSchedule(uint64_t erased_mask) const;
  // The cached schedule for a validated, correctable pattern; never null.
  std::shared_ptr<const Schedule> CachedSchedule(uint64_t erased_mask) const;
  // Runs the steps of `schedule` (those whose index is set in `keep`, or all when null).
  void Run(const Schedule& schedule, const StripeView& stripe,
           const std::bitset<kMaxCells>* keep) const;
  void CheckView(const StripeView& stripe) const;

  std::string spec_;
  std::vector<ParityGroup> groups_;
  std::vector<std::vector<int>> groups_of_cell_;  // by cell id: the groups holding that cell
  Schedule encode_schedule_;
  size_t strip_bytes_ = 0;

  mutable std::mutex cache_mu_;
  mutable std::unordered_map<uint64_t, std::shared_ptr<const Schedule>> cache_;
};

}  // namespace rain::codes
