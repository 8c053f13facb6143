#!/usr/bin/env bash
# The README's test command: install dependencies, build everything with
# warnings as errors, run every test (ctest prints the summary line).
#   scripts/test.sh                       release build in build/
#   TOLLGATE_SANITIZE=address scripts/test.sh   ASan+UBSan build in build-address/
#   TOLLGATE_SANITIZE=thread  scripts/test.sh   TSan build in build-thread/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
san="${TOLLGATE_SANITIZE:-}"
dir="build${san:+-$san}"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOLLGATE_WERROR=ON \
      -DTOLLGATE_SANITIZE="$san" -DTOLLGATE_BUILD_BENCH="$([ -z "$san" ] && echo ON || echo OFF)" >/dev/null
cmake --build "$dir" -j"$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
# tests/tsan.supp: false positives in dependencies, each with its reason.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp:${TSAN_OPTIONS:-}"
cd "$dir"
ctest --output-on-failure -j"$(nproc)" ${CTEST_ARGS:-}
