#!/usr/bin/env python3
"""qkdnode with its key manager attached: two nodes of one QKD link over memif, fed by qkdsim, each
with a durable key store (--store/--kek).
 1. Both stop after N keys: each store holds exactly the keys its --key-digest file lists (ids,
    block numbers, bits, pool link:1; checked by store_keys, which links kmcore), and both
    digests list the same keys, so both stores hold the same key ids.
 2. Both restart on the same stores with their KSAs (ETSI GS QKD 014 over mutual TLS, Kx-2 between
    them) and node A with its control thread: qkdctl show keys reports A's stored bits as the KM
    link's buffer; enc_keys on one node's KSA and dec_keys with the returned key_ID on the other
    give the same key bytes (A originates from one half of the pool and B from the other, so the
    master side is whichever half holds a key); key flush empties A's buffer; both exit 0.
Deterministic: no timing assertions (waits only bound how long a broken build can hang)."""
import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time

from ctrl_common import Env, check, eq, finish, free_port, run, run_json, wait_until

QKDNODE, QKDSIM, QKDCTL, STORE_KEYS, MAKE_CERTS = sys.argv[1:6]
N_KEYS = 3
MEMIF = "bsize=10240,socket-abstract=no"
MAC = {"a": ("02:00:00:00:0a:00", "02:00:00:00:0a:01"), "b": ("02:00:00:00:0b:00", "02:00:00:00:0b:01")}

env = Env("nodekm")
tag = str(os.getpid())


def node(name, extra, stop_after=None):
    other = "b" if name == "a" else "a"
    args = [QKDNODE, "--no-huge", "--file-prefix", f"km{name}{tag}", "--lcores", "0-1",
            "--mem", "256", "--idle-sleep-us", "200", "--report-interval", "1",
            "--vdev", f"net_memif0,role=server,socket={env.path(name + '_mod.sock')},{MEMIF},"
                      f"mac={MAC[name][0]}",
            "--vdev", f"net_memif1,role={'server' if name == 'a' else 'client'},"
                      f"socket={env.path('qd.sock')},{MEMIF},mac={MAC[name][1]}",
            "--link", f"id=1,role={'alice' if name == 'a' else 'bob'},psk={env.path('psk')},"
                      f"peer-mac={MAC[other][1]},block-bits=262144,auth-refill=8192,timeout-ms=5000",
            "--store", env.path(name + ".db"), "--kek", env.path(name + ".kek")] + extra
    if stop_after:
        args += ["--stop-after-keys", str(stop_after), "--key-digest", env.path(name + ".keys"),
                 "--report", env.path(name + ".json")]
    return env.start_logged(name, args)


log_of = env.log_of


def wait_file(path, procs):
    ok = wait_until(lambda: os.path.exists(path) or any(p.poll() is not None for p in procs), 60)
    if not ok or not os.path.exists(path):
        raise SystemExit(f"FAIL: {path} never appeared: {log_of('a')} {log_of('b')}")


def ksa_client(port, sae):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(env.path("pki", "ca.pem"))
    ctx.load_cert_chain(env.path("pki", sae + ".pem"), env.path("pki", sae + ".key"))
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)


def request(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"} if body is not None else {})
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"{}")


