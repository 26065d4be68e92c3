#!/usr/bin/env bash
# Installs the built evlog into a temporary prefix, then builds a consumer
# against it twice, with find_package(evlog) and with pkg-config, and runs
# both. Usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/evlog.h"
cmake -S "$here" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib:${LD_LIBRARY_PATH:-}" "$tmp/cm/consumer" "$tmp/log1"
libdir=$(dirname "$(find "$tmp/prefix" -name evlog.pc | head -1)")
export PKG_CONFIG_PATH="$libdir"
cc -o "$tmp/pc" "$here/consumer.c" $(pkg-config --cflags --libs evlog)
LD_LIBRARY_PATH="$tmp/prefix/lib:$(dirname "$libdir"):${LD_LIBRARY_PATH:-}" "$tmp/pc" "$tmp/log2"
cc -static-libgcc -o "$tmp/pcs" "$here/consumer.c" $(pkg-config --cflags evlog) \
  "$(dirname "$libdir")/libevlog.a" $(pkg-config --libs-only-l --static evlog | sed 's/-levlog//')
"$tmp/pcs" "$tmp/log3"
echo "install test: 3 passed, 0 failed"
