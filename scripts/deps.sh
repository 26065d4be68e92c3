#!/usr/bin/env bash
# Install the Debian packages evlog needs to build and test, if missing.
#   scripts/deps.sh [--bench|--reliability]
#     --bench adds the peers of the benchmark suite and gnuplot,
#     --reliability adds clang and its runtime for fuzzing and sanitizers
set -euo pipefail
pkgs=(build-essential cmake pkg-config liblz4-dev libxxhash-dev libcriterion-dev)
case "${1:-}" in
  --bench) pkgs+=(liblmdb-dev librocksdb-dev libleveldb-dev libsqlite3-dev gnuplot-nox) ;;
  --reliability) pkgs+=(clang libclang-rt-14-dev) ;;  # libFuzzer and the sanitizers
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
