/* qkdnode command line parsing. Every error is one line on stderr; nothing is started. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_config.h"
#include "dst_reconcile.h"

void qn_usage(void)
{
	fprintf(stderr,
		"usage: qkdnode [options] --link id=N,role=alice|bob,psk=FILE,peer-mac=MAC[,...]\n"
		"       qkdnode [options] --control FILE --store DIR ...   (relay-only KM)\n"
		"  --file-prefix P      DPDK runtime prefix (unique per process)\n"
		"  --lcores LIST        EAL lcore list (default 0-1); lcore 0 is the main lcore\n"
		"  --mem MB             memory (default 512)\n"
		"  --no-huge            anonymous memory even when huge pages are free\n"
		"  --vdev SPEC          a virtual device (net_memif, net_ring, net_pcap, net_af_packet);\n"
		"                       ports are numbered in probe order (vdevs, then PCI)\n"
		"  --rx-lcore L --tx-lcore L --worker-lcores L[,L...]   the lcore map (default: all 1)\n"
		"  --mtu N              frame payload size (default 9000)\n"
		"  --idle-sleep-us N    sleep this long after 256 idle polls (default 0: busy poll)\n"
		"  --stop-after-keys N  exit after N keys on every link\n"
		"  --key-digest FILE    write 'link block key_id bits sha256' per key consumed\n"
		"  --report FILE        JSON report at exit ('-': stdout)\n"
		"  --report-interval S  progress line on stderr every S seconds\n"
		"  --control FILE       run the control plane (routing, sessions, control socket,\n"
		"                       manager agent, /qkd telemetry) from this node INI\n"
		"  --test-drop-commit SKIP,COUNT  test hook: drop COUNT of the COMMITs this node sends\n"
		"                       (after letting SKIP through), on every link\n"
		QN_KM_USAGE
		"link keys: id, role, module (port index, 0), peer (port index, 1), worker (0),\n"
		"  psk (file, >= 320 bytes), peer-mac, block-bits (1048576), test-bits, auth-refill (auto, or bytes),\n"
		"  auth-tag (short BLOCK tag bytes: 4, 8 or 16; 4),\n"
		"  timeout-ms (10000), seed (1), window-log2 (22), announce-max (65536), qber-max (0.11),\n"
		"  method (cascade|ldpc), ldpc-codes (LDPC code family directory, the same on both\n"
		"  nodes; default the committed 2^17-bit frames, distill/ldpc/codes_n20: 2^20-bit frames)\n");
}

/* The pre-shared secret file, whole; at most 16 MiB. */
static int read_psk(const char *path, uint8_t **data, size_t *len, const char **why)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return *why = strerror(errno), -errno;
	uint8_t *buf = malloc(1u << 24);
	size_t n = buf ? fread(buf, 1, 1u << 24, f) : 0;
	int big = buf && n == (1u << 24) && fgetc(f) != EOF;
	fclose(f);
	if (!buf || big) {
		if (buf)
			OPENSSL_cleanse(buf, n);
		free(buf);
		return *why = big ? "larger than 16 MiB" : "out of memory", -EINVAL;
	}
	*data = buf;
	*len = n;
	return 0;
}

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "qkdnode: %s: %s\n", what, why);
	return -EINVAL;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int parse_link(struct qn_link_opt *lo, char *spec)
{
	struct dp_link_cfg *c = &lo->cfg;
	memset(lo, 0, sizeof(*lo));
	c->module_port = 0;
	c->peer_port = 1;
	c->block_bits = 1u << 20;
	c->auth_refill_auto = true; /* what each block spent, plus a quarter */
	c->seed = 1;
	int have_id = 0, have_role = 0, have_mac = 0;
	for (char *save = NULL, *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			return fail("--link", "expected key=value");
		*eq = 0;
		const char *k = kv, *v = eq + 1;
		uint64_t x = 0;
		int rc = 0;
		if (!strcmp(k, "id")) {
			rc = parse_u64(v, 65535, &x);
			c->link_id = (uint16_t)x;
			have_id = 1;
		} else if (!strcmp(k, "role")) {
			if (!strcmp(v, "alice"))
				c->role = DP_ROLE_ALICE;
			else if (!strcmp(v, "bob"))
				c->role = DP_ROLE_BOB;
			else
				return fail("--link role", "must be alice or bob");
			have_role = 1;
		} else if (!strcmp(k, "module")) {
			rc = parse_u64(v, DP_MAX_PORTS - 1, &x);
			c->module_port = (unsigned)x;
		} else if (!strcmp(k, "peer")) {
			rc = parse_u64(v, DP_MAX_PORTS - 1, &x);
			c->peer_port = (unsigned)x;
		} else if (!strcmp(k, "worker")) {
			rc = parse_u64(v, DP_MAX_WORKERS - 1, &x);
			c->worker = (unsigned)x;
		} else if (!strcmp(k, "psk")) {
			if (strlen(v) >= sizeof(lo->psk_file))
				return fail("--link psk", "path too long");
			strcpy(lo->psk_file, v);
		} else if (!strcmp(k, "ldpc-codes")) {
			if (!*v || strlen(v) >= sizeof(lo->ldpc_codes))
				return fail("--link ldpc-codes", "empty or too long a path");
			strcpy(lo->ldpc_codes, v);
			c->ldpc_codes = lo->ldpc_codes;
		} else if (!strcmp(k, "peer-mac")) {
			rc = parse_mac(v, c->peer_mac);
			have_mac = !rc;
		} else if (!strcmp(k, "block-bits")) {
			rc = parse_u64(v, 1u << 26, &x);
			c->block_bits = (uint32_t)x;
		} else if (!strcmp(k, "test-bits")) {
			rc = parse_u64(v, 1u << 26, &x);
			c->test_bits = (uint32_t)x;
		} else if (!strcmp(k, "auth-tag")) {
			rc = parse_u64(v, 16, &x);
			if (!rc && x != 4 && x != 8 && x != 16)
				return fail("--link auth-tag", "must be 4, 8 or 16 (bytes)");
			c->auth_tag_len = (uint8_t)x;
		} else if (!strcmp(k, "auth-refill")) {
			c->auth_refill_auto = !strcmp(v, "auto");
			rc = c->auth_refill_auto ? 0 : parse_u64(v, 16384, &x);
			c->auth_refill = c->auth_refill_auto ? 0 : (uint32_t)x;
		} else if (!strcmp(k, "timeout-ms")) {
			rc = parse_u64(v, 3600000, &x);
			c->block_timeout_ms = (uint32_t)x;
		} else if (!strcmp(k, "seed")) {
			rc = parse_u64(v, UINT64_MAX, &c->seed);
		} else if (!strcmp(k, "window-log2")) {
			rc = parse_u64(v, 30, &x);
			c->window_log2 = (uint32_t)x;
		} else if (!strcmp(k, "announce-max")) {
			rc = parse_u64(v, DP_QD_ANNOUNCE_MAX, &x);
			c->announce_max = (uint32_t)x;
		} else if (!strcmp(k, "qber-max")) {
			char *end;
			c->qber_max = strtod(v, &end);
			rc = (*end || c->qber_max <= 0 || c->qber_max >= 0.5) ? -EINVAL : 0;
		} else if (!strcmp(k, "method")) {
			enum dst_rec_method m;
			rc = dst_rec_method_parse(v, &m);
			c->rec_method = (int)m;
		} else {
			fprintf(stderr, "qkdnode: --link: unknown key '%s'\n", k);
			return -EINVAL;
		}
		if (rc) {
			fprintf(stderr, "qkdnode: --link %s: bad value '%s'\n", k, v);
			return -EINVAL;
		}
	}
	if (!have_id || !have_role || !have_mac || !lo->psk_file[0])
		return fail("--link", "id, role, psk and peer-mac are required");
	return 0;
}

