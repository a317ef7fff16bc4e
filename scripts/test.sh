#!/usr/bin/env bash
# Set up, run every meson test suite, then the unit suites again under ASan+UBSan, then the
# fuzzers for a bounded time. Non-zero exit on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

fail=0
echo "=== meson test (release build) ==="
meson test -C build --print-errorlogs --num-processes 2 || fail=1
python3 scripts/test_summary.py build/meson-logs/testlog.json > build/summary-release.txt
cat build/summary-release.txt

echo "=== unit suites under AddressSanitizer + UndefinedBehaviorSanitizer ==="
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan --buildtype=debug -Doptimization=1 -Db_sanitize=address,undefined \
    -Db_lundef=false >/dev/null || exit 1
fi
ninja -C build-asan || exit 1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_odr_violation=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
meson test -C build-asan --print-errorlogs --num-processes 2 \
  --suite distill --suite kmcore --suite dataplane --suite ctrlplane || fail=1
python3 scripts/test_summary.py build-asan/meson-logs/testlog.json > build/summary-asan.txt
cat build/summary-asan.txt

if [ -x scripts/fuzz.sh ]; then
  echo "=== fuzzers (libFuzzer, bounded time) ==="
  # 15 s per target keeps .ci/run well inside 20 minutes on 2 cores; FUZZ_SECONDS=N for longer runs
  FUZZ_SECONDS=${FUZZ_SECONDS:-15} scripts/fuzz.sh || fail=1
fi

echo "=== total ==="
python3 scripts/test_summary.py --total build/meson-logs/testlog.json build-asan/meson-logs/testlog.json
[ $fail -eq 0 ] && echo "scripts/test.sh: all suites passed" || echo "scripts/test.sh: FAILED"
exit $fail
