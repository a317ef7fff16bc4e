#!/usr/bin/env python3
"""Two qkdnode processes of one QKD link, connected by memif (Qdist), each fed over memif by one
qkdsim playing both QKD modules: both nodes stop after N keys; their key digests (id, block,
length, SHA-256 of the material) must be identical line by line, every block verified, and the
JSON reports must show zero authentication failures. Deterministic: no timing assertions (the
waits only bound how long a broken build can hang)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

N_KEYS = 3


def wait_for(path, procs, limit=60.0, text=None):  # start-up bound, generous for a loaded CI machine
    """Until path exists (and contains text, when given)."""
    end = time.monotonic() + limit
    while not os.path.exists(path) or (text and text not in open(path).read()):
        for p in procs:
            if p.poll() is not None:
                log = open(p.log).read() if hasattr(p, "log") else ""
                raise SystemExit(f"FAIL: {p.args[0]} exited early ({p.returncode}): {log}")
        if time.monotonic() > end:
            raise SystemExit(f"FAIL: {path} never appeared")
        time.sleep(0.05)


def main():
    qkdnode, qkdsim = sys.argv[1], sys.argv[2]
    d = tempfile.mkdtemp(prefix="qkd-dataplane-memif-")
    tag = str(os.getpid())
    procs = []
    try:
        psk = os.path.join(d, "psk.bin")
        with open(psk, "wb") as f:
            f.write(os.urandom(1 << 20))
        m = "bsize=10240,socket-abstract=no"

        def node(name, role, mod_mac, qd_role, qd_mac, peer_mac, lcores, keys):
            args = [qkdnode, "--no-huge", "--file-prefix", f"dp{name}{tag}", *lcores,
                    "--mem", "512", "--idle-sleep-us", "200",
                    "--vdev", f"net_memif0,role=server,socket={d}/{name}_mod.sock,{m},mac={mod_mac}",
                    "--vdev", f"net_memif1,role={qd_role},socket={d}/qd.sock,{m},mac={qd_mac}",
                    "--link", f"id=1,role={role},psk={psk},peer-mac={peer_mac},block-bits=262144,"
                              "auth-refill=auto,timeout-ms=30000",
                    "--stop-after-keys", str(keys), "--key-digest", f"{d}/{name}.keys",
                    "--report", f"{d}/{name}.json"]
            p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(f"{d}/{name}.log", "w"))
            p.log = f"{d}/{name}.log"
            procs.append(p)
            return p

        # Alice's node with one lcore per role (RX, TX, worker: cross-thread rings), Bob's node
        # with every role on one lcore.
        a = node("a", "alice", "02:00:00:00:0a:00", "server", "02:00:00:00:0a:01", "02:00:00:00:0b:01",
                 ["--lcores", "(0-3)@(0-1)", "--rx-lcore", "1", "--tx-lcore", "2",
                  "--worker-lcores", "3"], N_KEYS + 1)
        wait_for(f"{d}/a.log", procs, text="qkdnode: running")  # ports started, memif listening
        b = node("b", "bob", "02:00:00:00:0b:00", "client", "02:00:00:00:0b:01", "02:00:00:00:0a:01",
                 ["--lcores", "0-1"], N_KEYS)
        wait_for(f"{d}/b.log", procs, text="qkdnode: running")
        sim = subprocess.Popen([qkdsim, "--no-huge", "--file-prefix", f"dps{tag}", "--lcores", "0",
                                "--vdev", f"net_memif0,role=client,socket={d}/a_mod.sock,{m}",
                                "--vdev", f"net_memif1,role=client,socket={d}/b_mod.sock,{m}",
                                "--loss-db", "0", "--eta-det", "1", "--frames", "200000"],
                               stdout=subprocess.DEVNULL, stderr=open(f"{d}/sim.log", "w"))
        procs.append(sim)
        # Bob's node stops after N keys; Alice's (asked for one more, so it cannot leave Bob
        # waiting for its last COMMIT) is stopped once it holds N keys too.
        def keys_of(name):
            path = f"{d}/{name}.keys"
            return len(open(path).read().splitlines()) if os.path.exists(path) else 0
        end = time.monotonic() + 35
        while (b.poll() is None or keys_of("a") < N_KEYS) and time.monotonic() < end:
            time.sleep(0.05)
        stuck = b.poll() is None
        for p in (a, b, sim):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in (b, a):
            p.wait(timeout=10)
        if stuck:
            reps = [open(f"{d}/{n}.json").read() if os.path.exists(f"{d}/{n}.json") else "-"
                    for n in ("a", "b")]
            raise SystemExit("FAIL: a node did not finish its keys:\n" + "\n".join(reps))
        for p in (a, b):
            if p.returncode != 0:
                raise SystemExit(f"FAIL: node exited with {p.returncode}: "
                                 + open(f"{d}/{'a' if p is a else 'b'}.log").read())
        ka = open(f"{d}/a.keys").read().splitlines()
        kb = open(f"{d}/b.keys").read().splitlines()
        if len(ka) < N_KEYS or len(kb) < N_KEYS:
            raise SystemExit(f"FAIL: keys: alice {len(ka)}, bob {len(kb)}")
        for i in range(N_KEYS):
            if ka[i] != kb[i]:
                raise SystemExit(f"FAIL: key {i} differs:\n  {ka[i]}\n  {kb[i]}")
        for name in ("a", "b"):
            rep = json.load(open(f"{d}/{name}.json"))
            link = rep["links"][0]
            # auth-refill=auto: both nodes take the same part of every key (else the keys above
            # would differ), and some of it
            if link["auth_failures"] != 0 or link["blocks_done"] < N_KEYS or link["auth_refill_bytes"] <= 0:
                raise SystemExit(f"FAIL: {name} report: {link}")
            if any(rep["errors"].get(e, 0) for e in ("QD_AUTH", "QD_REPLAY", "QD_FRAG", "QD_MSG_DROPPED")):
                raise SystemExit(f"FAIL: {name} errors: {rep['errors']}")
        print(f"two nodes over memif: {N_KEYS} keys identical, "
              f"secret bits {json.load(open(f'{d}/a.json'))['links'][0]['secret_bits']}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
