#!/usr/bin/env bash
# End-to-end test of `rain codes encode|decode|verify` with the real binary: round trips for
# every code family and awkward sizes, missing / corrupt / truncated / foreign / mixed shards,
# data loss, bad arguments. Every case asserts the exact exit status and the key message.
#   usage: shard_tool_test.sh path/to/rain
set -euo pipefail

rain=${1:?usage: shard_tool_test.sh path/to/rain}
work=$(mktemp -d "${TMPDIR:-/tmp}/rain-shard-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
cases=0

fail() {
  echo "FAIL: $*" >&2
  if [ -f "$work/out" ]; then echo "--- stdout" >&2; cat "$work/out" >&2; fi
  if [ -f "$work/err" ]; then echo "--- stderr" >&2; cat "$work/err" >&2; fi
  exit 1
}

# run WANT_STATUS cmd...: runs rain with args, stdout in $work/out, stderr in $work/err.
run() {
  local want=$1
  shift
  local got=0
  "$rain" "$@" >"$work/out" 2>"$work/err" || got=$?
  [ "$got" -eq "$want" ] || fail "rain $* exited $got, want $want"
  cases=$((cases + 1))
}

# expect FILE PATTERN: the grep -E pattern occurs in out/err.
expect() {
  grep -Eq -- "$2" "$work/$1" || fail "$1 of the last command lacks /$2/"
}

same() {
  cmp -s "$1" "$2" || fail "$2 differs from $1"
}

# make_file PATH BYTES: deterministic pseudo-random contents (a failure reproduces).
make_file() {
  if command -v openssl >/dev/null; then
    head -c "$2" <(openssl enc -aes-128-ctr -pass "pass:$2" -nosalt -pbkdf2 </dev/zero 2>/dev/null) >"$1"
  else
    head -c "$2" /dev/urandom >"$1"
  fi
  [ "$(stat -c %s "$1")" -eq "$2" ] || fail "could not make $1"
}

# flip_byte FILE OFFSET: inverts one byte in place.
flip_byte() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\x$(printf %02x $((b ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# element_offset ROWS ELEMENT_BYTES STRIPE ROW: where an element's bytes start in a shard file
# (docs/shard-format.md: 128-byte header, then per stripe ROWS CRCs and ROWS elements).
element_offset() {
  echo $((128 + $3 * $1 * (4 + $2) + $1 * 4 + $4 * $2))
}

# --- help and usage -----------------------------------------------------------------------
run 0 codes --help
expect out "encode" && expect out "Exit status: 0 success; 1 failure"
run 0 codes encode --help
expect out "--element-bytes" && expect out "xcode:N"
run 0 codes decode --help
run 0 codes verify --help

make_file "$work/small" 1000
run 2 codes encode --code xcode:4 "$work/small" -o "$work/bad"
expect err "InvalidArgument" && expect err "xcode:4"
run 2 codes encode --code foo:3 "$work/small" -o "$work/bad"
expect err "InvalidArgument"
run 2 codes encode --code rs:0+2 "$work/small" -o "$work/bad"
run 2 codes encode --code xcode:5 --element-bytes 4000000000 "$work/small" -o "$work/bad"
expect err "element"
run 2 codes encode --code xcode:31 --element-bytes 1048576 "$work/small" -o "$work/bad"
expect err "stripe"
[ ! -e "$work/bad" ] || [ -z "$(ls -A "$work/bad")" ] || fail "a refused encode wrote shards"
run 1 codes encode --code xcode:5 "$work/no-such-file" -o "$work/bad"
expect err "no such file"
run 2 codes encode --code xcode:5 "$work" -o "$work/bad"
expect err "not a regular file"
# Errors CLI11 finds while parsing are usage errors too: exit 2 with the reason.
run 2 codes encode "$work/small" -o "$work/bad"
expect err "code"
run 2 codes encode --no-such-option --code xcode:5 "$work/small" -o "$work/bad"
run 2 nonsense-command
run 0 --version
expect out "rain 0.1.0"

# --- round trips: every family, empty / tiny / odd / multi-stripe sizes --------------------
for code in xcode:5 bcode:6 rs:10+4; do
  for size in 0 1 15 4097 200003; do
    f=$work/rt-$size
    make_file "$f" "$size"
    d=$work/rt-$code-$size
    run 0 codes encode --code "$code" "$f" -o "$d"
    if [ "$size" -eq 0 ] || [ "$size" -eq 200003 ]; then
      run 0 codes verify "$d"
      expect out "result: intact"
    fi
    run 0 codes decode "$d" -o "$work/rt.out"
    same "$f" "$work/rt.out"
  done
  # Element size 1 (many stripes) and an element size that leaves a ragged last stripe.
  for eb in 1 777; do
    d=$work/rt-$code-eb$eb
    run 0 codes encode --code "$code" --element-bytes "$eb" "$work/rt-4097" -o "$d"
    run 0 codes decode "$d" -o "$work/rt.out"
    same "$work/rt-4097" "$work/rt.out"
  done
done
# Several batches (the tool moves ~16 MiB per read) with the default element size.
make_file "$work/big" $((40 * 1024 * 1024 + 333))
run 0 codes encode --code rs:10+4 "$work/big" -o "$work/big-rs" --json
expect out '"ok":true' && expect out '"stripes":' && expect out '"code":"rs:10\+4"'
rm "$work/big-rs/big.0" "$work/big-rs/big.13"
run 0 codes decode "$work/big-rs" -o "$work/big.out"
same "$work/big" "$work/big.out"
rm -rf "$work/big-rs" "$work/big.out"

# Shard names, count and exact size: xcode:5 has 5 columns, 5 rows, 15 data elements.
run 0 codes encode --code xcode:5 --element-bytes 100 "$work/rt-4097" -o "$work/x5" --json
expect out '"element_bytes":100' && expect out '"stripes":3'
[ "$(ls "$work/x5" | wc -l)" -eq 5 ] || fail "xcode:5 wrote $(ls "$work/x5" | wc -l) shards"
for c in 0 1 2 3 4; do
  [ "$(stat -c %s "$work/x5/rt-4097.$c")" -eq $((128 + 3 * 5 * 104)) ] || fail "shard $c size"
done
cp -r "$work/x5" "$work/x5.pristine"
fresh() { rm -rf "$work/x5"; cp -r "$work/x5.pristine" "$work/x5"; rm -f "$work/x5.out"; }

# --- missing shards -------------------------------------------------------------------------
for code in xcode:5 bcode:6 rs:10+4; do
  d=$work/rt-$code-200003
  mkdir -p "$work/lost"
  mv "$d/rt-200003.1" "$work/lost/"
  run 3 codes verify "$d"
  expect out "column 1  -  missing" && expect out "damaged but recoverable"
  run 0 codes decode "$d" -o "$work/m.out"
  same "$work/rt-200003" "$work/m.out"
  expect out "missing columns: 1;"
  mv "$d/rt-200003.3" "$work/lost/"
  run 0 codes decode "$d" -o "$work/m.out" --json
  same "$work/rt-200003" "$work/m.out"
  expect out '"missing_columns":\[1,3\]'
  mv "$work/lost/"* "$d/"
done
# rs:10+4 survives four, not five.
d=$work/rt-rs:10+4-200003
rm "$d/rt-200003.0" "$d/rt-200003.5" "$d/rt-200003.9" "$d/rt-200003.13"
run 0 codes decode "$d" -o "$work/m.out"
same "$work/rt-200003" "$work/m.out"
rm "$d/rt-200003.2" "$work/m.out"
run 1 codes decode "$d" -o "$work/m.out"
expect err "DataLoss"
[ ! -e "$work/m.out" ] || fail "failed decode left an output file"

# Three columns of xcode:5: data loss, exit 1, no output, no temporary left behind.
fresh
rm "$work/x5/rt-4097.0" "$work/x5/rt-4097.2" "$work/x5/rt-4097.4"
run 1 codes verify "$work/x5"
expect out "NOT recoverable"
run 1 codes decode "$work/x5" -o "$work/x5.out"
expect err "DataLoss: only 2 of 5 shards hold data; xcode:5 needs at least 3"
[ ! -e "$work/x5.out" ] || fail "failed decode left an output file"
[ -z "$(ls -A "$work" | grep rain-tmp || true)" ] || fail "failed decode left a temporary file"
# An existing output file is left as it was by a failed decode.
echo "old contents" >"$work/x5.out"
run 1 codes decode "$work/x5" -o "$work/x5.out"
[ "$(cat "$work/x5.out")" = "old contents" ] || fail "failed decode replaced the output file"

# --- corrupt elements: detected per stripe, repaired, reported ------------------------------
fresh
flip_byte "$work/x5/rt-4097.1" "$(element_offset 5 100 1 0)"       # stripe 1, row 0 (data)
flip_byte "$work/x5/rt-4097.3" $(($(element_offset 5 100 1 2) + 99))  # stripe 1, row 2 (data)
flip_byte "$work/x5/rt-4097.0" $((128 + 2 * 5 * 104 + 4 * 4))     # stripe 2, CRC of row 4
run 3 codes verify "$work/x5"
expect out "column 1  .*rt-4097.1  damaged: 1 corrupt element \(stripe 1 row 0\)"
expect out "column 3  .*damaged: 1 corrupt element \(stripe 1 row 2\)"
expect out "column 0  .*damaged: 1 corrupt element \(stripe 2 row 4\)"
expect out "column 2  .*  ok"
expect out "damaged but recoverable \(0 missing, 3 damaged shards; 2 of 3 stripes degraded\)"
run 3 codes verify "$work/x5" --json
expect out '"intact":false' && expect out '"recoverable":true'
expect out '"first_corrupt":\[\{"row":0,"stripe":1\}\]'
run 0 codes decode "$work/x5" -o "$work/x5.out" --json
same "$work/rt-4097" "$work/x5.out"
expect out '"stripes_repaired":1' && expect out '"corrupt_elements":3'
# A third corrupt column in the same stripe is too many: DataLoss naming the stripe.
flip_byte "$work/x5/rt-4097.4" "$(element_offset 5 100 1 1)"
rm "$work/x5.out"
run 1 codes verify "$work/x5"
expect out "NOT recoverable: stripe 1"
run 1 codes decode "$work/x5" -o "$work/x5.out"
expect err "DataLoss: stripe 1 of 3: columns 1, 3, 4 are missing or corrupt; xcode:5 rebuilds at most 2"
[ ! -e "$work/x5.out" ] || fail "failed decode left an output file"

# A damaged header: that shard is ignored (reported), the rest decode.
fresh
flip_byte "$work/x5/rt-4097.2" 50
run 3 codes verify "$work/x5"
expect err "ignoring .*rt-4097.2: damaged shard header \(shard header CRC32C mismatch\)"
expect out "column 2  -  missing"
run 0 codes decode "$work/x5" -o "$work/x5.out"
same "$work/rt-4097" "$work/x5.out"

# --- truncated shards -----------------------------------------------------------------------
fresh
truncate -s $((128 + 5 * 104 + 50)) "$work/x5/rt-4097.3"  # stripe 0 whole, stripe 1 partial
run 3 codes verify "$work/x5"
expect out "column 3  .*damaged: truncated: the last 2 stripe blocks are missing"
run 0 codes decode "$work/x5" -o "$work/x5.out" --json
same "$work/rt-4097" "$work/x5.out"
expect out '"missing_blocks":2' && expect out '"stripes_repaired":2'
truncate -s 60 "$work/x5/rt-4097.1"  # shorter than a header
run 3 codes verify "$work/x5"
expect err "rt-4097.1: damaged shard header \(shard header truncated: 60 bytes"
run 0 codes decode "$work/x5" -o "$work/x5.out"
same "$work/rt-4097" "$work/x5.out"
# Bytes appended after the last stripe: reported, harmless to decode.
fresh
printf 'junk' >>"$work/x5/rt-4097.4"
run 3 codes verify "$work/x5"
expect out "column 4  .*damaged: 4 unexpected bytes after the last stripe"
run 0 codes decode "$work/x5" -o "$work/x5.out"
same "$work/rt-4097" "$work/x5.out"

# --- foreign files and shards of another encode ---------------------------------------------
fresh
echo "not a shard" >"$work/x5/README.txt"
run 0 codes verify "$work/x5"
expect out "result: intact" && expect err "ignoring .*README.txt: not a shard file"
run 0 codes decode "$work/x5" -o "$work/x5.out"
same "$work/rt-4097" "$work/x5.out"
# The same file encoded again has a new set id: its shards never mix with the first encode's.
run 0 codes encode --code xcode:5 --element-bytes 100 "$work/rt-4097" -o "$work/x5b"
cp "$work/x5b/rt-4097.2" "$work/x5/rt-4097.2"
run 1 codes decode "$work/x5" -o "$work/x5.out2"
expect err "FailedPrecondition: .* holds shards of 2 different encodes"
[ ! -e "$work/x5.out2" ] || fail "failed decode left an output file"
run 1 codes verify "$work/x5"
expect err "2 different encodes"
set_a=$(od -An -tx1 -j16 -N6 "$work/x5/rt-4097.0" | tr -d ' \n')
run 0 codes decode "$work/x5" -o "$work/x5.out2" --set "$set_a"
same "$work/rt-4097" "$work/x5.out2"
expect err "ignoring .*rt-4097.2: shard of another encode"
run 3 codes verify "$work/x5" --set "$set_a"
expect out "column 2  -  missing"
# A stray block copied from the other encode into a shard of this one fails its CRC.
fresh
dd if="$work/x5b/rt-4097.1" of="$work/x5/rt-4097.1" bs=1 skip=128 seek=128 count=520 \
  conv=notrunc status=none
run 3 codes verify "$work/x5"
expect out "column 1  .*damaged: 5 corrupt elements"
run 0 codes decode "$work/x5" -o "$work/x5.out"
same "$work/rt-4097" "$work/x5.out"

# --- directories without shards -------------------------------------------------------------
mkdir "$work/empty"
run 1 codes decode "$work/empty" -o "$work/e.out"
expect err "NotFound: no shard files in"
run 1 codes verify "$work/no-such-dir"
expect err "no such directory"

echo "shard_tool_test: $cases cases passed"
