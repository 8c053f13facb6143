#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/ and runs
# each for a bounded time over a copy of its seed corpus in tests/fuzz/<name>/
# (new inputs go to a temporary directory; the checked-in corpus never grows).
#   scripts/fuzz.sh [seconds-per-target]     default 60
#   FUZZ_TARGETS="sse cache_key" scripts/fuzz.sh 30    a subset
#   TOLLGATE_FUZZ_SEED=7 scripts/fuzz.sh               a fixed seed (CI uses one,
#       so a CI run is reproducible; leave it unset for fresh random runs)
# Prints one line per target; exits non-zero if any target found a crash,
# a timeout (hang), a leak or an out-of-memory, naming the input that did it.
# A found input belongs in tests/fuzz/<name>/crash-<what> once fixed: the
# ctest "fuzz-replay: <name>" tests replay that directory in every build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
targets="${FUZZ_TARGETS:-request_json sse openai_response anthropic_response policy_loader cache_key}"
dir=build-fuzz
seed="${TOLLGATE_FUZZ_SEED:-}"

CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOLLGATE_WERROR=ON \
  -DTOLLGATE_BUILD_FUZZ=ON -DTOLLGATE_BUILD_TESTS=OFF -DTOLLGATE_BUILD_TOOLS=OFF -DTOLLGATE_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" --target $(printf 'fuzz_%s ' $targets) -j"$(nproc)"

work="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-fuzz.XXXXXX")"
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
failed=0
for t in $targets; do
  mkdir -p "$work/$t/corpus" "$work/$t/found"
  cp tests/fuzz/"$t"/* "$work/$t/corpus/"
  if [ "$t" = policy_loader ]; then cp policies/*.lua "$work/$t/corpus/"; fi  # the shipped policies seed it too
  log="$work/$t/log"
  status=0
  # -artifact_prefix: a crashing input lands in found/ (crash-*, timeout-*,
  # leak-*, oom-*). -fork is avoided: one process keeps the numbers honest.
  "$dir/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -artifact_prefix="$work/$t/found/" -print_final_stats=1 ${seed:+-seed="$seed"} \
    "$work/$t/corpus" >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  artifact="$(find "$work/$t/found" -type f | head -1)"
  if [ "$status" -eq 0 ] && [ -z "$artifact" ]; then
    result=ok
  else
    result="FAILED (exit $status)${artifact:+: $artifact}"
    failed=1
  fi
  printf 'fuzz %-20s %5ss  seed %-10s runs %-10s %6s exec/s  %s\n' "$t" "$seconds" "${seed:-random}" "${runs:-?}" "${speed:-?}" "$result"
  if [ "$result" != ok ]; then
    # The sanitizer's report, for the CI log.
    grep -E 'ERROR|SUMMARY|invariant failed|Test unit written|==[0-9]+==' "$log" | head -20 || true
    echo "full log: $log"
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "fuzzing found failures; inputs and logs are in $work"
  exit 1
fi
rm -rf "$work"
