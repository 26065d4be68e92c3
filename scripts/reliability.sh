#!/usr/bin/env bash
# scripts/reliability.sh - the reliability proofs of docs/reliability.md.
#
#   scripts/reliability.sh --ci              bounded: a few minutes on 2 cores
#   scripts/reliability.sh --long [HOURS]    the long run (default 8 hours of
#                                            fuzzing; the loops take about
#                                            two more): 10,000 kill cycles,
#                                            100,000 power-loss states, every
#                                            call of the fail-Nth loops, the
#                                            full corruption sweep
#
# Options: --build DIR (default build-rel), --fuzz-build DIR (default
# build-fuzz), --seed N (default: a fresh one, printed), --no-fuzz, and
# --fuzz-only (the fuzzers alone: run it beside --no-fuzz to use two cores).
# Each loop prints its figures; --long writes them all, with the CPU time,
# to DIR/reliability-long.txt for docs/reliability.md.
set -euo pipefail

mode=ci
hours=8
build=build-rel
fuzzbuild=build-fuzz
seed=
fuzz=1
loops=1
while [ $# -gt 0 ]; do
  case "$1" in
    --ci) mode=ci ;;
    --long) mode=long
            if [ $# -gt 1 ] && [[ "$2" =~ ^[0-9.]+$ ]]; then hours=$2; shift; fi ;;
    --build) build=$2; shift ;;
    --fuzz-build) fuzzbuild=$2; shift ;;
    --seed) seed=$2; shift ;;
    --no-fuzz) fuzz=0 ;;
    --fuzz-only) loops=0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc 2>/dev/null || echo 2)
[ -n "$seed" ] || seed=$(( ($(date +%s) * 7919 + $$) % 4294967296 ))
echo "== reliability ($mode), seed $seed"

# 1. the loops, in the normal build
if [ "$loops" = 1 ]; then
  cmake -S . -B "$build" -DEVLOG_BUILD_BENCH=OFF > /dev/null
  cmake --build "$build" -j "$jobs" > /dev/null
fi
rel="$build/tests/reliability"
out="$build/reliability-$mode.txt"
[ "$loops" = 1 ] || out="$build/reliability-$mode-fuzz.txt"
: > "$out"

run() { # name binary [env...]: run one test binary, keep its figures
  local name=$1 bin=$2; shift 2
  local t0 t1 cpu
  echo "-- $name"
  t0=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  if ! env "$@" "$rel/$bin" --jobs="$jobs" > "$build/$name.log" 2>&1; then
    grep -v '^seed' "$build/$name.log" | tail -40
    echo "FAILED: $name (log: $build/$name.log)"
    return 1
  fi
  t1=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  cpu=$(( (t1 - t0) / $(getconf CLK_TCK) ))
  grep -E '^(power-loss|fault loop|kill9|corruption sweep|tail cuts)' "$build/$name.log" | tee -a "$out"
  echo "$name: ${cpu} CPU-seconds" | tee -a "$out"
}

status=0
if [ "$loops" = 0 ]; then
  : # --fuzz-only
elif [ "$mode" = ci ]; then
  run relio test_relio || status=1
  run regressions test_regressions || status=1
  run fault_loop test_fault_loop EVLOG_SEED="$seed" || status=1
  run power_loss test_power_loss EVLOG_SEED="$seed" || status=1
  run kill9 test_kill9 EVLOG_SEED="$seed" || status=1
  run corrupt test_corrupt EVLOG_SEED="$seed" EVLOG_REL_CORRUPT_STRIDE=13 || status=1
else
  run relio test_relio || status=1
  run regressions test_regressions || status=1
  run fault_loop test_fault_loop EVLOG_SEED="$seed" EVLOG_REL_FAULT_MAX=0 \
      EVLOG_REL_FAULT_STEPS=150 || status=1
  run power_loss test_power_loss EVLOG_SEED="$seed" EVLOG_REL_PL_RUNS=100000 \
      EVLOG_REL_PL_STATES=34000 EVLOG_REL_PL_STEPS=150 || status=1
  run kill9 test_kill9 EVLOG_SEED="$seed" EVLOG_REL_KILL_CYCLES=10000 || status=1
  run corrupt test_corrupt EVLOG_SEED="$seed" EVLOG_REL_CORRUPT_STRIDE=1 \
      EVLOG_REL_CORRUPT_MASKS=2 || status=1
fi

# 2. the fuzzers (clang only)
if [ "$fuzz" = 1 ] && command -v clang > /dev/null; then
  CC=clang CXX=clang++ cmake -S . -B "$fuzzbuild" -DEVLOG_FUZZ=ON -DEVLOG_BUILD_TESTS=OFF \
    -DEVLOG_BUILD_BENCH=OFF > /dev/null
  cmake --build "$fuzzbuild" -j "$jobs" --target fuzz_batch fuzz_open fuzz_cli > /dev/null
  if [ "$mode" = ci ]; then secs=20; else secs=$(awk "BEGIN{print int($hours*3600/3)}"); fi
  for f in batch open cli; do
    echo "-- fuzz_$f, ${secs}s"
    found="$fuzzbuild/fuzz/found-$f"
    mkdir -p "$found"
    t0=$(date +%s)
    # known reproducers first (fuzz/regressions), then fuzzing from the seeds
    if ! (cd "$fuzzbuild/fuzz" && "./fuzz_$f" -max_total_time="$secs" -timeout=20 \
          -rss_limit_mb=4096 -print_final_stats=1 -seed="$seed" "found-$f" \
          "$top/fuzz/corpus/$f" "$top/fuzz/regressions") > "$fuzzbuild/fuzz-$f.log" 2>&1; then
      grep -E 'ERROR|SUMMARY|Test unit written|#[0-9]+ 0x' "$fuzzbuild/fuzz-$f.log" | head -20
      echo "FAILED: fuzz_$f (log: $fuzzbuild/fuzz-$f.log)"
      status=1
    fi
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$fuzzbuild/fuzz-$f.log" | awk '{print $2}')
    echo "fuzz_$f: ${execs:-0} executions in $(( $(date +%s) - t0 )) s" | tee -a "$out"
  done
fi

echo "== figures in $out"
[ "$status" = 0 ] && echo "reliability: all passed" || echo "reliability: FAILED"
exit "$status"
