"""Helpers shared by the `rain local` / `rain status` integration tests: run the real `rain`
binary, poll `rain status --json` until a condition holds (always with a deadline), and find
leftover processes of a cluster directory."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

COMMAND_TIMEOUT_S = 180  # one rain invocation; `up` waits for the view itself


class TestFailure(Exception):
    pass


def run(rain, *args, expect=0, timeout=COMMAND_TIMEOUT_S):
    """Runs rain with args; checks the exit status (None: any). Returns (rc, stdout, stderr)."""
    p = subprocess.run([rain, *args], capture_output=True, text=True, timeout=timeout)
    if expect is not None and p.returncode != expect:
        raise TestFailure(f"rain {' '.join(args)}: exit {p.returncode}, expected {expect}\n"
                          f"--- stdout\n{p.stdout}--- stderr\n{p.stderr}")
    return p.returncode, p.stdout, p.stderr


def run_json(rain, *args, expect=0, timeout=COMMAND_TIMEOUT_S):
    _, out, _ = run(rain, *args, "--json", expect=expect, timeout=timeout)
    return json.loads(out)


def status(rain, cluster_dir):
    return run_json(rain, "status", "--dir", cluster_dir, "--timeout-ms", "500", expect=None)


def one_view(doc, members):
    """The view id if every node in `members` answers with the same primary view whose member set
    is exactly `members`; None otherwise."""
    by_node = {n.get("node"): n for n in doc.get("nodes", [])}
    ids = set()
    for m in members:
        n = by_node.get(m)
        if not n or not n.get("up") or not isinstance(n.get("view"), dict):
            return None
        v = n["view"]
        if not v.get("primary") or sorted(v.get("members", [])) != sorted(members):
            return None
        ids.add(json.dumps(v.get("id")))
    return ids.pop() if len(ids) == 1 else None


def wait_for_view(rain, cluster_dir, members, timeout_s, what):
    """Polls status until one_view(members) holds; returns (status doc, seconds waited)."""
    start = time.monotonic()
    doc = {}
    while time.monotonic() - start < timeout_s:
        doc = status(rain, cluster_dir)
        if one_view(doc, members):
            return doc, time.monotonic() - start
        time.sleep(0.05)  # poll interval, not synchronisation: the condition is re-checked
    raise TestFailure(f"{what}: no primary view of {members} within {timeout_s} s; last status:\n"
                      + json.dumps(doc, indent=1))


class ViewWatcher:
    """Subscribes to {"cmd":"watch"} on the given nodes' control sockets (docs/raind.md §3) and
    records every view event (mono_ns, view) per node in a reader thread per node: the exact
    install times, which polling `rain status` cannot see (a later view hides an earlier one)."""

    def __init__(self, cluster_dir, nodes):
        self.events = {n: [] for n in nodes}
        self.lock = threading.Lock()
        self.socks = []
        for n in nodes:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(os.path.join(cluster_dir, f"node-{n}", "control.sock"))
            s.sendall(b'{"cmd":"watch"}\n')
            self.socks.append(s)
            threading.Thread(target=self._read, args=(n, s), daemon=True).start()

    def _read(self, node, s):
        buf = b""
        s.settimeout(None)
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                if msg.get("event") == "view":
                    with self.lock:
                        self.events[node].append((msg["mono_ns"], msg["view"]))

    def first_without(self, victim, after_ns):
        """Per node, the mono_ns of its first view after after_ns that lacks victim (or None)."""
        with self.lock:
            return {n: next((t for t, v in evs if t >= after_ns and v and
                             victim not in v.get("members", [])), None)
                    for n, evs in self.events.items()}

    def close(self):
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def processes_of(cluster_dir):
    """Live (non-zombie) processes whose command line mentions cluster_dir."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cluster_dir in cmdline and state != "Z":
            found.append((int(pid), cmdline.strip()))
    return found


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def main(body):
    """Runs body(); prints ok or the failure; exit status 0 / 1."""
    try:
        body()
    except TestFailure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    print("ok")
