#!/usr/bin/env python3
"""The GDM on five real raind processes (issue 5 item 5), driven through the real `rain` binary:

  1. `rain local up` 5 nodes; wait until every GDM is active under one leader.
  2. Every node writes concurrently: `gdm_load` on its own id range, and a writer thread per node
     running `rain data set KEY VALUE --node i`, recording every acknowledged value. Meanwhile
     node 3 is killed -9 and restarted, then node 5.
  3. Whole-cluster crash: kill -9 all five (the loads still running), start all five.
  4. Wait (deadline) for one primary view of 5 with every GDM active; then every node reports the
     same gdm index and digest, `rain data ls --json` lists identical items on every node, and
     every acknowledged `data set` value reads back from every node.
  5. SIGSTOP node 2 until the others form a view without it, write known values there, SIGCONT:
     node 2 catches up (same index, digest, values).
Every wait polls a condition with a deadline and says what it waits for.
    gdm_cluster_test.py PATH/TO/rain PATH/TO/raind"""
import base64
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "membership"))
from rain_cli_lib import TestFailure, check, main, one_view, processes_of, run, run_json  # noqa

rain, raind = sys.argv[1], sys.argv[2]
NODES = [1, 2, 3, 4, 5]
FORM_TIMEOUT_S = 60      # a view of every listed node with every GDM active
UP_ATTEMPTS = 3          # another test may take our random ports between the check and the bind
WRITE_PHASE_MIN_S = 2.0  # writes before the first kill and after each restart
LOAD_RATE = 100          # gdm_load updates/s per node (an ASan build on 2 shared cores)
LOAD_ITEMS = 100
LOAD_ITEM_BYTES = 256
LOAD_ID_STRIDE = 1_000_000       # node i's gdm_load range starts at i * stride
SET_ID_BASE = 100_000_000        # node i's `rain data set` keys: base + i * stride + k
SET_PAUSE_S = 0.02               # between one writer's commands (pacing, not synchronisation)
CONTROL_TIMEOUT_S = 5

work = tempfile.mkdtemp(prefix="rain-gdm-it.")
cluster = os.path.join(work, "c")


def say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def ask(node, request, timeout=CONTROL_TIMEOUT_S):
    """One request on node's control socket; the answer object (ok or not)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(os.path.join(cluster, f"node-{node}", "control.sock"))
        s.sendall((json.dumps(request) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise TestFailure(f"node {node} closed the connection on {request}")
            buf += chunk
    return json.loads(buf.split(b"\n", 1)[0])


def ask_ok(node, request):
    answer = ask(node, request)
    check(answer.get("ok"), f"node {node} refused {request}: {answer}")
    return answer


def up():
    for _ in range(UP_ATTEMPTS):
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


def gdm_ready(doc, members):
    """True if one_view(members) holds and every member's GDM is active with one leader."""
    if not one_view(doc, members):
        return False
    by_node = {n.get("node"): n for n in doc.get("nodes", [])}
    leaders = set()
    for m in members:
        n = by_node[m]
        if (n.get("gdm") or {}).get("mode") != "active" or not isinstance(n.get("leader"), dict):
            return False
        leaders.add((n["leader"]["node"], n["leader"]["epoch"]))
    return len(leaders) == 1


def wait_gdm(members, what, timeout_s=FORM_TIMEOUT_S):
    say(f"waiting up to {timeout_s} s for {what}: one primary view of {members}, every GDM active "
        f"under one leader")
    start = time.monotonic()
    doc = {}
    while time.monotonic() - start < timeout_s:
        doc = run_json(rain, "status", "--dir", cluster, "--timeout-ms", "500", expect=None)
        if gdm_ready(doc, members):
            leader = next(n for n in doc["nodes"] if n.get("node") == members[0])["leader"]
            say(f"  ready after {time.monotonic() - start:.1f} s: leader node {leader['node']} "
                f"epoch {leader['epoch']}")
            return doc
        time.sleep(0.1)  # poll interval; the condition is re-checked
    raise TestFailure(f"{what}: not ready within {timeout_s} s; last status:\n"
                      + json.dumps(doc, indent=1))


def wait_converged(members, what, timeout_s=15):
    """Waits until every member reports the same gdm index and digest (applies may still be in
    flight right after the view formed); returns that (index, digest)."""
    say(f"waiting up to {timeout_s} s for {what}: the same gdm index and digest on {members}")
    start = time.monotonic()
    seen = {}
    while time.monotonic() - start < timeout_s:
        seen = {}
        for m in members:
            g = ask_ok(m, {"cmd": "status"}).get("gdm") or {}
            seen[m] = (g.get("mode"), g.get("index"), g.get("digest"))
        if len({v for v in seen.values()}) == 1 and seen[members[0]][0] == "active":
            say(f"  converged: index {seen[members[0]][1]} digest {seen[members[0]][2]}")
            return seen[members[0]][1:]
        time.sleep(0.1)  # poll interval; the condition is re-checked
    raise TestFailure(f"{what}: gdm (mode, index, digest) per node still differ: {seen}")


