/* qkdnode: the QKD node daemon's dataplane. EAL init -> options -> ports -> node and links ->
 * lcores -> main-lcore loop (key rings, reports, stop conditions) -> shutdown (stop lcores, stop
 * ports, wipe key memory, rte_eal_cleanup). The control plane (ctrlplane) plugs in as the main
 * lcore's loop body through the dp_node API. */
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "dp_node.h"
#include "dst_cpu.h"
#include "keyman.h"
#include "ledgers.h"
#include "options.h"
#include "relay.h"

static struct dp_node *g_node;

static void on_signal(int sig)
{
	(void)sig;
	if (g_node)
		dp_node_request_stop(g_node); /* a flag only: async-signal-safe */
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct key_sink {
	FILE *digest;
	struct qn_keyman *km; /* NULL: no key store, keys are wiped after the digest */
	const struct qn_options *o;
	uint64_t keys[DP_MAX_LINKS];
};

static void digest_key(FILE *f, const struct km_key_desc *d)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256(d->material, (d->bits + 7) / 8, md);
	fprintf(f, "%u %lu ", d->link_id, (unsigned long)d->block_seq);
	for (int i = 0; i < KM_KEY_ID_LEN; i++)
		fprintf(f, "%02x", d->key_id[i]);
	fprintf(f, " %u ", d->bits);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		fprintf(f, "%02x", md[i]);
	fputc('\n', f);
}

/* A key both ends hold (the ledger confirmed it): digest, count, store (inside the ledger round's
 * group commit) or wipe. */
static void confirm_key(void *ctx, struct km_key_desc *d)
{
	struct key_sink *ks = ctx;
	if (ks->digest) {
		digest_key(ks->digest, d);
		fflush(ks->digest); /* one line per block: keep it even if the node is killed */
	}
	for (unsigned i = 0; i < ks->o->n_links; i++)
		if (ks->o->links[i].cfg.link_id == d->link_id)
			ks->keys[i]++;
	if (ks->km) {
		qn_keyman_put(ks->km, d, 1); /* takes (or wipes) the material */
	} else {
		km_key_material_free(d->material, (d->bits + 7) / 8);
		d->material = NULL;
	}
}

/* Consume every worker's key ring in bursts: keys are digested (never printed), then stored in
 * the key store, all bursts of one round in one group commit, or wiped when there is no store.
 * Returns the keys taken. */
static unsigned drain_keys(struct dp_node *n, const struct qn_options *o, struct key_sink *ks)
{
	unsigned got = 0;
	if (!n)
		return 0;
	bool batch = false;
	for (unsigned w = 0; w < dp_node_workers(n); w++) {
		struct km_key_desc d[32];
		unsigned k;
		while ((k = rte_ring_dequeue_burst_elem(dp_node_key_ring(n, w), d, sizeof(d[0]), 32,
							 NULL)) > 0) {
			for (unsigned j = 0; j < k; j++) {
				if (ks->digest)
					digest_key(ks->digest, &d[j]);
				for (unsigned i = 0; i < o->n_links; i++)
					if (o->links[i].cfg.link_id == d[j].link_id)
						ks->keys[i]++;
			}
			if (ks->km && !batch)
				batch = qn_keyman_begin(ks->km) == 0;
			if (ks->km)
				qn_keyman_put(ks->km, d, k);
			else
				for (unsigned j = 0; j < k; j++)
					km_key_material_free(d[j].material, (d[j].bits + 7) / 8);
			got += k;
		}
	}
	if (batch)
		qn_keyman_commit(ks->km);
	if (got && ks->digest)
		fflush(ks->digest);
	return got;
}

/* Pad positions and ledger state of a link (qn_ledgers_report), for reports and tests: msg_seq
 * only ever grow, across restarts too. */
static json_t *auth_json(struct qn_ledgers *L, uint16_t id)
{
	struct qn_ledger_report a;
	if (qn_ledgers_report(L, id, &a))
		return json_null();
	json_t *next = json_array(), *res = json_array();
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++) {
		json_array_append_new(next, json_integer((json_int_t)a.next_seq[i]));
		json_array_append_new(res, json_integer((json_int_t)a.reserved[i]));
	}
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I}", "next_seq", next, "reserved", res,
			 "head", (json_int_t)a.head, "block_next", (json_int_t)a.block_next, "pending",
			 (json_int_t)a.pending, "keys_confirmed", (json_int_t)a.confirmed, "keys_dropped",
			 (json_int_t)a.dropped);
}

