#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for N seconds (default 60), starting from
# its seed corpus in tests/fuzz/corpus/<target>. A crash leaves its input in build/fuzz/crashes.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
# Configure, then build only the fuzz targets (and what they link), not the whole tree.
scripts/build.sh fuzz --target help >/dev/null
targets=$(cmake --build build/fuzz --target help | sed -n 's/^\(fuzz_[A-Za-z0-9_]*\):.*/\1/p' | sort -u)
if [ -z "$targets" ]; then echo "fuzz: no fuzz targets"; exit 0; fi
# shellcheck disable=SC2086
scripts/build.sh fuzz --target $targets
mkdir -p build/fuzz/crashes
for bin in build/fuzz/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  corpus=build/fuzz/corpus/$name
  mkdir -p "$corpus"
  if [ -d "tests/fuzz/corpus/$name" ]; then cp -n "tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true; fi
  echo "fuzz: $name for ${seconds}s"
  "$bin" -max_total_time="$seconds" -artifact_prefix=build/fuzz/crashes/ -print_final_stats=0 \
    "$corpus" 2>&1 | tail -n 3
done
