#!/usr/bin/env bash
# Run every benchmark (or those matching --filter), write perf/results/latest.json and PNG charts.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
out=perf/results/latest.json
./build/perf/qkdperf --json "$out" "$@"
python3 perf/plot.py "$out" perf/results
