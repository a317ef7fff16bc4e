#!/usr/bin/env bash
# The main job: set up, then run what the project can do end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "=== relay XOR kernel (qkdperf) ==="
./build/perf/qkdperf --quick --filter relay_xor
