#!/usr/bin/env bash
# Two tm_peer processes on loopback (two addresses each: 127.0.0.1 and 127.0.0.2) exchange
# messages of 1 B .. 16 MiB in both directions; each checks that nothing is lost, duplicated,
# reordered or corrupted (tm_peer.cc). Bounded: each peer stops at --duration-max.
#   tm_loopback_test.sh PATH/TO/tm_peer [messages per direction]
set -euo pipefail
peer=$1
count=${2:-21}
dir=$(mktemp -d /tmp/rain-tm-loopback.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

common=(--local 127.0.0.1:0,127.0.0.2:0 --send "$count" --duration-max 200 --window 4
        --sizes 1,100,1400,1401,65536,1048576,16777216)
"$peer" --node 1 --peer-node 2 --status "$dir/a" --peer-status "$dir/b" --seed 1 "${common[@]}" &
pids+=($!)
"$peer" --node 2 --peer-node 1 --status "$dir/b" --peer-status "$dir/a" --seed 2 "${common[@]}" &
pids+=($!)

rc=0
wait "${pids[0]}" || rc=1
wait "${pids[1]}" || rc=1
pids=()
for f in a b; do
  echo "--- node $f: $(grep -E '^done' "$dir/$f" || echo 'no done line')"
done
if [ $rc -ne 0 ] || ! grep -q '^done ok .*failed=0 ' "$dir/a" || ! grep -q '^done ok .*failed=0 ' "$dir/b"; then
  echo "tm_loopback: FAILED"
  for f in a b; do echo "=== status $f"; tail -20 "$dir/$f"; done
  exit 1
fi
echo "tm_loopback: ok ($count messages each way, 1 B .. 16 MiB)"
