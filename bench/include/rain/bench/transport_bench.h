// `rain bench transport`: the Transport Manager (rain::comm over rain::comm_driver) against a
// plain TCP socket, between two processes on loopback, in one run (DESIGN.md §3 rule 6; results
// in docs/benchmarks.md §"Transport").
//
// The parent forks and execs `rain bench transport --peer` (hidden), one peer per loss level.
// Each peer serves the TM (channel 1: sink, channel 2: echo) and a TCP listener (sink / echo /
// sync frames). Rows:
//  - throughput of 1 KiB, 64 KiB, 1 MiB and 16 MiB messages, TM and TCP: the sender keeps a
//    window of messages in flight; TM time ends at the last SendCompleted(delivered), TCP time at
//    the peer's reply to a sync frame sent after the data;
//  - round-trip time p50/p99 of 64-byte messages, one at a time (TM echo, TCP_NODELAY echo);
//  - TM throughput of 1 MiB messages with 1 % and 5 % loss, injected by both drivers' receive
//    paths (seeded; works without root).
// The TM sender runs on the driver's I/O thread (the event handler sends the next message), so
// no cross-thread hop is measured. Repetitions are interleaved; rows report medians (RTT: the
// median over repetitions of each repetition's percentiles).
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rain/core/result.h"

namespace rain::bench {

struct TransportBenchOptions {
  int reps = 5;
  bool quick = false;  // smoke run: fewer bytes per row, fewer RTT samples
  std::vector<size_t> sizes = {1 << 10, 64 << 10, 1 << 20, 16 << 20};
  std::vector<double> loss_pcts = {1, 5};
  size_t loss_msg_bytes = 1 << 20;
  size_t bytes_per_row = 128ull << 20;  // per repetition (at least 4 messages)
  int rtt_samples = 2000;               // per repetition (0: no RTT rows)
  bool tcp = true;                      // TCP rows (false: TM rows only, e.g. under perf)
  // Per TM row and repetition, the sender's TransportStats/DriverStats deltas (packets lost and
  // retransmitted, RTOs, syscalls, wakeups) go to the progress stream: what explains a slow row.
  bool stats = false;
};

struct TransportBenchRow {
  std::string transport;  // "tm" or "tcp"
  size_t msg_bytes = 0;
  double loss_pct = 0;
  std::optional<double> mb_per_s;    // 1e6 bytes/s of payload; throughput rows
  std::optional<double> rtt_us_p50;  // RTT rows
  std::optional<double> rtt_us_p99;
};

struct TransportBenchReport {
  std::vector<TransportBenchRow> rows;
  std::string machine;
  int reps = 0;
};

// Runs the benchmark; progress lines go to `progress`. Needs /proc/self/exe to be `rain`.
Result<TransportBenchReport> RunTransportBench(const TransportBenchOptions& options,
                                               std::FILE* progress);
std::string FormatTransportTable(const TransportBenchReport& report);
// {"rows": [{"transport", "msg_bytes", "loss_pct", "mb_per_s", "rtt_us_p50", "rtt_us_p99"}]};
// fields that do not apply to a row are null; keys in this order.
nlohmann::ordered_json TransportBenchJson(const TransportBenchReport& report);

// Adds `transport` (and its hidden --peer mode) under `rain bench`. Sets the exit status through
// `exit_status` (0 ok, 1 failure, 2 usage).
void AddTransportBenchCommand(CLI::App& bench, int* exit_status);

}  // namespace rain::bench
