#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for N seconds (default 60), starting from
# its seed corpus in tests/fuzz/corpus/<target>. A crash leaves its input in build/fuzz/crashes.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
scripts/build.sh fuzz
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
