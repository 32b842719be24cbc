// What every `rain bench ...` shares: robust statistics over repetitions, an aligned text table
// for humans, JSON for scripts, and a one-line description of the machine (DESIGN.md §3 rule 6:
// every figure in docs/benchmarks.md names the machine it was measured on).
//
// Benchmarks report medians over repetitions, and ratios to a baseline measured in the same
// process, interleaved with the subject, so machine noise hits both alike.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rain::bench {

// The median of `values` (the mean of the middle two for an even count). values non-empty.
double Median(std::vector<double> values);
// The p-th percentile, 0 <= p <= 100, interpolating linearly between ranks. values non-empty.
double Percentile(std::vector<double> values, double p);

// "12.34": fixed notation with `decimals` digits after the point.
std::string FormatFixed(double value, int decimals);

// A text table with one header row, a rule, and columns padded to their widest cell.
class Table {
 public:
  enum class Align { kLeft, kRight };

  void AddColumn(std::string header, Align align);
  // One cell per column (checked).
  void AddRow(std::vector<std::string> cells);
  // A blank line between groups of rows.
  void AddSeparator();
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> aligns_;
  std::vector<std::vector<std::string>> rows_;  // an empty row is a separator
};

// Writes `doc` as one line of JSON plus a newline. The ordered_json overload keeps keys in
// insertion order (the order a benchmark documents); nlohmann::json sorts them.
void WriteJson(std::FILE* out, const nlohmann::json& doc);
void WriteJson(std::FILE* out, const nlohmann::ordered_json& doc);

// "AMD EPYC (family 25 model 1), 2 CPUs, L3 32768 KB" from /proc/cpuinfo, or what is known.
std::string MachineDescription();

}  // namespace rain::bench
