"""qkdnode --control: the control thread on qkdnode's main lcore against the real dataplane
(dp_node): qkdctl sees the running QKD link, link down removes it from the dataplane, link up adds
it again from its authentication ledger (its pad streams resume above every reserved pad), the same
statistics are
readable with dpdk-telemetry.py as /qkd/... commands, and SIGTERM shuts the node down cleanly."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys

from ctrl_common import Env, check, eq, finish, run, run_json, wait_until

QKDNODE, QKDCTL = sys.argv[1], sys.argv[2]
TELEMETRY = shutil.which("dpdk-telemetry.py")
env = Env("qkdnode")
try:
    with open(env.path("psk"), "wb") as f:
        f.write(os.urandom(4096))
    os.chmod(env.path("psk"), 0o600)
    sock = env.path("a.sock")
    with open(env.path("a.ini"), "w") as f:
        f.write("[node]\nid = A\nlcores = 1\ncontrol_socket = %s\nrouting_period_ms = 100\n"
                "[qkd_link ab]\nid = 1\npeer = B\nlcore = 1\n"
                "[km_link kab]\npeer = B\nqkd_link = ab\n" % sock)
    prefix = "ctrl_qn_%d" % os.getpid()
    p = subprocess.Popen([QKDNODE, "--file-prefix", prefix, "--lcores", "0-1", "--mem", "256",
                          "--vdev", "net_null0", "--vdev", "net_null1",
                          "--link", "id=1,role=alice,psk=%s,peer-mac=02:00:00:00:00:02" % env.path("psk"),
                          "--control", env.path("a.ini")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    env.procs.append(p)
    check(wait_until(lambda: os.path.exists(sock), timeout=20), "qkdnode opened its control socket")
    links = run_json([QKDCTL, "-s", sock, "show", "links"])["links"]
    eq([(l["link"], l["id"], l["km_link"], l["state"]) for l in links], [("ab", 1, "kab", "up")],
       "the dataplane's link is up")

    if TELEMETRY:
        r = subprocess.run([sys.executable, TELEMETRY, "-f", prefix], input="/qkd/links\n/qkd/link,kab\n/qkd/node\n",
                           capture_output=True, text=True, timeout=20)
        out = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{\"/qkd")]
        eq(out[0], {"/qkd/links": ["kab"]}, "dpdk-telemetry.py /qkd/links")
        eq((out[1]["/qkd/link"]["state"], out[1]["/qkd/link"]["peer"]), ("up", "B"), "/qkd/link,kab")
        eq(out[2]["/qkd/node"]["node"], "A", "/qkd/node")
    else:
        print("skip dpdk-telemetry.py not installed")

    rc, out, err = run([QKDCTL, "-s", sock, "link", "down", "ab"])
    eq(rc, 0, "link down")
    links = run_json([QKDCTL, "-s", sock, "show", "links"])["links"]
    eq(links[0]["state"], "admin-down", "link shown admin-down")
    rc, out, err = run([QKDCTL, "-s", sock, "link", "up", "ab"])
    eq((rc, err), (0, ""), "link up after link down")
    wait_until(lambda: run_json([QKDCTL, "-s", sock, "show", "links"])["links"][0]["state"] == "up", 10)
    links = run_json([QKDCTL, "-s", sock, "show", "links"])["links"]
    eq(links[0]["state"], "up", "the link runs again in the dataplane")
    rc, out, err = run([QKDCTL, "-s", sock, "key", "flush"])
    eq((rc, err), (1, "qkdctl: key: this node has no key store attached\n"), "key flush without a store")
    stats = run_json([QKDCTL, "-s", sock, "show", "stats"])
    eq(stats["counters"]["worker_cmds"], 2, "both commands reached the dataplane")
    eq(stats["counters"]["worker_cmd_failures"], 0, "no command failed")

    p.send_signal(signal.SIGTERM)
    try:
        code = p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        code = None
    eq(code, 0, "SIGTERM: clean exit")
    check(not os.path.exists(sock), "control socket removed at exit")
finally:
    env.close()
finish()
