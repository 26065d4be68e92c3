#!/usr/bin/env bash
# Install the Debian packages evlog needs to build and test, if missing.
#   scripts/deps.sh [--bench]   --bench adds the peers of the benchmark suite
set -euo pipefail
pkgs=(build-essential cmake pkg-config liblz4-dev libxxhash-dev libcriterion-dev)
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(liblmdb-dev librocksdb-dev libleveldb-dev libsqlite3-dev gnuplot-nox)
fi
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
