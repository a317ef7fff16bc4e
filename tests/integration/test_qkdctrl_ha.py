"""Two central controllers (primary, standby) and four qkdcpd nodes on a ring A-B-C-D-A: every node
reports to both and routes on the primary's views; when the primary stops, the nodes route on the
standby's views at once (no route or session change), a link failure is then handled by the
standby, and the restarted primary takes over again."""
import re
import signal
import sys

from ctrl_common import Env, check, eq, finish, node_config, run, run_json, wait_until

QKDCTRL, QKDCPD, QKDCTL, QKDMGR = sys.argv[1:5]
NODES = "ABCD"
env = Env("qkdctrl-ha")


def ring_peers(n):
    i = NODES.index(n)
    return sorted([NODES[(i + 1) % 4], NODES[(i + 3) % 4]])


try:
    eq(run([QKDMGR, "make-test-pki", env.dir, "qkdctrl"] + list(NODES))[0], 0, "make-test-pki")
    ctrl, port, sock = {}, {}, {}
    for name in ("P", "S"):
        sock[name] = env.path(name + ".sock")
        args = [QKDCTRL, "serve", "--listen", "127.0.0.1:0", "--ca", env.path("ca.pem"),
                "--cert", env.path("qkdctrl.pem"), "--key", env.path("qkdctrl.key"),
                "--socket", sock[name]]
        ctrl[name], line = env.spawn(args, "listening")
        port[name] = int(re.search(r"port (\d+)", line).group(1))
        args[3] = "127.0.0.1:%d" % port[name]
        ctrl[name + "args"] = args
    addr = {name: "127.0.0.1:%d" % port[name] for name in ("P", "S")}
    for n in NODES:
        cfg = node_config(env, n, [(m, None) for m in ring_peers(n)],
                          "[routing]\nmode = central\ncontroller = %s, %s\n" % (addr["P"], addr["S"]))
        tls = "tls_ca = %s\ntls_cert = %s\ntls_key = %s\n" % (
            env.path("ca.pem"), env.path(n + ".pem"), env.path(n + ".key"))
        text = open(cfg).read().replace("[node]\n", "[node]\n" + tls, 1)
        open(cfg, "w").write(text)
        env.spawn([QKDCPD, "-c", cfg, "--skr", "0"], "lsa port")

    routes = lambda n: [(r["destination"], r["next_hop"], r["cost"], r["hops"]) for r in
                        run_json([QKDCTL, "-s", env.path(n + ".sock"), "show", "routes"])["routes"]]
    stats = lambda n: run_json([QKDCTL, "-s", env.path(n + ".sock"), "show", "stats"])
    sess = lambda: run_json([QKDCTL, "-s", env.path("A.sock"), "show", "sessions"])["relay_sessions"][0]
    connected = lambda c: sum(x["connected"] == "yes" for x in
                              run_json([QKDCTRL, "-s", sock[c], "show", "nodes"])["nodes"])

    check(wait_until(lambda: all(len(routes(n)) == 3 for n in NODES), 20), "every node routes to all")
    check(connected("P") == 4 and connected("S") == 4, "every node reports to both controllers")
    check(wait_until(lambda: all(stats(n)["controller"]["active"] == addr["P"] for n in NODES)),
          "every node routes on the primary's views")
    eq([x["address"] for x in stats("A")["controller"]["controllers"]], [addr["P"], addr["S"]],
       "controllers in priority order")
    eq(run([QKDCTL, "-s", env.path("A.sock"), "relay", "add", "C"])[0], 0, "relay A -> C")
    eq((sess()["path"], sess()["epoch"]), ("A>B>C", 1), "session on A>B>C (tie to B)")
    before = {n: routes(n) for n in NODES}

    ctrl["P"].send_signal(signal.SIGTERM)
    ctrl["P"].wait(timeout=10)
    check(wait_until(lambda: all(stats(n)["controller"]["active"] == addr["S"] for n in NODES)),
          "primary gone: every node follows the standby")
    al = [a for a in stats("A")["alarms"] if a["alarm"] == "controller_unreachable"]
    check(len(al) == 1 and al[0]["object"] == addr["P"] and al[0]["detail"].endswith(
        "routes from " + addr["S"]), "one alarm, for the primary: %s" % al)
    eq({n: routes(n) for n in NODES}, before, "routes unchanged by the failover")
    eq((sess()["path"], sess()["epoch"]), ("A>B>C", 1), "session untouched by the failover")

    eq(run([QKDCTL, "-s", env.path("B.sock"), "link", "down", "kbc"])[0], 0, "link down B-C")
    check(wait_until(lambda: sess()["epoch"] == 2), "the standby moved the session")
    eq((sess()["path"], sess()["state"]), ("A>D>C", "active"), "session on A>D>C")

    ctrl["P"], _ = env.spawn(ctrl["Pargs"], "listening")
    check(wait_until(lambda: all(stats(n)["controller"]["active"] == addr["P"] for n in NODES), 30),
          "restarted primary takes over again")
    check(wait_until(lambda: not any(a["alarm"] == "controller_unreachable"
                                     for a in stats("A")["alarms"])), "alarm cleared")
    eq((sess()["path"], sess()["epoch"]), ("A>D>C", 2), "session stays on its usable path")
    eq(routes("A"), [("B", "B", 3.0, 1), ("C", "D", 6.0, 2), ("D", "D", 3.0, 1)],
       "A's routes from the primary: C through D")
finally:
    env.close()
finish()
