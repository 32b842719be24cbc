// X-code as a list of parity groups for the XOR array-code engine (research/CODES.md §1).
#include "rain/codes/xcode.h"

#include <string>

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

int Mod(int x, int n) { return ((x % n) + n) % n; }

// "5, 7, 11, 13, 17, 19, 23, 29, 31".
std::string AcceptedLengths() {
  std::string out;
  for (int n = XCode::kMinLength; n <= XCode::kMaxLength; ++n) {
    if (!IsPrime(n)) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(n);
  }
  return out;
}

// Group D_i (P_i with its data cells) and A_i (Q_i with its data cells), CODES.md §1.
std::vector<Cell> Diagonal(int n, int i) {
  std::vector<Cell> cells;
  for (int k = 0; k <= n - 3; ++k) cells.push_back({k, Mod(i + k + 2, n)});
  return cells;
}
std::vector<Cell> AntiDiagonal(int n, int i) {
  std::vector<Cell> cells;
  for (int k = 0; k <= n - 3; ++k) cells.push_back({k, Mod(i - k - 2, n)});
  return cells;
}

// P_0..P_{n-1} then Q_0..Q_{n-1}: the engine lists a data cell's parities in group order, so
// ParityCellsOf returns {P, Q}.
std::vector<ParityGroup> Groups(int n) {
  std::vector<ParityGroup> groups;
  for (int i = 0; i < n; ++i) groups.push_back({{n - 2, i}, Diagonal(n, i)});
  for (int i = 0; i < n; ++i) groups.push_back({{n - 1, i}, AntiDiagonal(n, i)});
  return groups;
}

}  // namespace

Result<std::unique_ptr<XCode>> XCode::Make(int n) {
  if (n < kMinLength || n > kMaxLength) {
    return InvalidArgumentError("xcode length " + std::to_string(n) + " is out of range; " +
                                "X-code lengths are the primes from 5 to 31: " + AcceptedLengths());
  }
  if (!IsPrime(n)) {
    return InvalidArgumentError(
        "xcode length " + std::to_string(n) +
        " is not prime; X-code is MDS only for prime lengths: " + AcceptedLengths());
  }
  return std::unique_ptr<XCode>(new XCode(n));
}

XCode::XCode(int n) { Init("xcode:" + std::to_string(n), n, n, /*max_erasures=*/2, Groups(n)); }

XCode::~XCode() = default;

}  // namespace rain::codes
