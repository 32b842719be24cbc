#!/usr/bin/env python3
"""GDM load and CPU of raind by hand (docs/raind.md §4; `rain bench gdm` is the real benchmark).

Starts N raind on loopback (two paths: 127.0.0.1 and 127.0.0.2), waits until every node's GDM is
active with a leader, creates --items items of --item-bytes bytes from node 1 (gdm_load
create:true), then measures CPU per node (utime + stime from /proc/PID/stat) over --seconds idle
and over --seconds with `gdm_load` at --rate updates per second on EVERY node, and prints the
commit latency percentiles (gdm_stats) and whether every node ends with the same index/digest.
Usage: gdm_probe.py RAIND [--nodes 5] [--rate 500] [--seconds 30] [--items 10000]
Everything lives in a temporary directory removed at exit; every raind is killed at exit.
"""
import argparse, json, os, shutil, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover_probe import free_ports, request, cpu_ticks  # noqa: E402
import subprocess  # noqa: E402

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raind"); ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--rate", type=int, default=500); ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--items", type=int, default=10000); ap.add_argument("--item-bytes", type=int, default=1024)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="raind_gdm.")
    procs = {}
    try:
        ports = free_ports(a.nodes)
        with open(f"{d}/cluster.key", "w") as f: f.write(os.urandom(32).hex() + "\n")
        os.chmod(f"{d}/cluster.key", 0o600)
        nodes = range(1, a.nodes + 1)
        for i in nodes:
            t = f'cluster = "gdmprobe"\nkey_file = "cluster.key"\nnode_id = {i}\ndata_dir = "n{i}"\nlog_level = "warn"\n'
            for j in nodes:
                t += f'\n[[node]]\nid = {j}\naddresses = ["127.0.0.1:{ports[j-1]}", "127.0.0.2:{ports[j-1]}"]\n'
            with open(f"{d}/n{i}.toml", "w") as f: f.write(t)
            procs[i] = subprocess.Popen([a.raind, "--config", f"{d}/n{i}.toml"], stderr=open(f"{d}/n{i}.log", "a"))
        sock = lambda i: f"{d}/n{i}/control.sock"
        def statuses():
            return {i: request(sock(i), {"cmd": "status"}) for i in nodes}
        end = time.monotonic() + 60
        while True:
            try:
                st = statuses()
                if all(s["gdm"]["mode"] == "active" and s["leader"] for s in st.values()): break
            except (OSError, ValueError, KeyError, EOFError):
                pass
            if time.monotonic() > end: sys.exit("no active GDM with a leader on every node in 60 s")
            time.sleep(0.2)
        print("leader:", st[1]["leader"])
        t0 = time.monotonic()
        request(sock(1), {"cmd": "gdm_load", "create": True, "items": a.items, "item_bytes": a.item_bytes})
        while request(sock(1), {"cmd": "gdm_stats"})["running"]: time.sleep(0.2)
        s = request(sock(1), {"cmd": "gdm_stats"})
        print(f"created {s['completed']} items in {time.monotonic() - t0:.1f} s (failed {s['failed']}, unavailable {s['unavailable']})")
        hz = os.sysconf("SC_CLK_TCK")
        def cpu_over(seconds):
            before = {i: cpu_ticks(procs[i].pid) for i in nodes}; t = time.monotonic()
            time.sleep(seconds)
            el = time.monotonic() - t
            return {i: 100.0 * (cpu_ticks(procs[i].pid) - before[i]) / hz / el for i in nodes}
        idle = cpu_over(a.seconds)
        for i in nodes: request(sock(i), {"cmd": "gdm_reset"})
        for i in nodes:
            request(sock(i), {"cmd": "gdm_load", "items": a.items, "item_bytes": a.item_bytes,
                              "rate": a.rate, "duration_ms": int(a.seconds * 1000)})
        loaded = cpu_over(a.seconds)
        time.sleep(1.0)
        stats = {i: request(sock(i), {"cmd": "gdm_stats"}) for i in nodes}
        st = statuses()
        print(f"{'node':>4} {'idle %':>7} {'load %':>7} {'issued':>7} {'done':>7} {'failed':>6} {'unavail':>7} {'p50 us':>7} {'p99 us':>7} {'applied':>8}")
        for i in nodes:
            s = stats[i]
            print(f"{i:>4} {idle[i]:7.2f} {loaded[i]:7.2f} {s['issued']:>7} {s['completed']:>7} {s['failed']:>6} {s['unavailable']:>7} {s['commit_us_p50']:>7} {s['commit_us_p99']:>7} {s['applied']:>8}")
        print(f"mean CPU per node: idle {sum(idle.values())/a.nodes:.2f} %, at {a.rate}/s per node {sum(loaded.values())/a.nodes:.2f} %")
        print("same index/digest everywhere:", len({(s['gdm']['index'], s['gdm']['digest']) for s in st.values()}) == 1)
    finally:
        for p in procs.values():
            try: p.kill()
            except Exception: pass
        shutil.rmtree(d, ignore_errors=True)

if __name__ == "__main__":
    main()
