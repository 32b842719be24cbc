#!/usr/bin/env python3
"""Runs a very short `rain bench gdm` and checks the shape of what it prints.

Seed workload on 2 nodes for 2 s (500 items), max rate and one leader failover on 3 nodes (a
2-node cluster has no majority once its leader is killed). stdout must be exactly one JSON
object with issue 5's keys first; every figure a finite non-negative number. Numbers are never
judged (STYLE.md). Also: a bad option is a usage error, and no raind process or cluster directory
is left behind.

  check_gdm_json.py PATH/TO/rain PATH/TO/raind
"""
import json
import math
import os
import subprocess
import sys
import tempfile

from check_membership_json import fail, number, running_rainds

KEYS_FIRST = ["seed_workload", "max_updates_per_s", "leader_failover_ms"]
ROW_KEYS_FIRST = ["nodes", "cpu_pct_per_node", "idle_cpu_pct_per_node", "commit_ms_p50",
                  "commit_ms_p99"]
TIMEOUT_S = 170


def main():
    rain, raind = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="rain-gbench-check.")
    env = dict(os.environ, TMPDIR=tmp)
    args = [rain, "bench", "gdm", "--nodes", "2", "--failover-nodes", "3", "--seconds", "2",
            "--idle-seconds", "1", "--max-rate-seconds", "2", "--trials", "1", "--items", "500",
            "--fsync-floor-seconds", "1",
            "--raind", raind, "--json"]
    print("running: " + " ".join(args), flush=True)
    run = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
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
        doc = json.loads(run.stdout)
    except json.JSONDecodeError as e:
        fail("stdout is not one JSON document (%s):\n%s" % (e, run.stdout[:2000]))
    if not isinstance(doc, dict) or list(doc)[:len(KEYS_FIRST)] != KEYS_FIRST:
        fail("keys %r, want %r first" % (list(doc) if isinstance(doc, dict) else doc, KEYS_FIRST))
    rows = doc["seed_workload"]
    if not isinstance(rows, list) or len(rows) != 1:
        fail("seed_workload %r: want one row (2 nodes)" % rows)
    row = rows[0]
    if list(row)[:len(ROW_KEYS_FIRST)] != ROW_KEYS_FIRST:
        fail("seed row keys %r, want %r first" % (list(row), ROW_KEYS_FIRST))
    if row["nodes"] != 2:
        fail("seed row nodes %r, want 2" % row["nodes"])
    for key in ROW_KEYS_FIRST[1:] + ["updates_per_s"]:
        number(row, key)
    if row["commit_ms_p99"] < row["commit_ms_p50"]:
        fail("commit p99 below p50: %r" % row)
    # Every member fsyncs what it applies: the load made synced writes, and they took time.
    for key in ("persist_writes_per_s", "persist_ms_p50", "persist_ms_p99"):
        number(row, key, positive=True)
    if row["persist_ms_p99"] < row["persist_ms_p50"]:
        fail("synced write p99 below p50: %r" % row)
    for key in ("cpu_pct_each", "idle_cpu_pct_each"):
        if len(row[key]) != 2:
            fail("%s %r: want one figure per node" % (key, row[key]))
    # The load ran: positive CPU and completed updates, whatever their size.
    number(row, "cpu_pct_per_node", positive=True)
    number(row, "updates_per_s", positive=True)
    # The fsync floor: what one synced 4 KiB append per 10 ms costs this machine's CPU.
    number(doc, "fsync_floor_cpu_pct", positive=True)
    number(doc, "max_updates_per_s", positive=True)
    number(doc, "max_rate_persist_writes_per_s", positive=True)
    number(doc, "leader_failover_ms", positive=True)
    if len(doc.get("leader_failover_ms_each", [])) != 1 or doc.get("max_rate_nodes") != 3:
        fail("want one failover trial on 3 nodes: %r" % doc)
    # The trial split into the membership failover and the election's share after it.
    view = doc.get("leader_failover_view_ms_each", [])
    election = doc.get("leader_election_ms_each", [])
    if len(view) != 1 or len(election) != 1:
        fail("want the view and election split of the one trial: %r" % doc)
    if not 0 < view[0] <= doc["leader_failover_ms"] or election[0] < 0:
        fail("view without the leader must come after the kill and before the new leader: %r" %
             doc)
    # Which way the ring learned of the death: one true/false per trial.
    lost = doc.get("leader_failover_token_lost_each")
    if not isinstance(lost, list) or len(lost) != 1 or not isinstance(lost[0], bool):
        fail("leader_failover_token_lost_each %r: want one boolean per trial" % lost)

    bad = subprocess.run([rain, "bench", "gdm", "--failover-nodes", "2", "--json"],
                         capture_output=True, text=True, timeout=60)
    if bad.returncode != 2 or bad.stdout.strip():
        fail("--failover-nodes 2 must be a usage error (2) with nothing on stdout (status %d)" %
             bad.returncode)
    print("ok: %s" % json.dumps(doc))


if __name__ == "__main__":
    main()