static json_t *link_json(struct dp_node *n, struct qn_ledgers *L, uint16_t id)
{
	struct dp_link_report r;
	if (dp_node_link_report(n, id, &r))
		return json_null();
	double secs = r.last_ns > r.first_ns ? (double)(r.last_ns - r.first_ns) * 1e-9 : 0;
	double per = secs > 0 ? 1.0 / secs : 0;
	return json_pack("{s:i, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I,"
			 " s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			 "link", id, "frames", (json_int_t)r.frames, "events", (json_int_t)r.events,
			 "sifted_bits", (json_int_t)r.sifted_bits, "secret_bits", (json_int_t)r.secret_bits,
			 "events_per_s", (double)r.events * per, "sifted_bits_per_s",
			 (double)r.sifted_bits * per, "secret_bits_per_s", (double)r.secret_bits * per,
			 "qber", r.qber_bits ? (double)r.qber_errors / (double)r.qber_bits : 0.0,
			 "leak_bits", (json_int_t)r.leak_bits, "blocks_filled", (json_int_t)r.blocks_filled,
			 "blocks_done", (json_int_t)r.blocks_done, "blocks_failed",
			 (json_int_t)r.blocks_failed, "blocks_aborted", (json_int_t)r.blocks_aborted,
			 "auth_failures", (json_int_t)r.auth_failures, "auth_bytes_used",
			 (json_int_t)r.auth_bytes_used, "auth_bytes_sift", (json_int_t)r.auth_bytes_sift,
			 "block_msgs", (json_int_t)r.block_msgs, "auth_refill_bytes",
			 (json_int_t)r.auth_refill_bytes, "transcript_failures",
			 (json_int_t)r.transcript_failures, "keys_dropped", (json_int_t)r.keys_dropped, "auth",
			 auth_json(L, id));
}

static json_t *report_json(struct dp_node *n, const struct qn_options *o, const struct qn_keyman *km,
			   struct qn_ledgers *L)
{
	json_t *links = json_array();
	for (unsigned i = 0; i < o->n_links; i++)
		json_array_append_new(links, link_json(n, L, o->links[i].cfg.link_id));
	struct dp_lcore_stats s = {0};
	if (n)
		dp_node_lcore_stats(n, -1, &s);
	json_t *errors = json_object();
	for (unsigned e = 1; e < DP_ERR__COUNT; e++)
		if (s.errors[e])
			json_object_set_new(errors, dp_err_name((enum dp_err)e), json_integer((json_int_t)s.errors[e]));
	json_t *cycles = json_pack("{s:I, s:I, s:I, s:I}", "rx", (json_int_t)s.cycles_rx, "sift",
				   (json_int_t)s.cycles_sift, "distill", (json_int_t)s.cycles_distill,
				   "tx", (json_int_t)s.cycles_tx);
	json_t *r = json_pack("{s:o, s:o, s:o, s:I, s:I}", "links", links, "errors", errors, "cycles", cycles,
			 "rx_pkts", (json_int_t)s.rx_pkts, "tx_pkts", (json_int_t)s.tx_pkts);
	if (km) /* the key store: what reached it, what it refused */
		json_object_set_new(r, "store", json_pack("{s:I, s:I}", "keys_stored",
							 (json_int_t)qn_keyman_stored(km), "keys_dropped",
							 (json_int_t)qn_keyman_dropped(km)));
	return r;
}

static void progress(struct dp_node *n, const struct qn_options *o, struct qn_ledgers *L)
{
	for (unsigned i = 0; n && i < o->n_links; i++) {
		struct dp_link_report r;
		struct qn_ledger_report a;
		if (dp_node_link_report(n, o->links[i].cfg.link_id, &r))
			continue;
		if (qn_ledgers_report(L, r.link_id, &a))
			memset(&a, 0, sizeof(a));
		fprintf(stderr, "qkdnode: link %u: events %lu sifted %lu blocks %lu done %lu failed %lu "
				"aborted %lu secret %lu auth-fail %lu keys %lu dropped %lu pads %lu %lu %lu %lu\n",
			r.link_id, (unsigned long)r.events, (unsigned long)r.sifted_bits,
			(unsigned long)r.blocks_filled, (unsigned long)r.blocks_done,
			(unsigned long)r.blocks_failed, (unsigned long)r.blocks_aborted,
			(unsigned long)r.secret_bits, (unsigned long)r.auth_failures,
			(unsigned long)a.confirmed, (unsigned long)a.dropped,
			(unsigned long)a.next_seq[0], (unsigned long)a.next_seq[1],
			(unsigned long)a.next_seq[2], (unsigned long)a.next_seq[3]);
	}
}

