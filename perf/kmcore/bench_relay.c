/* Key relay per core: the per-hop kernel (pad XOR + Poly1305 tag over the message) against
 * memcpy of the same bytes in the same run, then whole relays through the key store (pads taken
 * and committed, keys stored at both ends) with and without fsync. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "km_relay.h"
#include "km_store.h"
#include "km_xor.h"
#include "qkdperf.h"

struct seal_arg {
	struct km_relay_mac *mac;
	uint8_t key[KM_RELAY_AUTH_LEN], head[64], tag[KM_RELAY_TAG_LEN];
	uint8_t *ct, *in, *pad;
	size_t len;
};

static void run_memcpy(void *p)
{
	struct seal_arg *a = p;
	memcpy(a->ct, a->in, a->len);
	QP_KEEP(a->ct);
}

static void run_xor(void *p)
{
	struct seal_arg *a = p;
	km_xor(a->ct, a->in, a->pad, a->len);
	QP_KEEP(a->ct);
}

static void run_mac(void *p)
{
	struct seal_arg *a = p;
	km_relay_mac(a->mac, a->key, a->head, sizeof(a->head), a->in, a->len, a->tag);
	QP_KEEP(a->tag);
}

static void run_seal(void *p)
{
	struct seal_arg *a = p;
	km_relay_seal(a->mac, a->key, a->head, sizeof(a->head), a->ct, a->in, a->pad, a->len, a->tag);
	QP_KEEP(a->tag);
}

static void bench_relay_seal(struct qp_run *r)
{
	static const size_t sizes[] = {288, 4160, 8256, 1 << 20}; /* 256 B, 4 KiB, max key (+e2e), 1 MiB */
	size_t max = sizes[sizeof(sizes) / sizeof(sizes[0]) - 1];
	struct seal_arg a = {.mac = km_relay_mac_new(), .ct = aligned_alloc(64, max),
			     .in = aligned_alloc(64, max), .pad = aligned_alloc(64, max)};
	if (!a.mac || !a.ct || !a.in || !a.pad)
		goto out;
	memset(a.in, 0x3c, max);
	memset(a.pad, 0xa5, max);
	memset(a.ct, 0, max);
	memset(a.key, 7, sizeof(a.key));
	memset(a.head, 1, sizeof(a.head));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		a.len = sizes[s];
		struct qp_case c = {"relay_seal", "memcpy", a.len, "Gbit/s", 8.0 * (double)a.len,
				    run_memcpy, &a, true};
		qp_measure(r, &c);
		c.baseline = false;
		c.variant = "xor";
		c.fn = run_xor;
		qp_measure(r, &c);
		c.variant = "poly1305";
		c.fn = run_mac;
		qp_measure(r, &c);
		c.variant = "xor+poly1305";
		c.fn = run_seal;
		qp_measure(r, &c);
	}
out:
	km_relay_mac_free(a.mac);
	free(a.ct);
	free(a.in);
	free(a.pad);
}
QP_BENCH("relay_seal", "relay hop kernel: pad XOR + Poly1305 tag per core vs memcpy", bench_relay_seal)

/* ---- whole relays between two KMs through their stores ---- */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct km_store *open_store(const char *dir, enum km_sync sync)
{
	setenv("QKDPERF_KM_KEK", "4242424242424242424242424242424242424242424242424242424242424242", 1);
	struct km_store_config cfg = {.path = dir, .kek_env = "QKDPERF_KM_KEK", .sync = sync};
	struct km_store *st = NULL;
	return km_store_open(&cfg, &st) == 0 ? st : NULL;
}

/* Both ends of one link get the same n keys of 'bytes' bytes. */
static int fill_link(struct km_store *a, struct km_store *b, km_pool_id pool, unsigned n, uint32_t bytes)
{
	uint8_t *mat = malloc(bytes);
	struct km_key_in k = {.pool = pool, .bits = bytes * 8, .type = KM_KEY_QKD, .material = mat};
	int rc = mat ? 0 : -1;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		km_uuid_random(k.id);
		memset(mat, (int)i, bytes);
		rc = km_store_put(a, &k, 1);
		if (rc == 0)
			rc = km_store_put(b, &k, 1);
	}
	free(mat);
	return rc;
}

