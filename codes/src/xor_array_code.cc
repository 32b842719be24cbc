// The generic XOR array-code engine: group bookkeeping, peeling schedules and their cache, and
// the strip-mined schedule runner (see xor_array_code.h).
#include "xor_array_code.h"

#include <algorithm>
#include <array>
#include <utility>

#include "rain/codes/xor.h"
#include "rain/core/assert.h"

namespace rain::codes {
namespace {

// How many bytes of the stripe one strip may touch. The second read of each data element (for
// its second parity) must hit a cache, so a strip must fit well inside L2 + the core's share of
// L3; longer strips keep the hardware prefetchers streaming and cut per-step overhead. Measured
// on Zen 3 (512 KiB L2, 32 MiB L3): footprints from 192 KiB to 2 MiB are within noise cold;
// 1-2 MiB was best warm (docs/codes.md).
constexpr size_t kStripFootprintBytes = 1024 * 1024;
// Strips are whole kernel blocks (256 bytes for AVX2 and AVX-512) and not so short that the
// per-step setup dominates, nor so long that small stripes get no strip-mining at all.
constexpr size_t kStripBytesMin = 256;
constexpr size_t kStripBytesMax = 16384;

size_t ChooseStripBytes(int cells) {
  size_t s = kStripFootprintBytes / static_cast<size_t>(cells);
  s = std::clamp(s, kStripBytesMin, kStripBytesMax);
  return s / 256 * 256;
}

}  // namespace

XorArrayCode::XorArrayCode(std::string spec, int columns, int rows, int max_erasures,
                           std::vector<ParityGroup> groups)
    : spec_(std::move(spec)), groups_(std::move(groups)) {
  RAIN_CHECK(columns >= 1 && columns <= kMaxColumns, "XorArrayCode: too many columns");
  RAIN_CHECK(rows >= 1 && rows * columns <= kMaxCells, "XorArrayCode: too many cells");
  const size_t cells = static_cast<size_t>(rows * columns);
  auto id = [columns](Cell c) { return static_cast<size_t>(c.row * columns + c.column); };
  auto inside = [&](Cell c) {
    return c.row >= 0 && c.row < rows && c.column >= 0 && c.column < columns;
  };

  std::vector<bool> is_data(cells, true);
  for (const ParityGroup& g : groups_) {
    RAIN_CHECK(inside(g.parity), "XorArrayCode: parity cell outside the array");
    RAIN_CHECK(is_data[id(g.parity)], "XorArrayCode: a parity cell has two groups");
    RAIN_CHECK(!g.data.empty() && g.data.size() < kMaxGroupCells, "XorArrayCode: group size");
    is_data[id(g.parity)] = false;
  }
  InitGeometry(columns, rows, max_erasures, is_data);

  groups_of_cell_.assign(cells, {});
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParityGroup& g = groups_[gi];
    groups_of_cell_[id(g.parity)].push_back(static_cast<int>(gi));
    Step step{.target = g.parity,
              .first = static_cast<uint32_t>(encode_schedule_.sources.size()),
              .count = static_cast<uint32_t>(g.data.size())};
    for (Cell d : g.data) {
      RAIN_CHECK(inside(d) && is_data[id(d)], "XorArrayCode: group member is not a data cell");
      groups_of_cell_[id(d)].push_back(static_cast<int>(gi));
      encode_schedule_.sources.push_back(d);
    }
    encode_schedule_.steps.push_back(step);
  }
  for (size_t c = 0; c < cells; ++c) {
    RAIN_CHECK(!groups_of_cell_[c].empty(), "XorArrayCode: a data cell is in no group");
  }
  strip_bytes_ = ChooseStripBytes(static_cast<int>(cells));
}

void XorArrayCode::CheckView(const StripeView& stripe) const {
  RAIN_CHECK(stripe.columns.size() == static_cast<size_t>(columns()), "stripe column count");
}

void XorArrayCode::Encode(const StripeView& stripe) const {
  CheckView(stripe);
  Run(encode_schedule_, stripe, nullptr);
}

uint64_t XorArrayCode::Mask(std::span<const int> erased) {
  uint64_t mask = 0;
  for (int c : erased) mask |= uint64_t{1} << c;
  return mask;
}

Status XorArrayCode::Decode(const StripeView& stripe, std::span<const int> erased) const {
  CheckView(stripe);
  RAIN_RETURN_IF_ERROR(CheckErasures(erased));
  if (erased.empty()) return Status::Ok();
  Run(*CachedSchedule(Mask(erased)), stripe, nullptr);
  return Status::Ok();
}

Status XorArrayCode::DecodeCells(const StripeView& stripe, std::span<const int> erased,
                                 std::span<const Cell> wanted) const {
  CheckView(stripe);
  RAIN_RETURN_IF_ERROR(CheckErasures(erased));
  const uint64_t mask = Mask(erased);
  std::bitset<kMaxCells> needed;
  for (Cell w : wanted) {
    if (w.row < 0 || w.row >= rows() || w.column < 0 || w.column >= columns() ||
        (mask >> w.column & 1) == 0) {
      return InvalidArgumentError("wanted cell (" + std::to_string(w.row) + "," +
                                  std::to_string(w.column) + ") is not in an erased column");
    }
    needed.set(static_cast<size_t>(CellId(w)));
  }
  if (wanted.empty()) return Status::Ok();
  std::shared_ptr<const Schedule> schedule = CachedSchedule(mask);
  // Walk the schedule backwards: a step is needed when its target is, and then so are the
  // unknown (erased) cells it reads.
  std::bitset<kMaxCells> keep;
  for (size_t i = schedule->steps.size(); i-- > 0;) {
    const Step& step = schedule->steps[i];
    if (!needed.test(static_cast<size_t>(CellId(step.target)))) continue;
    keep.set(i);
    for (uint32_t k = 0; k < step.count; ++k) {
      Cell src = schedule->sources[step.first + k];
      if (mask >> src.column & 1) needed.set(static_cast<size_t>(CellId(src)));
    }
  }
  Run(*schedule, stripe, &keep);
  return Status::Ok();
}

