"""qkdctl against running control threads (qkdcpd, three nodes in a triangle): every command's
human output and exit code, --json, interactive mode, bad commands and arguments, rerouting seen
through the CLI, config reload by command and by SIGHUP, and the Prometheus endpoint."""
import json
import os
import re
import signal
import sys
import urllib.request

from ctrl_common import Env, check, eq, finish, node_config, run, run_json, wait_until

QKDCTL, QKDCPD = sys.argv[1], sys.argv[2]
env = Env("qkdctl")
try:
    ports = {}
    metrics = {}
    peers = {"A": [], "B": ["A"], "C": ["A", "B"]}
    for n in "ABC":
        links = []
        for m in "ABC":
            if m == n:
                continue
            dial = m in peers[n]
            links.append((m, "127.0.0.1:%d" % ports[m] if dial else None))
        cfg = node_config(env, n, links)
        p, line = env.spawn([QKDCPD, "-c", cfg], "lsa port")
        ports[n] = int(re.search(r"lsa port (\d+)", line).group(1))
        metrics[n] = int(re.search(r"metrics port (\d+)", line).group(1))
    sock = {n: env.path(n + ".sock") for n in "ABC"}
    ctl = lambda n, *a: run([QKDCTL, "-s", sock[n]] + " ".join(a).split())

    # show links: the exact human table
    rc, out, err = ctl("A", "show links")
    eq(rc, 0, "show links exit code")
    lines = out.splitlines()
    eq(lines[0].split(), ["LINK", "ID", "PEER", "PORT", "LCORE", "KM", "LINK", "STATE", "SKR", "BPS",
                          "QBER"], "show links header")
    eq(lines[1].split(), ["qab", "1", "B", "-", "1", "kab", "up", "100000", "0.02"], "show links row qab")
    eq(lines[2].split(), ["qac", "2", "C", "-", "1", "kac", "up", "100000", "0.02"], "show links row qac")
    eq(err, "", "show links: nothing on stderr")

    # the link-state protocol converges: every node routes to the two others, directly
    ok = wait_until(lambda: all(len(run_json([QKDCTL, "-s", sock[n], "show", "routes"])["routes"]) == 2
                                for n in "ABC"))
    check(ok, "all three nodes have routes to the two others")
    rc, out, err = ctl("A", "show routes")
    rows = [l.split() for l in out.splitlines()]
    eq(rows[1][:3], ["DESTINATION", "NEXT", "HOP"], "show routes header")
    eq([r[0] for r in rows[2:]], ["B", "C"], "route destinations")
    eq([r[1] for r in rows[2:]], ["B", "C"], "next hops are direct")
    eq([r[2] for r in rows[2:]], ["kab", "kac"], "km links of the routes")

    rc, out, err = ctl("A", "route", "show", "A", "C", "k=3")
    eq(rc, 0, "route show exit code")
    paths = [l.split()[-1] for l in out.splitlines()[1:]]
    eq(paths, ["A>C", "A>B>C"], "route show A C k=3 lists both loop-free paths in cost order")

    rc, out, err = ctl("A", "show keys")
    eq(out.splitlines()[0].split()[:4], ["KM", "LINK", "PEER", "BUFFER"], "show keys header")
    check(re.match(r"kab\s+B\s+\d+\s+1000000\s", out.splitlines()[1]) is not None,
          "show keys row: buffer and capacity")

    # relay session, then a failure moves it; the CLI shows the new path and epoch
    rc, out, err = ctl("A", "relay", "add", "C", "target=65536")
    eq((rc, out), (0, "id: 1\nstate: active\n"), "relay add output")
    s = run_json([QKDCTL, "-s", sock["A"], "show", "sessions"])["relay_sessions"][0]
    eq((s["path"], s["alternates"]), ("A>C", 1), "relay session on A>C with A>B>C as its alternate")
    rc, out, err = ctl("A", "link", "down", "kac")
    eq((rc, out), (0, "link: qac\nstate: admin-down\nprevious: up\nlcore: 1\n"), "link down output")
    s = run_json([QKDCTL, "-s", sock["A"], "show", "sessions"])["relay_sessions"][0]
    eq((s["state"], s["path"], s["epoch"], s["reroutes"]), ("active", "A>B>C", 2, 1),
       "relay session moved to A>B>C at once (epoch 2)")
    eq(s["alternates"], 0, "no alternate left once A-C is down")
    rc, out, err = ctl("A", "show", "sessions")
    check("A>B>C" in out and out.startswith("relay_sessions:\n"), "show sessions human output")

    # application sessions: admitted, and refused with a reason
    rc, out, err = ctl("A", "session", "add", "appA", "appB", "rate=5000", "key_bits=256", "ttl=60")
    eq((rc, err), (0, ""), "session add admitted")
    check(re.fullmatch(r"id: \d+\nstate: admitted\n", out) is not None, "session add output")
    rc, out, err = ctl("A", "session", "add", "appA", "appB", "rate=99999999")
    eq(rc, 1, "over-subscribed session: exit 1")
    eq(err, "qkdctl: session: session refused: insufficient key rate on A-B: 75000 bit/s free, "
       "99999999 bit/s requested\n", "over-subscribed session: reason")
    rc, out, err = ctl("A", "session", "add", "appA", "appX")
    eq((rc, err), (2, "qkdctl: session: session refused: unknown SAE 'appX'\n"), "unknown SAE")

    # bad commands and arguments: one line on stderr, nothing on stdout, exit 2 (or 1)
    bad = [
        (["frob"], 2, "qkdctl: frob: unknown command 'frob' (try 'help')\n"),
        (["show"], 2, "qkdctl: show: usage: show links|keys|routes|sessions|stats|lsdb\n"),
        (["link", "down"], 2, "qkdctl: link: usage: link up|down <link>\n"),
        (["link", "down", "nope"], 1, "qkdctl: link: no QKD or KM link named 'nope'\n"),
        (["route", "show", "A", "Z"], 1, "qkdctl: route: unknown node 'Z'\n"),
        (["route", "show", "A", "C", "k=99"], 2,
         "qkdctl: route: k must be an integer in [0, 16], got '99'\n"),
        (["key", "flush", "nope"], 1, "qkdctl: key: no KM link named 'nope'\n"),
        (["session", "del", "x"], 2, "qkdctl: session: usage: session del <id>\n"),
    ]
    for argv, want_rc, want_err in bad:
        rc, out, err = ctl("A", *argv)
        eq((rc, out, err), (want_rc, "", want_err), "bad command: " + " ".join(argv))
    rc, out, err = run([QKDCTL, "--timeout", "x", "-s", sock["A"], "show", "links"])
    eq((rc, err), (2, "qkdctl: --timeout: 'x' is not a positive number\n"), "bad option value")
    rc, out, err = run([QKDCTL, "--bogus"])
    eq(rc, 2, "unknown option: exit 2")
    rc, out, err = run([QKDCTL, "-s", env.path("none.sock"), "show", "links"])
    check(rc == 1 and "cannot connect to" in err and out == "", "no daemon: exit 1, one line")

    # --json and interactive mode
    j = run_json([QKDCTL, "-s", sock["B"], "show", "links"])
    eq([l["link"] for l in j["links"]], ["qab", "qbc"], "--json show links")
    rc, out, err = run([QKDCTL, "-s", sock["A"]], stdin="version\nshow lsdb\nfrob\nquit\n")
    eq(rc, 0, "interactive mode exit code")
    check("version: qkdnode" in out and "ORIGIN" in out and "unknown command 'frob'" in err,
          "interactive mode runs each line and keeps going after an error")

    # key flush
    rc, out, err = ctl("A", "key", "flush", "kab")
    check(rc == 0 and re.fullmatch(r"flushed: kab\nbits: \d+\n", out) is not None, "key flush output")

    # reload by command (adds an SAE) and by SIGHUP; the admin state survives
    cfg = env.path("A.ini")
    with open(cfg, "a") as f:
        f.write("[sae extra]\nnode = A\n")
    rc, out, err = ctl("A", "config", "reload")
    eq((rc, out), (0, "reloaded: %s\nqkd_links: 2\nkm_links: 2\nsaes: 4\n" % cfg), "config reload")
    with open(cfg, "a") as f:
        f.write("bogus line\n")
    rc, out, err = ctl("A", "config", "reload")
    n_lines = open(cfg).read().count("\n")
    eq((rc, err), (2, "qkdctl: config: %s:%d: syntax error (expected [section] or key = value)\n"
                   % (cfg, n_lines)), "bad reload names the line")
    with open(cfg) as f:
        text = f.read().replace("bogus line\n", "")
    with open(cfg, "w") as f:
        f.write(text)
    pid = env.procs[0].pid
    os.kill(pid, signal.SIGHUP)
    ok = wait_until(lambda: run_json([QKDCTL, "-s", sock["A"], "show", "stats"])["counters"]["reloads"] == 2)
    check(ok, "SIGHUP reloads the configuration")
    links = run_json([QKDCTL, "-s", sock["A"], "show", "links"])["links"]
    eq(links[1]["state"], "admin-down", "admin state kept across reloads")

    # Prometheus endpoint
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics["A"], timeout=5).read().decode()
    check('qkd_link_up{node="A",link="kac",peer="C"} 0' in body, "/metrics: link down")
    check('qkd_link_up{node="A",link="kab",peer="B"} 1' in body, "/metrics: link up")
    rel = dict(re.findall(r'qkd_relay_sessions\{state="(\w+)"\} (\d+)', body))
    eq(int(rel["active"]) + int(rel["unroutable"]), 2, "/metrics: relay sessions by state")
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/other" % metrics["A"], timeout=5)
        check(False, "/other is 404")
    except urllib.error.HTTPError as e:
        eq(e.code, 404, "/other is 404")
finally:
    env.close()
finish()
