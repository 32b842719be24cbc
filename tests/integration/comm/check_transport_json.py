#!/usr/bin/env python3
"""Smoke test of `rain bench transport --json`: runs the real binary (two processes on loopback,
TM and TCP) in its quick mode and checks the output's shape, never its numbers (STYLE.md:
benchmarks never gate on absolute numbers).

usage: check_transport_json.py PATH/TO/rain
"""
import json
import subprocess
import sys

KEYS = ["transport", "msg_bytes", "loss_pct", "mb_per_s", "rtt_us_p50", "rtt_us_p99"]


def main():
    rain = sys.argv[1]
    out = subprocess.run([rain, "bench", "transport", "--json", "--quick", "--reps", "1"],
                         capture_output=True, text=True, timeout=240)
    if out.returncode != 0:
        print(out.stderr)
        sys.exit(f"rain bench transport exited with {out.returncode}")
    lines = out.stdout.strip().splitlines()
    if len(lines) != 1:
        sys.exit(f"expected exactly one line of JSON, got {len(lines)}")
    doc = json.loads(lines[0])
    if list(doc.keys()) != ["rows"]:
        sys.exit(f"top-level keys {list(doc.keys())}, want ['rows']")
    seen = set()
    for row in doc["rows"]:
        if list(row.keys()) != KEYS:
            sys.exit(f"row keys {list(row.keys())}, want {KEYS}")
        if row["transport"] not in ("tm", "tcp"):
            sys.exit(f"bad transport {row['transport']}")
        rtt = row["rtt_us_p50"] is not None
        if rtt != (row["rtt_us_p99"] is not None) or rtt == (row["mb_per_s"] is not None):
            sys.exit(f"a row is either throughput or RTT: {row}")
        for k in ("mb_per_s", "rtt_us_p50", "rtt_us_p99"):
            if row[k] is not None and not row[k] > 0:
                sys.exit(f"{k} must be positive: {row}")
        seen.add((row["transport"], row["msg_bytes"], row["loss_pct"], rtt))
    want = {(t, s, 0.0, False) for t in ("tm", "tcp") for s in (1024, 65536, 1 << 20, 16 << 20)}
    want |= {("tm", 64, 0.0, True), ("tcp", 64, 0.0, True)}
    want |= {("tm", 1 << 20, 1.0, False), ("tm", 1 << 20, 5.0, False)}
    if seen != want:
        sys.exit(f"rows {sorted(seen)}\nwant {sorted(want)}")
    print(f"bench transport --json: ok ({len(doc['rows'])} rows)")


if __name__ == "__main__":
    main()