static int eal_init(const struct qn_options *o, const char *prog)
{
	struct dp_eal_args a;
	int rc = dp_eal_args_init(&a, prog, o->file_prefix, o->lcores, o->mem_mb, o->no_huge);
	for (unsigned i = 0; i < o->n_vdevs && !rc; i++) {
		char buf[300];
		snprintf(buf, sizeof(buf), "--vdev=%s", o->vdevs[i]);
		rc = dp_eal_args_add(&a, buf);
	}
	if (rc)
		return rc;
	/* a memif server socket left by a killed run is removed, a live one refuses the start */
	struct dp_memif_lock lk;
	char err[320];
	int removed = dp_eal_memif_reclaim(&a, &lk, err, sizeof(err));
	if (removed < 0) {
		fprintf(stderr, "qkdnode: %s\n", err);
		return -EADDRINUSE;
	}
	if (removed)
		fprintf(stderr, "qkdnode: removed %d stale memif socket file(s)\n", removed);
	rc = rte_eal_init(a.argc, a.argv) < 0 ? -rte_errno : 0;
	dp_memif_unlock(&lk);
	return rc;
}

/* The main lcore's loop body: with --control it is the control thread's tick, otherwise it runs
 * in the plain loop below. */
struct main_loop {
	struct dp_node *n;
	struct qn_options *o;
	struct key_sink *ks;
	struct qn_ledgers *ledgers;
	double next_report;
	struct qn_control *ctl;
	unsigned got;
	double linger_until; /* --stop-after-keys reached: stop by then at the latest */
};

static void loop_body(void *arg)
{
	struct main_loop *m = arg;
	int decided = qn_ledgers_round(m->ledgers);
	m->got = drain_keys(m->n, m->o, m->ks) + (decided > 0 ? (unsigned)decided : 0);
	if (m->o->stop_after_keys && m->o->n_links) {
		bool all = true;
		for (unsigned i = 0; i < m->o->n_links; i++)
			all &= m->ks->keys[i] >= m->o->stop_after_keys;
		/* the peer decides our last blocks with our claim: stop once it went out (or after 2 s) */
		if (all && m->linger_until == 0)
			m->linger_until = now_s() + 2.0;
		if (all && (dp_node_claims_sent(m->n) || now_s() > m->linger_until))
			dp_node_request_stop(m->n);
	}
	if (m->o->report_interval > 0 && now_s() >= m->next_report) {
		progress(m->n, m->o, m->ledgers);
		m->next_report += m->o->report_interval;
	}
	if (m->ctl && m->n && dp_node_stopping(m->n))
		qn_control_stop(m->ctl);
}