std::vector<Cell> XorArrayCode::ParityCellsOf(Cell data) const {
  std::vector<Cell> parities;
  if (data.row < 0 || data.row >= rows() || data.column < 0 || data.column >= columns()) {
    return parities;
  }
  if (Kind(data) != CellKind::kData) return parities;
  for (int g : groups_of_cell_[static_cast<size_t>(CellId(data))]) {
    parities.push_back(groups_[static_cast<size_t>(g)].parity);
  }
  return parities;
}

void XorArrayCode::ApplyDelta(Cell parity, Cell data, const uint8_t* delta, uint8_t* parity_element,
                              size_t element_bytes) const {
  // Checked without allocating: this is the small-write hot path on a parity node.
  bool covers = false;
  if (data.row >= 0 && data.row < rows() && data.column >= 0 && data.column < columns() &&
      Kind(data) == CellKind::kData) {
    for (int g : groups_of_cell_[static_cast<size_t>(CellId(data))]) {
      covers = covers || groups_[static_cast<size_t>(g)].parity == parity;
    }
  }
  RAIN_CHECK(covers, "ApplyDelta: the parity cell does not cover the data cell");
  XorAcc(parity_element, &delta, 1, element_bytes);
}

std::shared_ptr<const XorArrayCode::Schedule> XorArrayCode::DecodeSchedule(
    std::span<const int> erased) const {
  return BuildPeelingSchedule(Mask(erased));
}

std::shared_ptr<const XorArrayCode::Schedule> XorArrayCode::BuildPeelingSchedule(
    uint64_t erased_mask) const {
  const size_t cells = static_cast<size_t>(rows() * columns());
  std::vector<bool> unknown(cells, false);
  size_t unknown_left = 0;
  for (size_t c = 0; c < cells; ++c) {
    unknown[c] = (erased_mask >> (c % static_cast<size_t>(columns())) & 1) != 0;
    unknown_left += unknown[c] ? 1 : 0;
  }
  auto id = [this](Cell c) { return static_cast<size_t>(CellId(c)); };
  // missing[g]: unknown members of group g, its parity included.
  std::vector<int> missing(groups_.size(), 0);
  std::vector<int> ready;  // a FIFO: groups that had exactly one unknown when queued
  for (size_t g = 0; g < groups_.size(); ++g) {
    missing[g] = unknown[id(groups_[g].parity)] ? 1 : 0;
    for (Cell d : groups_[g].data) missing[g] += unknown[id(d)] ? 1 : 0;
    if (missing[g] == 1) ready.push_back(static_cast<int>(g));
  }

  auto schedule = std::make_shared<Schedule>();
  for (size_t head = 0; head < ready.size(); ++head) {
    const ParityGroup& g = groups_[static_cast<size_t>(ready[head])];
    if (missing[static_cast<size_t>(ready[head])] != 1) continue;  // solved meanwhile
    Step step{.first = static_cast<uint32_t>(schedule->sources.size())};
    auto visit = [&](Cell c) {
      if (unknown[id(c)]) {
        step.target = c;
      } else {
        schedule->sources.push_back(c);
      }
    };
    visit(g.parity);
    for (Cell d : g.data) visit(d);
    step.count = static_cast<uint32_t>(schedule->sources.size()) - step.first;
    schedule->steps.push_back(step);
    unknown[id(step.target)] = false;
    --unknown_left;
    for (int g2 : groups_of_cell_[id(step.target)]) {
      if (--missing[static_cast<size_t>(g2)] == 1) ready.push_back(g2);
    }
  }
  if (unknown_left != 0) return nullptr;
  return schedule;
}

std::shared_ptr<const XorArrayCode::Schedule> XorArrayCode::CachedSchedule(
    uint64_t erased_mask) const {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(erased_mask);
    if (it != cache_.end()) return it->second;
  }
  // Built outside the lock: two threads may both build the same schedule; one copy wins.
  std::shared_ptr<const Schedule> schedule = BuildPeelingSchedule(erased_mask);
  RAIN_CHECK(schedule != nullptr,
             "peeling got stuck on an erasure pattern the code must correct (a bug in its groups)");
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() < kMaxCachedSchedules) cache_.emplace(erased_mask, schedule);
  return schedule;
}

void XorArrayCode::Run(const Schedule& schedule, const StripeView& stripe,
                       const std::bitset<kMaxCells>* keep) const {
  const size_t element_bytes = stripe.element_bytes;
  std::array<const uint8_t*, kMaxGroupCells> srcs;
  for (size_t offset = 0; offset < element_bytes; offset += strip_bytes_) {
    const size_t len = std::min(strip_bytes_, element_bytes - offset);
    for (size_t i = 0; i < schedule.steps.size(); ++i) {
      if (keep != nullptr && !keep->test(i)) continue;
      const Step& step = schedule.steps[i];
      for (uint32_t k = 0; k < step.count; ++k) {
        srcs[k] = stripe.Element(schedule.sources[step.first + k]) + offset;
      }
      XorGen(stripe.Element(step.target) + offset, srcs.data(), static_cast<int>(step.count), len);
    }
  }
}

}  // namespace rain::codes
