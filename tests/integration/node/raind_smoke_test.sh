#!/usr/bin/env bash
# raind smoke test (docs/raind.md): three daemons on loopback (two paths each: 127.0.0.1 and
# 127.0.0.2) form one primary view of 3, seen through the control socket; a data_set on node 1 is
# answered once durable and data_get on node 3 returns it, with a leader and the same GDM
# digest everywhere; data errors carry their code; SIGTERM gives a clean exit 0 and removes the
# socket; a bad config exits 2 and names the field.
# Usage: raind_smoke_test.sh path/to/raind
set -euo pipefail
RAIND=${1:?usage: raind_smoke_test.sh RAIND}
DEADLINE_S=${RAIND_SMOKE_DEADLINE_S:-30}
DIR=$(mktemp -d /tmp/raind_smoke.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for i in 1 2 3; do echo "--- node $i log" >&2; cat "$DIR/node-$i.log" >&2 || true; done; exit 1; }

# Three free UDP ports on both loopback addresses (bound and released by python).
read -r -a PORTS < <(python3 - <<'PY'
import socket
ports = []
while len(ports) < 3:
    s1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s1.bind(("127.0.0.1", 0))
    p = s1.getsockname()[1]
    try:
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s2.bind(("127.0.0.2", p)); s2.close()
        ports.append(p)
    except OSError:
        pass
    s1.close()
print(*ports)
PY
)

python3 -c 'import os; print(os.urandom(32).hex())' > "$DIR/cluster.key"
chmod 600 "$DIR/cluster.key"
for i in 1 2 3; do
  {
    echo "cluster = \"smoke\""
    echo "key_file = \"cluster.key\""
    echo "node_id = $i"
    echo "data_dir = \"node-$i\""
    echo "log_level = \"info\""
    for j in 1 2 3; do
      p=${PORTS[$((j - 1))]}
      printf '\n[[node]]\nid = %d\naddresses = ["127.0.0.1:%d", "127.0.0.2:%d"]\n' "$j" "$p" "$p"
    done
  } > "$DIR/node-$i.toml"
done

# --check-config prints the resolved config; a bad one exits 2 naming the field.
"$RAIND" --check-config "$DIR/node-1.toml" | grep -q '^rto_min_ms = ' || fail "--check-config output"
sed 's/^node_id = 1/node_id = 9/' "$DIR/node-1.toml" > "$DIR/bad.toml"
set +e
err=$("$RAIND" --config "$DIR/bad.toml" 2>&1); rc=$?
set -e
[[ $rc -eq 2 ]] || fail "bad config: exit $rc, want 2"
grep -q 'node_id' <<<"$err" || fail "bad config: the message does not name node_id: $err"
set +e
"$RAIND" --bogus-flag >/dev/null 2>&1; rc=$?
set -e
[[ $rc -eq 2 ]] || fail "unknown flag: exit $rc, want 2"

for i in 1 2 3; do
  "$RAIND" --config "$DIR/node-$i.toml" 2> "$DIR/node-$i.log" &
  PIDS+=($!)
done

# Wait (with a deadline) until every node reports the same primary view of 3 members.
python3 - "$DIR" "$DEADLINE_S" <<'PY' || fail "no common view of 3 within ${DEADLINE_S}s"
import json, socket, sys, time
d, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
def status(i):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(f"{d}/node-{i}/control.sock")
    s.sendall(b'{"cmd":"status"}\n')
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk: break
        buf += chunk
    s.close()
    return json.loads(buf)
last = None
while time.monotonic() < deadline:
    try:
        views = [status(i)["view"] for i in (1, 2, 3)]
        last = views
        if all(v and sorted(v["members"]) == [1, 2, 3] and v["primary"] for v in views) and \
           len({v["id"] for v in views}) == 1:
            print("view of 3:", views[0]["id"])
            # The ring counters are there, and the token has visited.
            st = status(1)
            ring = st["ring"]
            keys = {"token_visits", "token_pass_failures", "token_losses", "recovery_timeouts",
                    "token_alive_sent", "busy_holds", "token_held_ms"}
            if set(ring) != keys or ring["token_visits"] < 1:
                print("bad ring counters:", ring, file=sys.stderr)
                sys.exit(1)
            if not isinstance(st.get("cpu_contended"), bool):
                print("no cpu_contended verdict:", st, file=sys.stderr)
                sys.exit(1)
            sys.exit(0)
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.1)
print("last views:", last, file=sys.stderr)
sys.exit(1)
PY
grep -q 'view .* members \[.*\] primary yes (so far: pass failures [0-9]*, token losses [0-9]*)' \
  "$DIR/node-1.log" || fail "no view line (with the ring counters) in the log"

# Malformed and unknown requests get ok:false with a code, and the connection stays usable.
python3 - "$DIR" <<'PY' || fail "control endpoint error answers"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(5)
s.connect(f"{sys.argv[1]}/node-2/control.sock")
f = s.makefile("rwb")
for line in (b"not json\n", b'{"cmd":"nope"}\n', b'{"cmd":"mcast","bytes":4}\n', b'{"cmd":"status"}\n'):
    f.write(line); f.flush()
