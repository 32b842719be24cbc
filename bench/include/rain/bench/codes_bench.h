// `rain bench codes`: encode, decode and small-update throughput of X-code and B-code against
// ISA-L Reed–Solomon at the same data-to-total ratio, with ISA-L xor_gen and memcpy as ceilings,
// all measured in one process (DESIGN.md §3 rule 6; results in docs/benchmarks.md).
//
// Families: X-code n = 5, 7, 13 (k = n-2 data columns' worth) and B-code l = 6, 12 (k = l-2).
// Each family is compared with RS(k, 2) whose chunk equals the array code's column (rows ×
// element bytes), so both hold the same data bytes per stripe; xor_gen XORs the same k columns
// into one; memcpy copies the same data bytes.
//
// Sets: warm reuses one stripe (<= 1 MiB of data, in cache); cold walks >= 64 MiB of data spread
// over many stripes, so every pass misses the last-level cache. Repetitions are interleaved: each
// repetition measures every configuration once, and a row's figure is the median over them.
// Samples are timed on the thread's CPU clock, so time the scheduler hands to other processes on a
// shared machine is not counted (on an idle machine it equals wall time).
//
// Figures are GB/s (1e9 bytes) of data bytes processed: a stripe's data bytes per encode or
// decode; the updated element's bytes per update. decode1/decode2 lose data columns 0 and 1 (for
// RS the worst case: every lost column is data). The xor-isal "update" row is one element-sized
// XOR pass (dst = a ^ b): the unit of the "update costs <= 3 XOR passes" target.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rain/core/result.h"

namespace rain::bench {

struct CodesBenchOptions {
  int reps = 7;                 // repetitions; each row reports the median
  bool quick = false;           // a smoke run: tiny cold set, one short sample per row
  size_t element_bytes = 4096;  // array-code element; a multiple of 64, >= 64
};

struct CodesBenchRow {
  std::string codec;  // "xcode", "bcode", "rs-isal", "xor-isal", "memcpy"
  int n = 0;          // columns (memcpy: k)
  int k = 0;          // data columns' worth
  int m = 0;          // parity columns' worth
  std::string op;     // "encode", "decode1", "decode2", "update"
  std::string set;    // "warm", "cold"
  double gbps = 0;    // median over repetitions
  std::vector<double> samples_gbps;
};

struct CodesBenchReport {
  std::vector<std::string> header;  // what was run, on what, with which sizes
  std::vector<CodesBenchRow> rows;
};

// Runs the benchmark; progress lines go to `progress` (stderr in the CLI). InvalidArgument for
// bad options; Internal if a code fails its round-trip check before timing.
Result<CodesBenchReport> RunCodesBench(const CodesBenchOptions& options, std::FILE* progress);

// The human table: one row per measurement, "vs RS" (ratio to rs-isal of the same k, op and
// set) for xcode/bcode, and "xor passes" (update time in element-sized XOR passes).
std::string FormatCodesTable(const CodesBenchReport& report);

// {"rows": [{"codec", "n", "k", "m", "op", "set", "gbps"}, ...]}: nothing else.
nlohmann::ordered_json CodesBenchJson(const CodesBenchReport& report);

}  // namespace rain::bench
