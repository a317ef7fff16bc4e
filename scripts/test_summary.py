#!/usr/bin/env python3
"""Per-test CUnit summary from meson testlog.json files; --total prints 'N passed, N failed'
and, for each failed test, its name and the last lines of its output (CI shows only the tail)."""
import json
import re
import sys

TAIL_LINES = 25
ROW = re.compile(r"^\s*tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", re.M)


def load(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def counts(entry):
    """(passed, failed) CUnit tests of one meson test; a non-CUnit test counts as one."""
    ok = entry.get("result") == "OK"
    m = ROW.findall(entry.get("stdout") or "")
    if not m:
        return (1, 0) if ok else (0, 1)
    _total, ran, passed, failed, _inactive = map(int, m[-1])
    if not ok and failed == 0:
        failed = 1  # crashed or exited non-zero after its asserts
    return passed, failed


def main(argv):
    total = argv and argv[0] == "--total"
    paths = argv[1:] if total else argv
    tp = tf = 0
    failed = []
    for path in paths:
        for e in load(path):
            p, f = counts(e)
            tp += p
            tf += f
            if f:
                failed.append((path, e))
            if not total:
                print(f"  {e['name']:48s} {e['result']:8s} {p:4d} passed {f:3d} failed")
    if total:
        for path, e in failed:
            print(f"--- failed: {e['name']} ({e['result']}, {path}) ---")
            for stream in ("stdout", "stderr"):
                lines = (e.get(stream) or "").splitlines()[-TAIL_LINES:]
                for line in lines:
                    print(f"  {stream[3]}| {line}")
    print(f"{tp} passed, {tf} failed")
    return 0


sys.exit(main(sys.argv[1:]))