answers = [json.loads(f.readline()) for _ in range(4)]
assert answers[0]["ok"] is False and answers[0]["code"] == "InvalidArgument", answers[0]
assert answers[1]["ok"] is False and "nope" in answers[1]["error"], answers[1]
assert answers[2]["ok"] is False and answers[2]["code"] == "InvalidArgument", answers[2]
assert answers[3]["ok"] is True and answers[3]["node"] == 2, answers[3]
PY

# The GDM: a write on node 1, answered once durable everywhere, read back on node 3; errors.
python3 - "$DIR" "$DEADLINE_S" <<'PY' || fail "data round trip"
import base64, json, socket, sys, time
d, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
def conn(i):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(10)
    s.connect(f"{d}/node-{i}/control.sock")
    return s.makefile("rwb")
def ask(f, req):
    f.write((json.dumps(req) + "\n").encode()); f.flush()
    return json.loads(f.readline())
c1, c3 = conn(1), conn(3)
# Writes are refused (Unavailable) until the view's sync point: retry until the deadline.
value = bytes(range(256)) * 40
while True:
    a = ask(c1, {"cmd": "data_set", "id": 77, "value_b64": base64.b64encode(value).decode()})
    if a["ok"] or a.get("code") != "Unavailable" or time.monotonic() > deadline:
        break
    time.sleep(0.1)
assert a["ok"] and a["id"] == 77 and a["created"] is True and a["version"] > 0, a
g = ask(c3, {"cmd": "data_get", "id": 77})
assert g["ok"] and base64.b64decode(g["value_b64"]) == value and g["size"] == len(value), g
assert g["version"] == a["version"] and g["stale"] is False, g
p = ask(c3, {"cmd": "data_get", "id": 77, "offset": 256, "length": 3})
assert base64.b64decode(p["value_b64"]) == bytes([0, 1, 2]), p
ls = ask(c3, {"cmd": "data_ls"})
assert ls["ok"] and [it["id"] for it in ls["items"]] == [77] and ls["more"] is False, ls
# Errors: absent item, bad base64, offset past the end, auto id allocation.
e = ask(c3, {"cmd": "data_get", "id": 78})
assert not e["ok"] and e["code"] == "NotFound", e
e = ask(c1, {"cmd": "data_set", "id": 78, "value_b64": "not base64!"})
assert not e["ok"] and e["code"] == "InvalidArgument", e
e = ask(c3, {"cmd": "data_get", "id": 77, "offset": len(value) + 1})
assert not e["ok"] and e["code"] == "OutOfRange", e
auto = ask(c3, {"cmd": "data_set", "id": 0, "value_b64": "aGk="})
assert auto["ok"] and auto["id"] >= 1 << 63 and auto["created"], auto
rm = ask(c1, {"cmd": "data_rm", "id": auto["id"]})
assert rm["ok"], rm
# Every node: a leader (node 1, the lowest id) with one epoch, and the same index and digest.
while True:
    sts = [ask(conn(i), {"cmd": "status"}) for i in (1, 2, 3)]
    same = len({(s["gdm"]["index"], s["gdm"]["digest"]) for s in sts}) == 1
    leaders = {json.dumps(s["leader"] and {k: s["leader"][k] for k in ("node", "epoch")}) for s in sts}
    if (same and len(leaders) == 1 and sts[0]["leader"] and sts[0]["leader"]["node"] == 1) or \
       time.monotonic() > deadline:
        break
    time.sleep(0.1)
assert same, [s["gdm"] for s in sts]
assert sts[0]["leader"] and sts[0]["leader"]["node"] == 1 and sts[0]["leader"]["self"], sts[0]
assert all(s["gdm"]["mode"] == "active" and s["gdm"]["items"] == 1 for s in sts), [s["gdm"] for s in sts]
print("data round trip ok, leader", sts[0]["leader"])
PY
grep -q 'leader 1 epoch' "$DIR/node-2.log" || fail "no leader line in the log"

# SIGTERM: clean exit 0 within the deadline, control socket removed.
for i in 1 2 3; do kill -TERM "${PIDS[$((i - 1))]}"; done
for i in 1 2 3; do
  pid=${PIDS[$((i - 1))]}
  end=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "node $i still running 10 s after SIGTERM"
  set +e; wait "$pid"; rc=$?; set -e
  [[ $rc -eq 0 ]] || fail "node $i exited $rc after SIGTERM, want 0"
  [[ ! -e "$DIR/node-$i/control.sock" ]] || fail "node $i left its control socket"
  [[ -s "$DIR/node-$i/gcm.state" ]] || fail "node $i persisted no stable state"
  [[ -s "$DIR/node-$i/election.state" ]] || fail "node $i persisted no election epoch"
  [[ -d "$DIR/node-$i/gdm" ]] || fail "node $i has no GDM database"
done
PIDS=()
echo "PASS: raind smoke (3 nodes, one view, data set/get across nodes, leader, clean shutdown, bad config exit 2)"
