#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# the options are named: a build directory configured otherwise before
# (tests or tools off) must not pass for a suite that ran nothing
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVLOG_BUILD_TESTS=ON \
  -DEVLOG_BUILD_TOOLS=ON >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure --no-tests=error -j"$(nproc)"
