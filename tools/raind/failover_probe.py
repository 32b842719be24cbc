#!/usr/bin/env python3
"""Failover and idle measurements of raind by hand (docs/raind.md "Defaults and failure detection").

Starts N raind on loopback (two paths: 127.0.0.1 and 127.0.0.2), waits for one view of all, then:
  * idle:     counts view changes (false removals) and CPU per node over --idle-s seconds,
              optionally with --hogs busy-loop processes saturating the CPUs;
  * failover: --trials times, kill -9 one node (round robin, token holder or not: whoever it is),
              and measures kill -> the last survivor's view without it, from the `watch` streams
              (CLOCK_MONOTONIC on both sides); then restarts the node and waits for a full view.
Usage: failover_probe.py RAIND [--nodes 5] [--trials 20] [--idle-s 30] [--hogs 0] [--extra TOML]
Everything lives in a temporary directory removed at exit; every raind is killed at exit.
"""
import argparse, json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

def free_ports(n):
    ports = []
    while len(ports) < n:
        s1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s1.bind(("127.0.0.1", 0))
        p = s1.getsockname()[1]
        try:
            s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s2.bind(("127.0.0.2", p)); s2.close()
            if p not in ports: ports.append(p)
        except OSError:
            pass
        s1.close()
    return ports

class Conn:
    def __init__(self, path, timeout=3.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
    def send(self, obj):
        self.s.sendall((json.dumps(obj) + "\n").encode())
    def recv(self, timeout):
        self.s.settimeout(max(0.001, timeout))
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk: raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

def request(path, obj):
    c = Conn(path); c.send(obj); r = c.recv(3.0); c.s.close(); return r

def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raind"); ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--trials", type=int, default=20); ap.add_argument("--idle-s", type=float, default=30)
    ap.add_argument("--hogs", type=int, default=0); ap.add_argument("--extra", default="")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="raind_failover.")
    procs, hogs = {}, []
    def cleanup():
        for p in list(procs.values()) + hogs:
            try: p.kill()
            except Exception: pass
        shutil.rmtree(d, ignore_errors=True)
    try:
        ports = free_ports(a.nodes)
        with open(f"{d}/cluster.key", "w") as f: f.write(os.urandom(32).hex() + "\n")
        os.chmod(f"{d}/cluster.key", 0o600)
        for i in range(1, a.nodes + 1):
            t = f'cluster = "probe"\nkey_file = "cluster.key"\nnode_id = {i}\ndata_dir = "n{i}"\nlog_level = "warn"\n'
            for j in range(1, a.nodes + 1):
                p = ports[j - 1]
                t += f'\n[[node]]\nid = {j}\naddresses = ["127.0.0.1:{p}", "127.0.0.2:{p}"]\n'
            t += "\n" + a.extra.replace("\\n", "\n") + "\n"
            with open(f"{d}/n{i}.toml", "w") as f: f.write(t)
        sock = lambda i: f"{d}/n{i}/control.sock"
        def start(i):
            procs[i] = subprocess.Popen([a.raind, "--config", f"{d}/n{i}.toml"],
                                        stderr=open(f"{d}/n{i}.log", "a"))
        def wait_all(live, timeout=30):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                try:
                    vs = [request(sock(i), {"cmd": "status"})["view"] for i in live]
                    if all(v and sorted(v["members"]) == sorted(live) for v in vs) and len({v["id"] for v in vs}) == 1:
                        return True
                except (OSError, ValueError, EOFError):
                    pass
                time.sleep(0.05)
            return False
        for i in range(1, a.nodes + 1): start(i)
        nodes = list(range(1, a.nodes + 1))
        if not wait_all(nodes): sys.exit("no view of all nodes")
        # Idle: view changes and CPU.
        watches = {}
        for i in nodes:
            c = Conn(sock(i)); c.send({"cmd": "watch"}); c.recv(3.0); watches[i] = c
        for _ in range(a.hogs):
            hogs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        t0 = {i: cpu_ticks(procs[i].pid) for i in nodes}; w0 = time.monotonic()
        changes = 0
        end = time.monotonic() + a.idle_s
        while time.monotonic() < end:
            for i, c in watches.items():
                try:
                    while True:
                        ev = c.recv(0.01); changes += 1
                        print(f"  idle view change at node {i}: {ev['view']['members']}", file=sys.stderr)
                except (socket.timeout, TimeoutError):
                    pass
            time.sleep(0.2)
        hz = os.sysconf("SC_CLK_TCK"); wall = time.monotonic() - w0
        cpu = [100.0 * (cpu_ticks(procs[i].pid) - t0[i]) / hz / wall for i in nodes]
        for h in hogs: h.kill()
        hogs.clear()
        print(json.dumps({"idle_s": round(wall, 1), "hogs": a.hogs, "view_changes": changes,
                          "cpu_percent_per_node": [round(x, 2) for x in cpu]}))
        # Failover trials.
        results = []
        for trial in range(a.trials):
            victim = nodes[trial % len(nodes)]
            survivors = [i for i in nodes if i != victim]
            for c in watches.values():  # drain
                try:
                    while True: c.recv(0.001)
                except (socket.timeout, TimeoutError):
                    pass
            kill_ns = time.monotonic_ns()
            procs[victim].send_signal(signal.SIGKILL); procs[victim].wait()
            watches.pop(victim).s.close()
            seen = {}
            end = time.monotonic() + 10
            while len(seen) < len(survivors) and time.monotonic() < end:
                for i in survivors:
                    if i in seen: continue
                    try:
                        ev = watches[i].recv(0.005)
                        if victim not in ev["view"]["members"]:
                            seen[i] = (ev["mono_ns"] - kill_ns) / 1e6
                    except (socket.timeout, TimeoutError):
                        pass
            ms = max(seen.values()) if len(seen) == len(survivors) else float("inf")
            results.append(ms)
            print(f"trial {trial}: killed {victim}, last survivor's view after {ms:.1f} ms", file=sys.stderr)
            start(victim)
            if not wait_all(nodes): sys.exit(f"node {victim} did not rejoin")
            c = Conn(sock(victim)); c.send({"cmd": "watch"}); c.recv(3.0); watches[victim] = c
        if results:
            s = sorted(results)
            print(json.dumps({"trials": len(s), "failover_ms_median": round(statistics.median(s), 1),
                              "p90": round(s[int(0.9 * (len(s) - 1))], 1), "max": round(s[-1], 1),
                              "all": [round(x, 1) for x in results]}))
    finally:
        cleanup()

if __name__ == "__main__":
    main()
