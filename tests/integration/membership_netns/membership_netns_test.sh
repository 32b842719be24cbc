#!/usr/bin/env bash
# Membership on five real raind "hosts" (network namespaces), each with two addresses on two
# separate networks (A = 10.98.1.0/24, B = 10.98.2.0/24). A sixth namespace is the switch: one
# bridge per network (brA, brB) plus two island bridges (brA2, brB2) that a partition moves
# ports into, so a partition is a silent L2 split, as with a real switch.
#   partition  {1,2} | {3,4,5} on both networks: 3,4,5 install a primary view of 3; 1,2 a
#              non-primary view (or none); heal: one primary view of all 5
#   cut-b      network B goes down at every node (switch ports down: carrier lost): NO view
#              change at any node while B is down and after it is back (from each node's
#              `watch` stream), the TM reports B's links down and up, and ordered multicast keeps
#              being delivered everywhere (the token keeps moving)
# Names carry the PID; a trap removes every namespace, process and file, also on failure. Waits
# poll the control sockets with deadlines (rainctl.py); the one fixed wait is cut-b's
# observation window, which is what the test measures (nothing may happen during it).
# Needs root: otherwise prints SKIPPED and exits 77.
#   membership_netns_test.sh PATH/TO/raind partition|cut-b
set -uo pipefail
raind=$1
scenario=$2
here=$(cd "$(dirname "$0")" && pwd)
ctl=(python3 "$here/rainctl.py")
nodes=(1 2 3 4 5)
sw=rain-msw-$$
dir=$(mktemp -d /tmp/rain-mnetns.XXXXXX)
pids=()
watchers=()

ns_of() { echo "rain-mh$1-$$"; }
sock() { echo "$dir/n$1.sock"; }

cleanup() {
  for p in "${watchers[@]}" "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${watchers[@]}" "${pids[@]}"; do wait "$p" 2>/dev/null; done
  for i in "${nodes[@]}"; do ip netns del "$(ns_of "$i")" 2>/dev/null; done
  ip netns del "$sw" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

skip() {
  echo "SKIPPED: $1"
  exit 77
}
fail() {
  echo "membership_netns $scenario: FAILED: $1"
  for i in "${nodes[@]}"; do
    echo "=== node $i: status"
    "${ctl[@]}" cmd "$(sock "$i")" '{"cmd":"status"}' 2>&1 | cut -c1-1500
    echo "=== node $i: watch events"
    tail -5 "$dir/n$i.watch" 2>/dev/null
    echo "=== node $i: log"
    tail -15 "$dir/n$i.log" 2>/dev/null
  done
  exit 1
}

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
[ -x "$raind" ] || fail "no raind binary at '$raind'"
ip netns add "$sw" 2>/dev/null || skip "needs root for network namespaces (ip netns add failed)"

# --- topology -----------------------------------------------------------------------------
set -e
for br in brA brB brA2 brB2; do
  ip -n "$sw" link add "$br" type bridge
  ip -n "$sw" link set "$br" up
done
ip -n "$sw" link set lo up
for i in "${nodes[@]}"; do
  ns=$(ns_of "$i")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add a0 type veth peer name "a$i" netns "$sw"
  ip -n "$ns" link add b0 type veth peer name "b$i" netns "$sw"
  ip -n "$ns" addr add "10.98.1.$i/24" dev a0
  ip -n "$ns" addr add "10.98.2.$i/24" dev b0
  ip -n "$ns" link set a0 up
  ip -n "$ns" link set b0 up
  ip -n "$sw" link set "a$i" master brA
  ip -n "$sw" link set "b$i" master brB
  ip -n "$sw" link set "a$i" up
  ip -n "$sw" link set "b$i" up
done
set +e

# --- configs (docs/raind.md §2) and daemons ---------------------------------------------------
umask 077
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$dir/cluster.key"
echo >>"$dir/cluster.key"
for i in "${nodes[@]}"; do
  mkdir -p "$dir/n$i"
  {
    echo 'cluster = "netns"'
    echo "key_file = \"$dir/cluster.key\""
    echo "node_id = $i"
    echo 'data_dir = "data"'
    echo "control_socket = \"$(sock "$i")\""
    echo 'log_level = "info"'
    for j in "${nodes[@]}"; do
      echo
      echo '[[node]]'
      echo "id = $j"
      echo "addresses = [\"10.98.1.$j:7100\", \"10.98.2.$j:7100\"]"
    done
  } >"$dir/n$i/raind.toml"
done
"$raind" --check-config "$dir/n1/raind.toml" >"$dir/check.log" 2>&1 ||
  { cat "$dir/check.log"; fail "raind rejects the generated config"; }

# The watchers outlive every phase: 150 s bounds them (the CTest timeout is longer).
for i in "${nodes[@]}"; do
  ip netns exec "$(ns_of "$i")" "$raind" --config "$dir/n$i/raind.toml" --foreground \
    >"$dir/n$i.log" 2>&1 &
  pids+=($!)
  "${ctl[@]}" watch "$(sock "$i")" "$dir/n$i.watch" 150 2>>"$dir/n$i.log" &
  watchers+=($!)
done

all5=()
for i in "${nodes[@]}"; do all5+=("$(sock "$i")=1,2,3,4,5:primary"); done
t0=$(date +%s%N)
"${ctl[@]}" wait-view 30 "${all5[@]}" >/dev/null || fail "no common view of 5 within 30 s"
echo "view of 5 installed at every node after $((($(date +%s%N) - t0) / 1000000)) ms"

# views_seen ID: "n1 n2 n3 n4 n5", the number of view events in each node's watch stream whose
# view id is not ID.
views_seen() {
  local out=()
  for i in "${nodes[@]}"; do out+=("$("${ctl[@]}" count-views "$dir/n$i.watch" "$1")"); done
  echo "${out[*]}"
}
# mcast_everywhere FROM COUNT TIMEOUT_S: node FROM multicasts COUNT 64-byte messages; waits
# until every node's delivered counter grew by COUNT.
mcast_everywhere() {
  local socks=() i
  for i in "${nodes[@]}"; do socks+=("$(sock "$i")"); done
  "${ctl[@]}" mcast "$3" "$(sock "$1")" "$2" "${socks[@]}" ||
    fail "$2 multicasts from node $1 not delivered everywhere within $3 s"
}
# wait_b_links up|down TIMEOUT_S: until node 1 sees every peer's network-B link in that state.
wait_b_links() {
  "${ctl[@]}" wait-links "$2" "$(sock 1)" 10.98.2. "$1" 4
}

case "$scenario" in
  partition)
    t_cut=$(date +%s%N)
    for i in 1 2; do
      ip -n "$sw" link set "a$i" master brA2 || fail "move a$i"
      ip -n "$sw" link set "b$i" master brB2 || fail "move b$i"
    done
    echo "partitioned {1,2} | {3,4,5} on both networks"
    "${ctl[@]}" wait-view 20 "$(sock 3)=3,4,5:primary" "$(sock 4)=3,4,5:primary" \
      "$(sock 5)=3,4,5:primary" "$(sock 1)=none" "$(sock 2)=none" ||
      fail "no primary view {3,4,5} with {1,2} out of primary within 20 s"
    echo "majority {3,4,5} primary, {1,2} non-primary, after" \
      "$((($(date +%s%N) - t_cut) / 1000000)) ms"
    for i in 1 2; do
      echo "  node $i: $("${ctl[@]}" cmd "$(sock "$i")" '{"cmd":"status"}' | python3 -c '
