#!/usr/bin/env python3
"""Key relay with rerouting in real qkdnode processes: four relay-only KMs in a square
A(1) - B(2) - C(3) - D(4) - A, KM links over memif, link key pools provisioned beforehand with
qkdprovision (no QKD link runs, so only the KM relay and the control plane work here). A runs its
relay worker on an lcore of its own and relays 512-bit keys, 24 in flight; the others poll the
relay from the control thread.
 1. The link-state protocol converges: route show A C lists both two-hop paths; D's configured
    [relay] session to B is established and fills its buffer.
 2. A relay session A -> C relays along its route; mid-relay the second link of that route is
    taken down at the intermediate node (qkdctl link down): relays already past it finish with
    their ACK, new ones reaching it are NACKed, A moves the session to the other path (epoch 2).
 3. The session refills to its target over the new path; then it is deleted and drains.
 4. Peer lost: the link comes back up, a second session relays, and the transit node of its
    route is killed (SIGKILL) mid-relay: its memif ports go down at both neighbours, A moves the
    session to the other path; relays whose answer died with the node are resolved with C along
    the new path (C's store decides, A follows); the session refills; it is deleted and drains.
 5. Both end stores hold exactly the same relayed key ids with identical key bytes (SHA-256
    digests compared, keys never printed), no id twice, as many as A's relay confirmed (ACK or
    resolved "have"); every relay A started was confirmed or failed, none given up.
Deterministic: no timing assertions (waits only bound how long a broken build can hang)."""
import os
import signal
import subprocess
import sys

from ctrl_common import Env, check, eq, finish, free_port, run, run_json, wait_until

QKDNODE, QKDCTL, QKDPROVISION, RELAY_KEYS = sys.argv[1:5]
NODES = {"A": 1, "B": 2, "C": 3, "D": 4}
LINKS = [("A", "B", 12), ("B", "C", 23), ("C", "D", 34), ("A", "D", 14)]  # (server, client, id)
TARGET_KEYS = 1500  # keys the session keeps buffered
KEY_BITS = 512      # A's [policy] relay_key_bits
PROVISION_KEYS = 4000  # 4096-bit link keys per link: ~2 MB, ~10k relay hops

env = Env("relaywire")
tag = str(os.getpid())


LISTEN = {n: free_port() for n in NODES}


def sock(n):
    return env.path(n + ".sock")


def ctl(n, *args):
    return run_json([QKDCTL, "-s", sock(n)] + list(args))


def links_of(n):
    """(peer, link id, memif port index, role) for node n, in port order."""
    out = []
    for a, b, lid in LINKS:
        if n in (a, b):
            out.append((b if n == a else a, lid, len(out), "server" if n == a else "client"))
    return out


def write_config(n):
    text = (f"[node]\nid = {n}\nnumber = {NODES[n]}\nlcores = 1\ncontrol_socket = {sock(n)}\n"
            f"listen = 127.0.0.1:{LISTEN[n]}\nrouting_period_ms = 100\n")
    if n == "A":
        text += f"relay_lcore = 1\n[policy]\nrelay_key_bits = {KEY_BITS}\nrelay_window = 24\n"
    if n == "D":
        text += "[relay to-b]\npeer = B\ntarget_bits = 16384\n"
    for peer, lid, port, _ in links_of(n):
        name = "".join(sorted(n + peer)).lower()
        text += (f"[qkd_link q{name}]\nid = {lid}\npeer = {peer}\n"
                 f"[km_link k{name}]\npeer = {peer}\nqkd_link = q{name}\n"
                 f"peer_number = {NODES[peer]}\nport = net_memif{port}\n"
                 f"capacity_bits = 33554432\nlow_water_bits = 65536\n")
        if n > peer:  # the later name dials
            text += f"address = 127.0.0.1:{LISTEN[peer]}\n"
    with open(env.path(n + ".ini"), "w") as f:
        f.write(text)


def start(n):
    args = [QKDNODE, "--no-huge", "--file-prefix", f"relaywire{n}{tag}",
            "--lcores", "0-1" if n == "A" else "0", "--idle-sleep-us", "200",
            "--mem", "256", "--control", env.path(n + ".ini"),
            "--store", env.path(n + ".db"), "--kek", env.path(n + ".kek"), "--store-sync", "none"]
    for peer, lid, port, role in links_of(n):
        name = "".join(sorted(n + peer)).lower()
        args += ["--vdev", f"net_memif{port},role={role},socket={env.path(name + '.memif')},"
                           f"socket-abstract=no,mac=02:00:00:00:{NODES[n]:02x}:{port:02x}"]
    return env.start_logged(n, args)


