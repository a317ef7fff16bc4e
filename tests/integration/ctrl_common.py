"""Helpers for the control-plane integration tests: temp dirs, qkdcpd nodes, CLI calls."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

FAILED = []


def check(cond, what):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        FAILED.append(what)


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want) if got != want else what)


class Env:
    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="ctrl-%s-" % name)
        self.procs = []

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def spawn(self, argv, ready_word):
        """Start a daemon and return (proc, first stdout line) once it printed ready_word."""
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.append(p)
        line = p.stdout.readline()
        if ready_word not in line:
            raise RuntimeError("%s did not start: %s" % (argv[0], line + p.stdout.read()))
        return p, line

    def start_logged(self, name, argv, header=None):
        """Start a program whose stderr goes to <name>.log in the test folder (appended, so a
        restarted program keeps its earlier runs; header marks where this run begins)."""
        log = open(self.path(name + ".log"), "a")
        if header:
            log.write(header)
            log.flush()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        self.procs.append(p)
        return p

    def log_of(self, name):
        """What <name>.log holds so far ("" before the program started)."""
        p = self.path(name + ".log")
        return open(p).read() if os.path.exists(p) else ""

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def run(argv, stdin=None):
    r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def run_json(argv):
    rc, out, err = run(argv[:1] + ["--json"] + argv[1:])
    if rc != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), rc, err))
    return json.loads(out)


def free_port():
    """A TCP port on the loopback that was free a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(pred, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def node_config(env, name, links, extra="", period_ms=100):
    """links: list of (peer, address or None). Returns the config path."""
    text = ("[node]\nid = %s\nlcores = 1\ncontrol_socket = %s\nlisten = 127.0.0.1:0\n"
            "metrics = 127.0.0.1:0\nrouting_period_ms = %d\n"
            % (name, env.path(name + ".sock"), period_ms))
    for sae in "ABC":  # the SAE directory: which node serves which SAE
        text += "[sae app%s]\nnode = %s\n" % (sae, sae)
    for i, (peer, addr) in enumerate(links):
        lk = "".join(sorted((name.lower(), peer.lower())))
        text += ("[qkd_link q%s]\nid = %d\npeer = %s\n[km_link k%s]\npeer = %s\nqkd_link = q%s\n"
                 "capacity_bits = 1000000\nlow_water_bits = 1000\n" % (lk, i + 1, peer, lk, peer, lk))
        if addr:
            text += "address = %s\n" % addr
    text += extra
    path = env.path(name + ".ini")
    with open(path, "w") as f:
        f.write(text)
    return path


def finish():
    if FAILED:
        print("%d check(s) failed" % len(FAILED))
        sys.exit(1)
    print("all checks passed")
