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


def wait_for(path, procs, limit=20.0):
    end = time.monotonic() + limit
    while not os.path.exists(path):
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

        def node(name, role, mod_mac, qd_role, qd_mac, peer_mac):
            args = [qkdnode, "--no-huge", "--file-prefix", f"dp{name}{tag}", "--lcores", "0-1",
                    "--mem", "512", "--idle-sleep-us", "200",
                    "--vdev", f"net_memif0,role=server,socket={d}/{name}_mod.sock,{m},mac={mod_mac}",
                    "--vdev", f"net_memif1,role={qd_role},socket={d}/qd.sock,{m},mac={qd_mac}",
                    "--link", f"id=1,role={role},psk={psk},peer-mac={peer_mac},block-bits=262144,"
                              "auth-refill=8192,timeout-ms=5000",
                    "--stop-after-keys", str(N_KEYS), "--key-digest", f"{d}/{name}.keys",
                    "--report", f"{d}/{name}.json"]
            p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(f"{d}/{name}.log", "w"))
            p.log = f"{d}/{name}.log"
            procs.append(p)
            return p

        a = node("a", "alice", "02:00:00:00:0a:00", "server", "02:00:00:00:0a:01", "02:00:00:00:0b:01")
        wait_for(f"{d}/qd.sock", procs)
        wait_for(f"{d}/a_mod.sock", procs)
        b = node("b", "bob", "02:00:00:00:0b:00", "client", "02:00:00:00:0b:01", "02:00:00:00:0a:01")
        wait_for(f"{d}/b_mod.sock", procs)
        sim = subprocess.Popen([qkdsim, "--no-huge", "--file-prefix", f"dps{tag}", "--lcores", "0",
                                "--vdev", f"net_memif0,role=client,socket={d}/a_mod.sock,{m}",
                                "--vdev", f"net_memif1,role=client,socket={d}/b_mod.sock,{m}",
                                "--loss-db", "0", "--eta-det", "1", "--frames", "200000"],
                               stdout=subprocess.DEVNULL, stderr=open(f"{d}/sim.log", "w"))
        procs.append(sim)
        for p in (a, b):
            try:
                p.wait(timeout=50)
            except subprocess.TimeoutExpired:
                raise SystemExit("FAIL: a node did not finish its keys")
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
            if link["auth_failures"] != 0 or link["blocks_done"] < N_KEYS:
                raise SystemExit(f"FAIL: {name} report: {link}")
            if rep["errors"].get("QD_AUTH", 0) or rep["errors"].get("QD_REPLAY", 0):
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
