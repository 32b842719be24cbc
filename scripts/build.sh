#!/usr/bin/env bash
# Configures and builds one flavour of RAIN into build/<flavour>.
#   scripts/build.sh release   optimised (-O2, -march native SIMD by run-time dispatch): the main
#                              job and the benchmarks
#   scripts/build.sh asan      AddressSanitizer + UndefinedBehaviorSanitizer: the tests
#   scripts/build.sh fuzz      clang + libFuzzer targets (tests/fuzz)
# Extra arguments go to `cmake --build` (e.g. --target rain).
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
shift || true
dir=build/$flavour
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=Release -DRAIN_TESTS=OFF) ;;
  # -O1 -g1: ASan's recommended level, and line tables are all its reports need. Against the
  # default -O2 -g it halves the compile time of the suite (78 s -> 40 s of CPU for one CLI11 +
  # nlohmann-json file), which is most of CI's budget.
  asan)    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAIN_SANITIZE=ON -DRAIN_TESTS=ON
                 "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
                 "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG") ;;
  fuzz)    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAIN_FUZZ=ON -DRAIN_TESTS=OFF
                 "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link,address,undefined"
                 -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "build.sh: unknown flavour '$flavour' (release|asan|fuzz)" >&2; exit 2 ;;
esac

if [ ! -f "$dir/build.ninja" ]; then
  cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
fi
jobs=$(nproc)
cmake --build "$dir" -j "$jobs" "$@"
