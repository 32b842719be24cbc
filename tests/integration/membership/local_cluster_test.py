#!/usr/bin/env python3
"""Five real raind processes on loopback, driven through the real `rain` binary:
  up: one primary view of 5 | kill -9 one: the 4 survivors install a view without it within the
  failure-detection bound | start it: one view of 5 again | pause one (SIGSTOP): removed |
  resume: one view of 5 | down: no process left.
Every wait polls with a deadline. Failover times are measured from the
`mono_ns` that `rain local kill/pause --json` prints (taken just before the signal) to the latest
survivor's first `watch` view event without the victim (one machine, one CLOCK_MONOTONIC).
    local_cluster_test.py PATH/TO/rain PATH/TO/raind"""
import os
import random
import shutil
import sys
import tempfile
import time

from rain_cli_lib import (TestFailure, ViewWatcher, check, main, processes_of, run, run_json,
                          wait_for_view)

rain, raind = sys.argv[1], sys.argv[2]
NODES = list(range(1, 6))
# docs/raind.md gives the failure-detection bound of the default options; the assertion allows a
# generous multiple of it, because a sanitizer build on 2 shared cores is slow.
DETECTION_LIMIT_S = 2.0
FORM_TIMEOUT_S = 60       # first view, and rejoin after a restart or a resume
REMOVAL_WAIT_S = 20       # the poll deadline; the measured time is checked against the limit
UP_ATTEMPTS = 3           # another test may take our random ports between the check and the bind

work = tempfile.mkdtemp(prefix="rain-local-cluster.")
cluster = os.path.join(work, "c")


def up():
    for attempt in range(UP_ATTEMPTS):
        base = random.randrange(20000, 40000)
        rc, out, err = run(rain, "local", "up", "--dir", cluster, "--nodes", str(len(NODES)),
                           "--base-port", str(base), "--raind", raind,
                           "--timeout", str(FORM_TIMEOUT_S), expect=None)
        if rc == 0:
            print(out, end="")
            return
        if "in use" not in err:
            raise TestFailure(f"rain local up: exit {rc}\n{out}{err}")
    raise TestFailure("no free port range after retries")


def removal(action, victim):
    """Signals victim and measures, from the daemons' own view events, how long until every
    survivor installed a view without it."""
    survivors = [n for n in NODES if n != victim]
    watcher = ViewWatcher(cluster, survivors)
    try:
        signal = run_json(rain, "local", action, str(victim), "--dir", cluster)
        start = time.monotonic()
        while time.monotonic() - start < REMOVAL_WAIT_S:
            firsts = watcher.first_without(victim, signal["mono_ns"])
            if all(t is not None for t in firsts.values()):
                break
            time.sleep(0.05)  # poll interval; the condition is re-checked with a deadline
        else:
            raise TestFailure(f"{action} node {victim}: survivors' first views without it: "
                              f"{firsts} after {REMOVAL_WAIT_S} s")
    finally:
        watcher.close()
    measured = (max(firsts.values()) - signal["mono_ns"]) / 1e9
    print(f"{action} node {victim}: survivors {survivors} installed a view without it after "
          f"{measured * 1000:.0f} ms (limit {DETECTION_LIMIT_S * 1000:.0f} ms)")
    check(measured <= DETECTION_LIMIT_S,
          f"{action} node {victim}: removal took {measured:.3f} s > {DETECTION_LIMIT_S} s")
    wait_for_view(rain, cluster, survivors, REMOVAL_WAIT_S, f"after {action} of node {victim}")


def rejoin(what):
    _, seconds = wait_for_view(rain, cluster, NODES, FORM_TIMEOUT_S, what)
    print(f"{what}: one view of {len(NODES)} after {seconds:.1f} s")


def body():
    try:
        up()
        wait_for_view(rain, cluster, NODES, 5, "after up")  # up said so; status must agree
        _, out, _ = run(rain, "local", "up", "--dir", cluster, "--nodes", "5", "--raind", raind)
        check("already running" in out, f"a second up does not say the cluster runs: {out}")
        _, out, _ = run(rain, "status", "--dir", cluster)
        check("one view" in out, f"status summary: {out}")
        print(out, end="")

        removal("kill", 3)
        run(rain, "local", "start", "3", "--dir", cluster, "--raind", raind)
        rejoin("start node 3")

        removal("pause", 2)
        run(rain, "local", "resume", "2", "--dir", cluster)
        rejoin("resume node 2")

        run(rain, "local", "stop", "5", "--dir", cluster)
        wait_for_view(rain, cluster, [1, 2, 3, 4], REMOVAL_WAIT_S, "after stop of node 5")
        print("stop node 5: the others installed a view without it")

        _, out, _ = run(rain, "local", "down", "--dir", cluster)
        print(out, end="")
        left = processes_of(cluster)
        check(not left, f"processes left after down: {left}")
        _, out, _ = run(rain, "status", "--dir", cluster, expect=1)
        check("no node answers" in out, f"status after down: {out}")
    finally:
        run(rain, "local", "down", "--dir", cluster, "--timeout", "2", expect=None)
        for pid, _ in processes_of(cluster):
            os.kill(pid, 9)
        shutil.rmtree(work, ignore_errors=True)


main(body)
