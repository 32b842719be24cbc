#!/usr/bin/env python3
"""Runs `rain bench membership` with small parameters and checks the shape of what it prints.

stdout must be exactly one JSON object with the documented keys in the documented order; every
figure is a non-negative finite number (failover and throughput positive; a failed multicast row
has null rates), mcast has one row per size and sender mode. Numbers are never judged. Also checks that a bad option is a usage error
and that no raind process or cluster directory is left behind.

  check_membership_json.py PATH/TO/rain PATH/TO/raind
"""
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

KEYS = ["nodes", "failover_ms_p50", "failover_ms_p99", "join_ms_p50", "mcast", "latency_ms_p50",
        "latency_ms_p99", "idle_cpu_pct"]
MCAST_KEYS = ["msg_bytes", "senders", "msgs_per_s", "mb_per_s"]
SIZES = {64, 1024, 16384}
TIMEOUT_S = 170


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def number(doc, key, positive=False):
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        fail("%s must be a finite number: %r" % (key, value))
    if value < 0 or (positive and value == 0):
        fail("%s must be %s: %r" % (key, "positive" if positive else "non-negative", value))


def running_rainds(config_dir):
    """PIDs of raind processes whose command line mentions config_dir."""
    pids = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if "raind" in cmdline and config_dir in cmdline:
            pids.append(path.split("/")[2])
    return pids


def main():
    rain, raind = sys.argv[1], sys.argv[2]
    # The bench makes its cluster directory under TMPDIR; a private one shows what it left.
    tmp = tempfile.mkdtemp(prefix="rain-mbench-check.")
    env = dict(os.environ, TMPDIR=tmp)
    run = subprocess.run([rain, "bench", "membership", "--nodes", "3", "--trials", "2", "--quick",
                          "--raind", raind, "--json"],
                         capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    left = os.listdir(tmp)
    stray = running_rainds(tmp)
    for pid in stray:
        os.kill(int(pid), 9)
    subprocess.run(["rm", "-rf", tmp])
    if run.returncode != 0:
        fail("exit status %d; stderr:\n%s" % (run.returncode, run.stderr[-4000:]))
    if stray:
        fail("raind processes left running: %s" % stray)
    if left:
        fail("cluster directory left behind: %s" % left)
    try:
        doc = json.loads(run.stdout)  # rejects anything before or after the one object
    except json.JSONDecodeError as e:
        fail("stdout is not one JSON document (%s):\n%s" % (e, run.stdout[:2000]))
    if not isinstance(doc, dict) or list(doc) != KEYS:
        fail("keys %r, want %r in this order" % (list(doc) if isinstance(doc, dict) else doc, KEYS))
    if doc["nodes"] != 3:
        fail("nodes %r, want 3" % doc["nodes"])
    for key in ("failover_ms_p50", "failover_ms_p99", "join_ms_p50"):
        number(doc, key, positive=True)
    for key in ("latency_ms_p50", "latency_ms_p99", "idle_cpu_pct"):
        number(doc, key)
    if doc["latency_ms_p99"] < doc["latency_ms_p50"]:
        fail("latency p99 below p50")
    seen = set()
    for row in doc["mcast"]:
        if list(row) != MCAST_KEYS:
            fail("mcast row keys %r, want %r" % (list(row), MCAST_KEYS))
        if row["msg_bytes"] not in SIZES or row["senders"] not in ("one", "all"):
            fail("unknown mcast row %r" % row)
        if row["msgs_per_s"] is None and row["mb_per_s"] is None:
            print("note: the %d B %s row failed (see stderr)" % (row["msg_bytes"], row["senders"]))
        else:
            number(row, "msgs_per_s", positive=True)
            number(row, "mb_per_s", positive=True)
        seen.add((row["msg_bytes"], row["senders"]))
    if seen != {(s, m) for s in SIZES for m in ("one", "all")} or len(doc["mcast"]) != len(seen):
        fail("mcast rows %r: want one per size and sender mode" % sorted(seen))

    bad = subprocess.run([rain, "bench", "membership", "--trials", "0", "--json"],
                         capture_output=True, text=True, timeout=60)
    if bad.returncode != 2 or bad.stdout.strip():
        fail("--trials 0 must be a usage error (2) with nothing on stdout (status %d)" %
             bad.returncode)
    print("ok: %s" % json.dumps(doc))


if __name__ == "__main__":
    main()