int main(int argc, char **argv)
{
	if (dst_cpu_parse_args(&argc, argv))
		return 2;
	static struct qn_options o;
	if (qn_options_parse(&o, argc, argv)) {
		qn_options_clear(&o);
		return 2;
	}
	int erc = eal_init(&o, argv[0]);
	if (erc) {
		if (erc != -EADDRINUSE) /* that one was explained already */
			fprintf(stderr, "qkdnode: EAL: %s\n",
				erc == -E2BIG ? "too many or too long EAL arguments"
					      : rte_strerror(rte_errno));
		qn_options_clear(&o);
		return 1;
	}
	int status = 0;
	struct key_sink ks = {0};
	struct qn_ledgers *ledgers = NULL;
	struct cp_config *ccfg = NULL; /* the node INI (--control) */
	struct dp_node *n = NULL;      /* NULL: a relay-only KM without QKD links */
	char err[512];
	if (o.control_file[0] && cp_config_load(o.control_file, &ccfg, err, sizeof(err))) {
		fprintf(stderr, "qkdnode: control: %s\n", err);
		status = 2;
		goto out;
	}
	unsigned ports = 0;
	uint16_t pid;
	RTE_ETH_FOREACH_DEV(pid)
	{
		if (ports < DP_MAX_PORTS && !qn_relay_owns_port(ccfg, pid)) /* relay ports are the KM's */
			o.node.port_ids[ports++] = pid;
	}
	o.node.n_ports = ports;
	const char *why = "";
	if (o.n_links && !(n = dp_node_create(&o.node, &why))) {
		fprintf(stderr, "qkdnode: node: %s\n", why);
		status = 2;
		goto out;
	}
	char kerr[512];
	ks.km = qn_keyman_open(&o.km, kerr, sizeof(kerr));
	if (!ks.km && kerr[0]) {
		fprintf(stderr, "qkdnode: %s\n", kerr);
		status = 1;
		goto out;
	}
	ks.o = &o;
	/* every link's pads come from its ledger: persisted in the store, or from the secret */
	struct dp_link_cfg cfgs[DP_MAX_LINKS];
	for (unsigned i = 0; i < o.n_links; i++)
		cfgs[i] = o.links[i].cfg;
	ledgers = qn_ledgers_open(ks.km, cfgs, o.n_links, confirm_key, &ks, kerr, sizeof(kerr));
	if (!ledgers) {
		fprintf(stderr, "qkdnode: %s\n", kerr);
		status = 1;
		goto out;
	}
	/* without a store the ledger lives in memory: a restart begins again at the secret's first
	 * pads, and a Wegman-Carter mask used twice gives the hash key away */
	if (o.n_links && !qn_keyman_store(ks.km))
		fprintf(stderr, "qkdnode: warning: no key store: authentication state is in memory only; "
				"restarting with the same pre-shared secret reuses its pads: use --store, or "
				"a fresh secret on every start\n");
	for (unsigned i = 0; i < o.n_links; i++) {
		o.links[i].cfg.ledger = qn_ledgers_get(ledgers, o.links[i].cfg.link_id);
		if (dp_node_link_add(n, &o.links[i].cfg, &why) ||
		    qn_ledgers_attach(ledgers, n, o.links[i].cfg.link_id)) {
			fprintf(stderr, "qkdnode: link %u: %s\n", o.links[i].cfg.link_id, why);
			status = 2;
			goto out;
		}
		if (o.drop_commit_count)
			dp_node_test_drop_commit(n, o.links[i].cfg.link_id, o.drop_commit_skip,
						 o.drop_commit_count);
	}
	qn_options_clear(&o); /* the ledgers hold what the links need of the secrets */
	g_node = n;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (n && dp_node_start(n)) {
		fprintf(stderr, "qkdnode: cannot start ports or lcores\n");
		status = 1;
		goto out;
	}
	fprintf(stderr, "qkdnode: running: %u ports, %u links\n", o.node.n_ports, o.n_links);
	if (o.key_digest_file[0] && !(ks.digest = fopen(o.key_digest_file, "w"))) {
		fprintf(stderr, "qkdnode: %s: %s\n", o.key_digest_file, strerror(errno));
		status = 1;
		if (n)
			dp_node_request_stop(n);
	}
	struct main_loop m = {n, &o, &ks, ledgers, now_s() + o.report_interval, NULL, 0, 0};
	if (ccfg && status == 0 && !(n && dp_node_stopping(n))) {
		m.ctl = qn_control_create(n, &o, ccfg, ledgers, qn_keyman_store(ks.km),
					 qn_keyman_meter(ks.km), loop_body, &m, err, sizeof(err));
		if (!m.ctl) {
			fprintf(stderr, "qkdnode: control: %s\n", err);
			status = 2;
		} else {
			qn_control_run(m.ctl); /* until stopped, SIGINT or SIGTERM */
			qn_control_free(m.ctl);
		}
		if (n)
			dp_node_request_stop(n);
	}
	while (n && !dp_node_stopping(n)) {
		loop_body(&m);
		if (!m.got)
			usleep(1000);
	}
	if (n)
		dp_node_stop(n);
	qn_ledgers_round(ledgers); /* record the blocks the workers finished last */
	drain_keys(n, &o, &ks);
	if (ks.digest)
		fclose(ks.digest);
	if (qn_keyman_dropped(ks.km))
		fprintf(stderr, "qkdnode: %lu keys could not be stored\n",
			(unsigned long)qn_keyman_dropped(ks.km));
	if (o.report_file[0]) {
		json_t *j = report_json(n, &o, ks.km, ledgers);
		int flags = JSON_INDENT(2) | JSON_SORT_KEYS;
		int rc = strcmp(o.report_file, "-") ? json_dump_file(j, o.report_file, flags)
						     : json_dumpf(j, stdout, flags);
		if (rc) {
			fprintf(stderr, "qkdnode: %s: cannot write report\n", o.report_file);
			status = 1;
		}
		json_decref(j);
	}
out:
	cp_config_free(ccfg);
	qn_ledgers_close(ledgers);
	qn_keyman_close(ks.km); /* stops the KSA, zeroizes the store's memory */
	qn_options_clear(&o);
	g_node = NULL;
	dp_node_free(n); /* wipes blocks, auth pads, windows and unconsumed keys */
	rte_eal_cleanup();
	return status;
}
