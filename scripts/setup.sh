#!/usr/bin/env bash
# Idempotent setup: Debian packages, huge pages (best effort), release build in build/.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential meson ninja-build pkg-config git python3 clang libclang-rt-14-dev
      dpdk dpdk-dev libdpdk-dev libisal-dev liburcu-dev libssl-dev openssl libcunit1-dev
      libjansson-dev libevent-dev liblmdb-dev lmdb-utils libedit-dev libinih-dev libpcap-dev
      gnuplot-nox iproute2 wrk hyperfine procps)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages (${missing[*]}) and not root: run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

scripts/hugepages.sh || true

if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release -Doptimization=3
fi
ninja -C build
