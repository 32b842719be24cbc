#!/usr/bin/env bash
# The TM between two "hosts" (network namespaces) joined by two veth links, with faults:
#   cut-one   one link goes down mid-transfer: nothing lost or duplicated, the transfer goes on
#   cut-both  both links go down: failure reported within the configured bound; one link comes
#             back: traffic resumes; every message the receiver misses was reported failed
#   loss      10 % loss on both links in both directions (tc netem): everything delivered
# Addresses exist only inside namespaces created here (10.99.1.0/24, 10.99.2.0/24); names carry
# the PID; a trap removes everything, also on failure. Waits poll the peers' status files with
# deadlines; no sleep is used as synchronisation. Needs root: otherwise prints SKIPPED and exits 77.
#   tm_netns_test.sh PATH/TO/tm_peer cut-one|cut-both|loss
set -uo pipefail
peer=$1
scenario=$2
nsa=rain-tma-$$
nsb=rain-tmb-$$
dir=$(mktemp -d /tmp/rain-tm-netns.XXXXXX)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  ip netns del "$nsa" 2>/dev/null
  ip netns del "$nsb" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

skip() {
  echo "SKIPPED: $1"
  exit 77
}
fail() {
  echo "tm_netns $scenario: FAILED: $1"
  for f in a b; do
    echo "=== status $f"
    grep -v '^progress' "$dir/$f" | tail -15
    tail -2 "$dir/$f"
    tail -5 "$dir/$f.log"
  done
  exit 1
}

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
ip netns add "$nsa" 2>/dev/null || skip "needs root for network namespaces (ip netns add failed)"
ip netns add "$nsb" || fail "ip netns add"
set -e
ip -n "$nsa" link add v0 type veth peer name v0 netns "$nsb"
ip -n "$nsa" link add v1 type veth peer name v1 netns "$nsb"
ip -n "$nsa" addr add 10.99.1.1/24 dev v0
ip -n "$nsb" addr add 10.99.1.2/24 dev v0
ip -n "$nsa" addr add 10.99.2.1/24 dev v1
ip -n "$nsb" addr add 10.99.2.2/24 dev v1
for ns in "$nsa" "$nsb"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" link set v0 up
  ip -n "$ns" link set v1 up
