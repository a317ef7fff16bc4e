"""Central QKDN controller (qkdctrl, Y.3802 configuration 2) with six qkdcpd nodes on a 2x3 grid:
the routes installed on the nodes equal those the distributed configuration computes on the same
topology (and the hop counts of a breadth-first reference); a link failure moves a relay session,
a second one leaves it unroutable, a repair brings it back; a client whose certificate CN is not
the node it claims is refused; malformed messages are answered with a failure and the controller
keeps serving; the nodes keep their routes (alarm) while the controller is down and reconnect when
it is back."""
import json
import re
import signal
import socket
import ssl
import sys
import time
import urllib.request
from collections import deque

from ctrl_common import Env, check, eq, finish, node_config, run, run_json, wait_until

QKDCTRL, QKDCPD, QKDCTL, QKDMGR = sys.argv[1:5]
NODES = "ABCDEF"  # A B C
EDGES = ["AB", "BC", "DE", "EF", "AD", "BE", "CF"]  # D E F
env = Env("qkdctrl")


def peers(n):
    return sorted([e[1] for e in EDGES if e[0] == n] + [e[0] for e in EDGES if e[1] == n])


def routes(n):
    r = run_json([QKDCTL, "-s", env.path(n + ".sock"), "show", "routes"])["routes"]
    return [(x["destination"], x["next_hop"], x["km_link"], x["cost"], x["hops"]) for x in r]


def stop(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=10)


def start_nodes(extra_of, dial):
    procs, ports = [], {}
    for n in NODES:
        links = [(m, "127.0.0.1:%d" % ports[m] if dial and m in ports else None) for m in peers(n)]
        cfg = node_config(env, n, links, extra_of(n))
        p, line = env.spawn([QKDCPD, "-c", cfg, "--skr", "0"], "lsa port")
        ports[n] = int(re.search(r"lsa port (\d+)", line).group(1))
        procs.append(p)
    return procs


