#!/usr/bin/env python3
"""A qkdnode pair that survives kill -9, link down/up and a lost COMMIT without reusing a pad or
keeping different keys. Two qkdnode processes (A alice with its control thread, B bob) with key
stores, over memif, fed by qkdsim. A drops its COMMIT of one block (--test-drop-commit): A keeps
that key, B never learns it and leaves the block.
 1. Keys flow; B is killed with SIGKILL mid-run and started again on the same store, with no
    manual step: the memif socket file B served its module port on is left behind by the kill and
    removed by the restart (nobody listens on it), and qkdsim's client port reconnects: keys flow
    again, and every pad position (next msg_seq of each of the four streams, progress lines) B
    reports on the streams it sends on after the restart is above the last one it reported
    before, and A's positions (the receiver) never go back: pads only move forward.
 2. qkdctl link down, then link up on A: A's link runs again, keys flow again, A's pad positions
    only moved forward.
 3. Both stop (SIGTERM): each store holds exactly the keys its --key-digest files list
    (store_keys), and both stores hold the same key ids: the blocks only one end kept (the lost
    COMMIT, the kill) were dropped on both ends.
Deterministic: no timing assertions (waits only bound how long a broken build can hang)."""
import os
import re
import signal
import subprocess
import sys

from ctrl_common import Env, check, eq, finish, run, run_json, wait_until

QKDNODE, QKDSIM, QKDCTL, STORE_KEYS = sys.argv[1:5]
MEMIF = "bsize=10240,socket-abstract=no"
MAC = {"a": ("02:00:00:00:1a:00", "02:00:00:00:1a:01"), "b": ("02:00:00:00:1b:00", "02:00:00:00:1b:01")}

env = Env("restart")
tag = str(os.getpid())
runs = {"a": 0, "b": 0}


def node(name, extra):
    other = "b" if name == "a" else "a"
    runs[name] += 1
    args = [QKDNODE, "--no-huge", "--file-prefix", f"rs{name}{tag}", "--lcores", "0-1",
            "--mem", "256", "--idle-sleep-us", "200", "--report-interval", "0.2",
            # both serve their module port (qkdsim is the client): B's kill -9 leaves its socket
            # file, which the restart removes (nobody listens); B is the client of A's Qdist port
            "--vdev", f"net_memif0,role=server,"
                      f"socket={env.path(name + '_mod.sock')},{MEMIF},mac={MAC[name][0]}",
            "--vdev", f"net_memif1,role={'server' if name == 'a' else 'client'},"
                      f"socket={env.path('qd.sock')},{MEMIF},mac={MAC[name][1]}",
            "--link", f"id=1,role={'alice' if name == 'a' else 'bob'},psk={env.path('psk')},"
                      f"peer-mac={MAC[other][1]},block-bits=131072,auth-refill=8192,timeout-ms=2000",
            "--store", env.path(name + ".db"), "--kek", env.path(name + ".kek"),
            "--store-sync", "none",
            "--key-digest", env.path(f"{name}{runs[name]}.keys"),
            "--report", env.path(f"{name}{runs[name]}.json")] + extra
    return env.start_logged(name, args, f"=== run {runs[name]}\n")


log_of = env.log_of


PROGRESS = re.compile(r"link 1: .* keys (\d+) dropped (\d+) pads (\d+) (\d+) (\d+) (\d+)")


def progress(name, run_no=None):
    """(keys, dropped, pads) of every progress line of a node's given run (default: latest)."""
    parts = log_of(name).split("=== run ")
    text = parts[run_no] if run_no is not None and run_no < len(parts) else parts[-1]
    out = []
    for m in PROGRESS.finditer(text):
        g = [int(x) for x in m.groups()]
        out.append((g[0], g[1], g[2:]))
    return out


def keys(name):
    p = progress(name)
    return p[-1][0] if p else 0


def need(cond, what, timeout=60):
    if not wait_until(cond, timeout):
        keep = os.environ.get("QKD_TEST_KEEP_LOGS")
        if keep:  # debugging aid: stop the processes (reports) and keep their files
            for q in env.procs:
                if q.poll() is None:
                    q.send_signal(signal.SIGTERM)
                    q.wait(timeout=20)
            os.system(f"cp -r {env.dir}/. {keep}/ 2>/dev/null")
        tail = lambda n: "\n".join(log_of(n).splitlines()[-8:])
        head = lambda n: "\n".join(log_of(n).split("=== run ")[-1].splitlines()[:8])
        raise SystemExit(f"FAIL: {what}\n--- a:\n{head('a')}\n...\n{tail('a')}\n"
                         f"--- b:\n{head('b')}\n...\n{tail('b')}")


def wait_file(path):
    need(lambda: os.path.exists(path), f"{path} never appeared")