import json, sys; v = json.load(sys.stdin)["view"]
print("no view" if v is None else "view %s primary=%s" % (v["members"], v["primary"]))')"
    done
    t_heal=$(date +%s%N)
    for i in 1 2; do
      ip -n "$sw" link set "a$i" master brA || fail "move a$i back"
      ip -n "$sw" link set "b$i" master brB || fail "move b$i back"
    done
    "${ctl[@]}" wait-view 30 "${all5[@]}" >/dev/null || fail "no view of 5 within 30 s of healing"
    echo "healed: one primary view of 5 after $((($(date +%s%N) - t_heal) / 1000000)) ms"
    mcast_everywhere 1 100 20
    echo "membership_netns partition: ok"
    ;;
  cut-b)
    # Every watch stream must be connected before the baseline is taken.
    end=$(($(date +%s) + 10))
    for i in "${nodes[@]}"; do
      until grep -q '"watching"' "$dir/n$i.watch" 2>/dev/null; do
        [ "$(date +%s)" -lt "$end" ] || fail "node $i's watch stream never opened"
        sleep 0.05
      done
    done
    v5=$("${ctl[@]}" cmd "$(sock 1)" '{"cmd":"status"}' |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["view"]["id"])')
    mcast_everywhere 1 100 20
    wait_b_links up 10 || fail "network B links not up at node 1 before the cut"
    before=$(views_seen "$v5")
    for i in "${nodes[@]}"; do ip -n "$sw" link set "b$i" down || fail "b$i down"; done
    t_cut=$(date +%s)
    echo "network B down at every node (view events so far: $before)"
    wait_b_links down 10 || fail "node 1's TM never saw network B down"
    mcast_everywhere 3 200 20
    # Observation window: 3 s with B down (several link-monitor and token-loss periods).
    while [ $(($(date +%s) - t_cut)) -lt 4 ]; do sleep 0.2; done
    during=$(views_seen "$v5")
    [ "$during" = "$before" ] || fail "view events while B was down: $before -> $during"
    for i in "${nodes[@]}"; do ip -n "$sw" link set "b$i" up || fail "b$i up"; done
    wait_b_links up 15 || fail "node 1's TM never saw network B back"
    mcast_everywhere 5 200 20
    after=$(views_seen "$v5")
    [ "$after" = "$before" ] || fail "view events after B came back: $before -> $after"
    "${ctl[@]}" wait-view 5 "${all5[@]}" >/dev/null || fail "the view of 5 is gone"
    echo "no view change at any node during the cut and after the repair; multicast delivered"
    echo "membership_netns cut-b: ok"
    ;;
  *)
    echo "unknown scenario '$scenario' (partition|cut-b)"
    exit 2
    ;;
esac
