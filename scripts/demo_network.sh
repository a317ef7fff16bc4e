#!/usr/bin/env bash
# Two qkdnode processes of one QKD link (memif between them), fed by qkdsim, each storing its keys
# in a durable key store and serving them over ETSI GS QKD 014 (mutual TLS, Kx-2 between the two
# KSAs): an SAE on node A gets a key with enc_keys, an SAE on node B gets the same key with
# dec_keys. Prints key ids and SHA-256 digests, never keys. Needs a built tree (scripts/demo.sh).
#   usage: scripts/demo_network.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/qkd-demo-net.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
node=./build/dataplane/node/qkdnode
sim=./build/dataplane/sim/qkdsim
tag=$$
m=bsize=10240,socket-abstract=no
head -c 1048576 /dev/urandom >"$work/psk"
for n in a b; do
	(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/$n.kek")
done
scripts/make_certs.sh "$work/pki" kme-a kme-b sae-a1 sae-b1 >/dev/null
read -r ak bk akx bkx < <(python3 -c '
import socket
s = [socket.socket() for _ in range(4)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

start_node() { # name role qd-role mod-mac qd-mac peer-mac ksa-port kx-port peer peer-kx
	local pki=$work/pki
	# the node INI carries the key store and the KSA ([store], [ksa]; docs/config.md)
	cat >"$work/$1.ini" <<-EOF
		[node]
		id = ${1^^}
		lcores = 1
		[store]
		path = $work/$1.db
		kek = $work/$1.kek
		[ksa]
		listen = 127.0.0.1:$7
		id = kme-$1
		ca = $pki/ca.pem
		cert = $pki/kme-$1.pem
		key = $pki/kme-$1.key
		kx_listen = 127.0.0.1:$8
		sae = sae-a1@kme-a
		sae = sae-b1@kme-b
		peer = kme-$9@127.0.0.1:${10}/1
	EOF
	"$node" --no-huge --file-prefix "demo$1$tag" --lcores 0-1 --mem 256 --idle-sleep-us 200 \
		--vdev "net_memif0,role=server,socket=$work/$1_mod.sock,$m,mac=$4" \
		--vdev "net_memif1,role=$3,socket=$work/qd.sock,$m,mac=$5" \
		--link "id=1,role=$2,psk=$work/psk,peer-mac=$6,block-bits=262144,timeout-ms=5000" \
		--control "$work/$1.ini" --key-digest "$work/$1.keys" 2>"$work/$1.log" &
	pids+=($!)
}
wait_file() {
	for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "demo_network: $1 never appeared" >&2
	cat "$work"/*.log >&2
	return 1
}
echo "=== two qkdnode processes (link 1 over memif) with key stores and ETSI 014 KSAs ==="
start_node a alice server 02:00:00:00:0a:00 02:00:00:00:0a:01 02:00:00:00:0b:01 "$ak" "$akx" b "$bkx"
wait_file "$work/qd.sock"
wait_file "$work/a_mod.sock"
start_node b bob client 02:00:00:00:0b:00 02:00:00:00:0b:01 02:00:00:00:0a:01 "$bk" "$bkx" a "$akx"
wait_file "$work/b_mod.sock"
"$sim" --no-huge --file-prefix "demos$tag" --lcores 0 \
	--vdev "net_memif0,role=client,socket=$work/a_mod.sock,$m" \
	--vdev "net_memif1,role=client,socket=$work/b_mod.sock,$m" \
	--loss-db 0 --eta-det 1 --frames 400000 >/dev/null 2>"$work/sim.log" &
pids+=($!)
echo "qkdsim feeds both nodes; waiting for distilled keys in both stores"
for _ in $(seq 300); do
	[ "$(wc -l <"$work/a.keys" 2>/dev/null || echo 0)" -ge 3 ] &&
		[ "$(wc -l <"$work/b.keys" 2>/dev/null || echo 0)" -ge 3 ] && break
	sleep 0.1
done
echo "keys stored: node A $(wc -l <"$work/a.keys"), node B $(wc -l <"$work/b.keys")"
PKI=$work/pki AK=$ak BK=$bk python3 - <<'EOF'
import base64, hashlib, http.client, json, os, ssl, sys, time
pki = os.environ["PKI"]
def conn(port, sae):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki + "/ca.pem")
    ctx.load_cert_chain(f"{pki}/{sae}.pem", f"{pki}/{sae}.key")
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)
def req(port, sae, method, path, body=None):
    c = conn(port, sae)
    c.request(method, path, body=json.dumps(body) if body else None,
              headers={"Content-Type": "application/json"} if body else {})
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"{}")
ports = {"a": int(os.environ["AK"]), "b": int(os.environ["BK"])}
# each KME originates keys from its own half of the link pool: try A as master, then B
for _ in range(50):
    for m, s in (("a", "b"), ("b", "a")):
        st, enc = req(ports[m], f"sae-{m}1", "GET", f"/api/v1/keys/sae-{s}1/enc_keys?number=1&size=256")
        if st != 200:
            continue
        kid = enc["keys"][0]["key_ID"]
        st, dec = req(ports[s], f"sae-{s}1", "POST", f"/api/v1/keys/sae-{m}1/dec_keys",
                      {"key_IDs": [{"key_ID": kid}]})
        km = base64.b64decode(enc["keys"][0]["key"])
        ks = base64.b64decode(dec["keys"][0]["key"]) if st == 200 else b""
        print(f"enc_keys  sae-{m}1 on node {m.upper()}: key_ID {kid} sha256 {hashlib.sha256(km).hexdigest()[:16]}")
        print(f"dec_keys  sae-{s}1 on node {s.upper()}: status {st} sha256 {hashlib.sha256(ks).hexdigest()[:16]}")
        print("same key on both nodes" if km == ks else "KEYS DIFFER")
        sys.exit(0 if km == ks else 1)
    time.sleep(0.1)
print("no key could be supplied", file=sys.stderr)
sys.exit(1)
EOF
