// B-code from Kotzig's perfect one-factorization GK_{p+1}, as a list of parity groups for the XOR
// array-code engine (research/CODES.md §2, with the worked examples for p = 5 and p = 7).
#include "rain/codes/bcode.h"

#include <string>

#include "rain/core/assert.h"
#include "xor_array_code.h"

namespace rain::codes {
namespace {

bool IsPrime(int n) {
  if (n < 2) return false;
  for (int d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

bool IsOddPrimeAtLeast5(int p) { return p >= 5 && IsPrime(p); }

// The prime p that length l comes from (l = p, else l = p-1), or 0 when there is none.
int PrimeFor(int length) {
  if (length < 1 || length > BCode::kMaxLength) return 0;
  if (IsOddPrimeAtLeast5(length)) return length;
  if (IsOddPrimeAtLeast5(length + 1)) return length + 1;
  return 0;
}

std::string AcceptedLengths() {
  std::string out;
  for (int l = 1; l <= BCode::kMaxLength; ++l) {
    if (PrimeFor(l) == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(l);
  }
  return out;
}

int Mod(int x, int p) { return ((x % p) + p) % p; }

// The cell layout of CODES.md §2: elements[row * columns + column].
struct Layout {
  int rows = 0;
  int columns = 0;
  std::vector<BCodeElement> elements;
};

Layout MakeLayout(int p, bool odd_length) {
  const int n = (p - 1) / 2;
  const int first = odd_length ? 0 : 1;  // the original column that becomes column 0
  Layout layout{.rows = n, .columns = p - first};
  layout.elements.resize(static_cast<size_t>(layout.rows * layout.columns));
  auto at = [&](int row, int original_column) -> BCodeElement& {
    return layout.elements[static_cast<size_t>(row * layout.columns + original_column - first)];
  };
  auto edge = [](int u, int w) { return BCodeElement{false, std::min(u, w), std::max(u, w)}; };
  if (odd_length) {
    for (int t = 1; t <= n; ++t) at(t - 1, 0) = edge(Mod(-t, p), t);
  }
  for (int k = 1; k <= p - 1; ++k) {
    int row = 0;
    for (int t = 1; t <= n; ++t) {
      int u = Mod(k - t, p);
      int w = Mod(k + t, p);
      if (u == 0 || w == 0) continue;  // the edge through b = 0 is not an element
      at(row++, k) = edge(u, w);
    }
    RAIN_CHECK(row == n - 1, "B-code column must hold n-1 edges");
    at(n - 1, k) = BCodeElement{true, k, -1};
  }
  return layout;
}

// One group per vertex v = 1..p-1: P_v and every data edge at v, in cell order.
std::vector<ParityGroup> Groups(const Layout& layout, int p) {
  std::vector<ParityGroup> groups(static_cast<size_t>(p - 1));
  for (int r = 0; r < layout.rows; ++r) {
    for (int c = 0; c < layout.columns; ++c) {
      const BCodeElement& e = layout.elements[static_cast<size_t>(r * layout.columns + c)];
      if (e.parity) {
        groups[static_cast<size_t>(e.u - 1)].parity = {r, c};
      } else {
        groups[static_cast<size_t>(e.u - 1)].data.push_back({r, c});
        groups[static_cast<size_t>(e.w - 1)].data.push_back({r, c});
      }
    }
  }
  return groups;
}

}  // namespace

Result<std::unique_ptr<BCode>> BCode::Make(int length) {
  int p = PrimeFor(length);
  if (p == 0) {
    return InvalidArgumentError("bcode length " + std::to_string(length) +
                                " is not p or p-1 for an odd prime p >= 5 (at most " +
                                std::to_string(kMaxLength) + "); B-code lengths are " +
                                AcceptedLengths());
  }
  return std::unique_ptr<BCode>(new BCode(length, p));
}

BCode::BCode(int length, int p) : p_(p) {
  Layout layout = MakeLayout(p, /*odd_length=*/length == p);
  RAIN_CHECK(layout.columns == length, "B-code layout width");
  elements_ = layout.elements;
  Init("bcode:" + std::to_string(length), layout.columns, layout.rows, /*max_erasures=*/2,
       Groups(layout, p));
}

BCode::~BCode() = default;

BCodeElement BCode::ElementAt(Cell cell) const {
  RAIN_CHECK(cell.row >= 0 && cell.row < rows() && cell.column >= 0 && cell.column < columns(),
             "BCode::ElementAt: cell outside the array");
  return elements_[static_cast<size_t>(cell.row * columns() + cell.column)];
}

}  // namespace rain::codes