static int parse_lcore_list(const char *s, struct dp_node_cfg *n)
{
	char buf[128];
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	n->n_workers = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint64_t x;
		if (n->n_workers == DP_MAX_WORKERS || parse_u64(t, 1023, &x))
			return -EINVAL;
		n->worker_lcores[n->n_workers++] = (unsigned)x;
	}
	return n->n_workers ? 0 : -EINVAL;
}

int qn_options_parse(struct qn_options *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->file_prefix, sizeof(o->file_prefix), "qkdnode");
	snprintf(o->lcores, sizeof(o->lcores), "0-1");
	o->mem_mb = 512;
	o->node.rx_lcore = o->node.tx_lcore = 1;
	o->node.n_workers = 1;
	o->node.worker_lcores[0] = 1;
	enum { O_PREFIX = 256, O_LCORES, O_MEM, O_VDEV, O_RX, O_TX, O_WK, O_MTU, O_IDLE, O_STOP,
	       O_DIGEST, O_REPORT, O_INTERVAL, O_LINK, O_HELP, O_NOHUGE, O_CONTROL, O_KM, O_DROP };
	struct option lopts[32] = {
		{"file-prefix", required_argument, 0, O_PREFIX}, {"lcores", required_argument, 0, O_LCORES},
		{"mem", required_argument, 0, O_MEM}, {"vdev", required_argument, 0, O_VDEV},
		{"rx-lcore", required_argument, 0, O_RX}, {"tx-lcore", required_argument, 0, O_TX},
		{"worker-lcores", required_argument, 0, O_WK}, {"mtu", required_argument, 0, O_MTU},
		{"idle-sleep-us", required_argument, 0, O_IDLE},
		{"stop-after-keys", required_argument, 0, O_STOP},
		{"key-digest", required_argument, 0, O_DIGEST}, {"report", required_argument, 0, O_REPORT},
		{"report-interval", required_argument, 0, O_INTERVAL},
		{"link", required_argument, 0, O_LINK}, {"help", no_argument, 0, O_HELP},
		{"no-huge", no_argument, 0, O_NOHUGE}, {"control", required_argument, 0, O_CONTROL},
		{"test-drop-commit", required_argument, 0, O_DROP},
	};
	unsigned nl = 0;
	while (lopts[nl].name)
		nl++;
	for (unsigned i = 0; qn_km_option_names[i]; i++)
		lopts[nl++] = (struct option){qn_km_option_names[i], required_argument, 0, O_KM};
	optind = 1;
	int c;
	int li = 0;
	while ((c = getopt_long(argc, argv, "", lopts, &li)) != -1) {
		uint64_t x = 0;
		char *end;
		switch (c) {
		case O_PREFIX:
		case O_LCORES:
		case O_DIGEST:
		case O_REPORT: {
			char *dst = c == O_PREFIX ? o->file_prefix : c == O_LCORES ? o->lcores :
				    c == O_DIGEST ? o->key_digest_file : o->report_file;
			size_t cap = c == O_PREFIX ? sizeof(o->file_prefix) : c == O_LCORES ?
				     sizeof(o->lcores) : sizeof(o->report_file);
			if (strlen(optarg) >= cap)
				return fail(argv[optind - 1], "value too long");
			strcpy(dst, optarg);
			break;
		}
		case O_CONTROL:
			if (strlen(optarg) >= sizeof(o->control_file))
				return fail("--control", "path too long");
			strcpy(o->control_file, optarg);
			break;
		case O_MEM:
			if (parse_u64(optarg, 65536, &x) || x < 64)
				return fail("--mem", "expected 64 .. 65536 (MB)");
			o->mem_mb = (unsigned)x;
			break;
		case O_VDEV:
			if (o->n_vdevs == QN_MAX_VDEVS || strlen(optarg) >= sizeof(o->vdevs[0]))
				return fail("--vdev", "too many or too long");
			strcpy(o->vdevs[o->n_vdevs++], optarg);
			break;
		case O_RX:
		case O_TX:
			if (parse_u64(optarg, 1023, &x))
				return fail(c == O_RX ? "--rx-lcore" : "--tx-lcore", "expected an lcore id");
			*(c == O_RX ? &o->node.rx_lcore : &o->node.tx_lcore) = (unsigned)x;
			break;
		case O_WK:
			if (parse_lcore_list(optarg, &o->node))
				return fail("--worker-lcores", "expected 1 .. 8 lcore ids");
			break;
		case O_MTU:
			if (parse_u64(optarg, 9600, &x) || x < 1280)
				return fail("--mtu", "expected 1280 .. 9600");
			o->node.mtu = (unsigned)x;
			break;
		case O_IDLE:
			if (parse_u64(optarg, 1000000, &x))
				return fail("--idle-sleep-us", "expected 0 .. 1000000");
			o->node.idle_sleep_us = (unsigned)x;
			break;
		case O_STOP:
			if (parse_u64(optarg, UINT64_MAX, &o->stop_after_keys))
				return fail("--stop-after-keys", "expected a count");
			break;
		case O_INTERVAL:
			o->report_interval = strtod(optarg, &end);
			if (*end || o->report_interval < 0)
				return fail("--report-interval", "expected seconds");
			break;
		case O_LINK:
			if (o->n_links == DP_MAX_LINKS)
				return fail("--link", "too many links");
			if (parse_link(&o->links[o->n_links], optarg))
				return -EINVAL;
			o->n_links++;
			break;
		case O_NOHUGE:
			o->no_huge = true;
			break;
		case O_DROP: {
			uint64_t skip, count;
			char *comma = strchr(optarg, ',');
			if (!comma)
				return fail("--test-drop-commit", "expected SKIP,COUNT");
			*comma = 0;
			if (parse_u64(optarg, 1000000, &skip) || parse_u64(comma + 1, 1000000, &count))
				return fail("--test-drop-commit", "expected SKIP,COUNT");
			o->drop_commit_skip = (unsigned)skip;
			o->drop_commit_count = (unsigned)count;
			break;
		}
		case O_KM:
			if (qn_km_option(&o->km, lopts[li].name, optarg))
				return -EINVAL;
			break;
		case O_HELP:
			qn_usage();
			return -EINVAL;
		default:
			return fail("usage", "see qkdnode --help");
		}
	}
	if (optind < argc)
		return fail(argv[optind], "unexpected argument");
	if (!o->n_links && !o->control_file[0])
		return fail("--link", "at least one link is required (or --control for a relay-only KM)");
	if (o->control_file[0]) { /* [store] and [ksa] of the node INI; the flags above win */
		struct cp_config *cfg = NULL;
		char err[512];
		if (cp_config_load(o->control_file, &cfg, err, sizeof(err)))
			return fail("--control", err);
		int rc = qn_km_from_config(&o->km, cfg);
		cp_config_free(cfg);
		if (rc)
			return -EINVAL;
	}
	if (qn_km_check(&o->km))
		return -EINVAL;
	for (unsigned i = 0; i < o->n_links; i++) {
		struct qn_link_opt *lo = &o->links[i];
		size_t len = 0;
		const char *why = NULL;
		if (read_psk(lo->psk_file, &lo->psk, &len, &why)) {
			fprintf(stderr, "qkdnode: %s: %s\n", lo->psk_file, why ? why : "cannot read");
			return -EINVAL;
		}
		lo->cfg.psk = lo->psk;
		lo->cfg.psk_len = (uint32_t)len;
	}
	return 0;
}

void qn_options_clear(struct qn_options *o)
{
	for (unsigned i = 0; i < o->n_links; i++) {
		if (o->links[i].psk) {
			OPENSSL_cleanse(o->links[i].psk, o->links[i].cfg.psk_len);
			free(o->links[i].psk);
			o->links[i].psk = NULL;
		}
	}
}
