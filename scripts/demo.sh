#!/usr/bin/env bash
# The main job: set up (packages, build), simulate a 25 km decoy-state BB84 link and distill it
# end to end (sift -> estimate -> reconcile -> verify -> privacy amplification), showing the key
# rate after every stage. Idempotent: works on a fresh machine and on every rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
work=$(mktemp -d /tmp/qkd-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
qkdtool=./build/distill/tools/qkdtool
echo "=== qkdtool simulate: 25 km of 0.2 dB/km fibre, 1 GHz, 0.5 s of pulses ==="
"$qkdtool" simulate --out "$work/events.bin" --km 25 --slots 500000000 --seed 25
echo
echo "=== qkdtool distill: Cascade reconciliation, 2^20-bit blocks ==="
"$qkdtool" distill --in "$work/events.bin" --method cascade --block-bits 1048576
echo
echo "=== the same events with rate-adaptive QC-LDPC reconciliation ==="
"$qkdtool" distill --in "$work/events.bin" --method ldpc --block-bits 1048576
if [ "${DEMO_RELAY_XOR:-0}" = 1 ]; then
  echo
  echo "=== relay XOR kernel (qkdperf) ==="
  ./build/perf/qkdperf --quick --filter relay_xor
fi
if [ "${DEMO_NETWORK:-0}" = 1 ]; then
  echo
  scripts/demo_network.sh
fi
