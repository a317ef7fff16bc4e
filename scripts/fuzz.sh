#!/usr/bin/env bash
# libFuzzer runs of every fuzz target (tests/fuzz/meson.build) for a bounded time each, starting
# from a copy of its committed seed corpus. Needs clang. FUZZ_SECONDS per target (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-30}
dir=build-fuzz
if ! command -v clang >/dev/null; then echo "fuzz: clang not found, skipped"; exit 0; fi
if [ ! -d "$dir" ]; then
  CC=clang meson setup "$dir" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized -Dc_args=-fsanitize=fuzzer-no-link \
    -Dc_link_args=-fsanitize=fuzzer-no-link >/dev/null
fi
targets=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
ninja -C "$dir" -j2 $(for t in $targets; do echo "tests/fuzz/$t"; done) >/dev/null
fail=0
for t in $targets; do
  name=${t#fuzz_}
  work=$(mktemp -d "/tmp/fuzz_${name}_XXXXXX")
  [ -d "tests/fuzz/corpus/$name" ] && cp "tests/fuzz/corpus/$name"/* "$work"/ 2>/dev/null || true
  echo "fuzz $name: ${secs}s"
  if ! "$dir/tests/fuzz/$t" -max_total_time="$secs" -print_final_stats=0 "$work" \
      >"$work.log" 2>&1; then
    echo "fuzz $name: FAILED (crash input and log in $work, $work.log)"
    fail=1
  else
    tail -1 "$work.log"
    rm -rf "$work" "$work.log"
  fi
done
exit $fail