try:
    with open(env.path("psk"), "wb") as f:
        f.write(os.urandom(1 << 20))
    for n in ("a", "b"):
        with open(env.path(n + ".kek"), "w") as f:
            f.write(os.urandom(32).hex())
        os.chmod(env.path(n + ".kek"), 0o600)
    sock = env.path("a.sock")
    with open(env.path("a.ini"), "w") as f:
        f.write(f"[node]\nid = A\nlcores = 1\ncontrol_socket = {sock}\nrouting_period_ms = 100\n"
                "[qkd_link ab]\nid = 1\npeer = B\nlcore = 1\n"
                "[km_link kab]\npeer = B\nqkd_link = ab\n")

    a = node("a", ["--control", env.path("a.ini"), "--test-drop-commit", "2,1"])
    wait_file(env.path("qd.sock"))
    wait_file(env.path("a_mod.sock"))
    # a memif server takes its client once its port started: clients connect after "running"
    need(lambda: "running" in log_of("a"), "A running")
    b = node("b", [])
    wait_file(env.path("b_mod.sock"))
    need(lambda: "running" in log_of("b"), "B running")
    sim = env.start_logged("sim", [QKDSIM, "--no-huge", "--file-prefix", f"rss{tag}", "--lcores", "0",
                                   "--vdev", f"net_memif0,role=client,socket={env.path('a_mod.sock')},{MEMIF}",
                                   "--vdev", f"net_memif1,role=client,socket={env.path('b_mod.sock')},{MEMIF}",
                                   "--loss-db", "0", "--eta-det", "1", "--frames", "100000000"])

    # 1. keys flow, then B is killed and restarted
    need(lambda: keys("a") >= 5 and keys("b") >= 5, "both nodes confirm 5 keys")
    before = progress("b")[-1][2]
    b.send_signal(signal.SIGKILL)
    b.wait(timeout=10)
    check(os.path.exists(env.path("b_mod.sock")), "B's kill -9 left its memif socket file behind")
    a_keys = keys("a")
    b = node("b", [])  # no manual step: the stale socket is removed, qkdsim reconnects
    need(lambda: "removed 1 stale memif socket" in log_of("b"), "B removed its stale socket")
    need(lambda: keys("b") >= 3, "B confirms 3 keys after its restart")
    need(lambda: keys("a") >= a_keys + 3, "A confirms 3 more keys after B's restart")
    # B sends on streams 1 (sift) and 3 (distill): it resumes above every pad it reserved; A, the
    # receiver, accepts only growing msg_seq, so its positions on them never go back
    after = [p[2] for p in progress("b")]
    check(all(p[j] >= before[j] for p in after for j in (1, 3)),
          f"B's sending positions after the restart {after[0]} are above those before {before}")
    check(all(after[i + 1][j] >= after[i][j] for i in range(len(after) - 1) for j in range(4)),
          "B's pad positions only grow after the restart")
    check(all(after[-1][j] > before[j] for j in (1, 3)), "B sent on both streams after the restart")
    seen_a = [p[2] for p in progress("a")]
    check(all(seen_a[i + 1][j] >= seen_a[i][j] for i in range(len(seen_a) - 1) for j in range(4)),
          "A's positions on every stream only grow across B's restart")

    # 2. link down / link up on A
    rc, out, err = run([QKDCTL, "-s", sock, "link", "down", "ab"])
    eq((rc, err), (0, ""), "link down")
    need(lambda: run_json([QKDCTL, "-s", sock, "show", "links"])["links"][0]["state"] == "admin-down",
         "A's link admin-down", 10)
    down = [p[2] for p in progress("a")][-1]
    rc, out, err = run([QKDCTL, "-s", sock, "link", "up", "ab"])
    eq((rc, err), (0, ""), "link up after link down")
    a_keys = keys("a")
    need(lambda: keys("a") >= a_keys + 3, "A confirms 3 more keys after link up")
    up = [p[2] for p in progress("a")][-1]
    check(all(x >= y for x, y in zip(up, down)) and any(x > y for x, y in zip(up, down)),
          f"A's pad positions moved forward across link down/up ({down} -> {up})")
    b_keys = keys("b")
    need(lambda: keys("b") >= b_keys + 2, "B confirms keys after A's link up")

    # 3. stop; both stores hold the same key ids, each exactly the keys it confirmed
    sim.send_signal(signal.SIGTERM)
    sim.wait(timeout=10)
    for name, p in (("a", a), ("b", b)):
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
        eq(p.returncode, 0, f"node {name} stopped cleanly")
    dropped = sum(p[-1][1] for p in (progress("a", 1), progress("b", 1)) if p)
    check(dropped >= 1, f"the lost COMMIT's key was dropped by decision ({dropped})")
    ids = {}
    for name in ("a", "b"):
        # a key confirmed just before the kill but not yet committed to the store is confirmed
        # again by the restarted node (its block is still pending in the recorded ledger): the
        # same line in two runs' digest files. One key id never comes with two different lines.
        lines = {}
        for i in range(1, runs[name] + 1):
            path = env.path(f"{name}{i}.keys")
            if os.path.exists(path):
                for l in open(path).read().splitlines():
                    lines.setdefault(l.split()[2], set()).add(l)
        check(all(len(v) == 1 for v in lines.values()),
              f"node {name} never confirmed one key id with two different keys")
        with open(env.path(name + ".all"), "w") as f:
            f.write("".join(sorted(v)[0] + "\n" for v in lines.values()))
        rc, out, err = run([STORE_KEYS, env.path(name + ".db"), env.path(name + ".kek"),
                            env.path(name + ".all")])
        eq((rc, err), (0, ""), f"store {name} holds exactly the keys node {name} confirmed")
        ids[name] = sorted(l.split()[1] for l in out.splitlines() if l.startswith("KEY "))
    check(len(ids["a"]) >= 10, f"A's store holds keys from every phase ({len(ids['a'])})")
    eq(ids["a"], ids["b"], "both stores hold the same key ids")
    da = sorted(l.split(" ", 2)[2] for l in open(env.path("a.all")).read().splitlines())
    db = sorted(l.split(" ", 2)[2] for l in open(env.path("b.all")).read().splitlines())
    eq(da, db, "same key material on both nodes (digests)")
finally:
    env.close()
finish()