log_of = env.log_of


def session(n, sid=None):
    rows = ctl(n, "show", "sessions")["relay_sessions"]
    rows = [r for r in rows if sid is None or r["id"] == sid]
    return rows[0] if rows else None


def relay_stats(n):
    return ctl(n, "show", "stats").get("relay", {})


def store_keys(n, peer):
    rc, out, err = run([RELAY_KEYS, env.path(n + ".db"), env.path(n + ".kek"), str(NODES[peer])])
    eq((rc, err), (0, ""), f"relay_keys reads {n}'s store")
    lines = out.splitlines()
    check(lines and lines[-1].startswith("COUNT "), f"relay_keys listed {n}'s relayed keys")
    return [l.split() for l in lines[:-1]]


try:
    with open(env.path("secret"), "wb") as f:
        f.write(os.urandom(64))
    os.chmod(env.path("secret"), 0o600)
    for n in NODES:
        with open(env.path(n + ".kek"), "w") as f:
            f.write(os.urandom(32).hex())
        os.chmod(env.path(n + ".kek"), 0o600)
        for peer, lid, _, _ in links_of(n):
            rc, out, err = run([QKDPROVISION, "--store", env.path(n + ".db"), "--kek",
                                env.path(n + ".kek"), "--link", str(lid), "--secret",
                                env.path("secret"), "--keys", str(PROVISION_KEYS),
                                "--store-sync", "none"])
            eq((rc, err), (0, ""), f"qkdprovision link {lid} into {n}'s store")
        write_config(n)
    # a memif client connects once, at start: each node starts after the servers it dials
    procs = {}
    for n in NODES:
        for peer, _, _, role in links_of(n):
            memif = env.path("".join(sorted(n + peer)).lower() + ".memif")
            if role == "client" and not wait_until(lambda: os.path.exists(memif), 30):
                raise SystemExit(f"FAIL: {memif} never appeared: " + log_of(peer))
        procs[n] = start(n)
    up = wait_until(lambda: all(os.path.exists(sock(n)) for n in NODES) or
                    any(p.poll() is not None for p in procs.values()), 60)
    if not up or any(p.poll() is not None for p in procs.values()):
        raise SystemExit("FAIL: nodes did not start: " + " | ".join(log_of(n) for n in NODES))

    # 1. convergence: A sees both paths to C
    def paths():
        try:
            return [r["path"] for r in ctl("A", "route", "show", "A", "C", "k=3")["routes"]]
        except RuntimeError:
            return []
    wait_until(lambda: len(paths()) == 2, 40)
    eq(sorted(paths()), ["A>B>C", "A>D>C"], "route show A C: the two paths of the square")
    check(wait_until(lambda: (session("D") or {}).get("buffered_bits", 0) >= 16384, 30),
          "D's configured relay session to B filled its buffer")
    s = session("D")
    check(s and s["dst"] == "B" and s["state"] == "active" and s["keys_relayed"] >= 64,
          f"D -> B session active, {s and s['keys_relayed']} keys relayed along {s and s['path']}")

    # 2. relay session A -> C, link down mid-relay on its route
    r = ctl("A", "relay", "add", "C", f"target={TARGET_KEYS * KEY_BITS}")
    eq(r["state"], "active", "relay session A -> C established")
    s = session("A")
    eq(s["epoch"], 1, "first route: epoch 1")
    first = s["path"]
    via = first.split(">")[1]
    other = "D" if via == "B" else "B"
    check(wait_until(lambda: session("A")["keys_relayed"] >= 100, 30),
          f"keys relayed along {first}")
    down_link = "k" + "".join(sorted(via + "C")).lower()
    ctl(via, "link", "down", down_link)
    rerouted = wait_until(lambda: session("A")["path"] == f"A>{other}>C", 20)
    s = session("A")
    check(rerouted, f"session moved to A>{other}>C (now {s['path']})")
    check(s["epoch"] >= 2 and s["reroutes"] >= 1, f"new epoch {s['epoch']}, reroutes {s['reroutes']}")
    rc, out, err = run([QKDCTL, "-s", sock("A"), "show", "sessions"])
    head = out.splitlines()[1].split() if len(out.splitlines()) > 1 else []
    check(rc == 0 and "PATH" in head and "EPOCH" in head and f"A>{other}>C" in out,
          "qkdctl show sessions (table) shows the route and its epoch")
    relayed_at_move = s["keys_relayed"]
    check(relayed_at_move < TARGET_KEYS, f"the link went down mid-relay ({relayed_at_move} keys)")

    # 3. refill to the target over the new path, then delete and drain
    check(wait_until(lambda: session("A")["buffered_bits"] >= TARGET_KEYS * KEY_BITS, 40),
          "buffer refilled to its target over the new path")
    s = session("A")
    check(s["keys_relayed"] > relayed_at_move, "keys relayed after the move")
    eq(s["path"], f"A>{other}>C", "still on the new path")
    ctl("A", "relay", "del", str(s["id"]))

    def drained():
        st = relay_stats("A")
        return st.get("started", -1) == st.get("confirmed", 0) + st.get("failed", 0) + st.get("expired", 0)
    check(wait_until(drained, 30), "every relay A started was confirmed or failed")

    # 4. peer lost: link back up, a second session, its transit node killed mid-relay
    ctl(via, "link", "up", down_link)
    wait_until(lambda: len(paths()) == 2, 20)
    eq(len(paths()), 2, "the link is back: both paths again")
    target2 = (TARGET_KEYS + 1500) * KEY_BITS
    sid2 = ctl("A", "relay", "add", "C", f"target={target2}")["id"]
    s2 = session("A", sid2)
    relayed_before = s2["keys_relayed"]
    check(wait_until(lambda: session("A", sid2)["keys_relayed"] >= relayed_before + 100, 30),
          f"second session relays along {session('A', sid2)['path']}")
    s2 = session("A", sid2)
    victim = s2["path"].split(">")[1]
    survivor = "D" if victim == "B" else "B"
    procs[victim].send_signal(signal.SIGKILL)
    procs[victim].wait()
    moved = wait_until(lambda: session("A", sid2)["path"] == f"A>{survivor}>C", 20)
    check(moved, f"{victim} killed: session moved to A>{survivor}>C (now {session('A', sid2)['path']})")
    check(wait_until(lambda: session("A", sid2)["buffered_bits"] >= target2, 40),
          "buffer refilled to the second target over the surviving path")
    ctl("A", "relay", "del", str(sid2))
    check(wait_until(drained, 40), "every relay A started was confirmed or failed (after the kill)")
    st_a = relay_stats("A")
    check(st_a["confirmed"] > 0, f"A confirmed {st_a['confirmed']} relays, {st_a['failed']} failed")
    eq((st_a["expired"], st_a["given_up"]), (0, 0), "no relay given up")
    eq(st_a["rx_bad_auth"] + st_a["rx_replayed"], 0, "no authentication failure or replay at A")
    for n in NODES:
        if n != victim:
            eq(relay_stats(n)["commit_failed"], 0, f"{n}: every relay burst committed")
    print(f"info A: {st_a}\ninfo C: {relay_stats('C')}")
    for n, p in procs.items():
        if n != victim:
            p.send_signal(signal.SIGTERM)
    for n, p in procs.items():
        if n == victim:
            continue
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        eq(p.returncode, 0, f"node {n} stopped cleanly")

    # 5. both ends hold the same keys, once each, as many as A confirmed
    at_a = store_keys("A", "C")
    at_c = store_keys("C", "A")
    ids_a = [k[0] for k in at_a]
    eq(len(ids_a), len(set(ids_a)), "no relay key id twice in A's store")
    eq(len(at_c), len({k[0] for k in at_c}), "no relay key id twice in C's store")
    eq(len(at_a), st_a["confirmed"], "A's store holds one key per confirmed relay")
    check(at_a == at_c, f"A and C hold the same {len(at_a)} key ids with identical digests")
    check(all(k[1] == str(KEY_BITS) for k in at_a), f"every relayed key has {KEY_BITS} bits")
    eq(store_keys(survivor, "A"), [], "no relayed key stayed at the transit node")
finally:
    env.close()
finish()
