// `rain bench codes`: see codes_bench.h for what is measured and why it is comparable.
#include "rain/bench/codes_bench.h"

#include <isa-l/raid.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "rain/bench/report.h"
#include "rain/codes/code.h"
#include "rain/core/assert.h"
#include "rain/core/rng.h"

namespace rain::bench {

namespace {

// Buffers start on a cache line; xor_gen needs 32-byte alignment.
constexpr size_t kAlignBytes = 64;
constexpr size_t kMaxElementBytes = size_t{64} << 10;
constexpr int kMaxReps = 1000;
// Cold: more data than the 32 MiB L3 of the reference machine, twice over.
constexpr size_t kColdDataBytes = size_t{64} << 20;
constexpr size_t kQuickColdDataBytes = size_t{1} << 20;
// The warm set is meant to stay in cache; the header flags a stripe larger than this.
constexpr size_t kWarmDataBytesMax = size_t{1} << 20;
// Each sample runs at least this long (cold: and at least one whole pass over its stripes).
constexpr double kSampleSeconds = 0.05;
// Calls are timed in batches that grow until one batch lasts this long, so reading the clock (a
// system call for the thread CPU clock, ~0.3 us) costs nothing measurable even for a 4 KiB XOR.
constexpr int64_t kBatchNanos = 100'000;
constexpr uint64_t kFillSeed = 0xB0DEC5;
// Sources + destination of the widest xor_gen call (k = 11 for X-code 13, plus one).
constexpr int kMaxXorVects = 16;

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t, FreeDeleter>;

Buffer Allocate(size_t bytes) {
  const size_t rounded = (std::max<size_t>(bytes, 1) + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(kAlignBytes, rounded));
  RAIN_CHECK(p != nullptr, "out of memory for benchmark buffers");
  return Buffer(p);
}

// An array code under test and its comparison point: k data columns' worth, `rows` elements per
// column.
struct Family {
  std::string codec;  // "xcode" or "bcode"
  int length;         // n or l
  int k;
  int rows;
};

std::vector<Family> Families() {
  // X-code n: n×n array, rows 0..n-3 data, so k = n-2. B-code l (even, = p-1): l/2 rows, one
  // parity per column, so k = l-2 as well.
  return {{"xcode", 5, 3, 5},
          {"xcode", 7, 5, 7},
          {"xcode", 13, 11, 13},
          {"bcode", 6, 4, 3},
          {"bcode", 12, 10, 6}};
}

// One codec at one geometry: a warm stripe of its own and `cold_stripes` stripes in the shared
// cold arena.
struct Subject {
  std::string codec;
  int n = 0;
  int k = 0;
  int m = 0;
  int columns = 0;
  size_t column_bytes = 0;
  size_t element_bytes = 0;           // what Update and the XOR pass work on
  size_t data_bytes = 0;              // per stripe
  std::unique_ptr<codes::Code> code;  // null for xor-isal and memcpy

