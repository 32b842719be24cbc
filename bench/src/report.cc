// Statistics, tables, JSON and the machine line for every benchmark.
#include "rain/bench/report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "rain/core/assert.h"

namespace rain::bench {

namespace {
// /sys/devices/system/cpu/cpu0/cache/index0..: L1d, L1i, L2, L3 on the machines we use.
constexpr int kMaxCacheIndexes = 8;
}  // namespace

double Median(std::vector<double> values) { return Percentile(std::move(values), 50.0); }

double Percentile(std::vector<double> values, double p) {
  RAIN_CHECK(!values.empty(), "percentile of no values");
  RAIN_CHECK(p >= 0.0 && p <= 100.0, "percentile outside 0..100");
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

std::string FormatFixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

void Table::AddColumn(std::string header, Align align) {
  RAIN_CHECK(rows_.empty(), "columns are added before rows");
  headers_.push_back(std::move(header));
  aligns_.push_back(align);
}

void Table::AddRow(std::vector<std::string> cells) {
  RAIN_CHECK(cells.size() == headers_.size(), "row width differs from the header");
  rows_.push_back(std::move(cells));
}

void Table::AddSeparator() { rows_.emplace_back(); }

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = headers_[c].size();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) line += "  ";
      const std::string pad(widths[c] - cells[c].size(), ' ');
      line += aligns_[c] == Align::kRight ? pad + cells[c] : cells[c] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(headers_);
  std::vector<std::string> rule;
  for (size_t w : widths) rule.emplace_back(w, '-');
  emit(rule);
  for (const auto& row : rows_) {
    if (row.empty()) {
      out += "\n";
    } else {
      emit(row);
    }
  }
  return out;
}

namespace {
void WriteLine(std::FILE* out, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), out);
  std::fputc('\n', out);
  std::fflush(out);
}
}  // namespace

void WriteJson(std::FILE* out, const nlohmann::json& doc) { WriteLine(out, doc.dump()); }
void WriteJson(std::FILE* out, const nlohmann::ordered_json& doc) { WriteLine(out, doc.dump()); }

std::string MachineDescription() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model, family, model_number;
  while (std::getline(cpuinfo, line)) {
    auto value = [&line] {
      size_t colon = line.find(':');
      return colon == std::string::npos || colon + 2 > line.size() ? std::string()
                                                                   : line.substr(colon + 2);
    };
    if (model.empty() && line.rfind("model name", 0) == 0) model = value();
    if (family.empty() && line.rfind("cpu family", 0) == 0) family = value();
    if (model_number.empty() && line.rfind("model\t", 0) == 0) model_number = value();
  }
  std::ostringstream out;
  out << (model.empty() ? "unknown CPU" : model);
  if (!family.empty()) out << " (family " << family << " model " << model_number << ")";
  out << ", " << std::thread::hardware_concurrency() << " CPUs";
  // Cache sizes of CPU 0 from sysfs: the line that says whether a working set fits.
  for (int index = 0; index < kMaxCacheIndexes; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    std::ifstream level_file(dir + "/level"), size_file(dir + "/size"), type_file(dir + "/type");
    std::string level, size, type;
    if (!(level_file >> level) || !(size_file >> size) || !(type_file >> type)) break;
    if (type == "Instruction") continue;
    out << ", L" << level << " " << size;
  }
  return out.str();
}

}  // namespace rain::bench