class Writer(threading.Thread):
    """Runs `rain data set KEY VALUE --node N` in a loop on fresh keys; records the values whose
    set was acknowledged (exit 0) and counts the refusals by their code."""

    def __init__(self, node):
        super().__init__(daemon=True)
        self.node = node
        self.acked = {}
        self.refused = {}
        self.stop = threading.Event()

    def run(self):
        k = 0
        while not self.stop.is_set():
            key = SET_ID_BASE + self.node * LOAD_ID_STRIDE + k
            value = f"node {self.node} write {k} {random.getrandbits(48):012x}"
            k += 1
            rc, out, err = run(rain, "data", "set", str(key), value, "--dir", cluster, "--node",
                               str(self.node), "--json", "--timeout-ms", "8000", expect=None)
            if rc == 0:
                answer = json.loads(out)
                if answer.get("ok") and answer.get("id") == key:
                    self.acked[key] = value.encode()
                    continue
            code = "exit %d" % rc
            try:
                code = json.loads(out).get("code", code)
            except ValueError:
                pass
            self.refused[code] = self.refused.get(code, 0) + 1
            self.stop.wait(SET_PAUSE_S)


def start_loads():
    for n in NODES:
        ask_ok(n, {"cmd": "gdm_load", "id_base": n * LOAD_ID_STRIDE, "items": LOAD_ITEMS,
                   "item_bytes": LOAD_ITEM_BYTES, "create": False, "rate": LOAD_RATE,
                   "duration_ms": 600_000, "window": 16})


def create_load_items():
    """Each node creates its gdm_load range once, so the random overwrites find their items."""
    say(f"each node creates its {LOAD_ITEMS} load items")
    for n in NODES:
        ask_ok(n, {"cmd": "gdm_reset"})
        ask_ok(n, {"cmd": "gdm_load", "id_base": n * LOAD_ID_STRIDE, "items": LOAD_ITEMS,
                   "item_bytes": LOAD_ITEM_BYTES, "create": True, "window": 16})
    deadline = time.monotonic() + FORM_TIMEOUT_S
    while time.monotonic() < deadline:
        stats = {n: ask_ok(n, {"cmd": "gdm_stats"}) for n in NODES}
        if all(not s["running"] for s in stats.values()):
            done = {n: s["completed"] for n, s in stats.items()}
            check(all(c >= LOAD_ITEMS for c in done.values()), f"load items created: {done}")
            # Every node journals what every node created (a record per synced group).
            journaled = {n: (s["journal_records"], s["journal_bytes"]) for n, s in stats.items()}
            check(all(r > 0 and b >= len(NODES) * LOAD_ITEMS * LOAD_ITEM_BYTES
                      for r, b in journaled.values()), f"journal records, bytes: {journaled}")
            return
        time.sleep(0.1)  # poll interval; the condition is re-checked
    raise TestFailure(f"creating the load items did not finish: {stats}")


def writes_for_a_while(writers, what):
    """Lets the writers run until each has WRITE_PHASE_MIN_S behind it and at least one more
    acknowledged write (so every phase has writes), with a deadline."""
    before = sum(len(w.acked) for w in writers)
    start = time.monotonic()
    while time.monotonic() - start < FORM_TIMEOUT_S:
        if (time.monotonic() - start >= WRITE_PHASE_MIN_S and
                sum(len(w.acked) for w in writers) > before):
            say(f"  {what}: {sum(len(w.acked) for w in writers) - before} more acknowledged sets")
            return
        time.sleep(0.1)  # poll interval; the condition is re-checked
    raise TestFailure(f"{what}: no write acknowledged in {FORM_TIMEOUT_S} s; refusals: "
                      + str([w.refused for w in writers]))


def kill_and_restart(victim, writers):
    survivors = [n for n in NODES if n != victim]
    say(f"kill -9 node {victim} while every node writes")
    run(rain, "local", "kill", str(victim), "--dir", cluster)
    wait_gdm(survivors, f"the survivors of node {victim}'s kill")
    writes_for_a_while(writers, f"writes without node {victim}")
    run(rain, "local", "start", str(victim), "--dir", cluster)
    wait_gdm(NODES, f"node {victim} back")
    writes_for_a_while(writers, f"writes after node {victim}'s restart")


