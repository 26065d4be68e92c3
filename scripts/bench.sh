#!/bin/sh
# bench.sh - build evlog-bench, run it, and turn its JSON lines into
# docs/performance.md and the plots in docs/perf/.
#
#   scripts/bench.sh [--quick] [--dir D] [--build B] [--reps N]
#   scripts/bench.sh --format RESULTS.jsonl [MORE.jsonl...]
#                                               # only regenerate the page
#
#   --quick    about 2 minutes (smaller files, 1 GiB kill -9 test)
#   --dir D    scratch directory for the logs (default /var/tmp); the full run
#              needs about 20 GiB free there and scales the kill -9 test down
#              when short
#   --build B  build directory (default build-bench)
#
# Needs cmake, a C compiler, awk and gnuplot (plots are skipped without it).
# Peers are compared when liblmdb-dev, librocksdb-dev, libleveldb-dev and
# libsqlite3-dev are installed.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
mode=full
dir=/var/tmp
build="$root/build-bench"
reps=
format_only=

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) mode=quick ;;
    --dir) dir=$2; shift ;;
    --build) build=$2; shift ;;
    --reps) reps=$2; shift ;;
    --format) format_only=$2; shift; shift; break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

results_dir="$root/bench/results"
mkdir -p "$results_dir" "$root/docs/perf"

if [ -n "$format_only" ]; then
    results=$format_only
else
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DEVLOG_BUILD_TESTS=OFF -DEVLOG_BUILD_BENCH=ON >/dev/null
    cmake --build "$build" --target evlog-bench -j 2 >/dev/null
    results="$results_dir/$mode-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
    set -- --dir "$dir" --out "$results"
    [ "$mode" = quick ] && set -- "$@" --quick
    [ -n "$reps" ] && set -- "$@" --reps "$reps"
    echo "bench.sh: $build/bench/evlog-bench $*" >&2
    # the table goes to the terminal, the JSON lines to $results
    "$build/bench/evlog-bench" "$@" || echo "bench.sh: some workloads failed; see above" >&2
fi

# the page is built from $results; the other runs given (with --format) or
# kept in bench/results add a table of the targets across runs
if [ -z "$format_only" ]; then
    set --
    for f in "$results_dir"/*.jsonl; do
        [ "$f" = "$results" ] || set -- "$@" "$f"
    done
fi
awk -v plotdir="$root/docs/perf" -v results="$(basename "$results")" \
    -v notes="$root/bench/notes.md" -f "$root/bench/format.awk" "$results" "$@" \
    > "$root/docs/performance.md"
if command -v gnuplot >/dev/null 2>&1; then
    gnuplot -e "dir='$root/docs/perf'" "$root/bench/plots.gp"
else
    echo "bench.sh: gnuplot not found, no plots" >&2
fi
echo "bench.sh: wrote docs/performance.md and docs/perf/*.png from $results" >&2
