#!/usr/bin/env bash
# scripts/sanitize.sh - the whole test suite under AddressSanitizer and
# UndefinedBehaviorSanitizer, and the concurrency tests under
# ThreadSanitizer (issue 4, docs/reliability.md).
#
#   scripts/sanitize.sh              both
#   scripts/sanitize.sh asan|tsan    one
#
# Builds in build-asan and build-tsan with -DEVLOG_SANITIZE=... (clang when
# present, else the default compiler) and runs ctest there. The reliability
# loops run with their CI counts. Exit status: 0 when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
jobs=$(nproc 2>/dev/null || echo 2)
cc=${CC:-}
if [ -z "$cc" ] && command -v clang > /dev/null; then cc=clang; fi
status=0

build() { # dir sanitizers
  CC=${cc:-cc} cmake -S . -B "$1" -DEVLOG_SANITIZE="$2" -DEVLOG_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
  cmake --build "$1" -j "$jobs" > /dev/null
}

if [ "$which" = all ] || [ "$which" = asan ]; then
  echo "== ASan + UBSan: the whole suite"
  build build-asan address,undefined
  # leaks are errors; a sanitizer report fails the test that printed it
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -j "$jobs" --output-on-failure -LE fuzz || status=1
fi

if [ "$which" = all ] || [ "$which" = tsan ]; then
  echo "== TSan: the concurrency tests"
  build build-tsan thread
  # the tests that run threads against one handle without Criterion, whose
  # runner does not start under TSan: appenders, readers, a syncer and
  # group commit (core.concurrency), and the I/O layers' self-tests
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan -j "$jobs" --output-on-failure \
      -R '^core\.concurrency$' || status=1
fi
[ "$status" = 0 ] && echo "sanitize: all passed" || echo "sanitize: FAILED"
exit "$status"