def tls_client(name, port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(env.path("ca.pem"))
    ctx.load_cert_chain(env.path(name + ".pem"), env.path(name + ".key"))
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
    return s, s.makefile("rwb")


def exchange(f, line):
    f.write(line + b"\n")
    f.flush()
    return json.loads(f.readline())


try:
    rc, out, err = run([QKDMGR, "make-test-pki", env.dir, "qkdctrl", "mgr", "Mallory", "Y", "Z"] + list(NODES))
    eq(rc, 0, "make-test-pki")

    # reference: the distributed configuration on the same grid
    procs = start_nodes(lambda n: "", dial=True)
    check(wait_until(lambda: all(len(routes(n)) == 5 for n in NODES), 20),
          "distributed: every node routes to the five others")
    want = {n: routes(n) for n in NODES}
    stop(procs)

    # breadth-first hop counts: with equal buffers every link costs the same
    for n in NODES:
        hops, q = {n: 0}, deque([n])
        while q:
            u = q.popleft()
            for v in peers(u):
                if v not in hops:
                    hops[v] = hops[u] + 1
                    q.append(v)
        eq({r[0]: r[4] for r in want[n]}, {m: h for m, h in hops.items() if m != n},
           "distributed routes of %s are shortest (BFS hop counts)" % n)

    msock = env.path("mgr.sock")  # the controller and A report to a QKDN manager
    _, line = env.spawn([QKDMGR, "serve", "--listen", "127.0.0.1:0", "--ca", env.path("ca.pem"),
                         "--cert", env.path("mgr.pem"), "--key", env.path("mgr.key"),
                         "--socket", msock], "listening")
    mgr_addr = "127.0.0.1:" + re.search(r"port (\d+)", line).group(1)
    manager = ("[manager]\naddress = %s\nca = %s\ncert = %s\nkey = %s\n"
               % (mgr_addr, env.path("ca.pem"), env.path("A.pem"), env.path("A.key")))
    csock = env.path("ctrl.sock")
    cargs = [QKDCTRL, "serve", "--listen", "127.0.0.1:0", "--ca", env.path("ca.pem"),
             "--cert", env.path("qkdctrl.pem"), "--key", env.path("qkdctrl.key"), "--socket", csock,
             "--manager", mgr_addr, "--report-ms", "200"]
    ctrl, line = env.spawn(cargs, "listening")
    cport = int(re.search(r"port (\d+)", line).group(1))
    cargs[3] = "127.0.0.1:%d" % cport  # a restart listens on the same port
    procs, metrics = [], {}
    for n in NODES:
        cfg = node_config(env, n, [(m, None) for m in peers(n)],
                          "[routing]\nmode = central\ncontroller = 127.0.0.1:%d\n" % cport +
                          (manager if n == "A" else ""))
        tls = "tls_ca = %s\ntls_cert = %s\ntls_key = %s\nnumber = %d\n" % (
            env.path("ca.pem"), env.path(n + ".pem"), env.path(n + ".key"), 1 + NODES.index(n))
        text = open(cfg).read().replace("[node]\n", "[node]\n" + tls, 1)
        open(cfg, "w").write(text)
        p, line = env.spawn([QKDCPD, "-c", cfg, "--skr", "0"], "lsa port")
        metrics[n] = int(re.search(r"metrics port (\d+)", line).group(1))
        procs.append(p)
    ctl = lambda n, *a: run([QKDCTL, "-s", env.path(n + ".sock")] + list(a))
    cctl = lambda *a: run([QKDCTRL, "-s", csock] + list(a))

    check(wait_until(lambda: all(len(routes(n)) == 5 for n in NODES), 20),
          "central: every node routes to the five others")
    for n in NODES:
        eq(routes(n), want[n], "central routes installed on %s equal the distributed ones" % n)
    lsdb = run_json([QKDCTL, "-s", env.path("F.sock"), "show", "lsdb"])["lsdb"]
    eq({e["origin"]: e["number"] for e in lsdb}, {n: 1 + NODES.index(n) for n in NODES},
       "F learned every node's relay number from the controller")
    nodes = run_json([QKDCTRL, "-s", csock, "show", "nodes"])["nodes"]
    eq(sorted((x["node"], x["connected"], x["links_up"]) for x in nodes),
       [(n, "yes", "%d/%d" % (len(peers(n)), len(peers(n)))) for n in NODES], "qkdctrl show nodes")
    cr = run_json([QKDCTRL, "-s", csock, "show", "routes", "A"])["routes"]
    eq([(x["destination"], x["next_hop"], x["cost"], x["hops"]) for x in cr],
       [(r[0], r[1], r[3], r[4]) for r in want["A"]], "qkdctrl show routes A = A's table")
    links = run_json([QKDCTRL, "-s", csock, "show", "links"])["links"]
    eq(sorted(x["a"] + x["b"] for x in links), sorted(EDGES), "qkdctrl show links: each link once")
    check(all(x["state"] == "up" for x in links), "all links up")
    rc, out, err = cctl("route", "show", "A", "F", "k=3")
    rows = [l.split() for l in out.splitlines()[1:]]
    eq((rc, sorted(r[-1] for r in rows), {r[1] for r in rows}),
       (0, ["A>B>C>F", "A>B>E>F", "A>D>E>F"], {"9"}),
       "qkdctrl route show A F k=3: the three 3-hop paths (cost 9 = 3 x 3)")
    s = run_json([QKDCTL, "-s", env.path("A.sock"), "show", "stats"])
    check(s["controller"]["connected"] and not any(a["alarm"] == "controller_unreachable"
                                                   for a in s["alarms"]), "A: controller connected")
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics["A"], timeout=5).read().decode()
    check("qkd_controller_connected 1\n" in body, "/metrics: qkd_controller_connected 1")

    # bad CLI input: one line, exit 2 / 1
    for argv, want_rc, want_err in [
            (["frob"], 2, "qkdctrl: frob: unknown command 'frob' (try 'help')\n"),
            (["show", "routes", "Q"], 1, "qkdctrl: show: unknown node 'Q'\n"),
            (["route", "show", "A", "F", "k=0"], 2,
             "qkdctrl: route: k must be an integer in [1, 16], got 'k=0'\n")]:
        eq(cctl(*argv), (want_rc, "", want_err), "qkdctrl " + " ".join(argv))

    # a relay session A -> C, then B-C fails: it moves; C-F fails too: unroutable; repaired: back
    rc, out, err = ctl("A", "relay", "add", "C")
    eq((rc, out), (0, "id: 1\nstate: active\n"), "relay add C at A")
    sess = lambda: run_json([QKDCTL, "-s", env.path("A.sock"), "show", "sessions"])["relay_sessions"][0]
    eq((sess()["path"], sess()["epoch"]), ("A>B>C", 1), "session on A>B>C")
    eq(ctl("B", "link", "down", "kbc")[0], 0, "link down B-C at B")
    check(wait_until(lambda: sess()["epoch"] == 2), "the session moved when the controller pushed")
    # the controller's own Mc status at the QKDN manager
    comps = lambda: {c["component"]: c for c in
                     run_json([QKDMGR, "-s", msock, "show", "components"])["components"]}
    check(wait_until(lambda: "qkdctrl" in comps()), "qkdctrl reports to the QKDN manager")
    eq((comps()["qkdctrl"]["interface"], comps()["qkdctrl"]["peer"]), ("Mc", "qkdctrl"),
       "as a QKDN controller (Mc), authenticated by its certificate")
    check(wait_until(lambda: comps()["qkdctrl"]["status"] == "6/6 nodes connected, 1 alarms"),
          "qkdmgr's one-line status of the controller: %s" % comps()["qkdctrl"]["status"])
    st = run_json([QKDMGR, "-s", msock, "request", "qkdctrl"])["status"]
    eq((st["controller"][0]["nodes"], st["controller"][0]["connected"], len(st["node"])), (6, 6, 6),
       "Mc status: six nodes, all connected")
    eq([(a["alarm"], a["object"]) for a in st["alarm"]], [("link_down", "B-C")],
       "Mc status: the one alarm is B-C down")
    s1 = sess()
    check(s1["state"] == "active" and s1["path"] in ("A>B>E>F>C", "A>D>E>F>C") and
          s1["reroutes"] == 1, "new path avoids B-C: %s" % s1["path"])
    eq(ctl("C", "link", "down", "kcf")[0], 0, "link down C-F at C")
    check(wait_until(lambda: sess()["state"] == "unroutable"), "no alternate: session unroutable")
    st = run_json([QKDCTL, "-s", env.path("A.sock"), "show", "stats"])
    check(any(a["alarm"] == "relay_unroutable" for a in st["alarms"]), "relay_unroutable alarm at A")
    check(not any(r[0] == "C" for r in routes("A")), "A has no route to C")
    eq(ctl("C", "link", "up", "kcf")[0], 0, "link up C-F at C")
    check(wait_until(lambda: sess()["state"] == "active"), "route back: session active again")
    eq(sess()["path"][-3:], "F>C", "through C-F")

    # a restarted node starts its sequence numbers again: its new reports still count (F's
    # sequence is first taken past what the restarted F will reach)
    for i in range(2):
        eq(ctl("F", "link", "down", "kcf")[0], 0, "link down C-F at F")
        check(wait_until(lambda: "C" not in [r[0] for r in routes("A")]), "A lost C")
        eq(ctl("F", "link", "up", "kcf")[0], 0, "link up C-F at F")
        check(wait_until(lambda: "C" in [r[0] for r in routes("A")]), "A routes to C again")
    procs[5].send_signal(signal.SIGTERM)  # F
    procs[5].wait(timeout=10)
    procs[5], _ = env.spawn([QKDCPD, "-c", env.path("F.ini"), "--skr", "0"], "lsa port")
    check(wait_until(lambda: len(routes("F")) == 5), "restarted F routes again")
    eq(ctl("F", "link", "down", "kef")[0], 0, "link down E-F at the restarted F")
    check(wait_until(lambda: [r[0] for r in routes("A")] == ["B", "D", "E"]),
          "A lost F and C (only reachable through E-F now) after the restarted F's report")
    eq(ctl("F", "link", "up", "kef")[0], 0, "link up E-F")
    check(wait_until(lambda: len(routes("A")) == 5), "A routes to all five again")
    check(wait_until(lambda: sess()["state"] == "active"), "A's session to C active again")

    # a certificate that does not name the node it reports for is refused
    rep = lambda node, seq=1: json.dumps({"type": "report", "node": node, "seq": seq, "links": [],
                                          "hold": []}).encode()
    sk, f = tls_client("Mallory", cport)
    r = exchange(f, rep("A"))
    eq(r, {"type": "failure", "reason": "refused: certificate CN 'Mallory' does not match node 'A'"},
       "CN mismatch refused")
    eq(f.readline(), b"", "and the connection closed")
    sk.close()
    check(run_json([QKDCTRL, "-s", csock, "show", "stats"])["refused"] >= 1, "refusal counted")
    eq(routes("A")[0][:2], ("B", "B"), "A's routes untouched by the impostor")

    # ... and so is a node whose configuration claims an id its certificate does not carry
    cfg = node_config(env, "G", [], "[routing]\nmode = central\ncontroller = 127.0.0.1:%d\n" % cport)
    text = open(cfg).read().replace("[node]\n", "[node]\ntls_ca = %s\ntls_cert = %s\ntls_key = %s\n"
                                    % (env.path("ca.pem"), env.path("Mallory.pem"),
                                       env.path("Mallory.key")), 1)
    open(cfg, "w").write(text)
    g, _ = env.spawn([QKDCPD, "-c", cfg], "lsa port")
    gstat = lambda: run_json([QKDCTL, "-s", env.path("G.sock"), "show", "stats"])["controller"]
    check(wait_until(lambda: "does not match" in gstat()["last_failure"]),
          "node G with Mallory's certificate is told why: %s" % gstat()["last_failure"])
    check(not any(x["node"] == "G" for x in run_json([QKDCTRL, "-s", csock, "show", "nodes"])["nodes"]),
          "G is not in the controller's database")
    stop([g])

    # malformed and unexpected messages: a failure each, the connection keeps working
    sk, f = tls_client("Z", cport)
    for line, want_reason in [
            (b"garbage", "malformed JSON"),
            (b'{"type":"routes","node":"Z","generation":1,"edges":[]}',
             "a controller accepts report messages only, not routes"),
            (b'{"type":"report","node":"Z","seq":-5,"links":[],"hold":[]}',
             "report: \"seq\" must be a non-negative integer"),
            (b'{"type":"report","node":"Z","seq":1,"links":[{"peer":"A"}],"hold":[]}',
             "report: link to A needs")]:
        r = exchange(f, line)
        check(r["type"] == "failure" and r["reason"].startswith(want_reason),
              "malformed %s... answered: %s" % (line[:24].decode(), r.get("reason")))
    f.write(rep("Z") + b"\n")  # valid: no answer (Z has no links, so no routes to push)
    f.flush()
    check(wait_until(lambda: any(x["node"] == "Z" for x in
                                 run_json([QKDCTRL, "-s", csock, "show", "nodes"])["nodes"])),
          "the same connection then reports normally")
    sk.close()
    check(ctrl.poll() is None, "controller still running")

    # controller down: routes kept, alarm; back on the same port: every node reconnects
    before, sess_before = routes("A"), sess()
    ctrl.send_signal(signal.SIGTERM)
    ctrl.wait(timeout=10)
    alarm = lambda: any(a["alarm"] == "controller_unreachable" for a in
                        run_json([QKDCTL, "-s", env.path("A.sock"), "show", "stats"])["alarms"])
    check(wait_until(alarm), "controller_unreachable alarm while it is down")
    mc_alarm = lambda: any(a["alarm"] == "controller_unreachable" for a in run_json(
        [QKDMGR, "-s", msock, "request", "A-ctl"])["status"].get("alarm", []))
    check(wait_until(mc_alarm), "and in A's Mc status for the QKDN manager")
    eq(routes("A"), before, "routes kept while the controller is down")
    # no coalescing: the first node's report would be computed alone
    ctrl, _ = env.spawn(cargs + ["--batch-ms", "0"], "listening")
    check(wait_until(lambda: sum(x["connected"] == "yes" for x in
                                 run_json([QKDCTRL, "-s", csock, "show", "nodes"])["nodes"]) == 6, 30),
          "all six nodes reconnected to the restarted controller")
    check(wait_until(lambda: not alarm()), "alarm cleared")
    check(wait_until(lambda: routes("A") == before), "same routes from the new controller")
    eq((sess()["epoch"], sess()["path"], sess()["state"]),
       (sess_before["epoch"], sess_before["path"], "active"),
       "the relay session did not move or drop while the new controller learned the network")
    st = run_json([QKDCTL, "-s", env.path("A.sock"), "show", "stats"])["controller"]
    check(st["connects"] >= 2 and st["connected"], "A reconnected (%d connects)" % st["connects"])

    # a starting controller pushes nothing while a node the reports name has not reported yet
    c2sock = env.path("ctrl2.sock")
    _, line = env.spawn(cargs[:3] + ["127.0.0.1:0"] + cargs[4:11] + [c2sock, "--warmup-ms", "60000"],
                        "listening")
    c2port = int(re.search(r"port (\d+)", line).group(1))
    link = lambda peer: {"peer": peer, "up": True, "avail_bits": 500, "capacity_bits": 1000,
                         "delta_bits": 0, "low_water_bits": 0, "rate_bps": 0}
    zk, zf = tls_client("Z", c2port)
    zf.write(json.dumps({"type": "report", "node": "Z", "seq": 1, "links": [link("Y")],
                         "hold": []}).encode() + b"\n")
    zf.flush()
    check(wait_until(lambda: run_json([QKDCTRL, "-s", c2sock, "show", "stats"])["reports"] == 1),
          "second controller got Z's report")
    zk.settimeout(0.3)  # (select would wake on TLS session tickets: read instead)
    try:
        early = zk.recv(1)
    except socket.timeout:
        early = b""
    zk.settimeout(10)
    eq(early, b"", "no view for Z while Y, which Z names, has not reported")
    eq(run_json([QKDCTRL, "-s", c2sock, "show", "stats"])["warm"], False, "controller warming up")
    eq([(x["a"], x["b"], x["state"], x["avail_bits"]) for x in
        run_json([QKDCTRL, "-s", c2sock, "show", "links"])["links"]], [("Y", "Z", "one-way", 500)],
       "a link only Z has reported is shown one-way, with Z's figures")
    yk, yf = tls_client("Y", c2port)
    yf.write(json.dumps({"type": "report", "node": "Y", "seq": 1, "links": [link("Z")],
                         "hold": []}).encode() + b"\n")
    yf.flush()
    want_z = {"type": "routes", "node": "Z", "generation": 1, "edges": [["Z", "Y", 3.0]],
              "numbers": []}
    eq(json.loads(zf.readline()), want_z, "Z's view once every named node reported (cost 1 + 4 x 0.5)")
    eq(json.loads(yf.readline())["edges"], [["Y", "Z", 3.0]], "and Y's")
    zk.close()
    yk.close()
finally:
    env.close()
finish()