try:
    with open(env.path("psk"), "wb") as f:
        f.write(os.urandom(1 << 20))
    for n in ("a", "b"):
        with open(env.path(n + ".kek"), "w") as f:
            f.write(os.urandom(32).hex())
        os.chmod(env.path(n + ".kek"), 0o600)

    # 1. distil N keys into both stores
    a = node("a", [], N_KEYS)
    # memif servers take a client only once their port started, and B's client tries once
    wait_file(env.path("a_mod.sock"), [a])
    check(wait_until(lambda: "qkdnode: running" in log_of("a") or a.poll() is not None, 60) and
          a.poll() is None, "node a running")
    b = node("b", [], N_KEYS)
    wait_file(env.path("b_mod.sock"), [a, b])
    # memif servers take a client only once their port started: qkdsim connects after "running"
    wait_until(lambda: all("running" in log_of(n) for n in "ab") or a.poll() is not None or
               b.poll() is not None, 60)
    sim = subprocess.Popen([QKDSIM, "--no-huge", "--file-prefix", f"kms{tag}", "--lcores", "0",
                            "--vdev", f"net_memif0,role=client,socket={env.path('a_mod.sock')},{MEMIF}",
                            "--vdev", f"net_memif1,role=client,socket={env.path('b_mod.sock')},{MEMIF}",
                            "--loss-db", "0", "--eta-det", "1", "--frames", "200000"],
                           stdout=subprocess.DEVNULL, stderr=open(env.path("sim.log"), "w"))
    env.procs.append(sim)
    for name, p in (("a", a), ("b", b)):
        try:
            p.wait(timeout=45)
        except subprocess.TimeoutExpired:
            raise SystemExit(f"FAIL: node {name} did not finish its keys: {log_of(name)}"
                             f"\nnode b: {log_of('b')}\nqkdsim: {log_of('sim')}")
        eq(p.returncode, 0, f"node {name} stored {N_KEYS} keys and exited")
    sim.send_signal(signal.SIGTERM)
    sim.wait(timeout=10)
    listed = {}
    bits = {}
    for name in ("a", "b"):
        rc, out, err = run([STORE_KEYS, env.path(name + ".db"), env.path(name + ".kek"),
                            env.path(name + ".keys")])
        eq((rc, err), (0, ""), f"store {name} holds exactly the keys node {name} digested")
        listed[name] = [l.split()[1] for l in out.splitlines() if l.startswith("KEY ")]
        digested = open(env.path(name + ".keys")).read().splitlines()
        bits[name] = sum(int(l.split()[3]) for l in digested)
        eq(json.load(open(env.path(name + ".json"))).get("store"),
           {"keys_stored": len(digested), "keys_dropped": 0},
           f"node {name} report: every digested key stored, none dropped")
    common = min(len(listed["a"]), len(listed["b"]))
    check(common >= N_KEYS, f"both stores hold at least {N_KEYS} keys ({common})")
    eq(listed["a"][:common], listed["b"][:common], "both stores hold the same key ids")
    da = open(env.path("a.keys")).read().splitlines()
    db = open(env.path("b.keys")).read().splitlines()
    eq(da[:common], db[:common], "same key material on both nodes (digests)")

    # 2. restart on the same stores with KSAs and A's control thread (memif leaves its server
    # sockets behind: remove them so B waits for A's new one instead of racing its probe)
    for sockname in ("qd.sock", "a_mod.sock", "b_mod.sock"):
        if os.path.exists(env.path(sockname)):
            os.unlink(env.path(sockname))
    os.rename(env.path("a.keys"), env.path("a1.keys"))
    subprocess.run(["sh", MAKE_CERTS, env.path("pki"), "kme-a", "kme-b", "sae-a1", "sae-b1"],
                   check=True, capture_output=True, timeout=60)
    ak, bk, akx, bkx = (free_port() for _ in range(4))
    pki = env.path("pki")
    sock = env.path("a.sock")
    with open(env.path("a.ini"), "w") as f:
        f.write(f"[node]\nid = A\nlcores = 1\ncontrol_socket = {sock}\nrouting_period_ms = 100\n"
                "[qkd_link ab]\nid = 1\npeer = B\nlcore = 1\n"
                "[km_link kab]\npeer = B\nqkd_link = ab\ncapacity_bits = 16777216\n")

    def ksa(me, my_port, my_kx, peer, peer_kx):
        return ["--ksa-id", f"kme-{me}", "--ksa-listen", f"127.0.0.1:{my_port}",
                "--ksa-kx-listen", f"127.0.0.1:{my_kx}",
                "--ksa-tls", f"{pki}/ca.pem,{pki}/kme-{me}.pem,{pki}/kme-{me}.key",
                "--ksa-sae", "sae-a1@kme-a", "--ksa-sae", "sae-b1@kme-b",
                "--ksa-peer", f"kme-{peer}@127.0.0.1:{peer_kx}/1"]
    # B first: its memif client finds no server yet and keeps trying (dp_port_start) until A is up
    b = node("b", ksa("b", bk, bkx, "a", akx))
    check(wait_until(lambda: "serving ETSI 014" in log_of("b") or b.poll() is not None, 60) and
          b.poll() is None, "node b waits for its peer's port")
    a = node("a", ksa("a", ak, akx, "b", bkx) + ["--control", env.path("a.ini")])
    check(wait_until(lambda: "serving ETSI 014" in log_of("a") and "serving ETSI 014" in log_of("b")
                     or a.poll() is not None or b.poll() is not None, 60) and
          a.poll() is None and b.poll() is None, "both KSAs serving")
    check(wait_until(lambda: log_of("b").count("qkdnode: running") >= 2 or b.poll() is not None,
                     30) and b.poll() is None, "node b's ports came up once A's did")
    check(wait_until(lambda: os.path.exists(sock), 60), "control socket open")

    def buffer_bits():
        keys = run_json([QKDCTL, "-s", sock, "show", "keys"])["keys"]
        return keys[0]["buffer_bits"] if keys else None
    wait_until(lambda: buffer_bits() == bits["a"], 10)
    eq(buffer_bits(), bits["a"], "qkdctl show keys: A's buffer holds every stored bit")

    got = None
    for master, slave, mport, sport in (("a", "b", ak, bk), ("b", "a", bk, ak)):
        st, enc = request(ksa_client(mport, f"sae-{master}1"), "GET",
                          f"/api/v1/keys/sae-{slave}1/enc_keys?number=1&size=256")
        if st == 503:  # this KME's half of the pool is empty: the other one originates
            continue
        eq(st, 200, f"enc_keys on node {master}")
        kid = enc["keys"][0]["key_ID"]
        st, dec = request(ksa_client(sport, f"sae-{slave}1"), "POST",
                          f"/api/v1/keys/sae-{master}1/dec_keys", {"key_IDs": [{"key_ID": kid}]})
        eq(st, 200, f"dec_keys on node {slave}")
        got = (base64.b64decode(enc["keys"][0]["key"]), base64.b64decode(dec["keys"][0]["key"]),
               dec["keys"][0]["key_ID"], kid)
        break
    check(got is not None, "one of the KSAs supplied a key")
    if got:
        eq(len(got[0]), 32, "enc_keys returned 256 bits")
        eq(got[2], got[3], "dec_keys returned the requested key_ID")
        check(got[0] == got[1], "master and slave SAEs got the same key bytes over two nodes")

    rc, out, err = run([QKDCTL, "-s", sock, "key", "flush"])
    eq((rc, err), (0, ""), "key flush with a store")
    wait_until(lambda: buffer_bits() == 0, 10)
    eq(buffer_bits(), 0, "A's buffer is empty after key flush")
    for name, p in (("a", a), ("b", b)):
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
        eq(p.returncode, 0, f"node {name} stopped cleanly")
        if p.returncode:
            print(log_of(name))
finally:
    env.close()
finish()