done
set +e

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_for FILE REGEX TIMEOUT_S: polls until a line of FILE matches; 1 on timeout.
wait_for() {
  local end=$(($(now_ms) + $3 * 1000))
  while [ "$(now_ms)" -lt "$end" ]; do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# received FILE: the node's received count from its last progress line (0 before the first).
received() {
  local n
  n=$(grep '^progress' "$1" 2>/dev/null | tail -1 | sed -E 's/.* received=([0-9]+).*/\1/')
  echo "${n:-0}"
}
# wait_received FILE MIN TIMEOUT_S
wait_received() {
  local end=$(($(now_ms) + $3 * 1000))
  while [ "$(now_ms)" -lt "$end" ]; do
    [ "$(received "$1")" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}

# start_peers EXTRA_ARGS...: node 1 in nsa, node 2 in nsb, each sending to the other.
start_peers() {
  ip netns exec "$nsa" "$peer" --node 1 --peer-node 2 --local 10.99.1.1:7000,10.99.2.1:7000 \
    --status "$dir/a" --peer-status "$dir/b" --seed 1 --stop-file "$dir/stop" "$@" \
    >"$dir/a.log" 2>&1 &
  pids+=($!)
  ip netns exec "$nsb" "$peer" --node 2 --peer-node 1 --local 10.99.1.2:7000,10.99.2.2:7000 \
    --status "$dir/b" --peer-status "$dir/a" --seed 2 --stop-file "$dir/stop" "$@" \
    >"$dir/b.log" 2>&1 &
  pids+=($!)
}
# finish: waits for both peers (bounded by their --duration-max), checks "done ok".
finish() {
  local rc=0
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  pids=()
  for f in a b; do echo "node $f: $(grep -E '^done' "$dir/$f" || echo 'no done line')"; done
  [ $rc -eq 0 ] || fail "a peer exited with an error"
  grep -q '^done ok' "$dir/a" && grep -q '^done ok' "$dir/b" || fail "a peer did not finish ok"
}

case "$scenario" in
  cut-one)
    start_peers --send 400 --window 8 --sizes 65536,1400,300000,100 --duration-max 150
    wait_received "$dir/b" 40 60 || fail "transfer did not start"
    before=$(received "$dir/b")
    # The sender's RTO on the cut path (v0, its first path) just before the cut.
    rto_ms=$(grep '^progress' "$dir/a" | tail -1 | sed -nE 's/.* rto_ms=([0-9]+).*/\1/p')
    t_cut=$(now_ms)
    ip -n "$nsa" link set v0 down
    echo "cut link v0 after $before of 400 messages"
    finish
    grep -q '^done ok .*failed=0 ' "$dir/a" && grep -q '^done ok .*failed=0 ' "$dir/b" ||
      fail "messages failed although one link stayed up"
    [ "$before" -lt 400 ] || fail "the cut came after the transfer ended"
    # The pause the cut caused at the receiver: the longest gap that ended after the cut.
    pause=$(sed -nE 's/^gap ms=([0-9]+) end_unix_ms=([0-9]+)$/\1 \2/p' "$dir/b" |
      awk -v t="$t_cut" '$2 >= t && $1 > m { m = $1 } END { print m + 0 }')
    echo "traffic moved to the other link: longest pause after the cut ${pause} ms"
    # The figure of docs/benchmarks.md (target: within 3 RTOs of the cut path).
    if [ -n "$rto_ms" ] && [ "$rto_ms" -gt 0 ]; then
      echo "failover pause: ${pause} ms = $(awk -v p="$pause" -v r="$rto_ms" \
        'BEGIN { printf "%.1f", p / r }') x the cut path's RTO (${rto_ms} ms at the cut)"
    fi
    echo "tm_netns cut-one: ok (max_gap_ms = longest pause between two deliveries)"
    ;;
  cut-both)
    rto_max_ms=300
    tx=3
    paths=2
    # The detection bound of docs/transport.md §6 is paths x transmissions_per_path_max x rto_max
    # after a message's first transmission; allow twice that plus 1 s for scheduling.
    bound_ms=$((2 * paths * tx * rto_max_ms + 1000))
    start_peers --send 1000000 --window 4 --sizes 1000,1200 --duration-max 150 \
      --rto-initial-ms 100 --rto-max-ms "$rto_max_ms" --transmissions-per-path "$tx" --ping-ms 100
    wait_received "$dir/b" 50 60 || fail "transfer did not start"
    ip -n "$nsa" link set v0 down
    ip -n "$nsa" link set v1 down
    t_cut=$(now_ms)
    wait_for "$dir/a" '^failed seq=' $((bound_ms / 1000 + 5)) || fail "no failure reported"
    elapsed=$(($(now_ms) - t_cut))
    echo "both links cut: first failure reported after ${elapsed} ms (bound ${bound_ms} ms)"
    [ "$elapsed" -le "$bound_ms" ] || fail "failure reported after ${elapsed} ms > ${bound_ms} ms"
    at_cut=$(received "$dir/b")
    ip -n "$nsa" link set v1 up
    t_up=$(now_ms)
    wait_received "$dir/b" $((at_cut + 20)) 60 || fail "no recovery after the link came back"
    echo "link v1 back: traffic resumed, 20 more messages after $(($(now_ms) - t_up)) ms"
    touch "$dir/stop"
    finish
    ;;
  loss)
    # tc netem where the kernel has it; otherwise (a kernel without sch_netem) the same loss is
    # injected in each peer's receive path (seeded), on the same real sockets and namespaces.
    loss_args=()
    if ip netns exec "$nsa" tc qdisc add dev v0 root netem loss 10% 2>/dev/null; then
      ip netns exec "$nsa" tc qdisc add dev v1 root netem loss 10% || fail "tc netem"
      ip netns exec "$nsb" tc qdisc add dev v0 root netem loss 10% || fail "tc netem"
      ip netns exec "$nsb" tc qdisc add dev v1 root netem loss 10% || fail "tc netem"
      echo "loss: tc netem 10 % on both links, both directions"
    else
      loss_args=(--drop 0.10)
      echo "loss: tc netem is not available in this kernel; each tm_peer drops 10 % of the"
      echo "      datagrams it receives instead (seeded, in the driver's receive path)"
    fi
    start_peers --send 40 --window 4 --sizes 100,65536,1048576,1400 --duration-max 200 \
      --transmissions-per-path 12 "${loss_args[@]}"
    finish
    grep -q '^done ok .*failed=0 ' "$dir/a" && grep -q '^done ok .*failed=0 ' "$dir/b" ||
      fail "messages failed under 10 % loss"
    echo "tm_netns loss: ok"
    ;;
  *)
    echo "unknown scenario '$scenario' (cut-one|cut-both|loss)"
    exit 2
    ;;
esac
