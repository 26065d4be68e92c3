#!/usr/bin/env bash
# Install what is missing, build, and run the demo: a million events
# appended to ./demo-log, reopened, read back, and sought at random.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
rm -rf demo-log
build/evlog_demo demo-log 1000000
