#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the ASan+UBSan flavour, runs every test
# with CTest (unit, simulation, integration), then briefly runs each fuzz target when clang is
# present. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build/asan --output-on-failure -j "$(nproc)" --timeout 600

if command -v clang++ >/dev/null 2>&1; then
  scripts/fuzz.sh 20
else
  echo "test.sh: clang not found, fuzz targets skipped"
fi
