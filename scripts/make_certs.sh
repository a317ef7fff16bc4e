#!/bin/sh
# Test PKI for the KSA (ETSI GS QKD 014 over mutual TLS): a CA and one certificate per name,
# subject CN = name (the KSA takes SAE and KME IDs from the CN), SAN DNS:name + IP 127.0.0.1,
# usable as TLS server and client. EC P-256 keys, mode 0600.
#   usage: scripts/make_certs.sh DIR [NAME...]
#   default names: kme-a kme-b sae-a1 sae-a2 sae-a3 sae-b1 sae-b2 sae-x
# Writes DIR/ca.pem, DIR/ca.key, DIR/NAME.pem, DIR/NAME.key. Idempotent: existing files that
# still verify against DIR/ca.pem are kept. Run it twice with two directories for two CAs.
set -eu
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	echo "usage: $0 DIR [NAME...]" >&2
	exit 2
fi
dir=$1
shift
[ $# -gt 0 ] || set -- kme-a kme-b sae-a1 sae-a2 sae-a3 sae-b1 sae-b2 sae-x
command -v openssl >/dev/null || { echo "make_certs.sh: openssl: not found" >&2; exit 1; }
umask 077
mkdir -p "$dir"
days=3650

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.tmp" 2>/dev/null
	mv "$1.tmp" "$1"
}

if [ ! -s "$dir/ca.key" ] || [ ! -s "$dir/ca.pem" ]; then
	newkey "$dir/ca.key"
	openssl req -x509 -new -key "$dir/ca.key" -sha256 -days $days \
		-subj "/CN=qkdnode test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$dir/ca.pem.tmp"
	mv "$dir/ca.pem.tmp" "$dir/ca.pem"
fi

for name in "$@"; do
	case $name in
	*/* | "" | ca) echo "make_certs.sh: $name: bad name" >&2; exit 2 ;;
	esac
	if [ -s "$dir/$name.key" ] && [ -s "$dir/$name.pem" ] &&
		openssl verify -CAfile "$dir/ca.pem" "$dir/$name.pem" >/dev/null 2>&1; then
		continue
	fi
	newkey "$dir/$name.key"
	ext="$dir/$name.ext"
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth,clientAuth" \
		"subjectAltName=DNS:$name,IP:127.0.0.1" >"$ext"
	openssl req -new -key "$dir/$name.key" -subj "/CN=$name" -out "$dir/$name.csr"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days $days -sha256 -extfile "$ext" \
		-out "$dir/$name.pem.tmp" 2>/dev/null
	mv "$dir/$name.pem.tmp" "$dir/$name.pem"
	rm -f "$dir/$name.csr" "$ext"
done
