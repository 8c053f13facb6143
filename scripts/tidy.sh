#!/usr/bin/env bash
# clang-tidy over the library (engine/, dsl/, adapters/) with the checked-in
# .clang-tidy; fails on any finding. Uses a configure-only build directory
# for compile_commands.json (nothing is compiled but the generated catalog).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
dir=build-tidy
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
      -DTOLLGATE_BUILD_TESTS=OFF -DTOLLGATE_BUILD_BENCH=OFF -DTOLLGATE_BUILD_TOOLS=OFF >/dev/null
# adapters/*_impl.cpp only instantiate Boost's own sources.
mapfile -t files < <(find engine dsl adapters -name '*.cpp' ! -name '*_impl.cpp' | sort)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if run-clang-tidy -quiet -p "$dir" -j "$(nproc)" "${files[@]}" >"$log" 2>&1; then
  echo "clang-tidy: ${#files[@]} library files clean"
else
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E "^/.*: (warning|error):" | sort -u || true
  echo "clang-tidy: findings above (full log: rerun scripts/tidy.sh)" >&2
  exit 1
fi
