"""qkdmgr + two nodes over mutual TLS (Q.QKDN_Mk): the manager sees periodic status reports from
every component (Mk: KM, Mc: controller, Mq: QKD modules), answers a status request through a
node, keeps history, shows alarms, and answers malformed or unexpected messages with a failure
response; a client without a CA-signed certificate is refused."""
import json
import re
import socket
import ssl
import sys
import time

from ctrl_common import Env, check, eq, finish, node_config, run, run_json, wait_until

QKDMGR, QKDCPD, QKDCTL = sys.argv[1], sys.argv[2], sys.argv[3]
env = Env("qkdmgr")
try:
    rc, out, err = run([QKDMGR, "make-test-pki", env.dir, "mgr", "A", "B"])
    eq(rc, 0, "make-test-pki")
    msock = env.path("mgr.sock")
    p, line = env.spawn([QKDMGR, "serve", "--listen", "127.0.0.1:0", "--ca", env.path("ca.pem"),
                         "--cert", env.path("mgr.pem"), "--key", env.path("mgr.key"),
                         "--socket", msock], "listening")
    mport = int(re.search(r"port (\d+)", line).group(1))
    mgr = lambda *a: run([QKDMGR, "-s", msock] + " ".join(a).split())

    lsa = {}
    for n, links in (("A", [("B", None)]), ("B", [("A", "A")])):
        links = [(peer, "127.0.0.1:%d" % lsa[addr] if addr else None) for peer, addr in links]
        extra = ("[manager]\naddress = 127.0.0.1:%d\nca = %s\ncert = %s\nkey = %s\n"
                 "report_period_ms = 200\n" % (mport, env.path("ca.pem"), env.path(n + ".pem"),
                                                env.path(n + ".key")))
        cfg = node_config(env, n, links, extra)
        _, l = env.spawn([QKDCPD, "-c", cfg], "lsa port")
        lsa[n] = int(re.search(r"lsa port (\d+)", l).group(1))

    want = {"A-km", "A-ctl", "A-qkd-qab", "B-km", "B-ctl", "B-qkd-qab"}
    comps = lambda: {c["component"]: c for c in run_json([QKDMGR, "-s", msock, "show", "components"])["components"]}
    check(wait_until(lambda: set(comps()) == want), "manager sees every component of both nodes")
    c = comps()
    eq((c["A-km"]["interface"], c["A-ctl"]["interface"], c["B-qkd-qab"]["interface"]),
       ("Mk", "Mc", "Mq"), "component ids per interface (table 1)")
    eq(c["A-km"]["peer"], "A", "reports authenticated by node certificate (CN)")
    n0 = c["A-km"]["reports"]
    time.sleep(1.0)
    n1 = comps()["A-km"]["reports"]
    check(n1 - n0 >= 3, "periodic reports arrive (%d in 1 s at 200 ms)" % (n1 - n0))

    rc, out, err = mgr("show components")
    eq(rc, 0, "show components exit code")
    check(re.search(r"A-km\s+Mk\s+A\s+yes\s+\d+\s+[\d.]+\s+km links 1/1 up, 0 alarms", out) is not None,
          "show components human row for A-km")

    # on-demand status request through the node
    r = run_json([QKDMGR, "-s", msock, "request", "B-km"])
    eq((r["component_id"], r["interface"], r["response"]), ("B-km", "Mk", "success"),
       "request B-km answered with success")
    kl = r["status"]["km_link"][0]
    eq((kl["name"], kl["peer"], kl["state"], kl["capacity_bits"]), ("kab", "A", "up", 1000000),
       "response extension carries the KM link status")
    for key in ("buffer_bits", "fill_pct", "fill_rate_bps", "keys_supplied", "ttl_expired",
                "auth_failures", "relay_latency_us", "resyncs", "resync_failures"):
        check(key in kl, "extension has " + key)
    r = run_json([QKDMGR, "-s", msock, "request", "A-qkd-qab"])
    q = r["status"]["qkd_module"][0]
    eq((q["qkd_link"], q["skr_bps"], q["qber"]), ("qab", 100000.0, 0.02), "Mq extension: SKR and QBER")
    r = run_json([QKDMGR, "-s", msock, "request", "A-ctl"])
    eq([x["destination"] for x in r["status"]["route"]], ["B"], "Mc extension: routes")
    rc, out, err = mgr("request nobody")
    eq((rc, err), (1, "qkdmgr: request: unknown component 'nobody'\n"), "request unknown component")
    rc, out, err = mgr("frob")
    eq(rc, 2, "bad manager command: exit 2")

    # alarms travel in the reports
    rc, out, err = run([QKDCTL, "-s", env.path("A.sock"), "link", "down", "kab"])
    eq(rc, 0, "link down at A")
    alarms = lambda: run_json([QKDMGR, "-s", msock, "show", "alarms"])["alarms"]
    check(wait_until(lambda: any(a["component"] == "A-km" and a["alarm"] == "link_down" for a in alarms())),
          "link_down alarm of A-km reaches the manager")
    h = run_json([QKDMGR, "-s", msock, "history", "A-km"])["history"]
    check(len(h) >= 5 and h[0]["age_s"] >= h[-1]["age_s"], "history kept oldest first")
    check(h[-1]["status"].startswith("km links 0/1 up"), "latest history entry shows the link down")

    # malformed and unexpected messages over a real TLS session get failure responses
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=env.path("ca.pem"))
    ctx.check_hostname = False
    ctx.load_cert_chain(env.path("A.pem"), env.path("A.key"))
    with socket.create_connection(("127.0.0.1", mport), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            f = s.makefile("rwb")
            def ask(line):
                f.write(line.encode() + b"\n")
                f.flush()
                return json.loads(f.readline())
            r = ask("{not json")
            check(r["message"] == "status_report_response" and r["response"].startswith("failure: malformed JSON"),
                  "malformed JSON: failure response")
            r = ask('{"message":"hello","interface":"Mk","component_id":"A-km","seq":3}')
            eq((r["response"], r["seq"], r["component_id"]), ("failure: unknown message type 'hello'", 3, "A-km"),
               "unknown type: failure response echoing seq and component")
            r = ask('{"message":"status_report","interface":"Mk"}')
            eq(r["response"], "failure: status_report: mandatory component_id (KM ID) missing",
               "missing mandatory field: failure response")
            r = ask('{"message":"status_report_request","interface":"Mk","seq":9}')
            eq((r["message"], r["response"]), ("status_report_request_response",
               "failure: a QKDN manager does not accept status_report_request"),
               "request sent to the manager: failure response")
            r = ask('{"message":"status_report","interface":"Mk","component_id":"Z-km","extension":[{"type":"km"}],"seq":1}')
            eq((r["message"], r["component_id"], r["response"], r["seq"]),
               ("status_report_response", "Z-km", "success", 1), "valid report: success response")
    check("Z-km" in comps(), "the valid report was recorded")

    # no client certificate: refused during the handshake
    bare = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=env.path("ca.pem"))
    bare.check_hostname = False
    refused = False
    try:
        with socket.create_connection(("127.0.0.1", mport), timeout=5) as raw:
            with bare.wrap_socket(raw) as s:
                s.sendall(b'{"message":"status_report","interface":"Mk","component_id":"X"}\n')
                refused = s.recv(100) == b""
    except (ssl.SSLError, ConnectionError, OSError):
        refused = True
    check(refused, "client without certificate refused")
    check("X" not in comps(), "nothing recorded from it")
finally:
    env.close()
finish()