def listing(node):
    doc = run_json(rain, "data", "ls", "--dir", cluster, "--node", str(node))
    check(doc.get("ok") and not doc.get("stale") and not doc.get("more"),
          f"data ls on node {node}: {dict((k, v) for k, v in doc.items() if k != 'items')}")
    return doc["items"]


def check_replicas(acked, what):
    """Identical index, digest and listing everywhere; every acked value on every node."""
    wait_converged(NODES, what)
    lists = {n: listing(n) for n in NODES}
    for n in NODES[1:]:
        check(lists[n] == lists[NODES[0]],
              f"{what}: data ls differs between node {NODES[0]} ({len(lists[NODES[0]])} items) "
              f"and node {n} ({len(lists[n])} items)")
    ids = {item["id"] for item in lists[NODES[0]]}
    missing = sorted(k for k in acked if k not in ids)
    check(not missing, f"{what}: acknowledged items missing from the listing: {missing[:20]}")
    say(f"  {what}: {len(lists[NODES[0]])} identical items on every node; reading "
        f"{len(acked)} acknowledged values from every node")
    for n in NODES:
        for key, value in acked.items():
            got = ask_ok(n, {"cmd": "data_get", "id": key})
            check(not got["stale"], f"node {n} says its data may be stale")
            check(base64.b64decode(got["value_b64"]) == value,
                  f"{what}: node {n} item {key}: {base64.b64decode(got['value_b64'])!r}, "
                  f"acknowledged {value!r}")
    # The CLI's own read path, on a sample: raw bytes on stdout.
    for key in random.sample(sorted(acked), min(5, len(acked))):
        n = random.choice(NODES)
        _, out, _ = run(rain, "data", "get", str(key), "--dir", cluster, "--node", str(n))
        check(out.encode() == acked[key], f"rain data get {key} on node {n}: {out!r}")


def body():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # ctest timeout: still clean up
    test_start = time.monotonic()
    try:
        say(f"rain local up: {len(NODES)} raind in {cluster}")
        up()
        wait_gdm(NODES, "the first view")
        create_load_items()
        writers = [Writer(n) for n in NODES]
        for w in writers:
            w.start()
        start_loads()
        writes_for_a_while(writers, "writes from every node")
        kill_and_restart(3, writers)
        kill_and_restart(5, writers)

        say("whole-cluster crash: kill -9 all five while the loads run")
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(timeout=30)
            check(not w.is_alive(), f"writer of node {w.node} did not stop")
        for n in NODES:
            run(rain, "local", "kill", str(n), "--dir", cluster)
        for n in NODES:
            run(rain, "local", "start", str(n), "--dir", cluster)
        wait_gdm(NODES, "the restarted cluster")
        # Far less than a journal file was written, so no checkpoint ran before the crash: each
        # node came back by replaying its journal.
        replayed = {n: ask_ok(n, {"cmd": "gdm_stats"})["journal_replayed_batches"] for n in NODES}
        check(all(r > 0 for r in replayed.values()),
              f"journal batches replayed at start: {replayed}")
        acked = {}
        for w in writers:
            acked.update(w.acked)
        say(f"acknowledged sets: {len(acked)}; refusals per node: "
            + ", ".join(f"{w.node}: {w.refused}" for w in writers))
        check(len(acked) > 0, "no set was acknowledged")
        check_replicas(acked, "after the whole-cluster restart")

        say("pause node 2 (SIGSTOP) until the others form a view without it")
        run(rain, "local", "pause", "2", "--dir", cluster)
        others = [n for n in NODES if n != 2]
        wait_gdm(others, "the view without the paused node 2")
        paused_writes = {}
        for k in range(5):
            key = SET_ID_BASE + 9 * LOAD_ID_STRIDE + k
            value = f"written while node 2 was paused {k}"
            run(rain, "data", "set", str(key), value, "--dir", cluster, "--node", "1")
            paused_writes[key] = value.encode()
        removed = next(iter(acked))
        run(rain, "data", "rm", str(removed), "--dir", cluster, "--node", "4")
        del acked[removed]
        acked.update(paused_writes)
        say("resume node 2")
        run(rain, "local", "resume", "2", "--dir", cluster)
        wait_gdm(NODES, "node 2 back after the pause")
        check_replicas(acked, "after node 2 caught up")
        got = ask(2, {"cmd": "data_get", "id": removed})
        check(not got.get("ok") and got.get("code") == "NotFound",
              f"item {removed} removed while node 2 was paused is still there: {got}")
        say(f"all checks passed in {time.monotonic() - test_start:.1f} s")
    finally:
        run(rain, "local", "down", "--dir", cluster, expect=None)
        for pid, _ in processes_of(cluster):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(body)
