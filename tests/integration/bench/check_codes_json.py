#!/usr/bin/env python3
"""Runs `rain bench codes --quick --json` and checks the shape of what it prints.

stdout must be exactly one JSON object {"rows": [...]}; every row names a known codec, op and
set with integer n, k, m and a positive finite gbps; every xcode/bcode row has the rs-isal row
it is compared with. Numbers are never judged. Also checks that a bad option is a usage error.
"""
import json
import math
import subprocess
import sys

CODECS = {"xcode", "bcode", "rs-isal", "xor-isal", "memcpy"}
OPS = {"encode", "decode1", "decode2", "update"}
SETS = {"warm", "cold"}
KEYS = {"codec", "n", "k", "m", "op", "set", "gbps"}


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    rain = sys.argv[1]
    run = subprocess.run([rain, "bench", "codes", "--quick", "--json"], capture_output=True,
                         text=True, timeout=280)
    if run.returncode != 0:
        fail("exit status %d; stderr:\n%s" % (run.returncode, run.stderr))
    try:
        doc = json.loads(run.stdout)  # rejects anything before or after the one object
    except json.JSONDecodeError as e:
        fail("stdout is not one JSON document (%s):\n%s" % (e, run.stdout[:2000]))
    if not isinstance(doc, dict) or set(doc) != {"rows"}:
        fail("top level must be an object with exactly the key 'rows': %r" % list(doc)[:5])
    rows = doc["rows"]
    if not isinstance(rows, list) or not rows:
        fail("rows must be a non-empty list")
    seen = set()
    for row in rows:
        if set(row) != KEYS:
            fail("row keys %r, want %r" % (sorted(row), sorted(KEYS)))
        if row["codec"] not in CODECS or row["op"] not in OPS or row["set"] not in SETS:
            fail("unknown codec/op/set in %r" % row)
        for key in ("n", "k", "m"):
            if not isinstance(row[key], int) or isinstance(row[key], bool) or row[key] < 0:
                fail("%s must be a non-negative integer in %r" % (key, row))
        gbps = row["gbps"]
        if not isinstance(gbps, (int, float)) or not math.isfinite(gbps) or gbps <= 0:
            fail("gbps must be positive and finite in %r" % row)
        seen.add((row["codec"], row["k"], row["op"], row["set"]))
    for codec in CODECS:
        if not any(key[0] == codec for key in seen):
            fail("no %s rows" % codec)
    for codec, k, op, set_name in seen:
        if codec in ("xcode", "bcode") and ("rs-isal", k, op, set_name) not in seen:
            fail("%s k=%d %s %s has no rs-isal row to compare with" % (codec, k, op, set_name))
    for op in OPS:
        for set_name in SETS:
            if not any(key[0] == "rs-isal" and key[2] == op and key[3] == set_name for key in seen):
                fail("no rs-isal %s %s row" % (op, set_name))

    bad = subprocess.run([rain, "bench", "codes", "--reps", "0", "--json"], capture_output=True,
                         text=True, timeout=60)
    if bad.returncode == 0 or bad.stdout.strip():
        fail("--reps 0 must fail with nothing on stdout (status %d)" % bad.returncode)
    print("ok: %d rows" % len(rows))


if __name__ == "__main__":
    main()
