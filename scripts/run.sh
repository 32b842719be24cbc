#!/usr/bin/env bash
# The main job: installs what is missing, builds the release flavour and runs RAIN.
# For now (until the cluster lands) that is the shard tool on a sample file: encode it with
# X-code into 7 shards, lose two, rebuild it, and show that the bytes match.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release --target rain
rain=build/release/tools/rain

work=$(mktemp -d /tmp/rain-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
sample=$work/sample.bin
head -c $((48 * 1024 * 1024 + 12345)) /dev/urandom >"$sample"
echo "== sample: $(stat -c %s "$sample") bytes"

echo "== rain codes encode --code xcode:7"
"$rain" codes encode --code xcode:7 "$sample" -o "$work/shards"
ls -l "$work/shards"

echo "== lose two shards (columns 2 and 5), then verify"
rm "$work/shards"/*.2 "$work/shards"/*.5
"$rain" codes verify "$work/shards" || true

echo "== rain codes decode"
"$rain" codes decode "$work/shards" -o "$work/rebuilt.bin"
if cmp -s "$sample" "$work/rebuilt.bin"; then
  echo "== rebuilt file matches the original: $(sha256sum <"$sample" | cut -c1-16)…"
else
  echo "== MISMATCH: rebuilt file differs" >&2
  exit 1
fi