/* 'group' relays per group commit on each store (1: every operation commits on its own), the way
 * the relay lcore handles a burst. */
static void relay_pair(struct qp_run *r, enum km_sync sync, unsigned group, const char *variant)
{
	char da[128], db[128], cmd[300];
	snprintf(da, sizeof(da), "/tmp/qkdperf-kmrelay-%d-a", (int)getpid());
	snprintf(db, sizeof(db), "/tmp/qkdperf-kmrelay-%d-b", (int)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", da, db);
	if (system(cmd) != 0)
		return;
	struct km_store *sa = open_store(da, sync), *sb = open_store(db, sync);
	const uint32_t key = 256; /* bytes relayed per message (2 kbit) */
	unsigned relays = (qp_quick(r) ? 64 : 640) * (sync == KM_SYNC_FULL && group == 1 ? 1 : 4);
	km_pool_id pool = KM_POOL_LINK(1);
	struct km_relay *ra = NULL, *rb = NULL;
	struct km_relay_out *o1 = malloc(group * sizeof(*o1)), *o2 = malloc(group * sizeof(*o2));
	if (!sa || !sb || !o1 || !o2 ||
	    fill_link(sa, sb, pool, relays / 4 + 16, 12 * (key + 64)) != 0) /* half are usable by A */
		goto out;
	struct km_relay_neighbor na = {2, pool}, nb = {1, pool};
	struct km_relay_config ca = {1, sa, &na, 1}, cb = {2, sb, &nb, 1};
	if (km_relay_create(&ca, &ra) || km_relay_create(&cb, &rb))
		goto out;
	uint32_t route[2] = {1, 2};
	uint8_t id[16];
	unsigned ok = 0;
	bool batch = group > 1;
	double t0 = now_s();
	for (unsigned done = 0; done < relays; done += group) {
		unsigned g = 0, d = 0, c = 0;
		if (batch && km_store_batch_begin(sa))
			break;
		for (; g < group; g++)
			if (km_relay_start(ra, route, 2, key, id, &o1[g]))
				break;
		if (batch && km_store_batch_end(sa))
			break;
		if (batch && km_store_batch_begin(sb))
			break;
		for (; d < g; d++)
			if (km_relay_receive(rb, 1, o1[d].msg, o1[d].len, &o2[d], id) != KM_RELAY_DELIVERED)
				break;
		if (batch && km_store_batch_end(sb))
			break;
		if (batch && km_store_batch_begin(sa))
			break;
		for (; c < d; c++)
			if (km_relay_receive(ra, 2, o2[c].msg, o2[c].len, &o1[c], id) != KM_RELAY_CONFIRMED)
				break;
		if (batch && km_store_batch_end(sa))
			break;
		ok += c;
		if (c < group)
			break;
	}
	double t = now_s() - t0;
	if (ok == relays) {
		json_t *extra = json_pack("{s:s,s:i,s:i,s:i,s:f}", "fsync",
					  sync == KM_SYNC_FULL ? "every commit" : "none", "relays_per_commit",
					  (int)group, "key_bytes", (int)key, "relays", (int)relays, "relays_per_s",
					  relays / t);
		qp_report(r, "relay_hop", variant, key * 8, 8.0 * key * relays / t / 1e6, "Mbit/s", extra);
	} else {
		fprintf(stderr, "relay_hop %s: stopped after %u of %u relays\n", variant, ok, relays);
	}
out:
	km_relay_free(ra);
	km_relay_free(rb);
	free(o1);
	free(o2);
	km_store_close(sa);
	km_store_close(sb);
	if (system(cmd) != 0)
		return;
}

static void bench_relay_hop(struct qp_run *r)
{
	relay_pair(r, KM_SYNC_NONE, 1, "nosync");
	relay_pair(r, KM_SYNC_FULL, 1, "fsync");
	relay_pair(r, KM_SYNC_FULL, 32, "fsync-group32");
	relay_pair(r, KM_SYNC_NONE, 32, "nosync-group32");
}
QP_BENCH("relay_hop", "whole one-hop relays through two key stores (take, tag, deliver, ACK)", bench_relay_hop)