  Buffer warm;
  std::vector<uint8_t*> warm_columns;
  Buffer update_source;  // the new contents of an updated element
  int cold_stripes = 0;
  std::vector<uint8_t*> cold_columns;  // cold_stripes × columns
};

// One row of the report: a subject, an operation, a set.
struct Case {
  Subject* subject = nullptr;
  std::string op;
  bool cold = false;
  size_t bytes_per_call = 0;
  std::function<void(uint8_t* const* columns, uint64_t call)> run;
  std::vector<double> samples_gbps;
};

codes::StripeView View(const Subject& s, uint8_t* const* columns) {
  return {std::span<uint8_t* const>(columns, static_cast<size_t>(s.columns)), s.element_bytes};
}

void Decode(const Subject& s, uint8_t* const* columns, std::span<const int> erased) {
  Status st = s.code->Decode(View(s, columns), erased);
  RAIN_CHECK(st.ok(), st.ToString().c_str());
}

// The operations a subject supports, as callables over one stripe's columns.
std::vector<std::pair<std::string, std::function<void(uint8_t* const*, uint64_t)>>> Operations(
    Subject& s) {
  std::vector<std::pair<std::string, std::function<void(uint8_t* const*, uint64_t)>>> ops;
  Subject* p = &s;
  if (s.code) {
    ops.emplace_back("encode", [p](uint8_t* const* c, uint64_t) { p->code->Encode(View(*p, c)); });
    ops.emplace_back("decode1", [p](uint8_t* const* c, uint64_t) {
      static constexpr int kErased[] = {0};
      Decode(*p, c, kErased);
    });
    ops.emplace_back("decode2", [p](uint8_t* const* c, uint64_t) {
      static constexpr int kErased[] = {0, 1};
      Decode(*p, c, kErased);
    });
    ops.emplace_back("update", [p](uint8_t* const* c, uint64_t call) {
      const int index = static_cast<int>(call % static_cast<uint64_t>(p->code->data_elements()));
      auto changed = p->code->Update(View(*p, c), p->code->DataCell(index),
                                     {p->update_source.get(), p->element_bytes});
      RAIN_CHECK(changed.ok(), changed.status().ToString().c_str());
    });
  } else if (s.codec == "xor-isal") {
    ops.emplace_back("encode", [p](uint8_t* const* c, uint64_t) {
      std::array<void*, kMaxXorVects> vects;
      for (int i = 0; i <= p->k; ++i) vects[static_cast<size_t>(i)] = c[i];
      RAIN_CHECK(xor_gen(p->k + 1, static_cast<int>(p->column_bytes), vects.data()) == 0,
                 "xor_gen");
    });
    // One element-sized XOR pass, dst = a ^ b: the unit of the update-cost target.
    ops.emplace_back("update", [p](uint8_t* const* c, uint64_t call) {
      const size_t offset = (call % p->column_bytes / p->element_bytes) * p->element_bytes;
      void* vects[3] = {c[0] + offset, p->update_source.get(), c[p->k] + offset};
      RAIN_CHECK(xor_gen(3, static_cast<int>(p->element_bytes), vects) == 0, "xor_gen");
    });
  } else {
    ops.emplace_back("encode", [p](uint8_t* const* c, uint64_t) {
      for (int i = 0; i < p->k; ++i) std::memcpy(c[p->k + i], c[i], p->column_bytes);
    });
  }
  return ops;
}

std::unique_ptr<Subject> MakeSubject(std::string codec, const Family& f, size_t element_bytes) {
  RAIN_CHECK(f.k + 1 <= kMaxXorVects, "family wider than kMaxXorVects");
  auto s = std::make_unique<Subject>();
  s->codec = std::move(codec);
  s->k = f.k;
  s->column_bytes = static_cast<size_t>(f.rows) * element_bytes;
  s->element_bytes = element_bytes;
  s->data_bytes = static_cast<size_t>(f.k) * s->column_bytes;
  if (s->codec == "rs-isal") {
    s->n = f.k + 2;
    s->m = 2;
    s->columns = s->n;
    s->element_bytes = s->column_bytes;  // RS: one element per column
  } else if (s->codec == "xor-isal") {
    s->n = f.k + 1;
    s->m = 1;
    s->columns = s->n;
  } else if (s->codec == "memcpy") {
    s->n = f.k;
    s->m = 0;
    s->columns = 2 * f.k;  // k sources, k destinations
  } else {
    s->n = f.length;
    s->m = 2;
    s->columns = f.length;
  }
  return s;
}

// Builds the code behind a subject and checks a decode round trip on its warm stripe, so a
// broken code cannot post a fast figure.
Status PrepareCode(Subject& s, const Family& f) {
  const std::string spec = s.codec == "rs-isal" ? "rs:" + std::to_string(f.k) + "+2"
                                                : s.codec + ":" + std::to_string(f.length);
  RAIN_ASSIGN_OR_RETURN(s.code, codes::MakeCode(spec));
  if (s.code->columns() != s.columns || s.code->DataBytes(s.element_bytes) != s.data_bytes) {
    return InternalError(spec + " does not have the geometry the benchmark assumes");
  }
  const codes::StripeView view = View(s, s.warm_columns.data());
  s.code->Encode(view);
  std::vector<uint8_t> before(s.warm.get(), s.warm.get() + s.columns * s.column_bytes);
  std::memset(s.warm_columns[0], 0, 2 * s.column_bytes);  // columns 0 and 1 are adjacent
  const int erased[] = {0, 1};
  RAIN_RETURN_IF_ERROR(s.code->Decode(view, erased));
  if (std::memcmp(before.data(), s.warm.get(), before.size()) != 0) {
    return InternalError(spec + " failed its decode round trip before timing");
  }
  return Status::Ok();
}

// CPU time of the calling thread. Samples are timed on it rather than on the wall clock so that
// time the scheduler gives other processes (the reference machine is shared) is not counted;
// on an idle machine the two agree.
int64_t ThreadCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// One sample of a case: GB/s of credited bytes.
double Sample(Case& c, double min_seconds) {
  Subject& s = *c.subject;
  if (!c.cold) c.run(s.warm_columns.data(), 0);  // bring the stripe into cache
  const uint64_t pass_calls = c.cold ? static_cast<uint64_t>(s.cold_stripes) : 1;
  const int64_t min_nanos = static_cast<int64_t>(min_seconds * 1e9);
  uint64_t calls = 0;
  uint64_t batch = pass_calls;
  const int64_t start = ThreadCpuNanos();
  int64_t elapsed = 0;
  for (;;) {
    const int64_t batch_start = ThreadCpuNanos();
    for (uint64_t i = 0; i < batch; ++i, ++calls) {
      uint8_t* const* columns =
          c.cold ? &s.cold_columns[(calls % pass_calls) * static_cast<size_t>(s.columns)]
                 : s.warm_columns.data();
      c.run(columns, calls);
    }
    const int64_t now = ThreadCpuNanos();
    elapsed = now - start;
    if (elapsed >= min_nanos) break;
    if (now - batch_start < kBatchNanos) batch *= 2;
  }
  return static_cast<double>(c.bytes_per_call) * static_cast<double>(calls) /
         static_cast<double>(std::max<int64_t>(elapsed, 1));
}

std::string KiB(size_t bytes) {
  return FormatFixed(static_cast<double>(bytes) / 1024.0, 0) + " KiB";
}

}  // namespace

Result<CodesBenchReport> RunCodesBench(const CodesBenchOptions& options, std::FILE* progress) {
  if (options.reps < 1 || options.reps > kMaxReps) {
    return InvalidArgumentError("--reps must be 1.." + std::to_string(kMaxReps));
  }
  if (options.element_bytes < kAlignBytes || options.element_bytes % kAlignBytes != 0 ||
      options.element_bytes > kMaxElementBytes) {
    return InvalidArgumentError("--element-bytes must be a multiple of 64 in 64.." +
                                std::to_string(kMaxElementBytes));
  }
  const size_t cold_data_bytes = options.quick ? kQuickColdDataBytes : kColdDataBytes;
  const double sample_seconds = options.quick ? 0.0 : kSampleSeconds;

  // Subjects, family by family, in report order.
  std::vector<std::unique_ptr<Subject>> subjects;
  std::vector<std::vector<Subject*>> family_subjects;
  std::vector<std::string> skipped;
  Rng rng(kFillSeed);
  size_t arena_bytes = 0;
  size_t warm_data_min = SIZE_MAX;
  size_t warm_data_max = 0;
  for (const Family& f : Families()) {
    family_subjects.emplace_back();
    for (std::string codec :
         {f.codec, std::string("rs-isal"), std::string("xor-isal"), std::string("memcpy")}) {
      auto s = MakeSubject(codec, f, options.element_bytes);
      const size_t stripe_bytes = static_cast<size_t>(s->columns) * s->column_bytes;
      s->warm = Allocate(stripe_bytes);
      rng.Fill({s->warm.get(), stripe_bytes});
      for (int c = 0; c < s->columns; ++c)
        s->warm_columns.push_back(s->warm.get() + c * s->column_bytes);
      s->update_source = Allocate(s->element_bytes);
      rng.Fill({s->update_source.get(), s->element_bytes});
      if (codec != "xor-isal" && codec != "memcpy") {
        Status st = PrepareCode(*s, f);
        if (st.code() == StatusCode::kInternal) return st;
        if (!st.ok()) {
          skipped.push_back(codec + " " + std::to_string(f.length) + ": " + st.ToString());
          continue;
        }
      }
      s->cold_stripes = static_cast<int>((cold_data_bytes + s->data_bytes - 1) / s->data_bytes);
      arena_bytes = std::max(arena_bytes, static_cast<size_t>(s->cold_stripes) * stripe_bytes);
      warm_data_min = std::min(warm_data_min, s->data_bytes);
      warm_data_max = std::max(warm_data_max, s->data_bytes);
      family_subjects.back().push_back(s.get());
      subjects.push_back(std::move(s));
    }
  }

  // One cold arena shared by every subject: each lays its stripes from the start. Contents are
  // random; a cold stripe need not be a codeword for the timing to be right.
  std::fprintf(progress, "rain bench codes: filling a %zu MiB cold arena\n", arena_bytes >> 20);
  Buffer arena = Allocate(arena_bytes);
  rng.Fill({arena.get(), arena_bytes});
  for (auto& s : subjects) {
    for (int stripe = 0; stripe < s->cold_stripes; ++stripe) {
      uint8_t* base = arena.get() + static_cast<size_t>(stripe) * s->columns * s->column_bytes;
      for (int c = 0; c < s->columns; ++c) s->cold_columns.push_back(base + c * s->column_bytes);
    }
  }

  // Cases in report order: family, set, operation, codec.
  std::vector<Case> cases;
  for (const auto& members : family_subjects) {
    for (bool cold : {false, true}) {
      for (const char* op : {"encode", "decode1", "decode2", "update"}) {
        for (Subject* s : members) {
          for (auto& [name, run] : Operations(*s)) {
            if (name != op) continue;
            Case c;
            c.subject = s;
            c.op = name;
            c.cold = cold;
            c.bytes_per_call = name == "update" ? s->element_bytes : s->data_bytes;
            c.run = run;
            cases.push_back(std::move(c));
          }
        }
      }
    }
  }

  // Interleaved repetitions: every case once per repetition.
  for (int rep = 0; rep < options.reps; ++rep) {
    std::fprintf(progress, "rain bench codes: repetition %d/%d (%zu measurements)\n", rep + 1,
                 options.reps, cases.size());
    std::fflush(progress);
    for (Case& c : cases) c.samples_gbps.push_back(Sample(c, sample_seconds));
  }

  CodesBenchReport report;
  report.header.push_back("machine: " + MachineDescription());
  report.header.push_back(
      "X-code/B-code element " + std::to_string(options.element_bytes) +
      " B; RS(k,2), xor_gen and memcpy use the array code's column (rows x element) as their "
      "chunk, so every row of a family holds the same data bytes per stripe");
  report.header.push_back(
      "warm: one stripe reused, " + KiB(warm_data_min) + " to " + KiB(warm_data_max) + " of data" +
      (warm_data_max > kWarmDataBytesMax ? " (over 1 MiB: not all in cache)" : "") + "; cold: >= " +
      std::to_string(cold_data_bytes >> 20) + " MiB of data over many stripes (arena " +
      std::to_string(arena_bytes >> 20) + " MiB), whole passes");
  report.header.push_back(
      "GB/s = 1e9 data bytes per second (update: bytes of the updated element); median of " +
      std::to_string(options.reps) + " interleaved repetitions, each sample >= " +
      FormatFixed(sample_seconds * 1000, 0) + " ms of thread CPU time");
  report.header.push_back(
      "decode1/decode2 lose data columns 0 / 0 and 1; update = Code::Update of one element; "
      "xor-isal update = one element XOR pass (dst = a ^ b)");
  for (const std::string& s : skipped) report.header.push_back("skipped " + s);
  for (Case& c : cases) {
    const Subject& s = *c.subject;
    report.rows.push_back({s.codec, s.n, s.k, s.m, c.op, c.cold ? "cold" : "warm",
                           Median(c.samples_gbps), c.samples_gbps});
  }
  return report;
}

namespace {

const CodesBenchRow* FindRow(const CodesBenchReport& report, std::string_view codec, int k,
                             std::string_view op, std::string_view set) {
  for (const auto& row : report.rows) {
    if (row.codec == codec && row.k == k && row.op == op && row.set == set) return &row;
  }
  return nullptr;
}

}  // namespace

std::string FormatCodesTable(const CodesBenchReport& report) {
  std::string out;
  for (const auto& line : report.header) out += "# " + line + "\n";
  out += "\n";
  Table table;
  using Align = Table::Align;
  for (auto [name, align] :
       std::vector<std::pair<std::string, Align>>{{"codec", Align::kLeft},
                                                  {"n", Align::kRight},
                                                  {"k", Align::kRight},
                                                  {"m", Align::kRight},
                                                  {"op", Align::kLeft},
                                                  {"set", Align::kLeft},
                                                  {"GB/s", Align::kRight},
                                                  {"min..max", Align::kRight},
                                                  {"vs RS", Align::kRight},
                                                  {"xor passes", Align::kRight}}) {
    table.AddColumn(name, align);
  }
  const CodesBenchRow* previous = nullptr;
  for (const auto& row : report.rows) {
    if (previous != nullptr && (previous->k != row.k || previous->set != row.set)) {
      table.AddSeparator();
    }
    previous = &row;
    std::string vs_rs;
    std::string passes;
    if (row.codec == "xcode" || row.codec == "bcode") {
      if (const auto* rs = FindRow(report, "rs-isal", row.k, row.op, row.set)) {
        vs_rs = FormatFixed(row.gbps / rs->gbps, 2) + "x";
      }
      if (row.op == "update") {
        if (const auto* pass = FindRow(report, "xor-isal", row.k, "update", row.set)) {
          passes = FormatFixed(pass->gbps / row.gbps, 2);
        }
      }
    }
    const auto [lo, hi] = std::minmax_element(row.samples_gbps.begin(), row.samples_gbps.end());
    table.AddRow({row.codec, std::to_string(row.n), std::to_string(row.k), std::to_string(row.m),
                  row.op, row.set, FormatFixed(row.gbps, 2),
                  FormatFixed(*lo, 2) + ".." + FormatFixed(*hi, 2), vs_rs, passes});
  }
  out += table.Render();
  return out;
}

nlohmann::ordered_json CodesBenchJson(const CodesBenchReport& report) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& row : report.rows) {
    rows.push_back({{"codec", row.codec},
                    {"n", row.n},
                    {"k", row.k},
                    {"m", row.m},
                    {"op", row.op},
                    {"set", row.set},
                    {"gbps", std::round(row.gbps * 1000.0) / 1000.0}});
  }
  return nlohmann::ordered_json{{"rows", rows}};
}

}  // namespace rain::bench
