/* Two qkdnode dataplanes in one process, connected by net_ring port pairs and fed by the link
 * model: N blocks distilled with identical keys on both ends, block counts equal to a reference
 * sifting of the same events, zero authentication failures; a tampered Qdist message is rejected
 * and its block aborted on both ends; a distillation message spanning frames costs one pad and a
 * lost or reordered fragment of it drops it and its block; malformed, replayed and out-of-order
 * input is counted; a peer that goes silent mid-block makes the block time out with nothing
 * reaching the key ring. The nodes run in manual mode: this thread polls every role, so the run
 * is deterministic. */
#include <math.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp_auth.h"
#include "dp_eal.h"
#include "dp_evframe.h"
#include "dp_node.h"
#include "dst_reconcile.h"
#include "dp_simgen.h"
#include "dst_sift.h"
#include "unit.h"

#define LINK 7
#define SLOTS_PER_FRAME 2048

static struct rte_mempool *tpool;
static unsigned serial;

struct pair {
	struct dp_node *node[2];   /* 0 Alice, 1 Bob */
	struct rte_ring *module[2]; /* what each node's module port receives */
	struct rte_ring *qd[2];     /* qd[0]: Alice -> Bob, qd[1]: Bob -> Alice */
	struct rte_ring *tap[2];    /* what each node sends on Qdist: qd[i], or a ring pump() moves */
	struct rte_ring *sink[2];
	uint16_t ports[4];
	struct dp_simgen *gen;
	struct dst_sift_block *ref; /* reference sifting of the same events */
	uint64_t ref_blocks;
	uint32_t block_bits;
	uint8_t psk[1 << 20];
};

static struct rte_ring *ring(const char *what)
{
	char name[32];
	snprintf(name, sizeof(name), "t%s%u", what, serial++);
	return rte_ring_create(name, 4096, SOCKET_ID_ANY, 0);
}

static uint16_t port(const char *what, struct rte_ring *rx, struct rte_ring *tx)
{
	char name[32];
	snprintf(name, sizeof(name), "t%s%u", what, serial++);
	int p = rte_eth_from_rings(name, &rx, 1, &tx, 1, SOCKET_ID_ANY);
	CU_ASSERT_FATAL(p >= 0);
	return (uint16_t)p;
}

static void link_params(struct dst_link_params *lp)
{
	dst_link_params_default(lp);
	/* A short, bright link: many detections per frame, so blocks big enough for a positive
	 * finite-key length fill quickly. */
	lp->loss_db = 0;
	lp->eta_det = 1.0;
}

static bool g_alice_dense = true;
static unsigned g_mtu;          /* 0: the node's default (jumbo) */
static unsigned g_announce_max; /* 0: the link's default */
static bool g_tap;              /* Qdist frames pass through the test (pump) */
static uint8_t g_tag_len;       /* 0: the link's default short tag (4 bytes) */
static uint32_t g_psk_len;      /* 0: the whole 1 MiB pre-shared secret */
static uint32_t g_refill = 4096; /* auth_refill */
static bool g_refill_auto;

/* Timeouts run on poll time: every node poll is 10 us (manual mode, one thread), so a loaded
 * machine that stalls this process cannot time a block out; a silence of T ms is T * 100 polls. */
static uint64_t g_poll_tsc;

static uint64_t poll_clock(void *ctx)
{
	(void)ctx;
	return g_poll_tsc;
}

static void pair_setup(struct pair *p, uint32_t block_bits, uint32_t timeout_ms)
{
	memset(p, 0, sizeof(*p));
	p->block_bits = block_bits;
	for (int i = 0; i < 2; i++) {
		p->module[i] = ring("m");
		p->qd[i] = ring("q");
		p->sink[i] = ring("s");
		p->tap[i] = g_tap ? ring("w") : p->qd[i];
	}
	p->ports[0] = port("am", p->module[0], p->sink[0]);
	p->ports[1] = port("aq", p->qd[1], p->tap[0]);
	p->ports[2] = port("bm", p->module[1], p->sink[1]);
	p->ports[3] = port("bq", p->qd[0], p->tap[1]);
	unit_fill_random(p->psk, sizeof(p->psk), 99);
	for (int i = 0; i < 2; i++) {
		/* One pool for both: their mbufs cross over the ring ports. */
		struct dp_node_cfg nc = {.n_ports = 2, .port_ids = {p->ports[2 * i], p->ports[2 * i + 1]},
					 .n_workers = 1, .manual = true, .pool = tpool, .mtu = g_mtu};
		const char *why = NULL;
		p->node[i] = dp_node_create(&nc, &why);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p->node[i]);
		dp_node_test_clock(p->node[i], poll_clock, NULL);
		CU_ASSERT_EQUAL_FATAL(dp_node_start(p->node[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		struct rte_ether_addr peer;
		rte_eth_macaddr_get(p->ports[2 * (1 - i) + 1], &peer);
		struct dp_link_cfg lc = {.link_id = LINK, .role = i ? DP_ROLE_BOB : DP_ROLE_ALICE,
					 .module_port = 0, .peer_port = 1, .worker = 0,
					 .block_bits = block_bits, .auth_refill = g_refill,
					 .auth_refill_auto = g_refill_auto,
					 .block_timeout_ms = timeout_ms, .psk = p->psk,
					 .psk_len = g_psk_len ? g_psk_len : sizeof(p->psk), .seed = 1234,
					 .announce_max = g_announce_max, .auth_tag_len = g_tag_len};
		memcpy(lc.peer_mac, peer.addr_bytes, 6);
		const char *why = NULL;
		CU_ASSERT_EQUAL_FATAL(dp_node_link_add(p->node[i], &lc, &why), 0);
	}
	struct dst_link_params lp;
	link_params(&lp);
	p->gen = dp_simgen_create(&lp, 42, LINK, SLOTS_PER_FRAME, g_alice_dense);
	p->ref = dst_sift_block_create(block_bits, block_bits);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->gen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->ref);
}

static void drain_keys(struct dp_node *n)
{
	struct km_key_desc d;
	while (rte_ring_dequeue_elem(dp_node_key_ring(n, 0), &d, sizeof(d)) == 0)
		km_key_material_free(d.material, (d.bits + 7) / 8);
}

static void pair_teardown(struct pair *p)
{
	for (int i = 0; i < 2; i++) {
		drain_keys(p->node[i]);
		dp_node_free(p->node[i]);
	}
	for (int i = 0; i < 2; i++) {
		struct rte_mbuf *m;
		while (rte_ring_dequeue(p->sink[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (rte_ring_dequeue(p->module[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (rte_ring_dequeue(p->qd[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		if (p->tap[i] != p->qd[i]) {
			while (rte_ring_dequeue(p->tap[i], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(p->tap[i]);
		}
		rte_ring_free(p->module[i]);
		rte_ring_free(p->qd[i]);
		rte_ring_free(p->sink[i]);
	}
	dp_simgen_free(p->gen);
	dst_sift_block_free(p->ref);
}

static unsigned poll_node(struct dp_node *n, bool *enabled)
{
	g_poll_tsc += rte_get_tsc_hz() / 100000;
	if (enabled && !*enabled)
		return 0;
	return dp_node_poll_rx(n) + dp_node_poll_worker(n, 0) + dp_node_poll_tx(n);
}

static bool bob_on = true;

static unsigned poll_all(struct pair *p)
{
	return poll_node(p->node[0], NULL) + poll_node(p->node[1], &bob_on);
}

static void inject(struct rte_ring *r, const uint8_t *frame, size_t len, uint16_t ethertype)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(tpool);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_ETH_HDR_LEN + len));
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	dp_eth_write(d, mac, mac, ethertype);
	memcpy(d + DP_ETH_HDR_LEN, frame, len);
	while (rte_ring_enqueue(r, m) != 0)
		; /* the rings are drained by poll_all between frames */
}

/* Feed one window of the model to both nodes; keep the reference sifting in step. */
static void feed_frame(struct pair *p)
{
	uint8_t fa[4096], fb[4096];
	size_t la, lb;
	CU_ASSERT_FATAL(dp_simgen_next(p->gen, fa, sizeof(fa), &la, fb, sizeof(fb), &lb) >= 0);
	if (la)
		inject(p->module[0], fa, la, DP_ETHERTYPE_EVENTS);
	if (lb && bob_on)
		inject(p->module[1], fb, lb, DP_ETHERTYPE_EVENTS);
	const struct dst_planes *pl = dp_simgen_planes(p->gen);
	size_t pos = 0;
	while (pos < pl->nslots) {
		pos = dst_sift_planes(p->ref, pl, pos);
		if (dst_sift_block_full(p->ref)) {
			p->ref_blocks++;
			dst_sift_block_reset(p->ref, 0);
		}
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Quiet means this many idle polls in a row, the last of them begun 5 ms or more after anything
 * moved (Bob's partial announcements flush after 1 ms of wall time): a process stalled by a
 * loaded machine may let 5 ms pass without polling, and only a poll begun after them shows that
 * the flush is not due. */
#define QUIET_POLLS 200

/* Poll with 'poll' until nothing moves. */
static void poll_until_quiet(unsigned (*poll)(void *ctx), void *ctx)
{
	double quiet_since = now_s();
	for (unsigned idle = 0;; idle++) {
		double begun = now_s();
		if (poll(ctx)) {
			quiet_since = now_s();
			idle = 0;
		} else if (begun - quiet_since >= 0.005 && idle >= QUIET_POLLS) {
			return;
		}
	}
}

static unsigned poll_pair(void *p)
{
	return poll_all(p);
}

static void settle(struct pair *p)
{
	poll_until_quiet(poll_pair, p);
}

static unsigned keys_match(struct pair *p, unsigned *mismatch)
{
	struct km_key_desc a, b;
	unsigned n = 0;
	while (rte_ring_count(dp_node_key_ring(p->node[0], 0)) &&
	       rte_ring_count(dp_node_key_ring(p->node[1], 0))) {
		rte_ring_dequeue_elem(dp_node_key_ring(p->node[0], 0), &a, sizeof(a));
		rte_ring_dequeue_elem(dp_node_key_ring(p->node[1], 0), &b, sizeof(b));
		bool same = a.bits == b.bits && a.block_seq == b.block_seq && a.link_id == LINK &&
			    memcmp(a.key_id, b.key_id, KM_KEY_ID_LEN) == 0 &&
			    memcmp(a.material, b.material, (a.bits + 7) / 8) == 0;
		*mismatch += !same;
		km_key_material_free(a.material, (a.bits + 7) / 8);
		km_key_material_free(b.material, (b.bits + 7) / 8);
		n++;
	}
	return n;
}

/* Feed and poll until 'want' key pairs came out (at most 'frames' frames); returns the count. */
static unsigned run_until_keys(struct pair *p, unsigned keys, unsigned want, int frames,
			       unsigned *mismatch)
{
	for (int f = 0; f < frames && keys < want; f++) {
		feed_frame(p);
		poll_all(p);
		poll_all(p);
		keys += keys_match(p, mismatch);
	}
	return keys;
}

static void report(struct pair *p, int i, struct dp_link_report *r)
{
	CU_ASSERT_EQUAL_FATAL(dp_node_link_report(p->node[i], LINK, r), 0);
}

static bool qd_hdr_of(struct rte_mbuf *m, struct dp_qd_hdr *h)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t len = rte_pktmbuf_data_len(m);
	return len > DP_ETH_HDR_LEN &&
	       dp_qd_parse(p + DP_ETH_HDR_LEN, len - DP_ETH_HDR_LEN, h) == DP_ERR_OK;
}

/* The first whole sift message of at least min_frags frames among ms: its frames [first, +cnt). */
static bool find_message(struct rte_mbuf **ms, unsigned n, unsigned min_frags, unsigned *first,
			 unsigned *cnt)
{
	for (unsigned i = 0; i < n; i++) {
		struct dp_qd_hdr h;
		if (!qd_hdr_of(ms[i], &h) || h.channel != DP_QD_CH_SIFT || h.frag_idx != 0 ||
		    h.frag_cnt < min_frags || i + h.frag_cnt > n)
			continue;
		*first = i;
		*cnt = h.frag_cnt;
		return true;
	}
	return false;
}

/* Bob's frames on their way to Alice: poll Bob's RX and TX (feeding both modules) and take every
 * frame off the wire until they hold a whole sift message of at least min_frags frames (Bob's
 * TX is drained each time, so no message is cut off). */
static unsigned take_bob_frames(struct pair *p, struct rte_mbuf **ms, unsigned max,
				unsigned min_frags)
{
	unsigned n = 0, first, cnt;
	for (int i = 0; i < 2000 && n < max / 2; i++) {
		dp_node_poll_rx(p->node[1]);
		for (int k = 0; k < 64; k++)
			dp_node_poll_tx(p->node[1]);
		while (n < max && rte_ring_dequeue(p->qd[1], (void **)&ms[n]) == 0)
			n++;
		if (find_message(ms, n, min_frags, &first, &cnt))
			break;
		feed_frame(p);
	}
	return n;
}

static void deliver(struct rte_ring *r, struct rte_mbuf **ms, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_EQUAL(rte_ring_enqueue(r, ms[i]), 0);
}

static uint32_t g_block_bits = 262144;

static void debug_dump(struct pair *p)
{
	for (int i = 0; i < 2; i++) {
		struct dp_link_report r;
		dp_node_link_report(p->node[i], LINK, &r);
		printf("\nnode %d: frames %lu events %lu sifted %lu test %lu filled %lu done %lu failed %lu aborted %lu secret %lu authf %lu ref %lu\n",
		       i, r.frames, r.events, r.sifted_bits, r.test_bits, r.blocks_filled, r.blocks_done,
		       r.blocks_failed, r.blocks_aborted, r.secret_bits, r.auth_failures, p->ref_blocks);
		struct dp_lcore_stats s;
		dp_node_lcore_stats(p->node[i], -1, &s);
		printf("  rx %lu tx %lu\n", s.rx_pkts, s.tx_pkts);
		for (int e = 1; e < DP_ERR__COUNT; e++)
			if (s.errors[e])
				printf("  %s %lu\n", dp_err_name(e), s.errors[e]);
	}
}

static void test_pair_distils_identical_keys(void)
{
	static struct pair p;
	pair_setup(&p, g_block_bits, 2000);
	unsigned keys = 0, mismatch = 0;
	keys = run_until_keys(&p, keys, 4, 100000, &mismatch);
	settle(&p);
	keys += keys_match(&p, &mismatch);
	if (getenv("DP_DEBUG"))
		debug_dump(&p);
	CU_ASSERT(keys >= 4);
	CU_ASSERT_EQUAL(mismatch, 0);
	struct dp_link_report ra, rb;
	report(&p, 0, &ra);
	report(&p, 1, &rb);
	/* Block boundaries equal the reference sifting of the very same events. */
	CU_ASSERT_EQUAL(ra.blocks_filled, p.ref_blocks);
	CU_ASSERT_EQUAL(rb.blocks_filled, p.ref_blocks);
	CU_ASSERT_EQUAL(ra.auth_failures, 0);
	CU_ASSERT_EQUAL(rb.auth_failures, 0);
	CU_ASSERT_EQUAL(ra.blocks_aborted + ra.blocks_failed, 0);
	CU_ASSERT_EQUAL(ra.blocks_done, rb.blocks_done);
	CU_ASSERT(ra.blocks_done >= 4);
	struct dp_lcore_stats s;
	dp_node_lcore_stats(p.node[1], -1, &s);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_QD_AUTH], 0);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_QD_GAP], 0);
	/* The key-basis QBER the pipeline found matches the model's analytic value. */
	struct dst_link_params lp;
	struct dst_link_expect ex;
	link_params(&lp);
	CU_ASSERT_EQUAL_FATAL(dst_link_expect(&lp, &ex), 0);
	double num = 0, den = 0;
	for (unsigned k = 0; k < lp.n_classes; k++) {
		num += lp.p_mu[k] * ex.err[k];
		den += lp.p_mu[k] * ex.gain[k];
	}
	double expect = num / den, got = (double)ra.qber_errors / (double)ra.qber_bits;
	CU_ASSERT(ra.qber_bits > 900000);
	CU_ASSERT(fabs(got - expect) < 0.1 * expect);
	CU_ASSERT(ra.secret_bits > 0 && ra.secret_bits == rb.secret_bits);
	pair_teardown(&p);
}

/* The transmitter module reporting only some slots (sparse frames): the slots it left out are
 * unknown to Alice's node and never match, the rest sift as before. The link uses 8-byte short
 * tags: each end spends 96 + 8 per BLOCK message of pad per block. */
static void test_sparse_transmitter_frames(void)
{
	static struct pair p;
	g_alice_dense = false;
	g_tag_len = 8;
	pair_setup(&p, g_block_bits, 2000);
	g_alice_dense = true;
	g_tag_len = 0;
	unsigned keys = 0, mismatch = 0;
	keys = run_until_keys(&p, keys, 2, 100000, &mismatch);
	settle(&p);
	keys += keys_match(&p, &mismatch);
	CU_ASSERT(keys >= 2);
	CU_ASSERT_EQUAL(mismatch, 0);
	struct dp_link_report ra, rb;
	report(&p, 0, &ra);
	report(&p, 1, &rb);
	CU_ASSERT_EQUAL(ra.blocks_filled, p.ref_blocks);
	CU_ASSERT_EQUAL(rb.blocks_filled, p.ref_blocks);
	struct dp_lcore_stats s;
	dp_node_lcore_stats(p.node[0], 0, &s);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_SIFT_LATE], 0);
	/* settled: every filled block finished on both ends, so the pads add up exactly */
	CU_ASSERT_EQUAL(ra.blocks_done, ra.blocks_filled);
	CU_ASSERT(ra.block_msgs > 4 * ra.blocks_done);
	CU_ASSERT_EQUAL(ra.block_msgs, rb.block_msgs);
	CU_ASSERT_EQUAL(ra.auth_bytes_used - ra.auth_bytes_sift, 96 * ra.blocks_done + 8 * ra.block_msgs);
	CU_ASSERT_EQUAL(rb.auth_bytes_used - rb.auth_bytes_sift, 96 * rb.blocks_done + 8 * rb.block_msgs);
	pair_teardown(&p);
}

/* Announcements smaller than one event frame's detections: each frame is split over several
 * (Bob's general path) and the first block still equals the reference sifting on both ends. */
static void test_small_announcements(void)
{
	static struct pair p;
	g_announce_max = 256; /* a frame carries about 420 detections */
	pair_setup(&p, g_block_bits, 2000);
	g_announce_max = 0;
	for (int f = 0; f < 100000 && p.ref_blocks < 1; f++) {
		feed_frame(&p);
		poll_all(&p);
		poll_all(&p);
	}
	settle(&p);
	struct dp_link_report ra, rb;
	report(&p, 0, &ra);
	report(&p, 1, &rb);
	CU_ASSERT(p.ref_blocks >= 1);
	CU_ASSERT_EQUAL(ra.blocks_filled, p.ref_blocks);
	CU_ASSERT_EQUAL(rb.blocks_filled, p.ref_blocks);
	CU_ASSERT_EQUAL(ra.sifted_bits, rb.sifted_bits);
	struct dp_lcore_stats s;
	dp_node_lcore_stats(p.node[1], -1, &s);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_SIFT_OVERFLOW], 0);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_QD_GAP], 0);
	pair_teardown(&p);
}

static uint64_t auth_empty(struct pair *p)
{
	uint64_t n = 0;
	for (int i = 0; i < 2; i++) {
		struct dp_lcore_stats s;
		dp_node_lcore_stats(p->node[i], -1, &s);
		n += s.errors[DP_ERR_AUTH_EMPTY];
	}
	return n;
}

/* A link that starts with little pad (2 KiB per stream) keeps distilling when each block refills
 * what it spent (auth_refill_auto): both nodes take the same amount (their keys stay equal), what
 * was taken covers what was used, and once the first refills are in (the sift channel runs blocks
 * ahead of distillation, so early messages may wait for them) no message waits for pad again.
 * The same link with a fixed refill below its use runs out of pad and stalls for good
 * (AUTH_EMPTY): the case the automatic refill is for. */
static void test_auto_refill_keeps_link_running(void)
{
	for (int fixed = 0; fixed < 2; fixed++) {
		static struct pair p;
		g_psk_len = 64 + 4 * 2048;
		g_refill_auto = !fixed;
		g_refill = fixed ? 256 : 0;
		pair_setup(&p, g_block_bits, 2000);
		g_psk_len = 0;
		g_refill_auto = false;
		g_refill = 4096;
		unsigned mismatch = 0, keys = run_until_keys(&p, 0, 6, fixed ? 6000 : 100000, &mismatch);
		uint64_t early = auth_empty(&p);
		keys = run_until_keys(&p, keys, 16, fixed ? 6000 : 100000, &mismatch);
		settle(&p);
		keys += keys_match(&p, &mismatch);
		struct dp_link_report ra, rb;
		report(&p, 0, &ra);
		report(&p, 1, &rb);
		CU_ASSERT_EQUAL(mismatch, 0);
		if (!fixed) {
			CU_ASSERT(keys >= 16);
			CU_ASSERT_EQUAL(auth_empty(&p), early);
			CU_ASSERT_EQUAL(ra.auth_refill_bytes, rb.auth_refill_bytes);
			/* what was spent past the pre-shared pads came back from the keys */
			CU_ASSERT(ra.auth_refill_bytes + 4 * 2048 >= ra.auth_bytes_used);
			CU_ASSERT(ra.auth_refill_bytes > 0);
		} else {
			CU_ASSERT(auth_empty(&p) > 0);
			CU_ASSERT(keys < 6);
		}
		pair_teardown(&p);
	}
}

static void test_tampered_message_aborts_block(void)
{
	static struct pair p;
	pair_setup(&p, g_block_bits, 30);
	unsigned keys = 0, mismatch = 0;
	/* Corrupt Alice's first distill-channel message: a payload bit after sealing. */
	dp_node_test_corrupt_tx(p.node[0], LINK, 1, 8 * (DP_QD_HDR_LEN + 6) + 3);
	struct dp_link_report ra, rb;
	for (int f = 0; f < 100000; f++) {
		feed_frame(&p);
		poll_all(&p);
		poll_all(&p);
		keys += keys_match(&p, &mismatch);
		report(&p, 0, &ra);
		report(&p, 1, &rb);
		if (keys >= 3 && ra.blocks_aborted && rb.blocks_aborted)
			break;
	}
	settle(&p);
	keys += keys_match(&p, &mismatch);
	report(&p, 0, &ra);
	report(&p, 1, &rb);
	CU_ASSERT_EQUAL(rb.auth_failures, 1);
	CU_ASSERT(ra.blocks_aborted >= 1);
	CU_ASSERT(rb.blocks_aborted >= 1);
	CU_ASSERT(keys >= 3);
	CU_ASSERT_EQUAL(mismatch, 0);
	/* Every filled block either produced the same key on both ends or was abandoned by both. */
	CU_ASSERT_EQUAL(ra.blocks_done, rb.blocks_done);
	struct dp_lcore_stats s;
	dp_node_lcore_stats(p.node[1], -1, &s);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_QD_AUTH], 1);
	pair_teardown(&p);
}

/* An attacker who broke a short tag: Alice's PA message (her last of the block) reaches Bob with a
 * flipped Toeplitz-seed bit, its pipeline CRC fixed and a valid short tag. Bob uses it (his
 * engine finishes with a key that differs from Alice's), but the transcript tags in the COMMITs
 * differ: both ends abort that block, neither keeps a key, and later blocks agree. */
static void test_forged_short_tag_aborts_at_commit(void)
{
	static struct pair p;
	pair_setup(&p, g_block_bits, 2000);
	unsigned keys = 0, mismatch = 0;
	keys = run_until_keys(&p, keys, 1, 100000, &mismatch);
	CU_ASSERT_EQUAL_FATAL(keys, 1);
	struct dp_link_report ra, rb;
	report(&p, 0, &ra);
	uint64_t done_before = ra.blocks_done;
	/* PA body: 48 bytes of lengths and report-only figures, then the Toeplitz seed of n + l - 1
	 * bits; its bit n - 1 (n = block_bits reconciled bits) enters every key bit */
	dp_node_test_forge_tx(p.node[0], LINK, 1, 0x45, 8 * 48 + g_block_bits - 1);
	for (int f = 0; f < 100000 && keys < 3; f++) {
		feed_frame(&p);
		poll_all(&p);
		poll_all(&p);
		keys += keys_match(&p, &mismatch);
	}
	settle(&p);
	keys += keys_match(&p, &mismatch);
	report(&p, 0, &ra);
	report(&p, 1, &rb);
	if (getenv("DP_DEBUG"))
		debug_dump(&p);
	CU_ASSERT(keys >= 3);
	CU_ASSERT_EQUAL(mismatch, 0);
	/* the forged message passed its short tag: no authentication failure, and was used */
	CU_ASSERT_EQUAL(ra.auth_failures + rb.auth_failures, 0);
	CU_ASSERT_EQUAL(ra.transcript_failures, 1);
	CU_ASSERT_EQUAL(rb.transcript_failures, 1);
	CU_ASSERT_EQUAL(ra.blocks_aborted, 1);
	CU_ASSERT_EQUAL(rb.blocks_aborted, 1);
	CU_ASSERT_EQUAL(ra.blocks_failed + rb.blocks_failed, 0);
	/* the block made no key on either end: every key delivered came in matching pairs */
	CU_ASSERT_EQUAL(ra.blocks_done, rb.blocks_done);
	CU_ASSERT_EQUAL(ra.blocks_done, done_before + keys - 1);
	struct dp_lcore_stats s;
	dp_node_lcore_stats(p.node[1], -1, &s);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_BLOCK_TRANSCRIPT], 1);
	CU_ASSERT_EQUAL(rte_ring_count(dp_node_key_ring(p.node[0], 0)), 0);
	CU_ASSERT_EQUAL(rte_ring_count(dp_node_key_ring(p.node[1], 0)), 0);
	pair_teardown(&p);
}

static void test_bad_input_counted(void)
{
	static struct pair p;
	pair_setup(&p, g_block_bits, 2000);
	for (int f = 0; f < 20; f++) {
		feed_frame(&p);
		poll_all(&p);
	}
	uint8_t f[64];
	struct dp_evf_hdr h = {.flags = DP_EVF_FLAG_DENSE, .link_id = LINK, .seq = 3, .first_slot = 1,
			       .count = 8};
	uint8_t syms[8] = {0};
	int len = dp_evf_build_dense(f, sizeof(f), &h, syms);
	CU_ASSERT_FATAL(len > 0);
	inject(p.module[0], f, (size_t)len, DP_ETHERTYPE_EVENTS);        /* seq 3: old */
	inject(p.module[0], f, 10, DP_ETHERTYPE_EVENTS);                  /* truncated */
	f[0] = 9;
	inject(p.module[0], f, (size_t)len, DP_ETHERTYPE_EVENTS);        /* version */
	f[0] = 1;
	f[2] = 99;
	inject(p.module[0], f, (size_t)len, DP_ETHERTYPE_EVENTS);        /* unknown link */
	f[2] = LINK;
	f[1] = DP_EVF_FLAG_RX_SIDE | DP_EVF_FLAG_DENSE;
	inject(p.module[0], f, (size_t)len, DP_ETHERTYPE_EVENTS);        /* Bob's side at Alice */
	inject(p.module[0], f, (size_t)len, 0x0800);                      /* IPv4 */
	/* a keyed BLOCK (its key is the pad's) with a 4-byte tag that does not verify */
	uint8_t q[64] = {DP_QD_VERSION, DP_QD_BLOCK, LINK, 0, 4 | DP_QD_TAG_KEYED, DP_ROLE_ALICE};
	q[30] = 1;                                                        /* BLOCK, bad tag */
	inject(p.qd[0], q, sizeof(q), DP_ETHERTYPE_QDIST);
	poll_all(&p);
	struct dp_lcore_stats s;
	dp_node_lcore_stats(p.node[0], 0, &s);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_EVF_SEQ_OLD], 1);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_EVF_SHORT], 1);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_EVF_VERSION], 1);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_EVF_LINK], 1);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_EVF_SIDE], 1);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_ETH_TYPE], 1);
	settle(&p);
	dp_node_lcore_stats(p.node[1], -1, &s);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_QD_AUTH], 1);

	/* Replay: copy one of Bob's sift messages (all its frames) on its way to Alice and deliver
	 * it twice. */
	struct rte_mbuf *ms[1024];
	unsigned nf = take_bob_frames(&p, ms, 1024, 1), first = 0, cnt = 0;
	CU_ASSERT_FATAL(find_message(ms, nf, 1, &first, &cnt));
	struct rte_mbuf *copies[1024];
	for (unsigned i = 0; i < cnt; i++) {
		copies[i] = rte_pktmbuf_copy(ms[first + i], tpool, 0, UINT32_MAX);
		CU_ASSERT_PTR_NOT_NULL_FATAL(copies[i]);
	}
	deliver(p.qd[1], ms, nf);
	dp_node_poll_rx(p.node[0]);
	deliver(p.qd[1], copies, cnt);
	settle(&p);
	dp_node_lcore_stats(p.node[0], -1, &s);
	if (getenv("DP_DEBUG"))
		debug_dump(&p);
	CU_ASSERT_EQUAL(s.errors[DP_ERR_QD_REPLAY], 1);

	/* The link keeps working: keys still come out identical. */
	unsigned keys = 0, mismatch = 0;
	keys = run_until_keys(&p, keys, 2, 100000, &mismatch);
	CU_ASSERT(keys >= 2);
	CU_ASSERT_EQUAL(mismatch, 0);
	pair_teardown(&p);
}

/* Multi-frame sift messages over net_ring at MTU 1500: a lost, duplicated or reordered fragment
 * drops the whole message (counted), a tampered one fails its single tag; nothing of them is used
 * (keys stay identical, the nodes stay aligned). */
static void test_multi_frame_faults(void)
{
	static struct pair p;
	/* Full announcements of 2048 detections take 3 frames (4 KiB at MTU 1500). */
	g_mtu = 1500;
	g_announce_max = 2048;
	pair_setup(&p, g_block_bits, 2000);
	g_mtu = 0;
	g_announce_max = 0;
	for (int f = 0; f < 20; f++) {
		feed_frame(&p);
		poll_all(&p);
	}
	settle(&p);
	struct dp_lcore_stats s;
	dp_node_lcore_stats(p.node[0], -1, &s);
	uint64_t dropped = s.errors[DP_ERR_QD_MSG_DROPPED], auth = s.errors[DP_ERR_QD_AUTH];
	CU_ASSERT_EQUAL(dropped, 0);
	for (int fault = 0; fault < 4; fault++) {
		struct rte_mbuf *ms[1024 + 1];
		unsigned n = take_bob_frames(&p, ms, 1024, 3), first = 0, cnt = 0;
		CU_ASSERT_FATAL(find_message(ms, n, 3, &first, &cnt));
		unsigned k = first + 1;
		if (fault == 0) { /* lost */
			rte_pktmbuf_free(ms[k]);
			memmove(ms + k, ms + k + 1, (n - k - 1) * sizeof(ms[0]));
			n--;
		} else if (fault == 1) { /* duplicated */
			memmove(ms + k + 1, ms + k, (n - k) * sizeof(ms[0]));
			ms[k + 1] = rte_pktmbuf_copy(ms[k], tpool, 0, UINT32_MAX);
			CU_ASSERT_PTR_NOT_NULL_FATAL(ms[k + 1]);
			n++;
		} else if (fault == 2) { /* reordered */
			struct rte_mbuf *t = ms[k];
			ms[k] = ms[k + 1];
			ms[k + 1] = t;
		} else { /* a payload bit flipped in a fragment without the tag */
			rte_pktmbuf_mtod(ms[k], uint8_t *)[DP_ETH_HDR_LEN + DP_QD_HDR_LEN + 10] ^= 4;
		}
		deliver(p.qd[1], ms, n);
		settle(&p);
		dp_node_lcore_stats(p.node[0], -1, &s);
		CU_ASSERT_EQUAL(s.errors[DP_ERR_QD_MSG_DROPPED], dropped + (fault < 3));
		CU_ASSERT_EQUAL(s.errors[DP_ERR_QD_AUTH], auth + (fault == 3));
		dropped = s.errors[DP_ERR_QD_MSG_DROPPED];
		auth = s.errors[DP_ERR_QD_AUTH];
	}
	CU_ASSERT(s.errors[DP_ERR_QD_FRAG] >= 3);
	unsigned keys = 0, mismatch = 0;
	keys = run_until_keys(&p, keys, 1, 100000, &mismatch);
	CU_ASSERT(keys >= 1);
	CU_ASSERT_EQUAL(mismatch, 0);
	struct dp_link_report ra;
	report(&p, 0, &ra);
	CU_ASSERT_EQUAL(ra.auth_failures, 1);
	if (getenv("DP_DEBUG"))
		debug_dump(&p);
	pair_teardown(&p);
}

/* The Qdist wires seen by pump(): distill-channel messages and frames per direction, and a fault
 * for the next distill message of two or more frames from Alice to Bob. */
enum wire_fault { WIRE_OK, WIRE_LOSE, WIRE_REORDER };
struct wire {
	uint64_t msgs[2], frames[2];
	uint64_t blk[2], keyed[2], commits[2]; /* BLOCK messages, keyed ones, COMMITs */
	enum wire_fault fault;
	unsigned faulted;
	struct rte_mbuf *stash; /* WIRE_REORDER: fragment 0, sent after fragment 1 */
};

/* Move the frames each node sent (tap) onto the wire to its peer (qd), in order, counting and
 * applying w->fault. */
static unsigned pump(struct pair *p, struct wire *w)
{
	unsigned moved = 0;
	for (int d = 0; d < 2; d++) {
		struct rte_mbuf *ms[512], *out[513];
		unsigned room = rte_ring_free_count(p->qd[d]);
		unsigned n = rte_ring_dequeue_burst(p->tap[d], (void **)ms,
						    room < 512 ? room - 1 : 512, NULL);
		unsigned k = 0;
		for (unsigned i = 0; i < n; i++) {
			struct dp_qd_hdr h;
			bool distill = qd_hdr_of(ms[i], &h) && h.channel == DP_QD_CH_DISTILL;
			if (distill) {
				w->frames[d]++;
				w->msgs[d] += h.frag_idx == 0;
				w->blk[d] += h.frag_idx == 0 && h.type == DP_QD_BLOCK;
				w->keyed[d] += h.frag_idx == 0 && h.type == DP_QD_BLOCK &&
					       (h.tag & DP_QD_TAG_KEYED);
				w->commits[d] += h.frag_idx == 0 && h.type == DP_QD_COMMIT;
			}
			bool target = distill && d == 0 && w->fault != WIRE_OK && h.frag_cnt >= 2;
			if (target && w->fault == WIRE_LOSE && h.frag_idx == 1) {
				rte_pktmbuf_free(ms[i]);
				w->fault = WIRE_OK;
				w->faulted++;
				continue;
			}
			if (target && w->fault == WIRE_REORDER && h.frag_idx == 0) {
				w->stash = ms[i];
				continue;
			}
			out[k++] = ms[i];
			if (target && w->fault == WIRE_REORDER && h.frag_idx == 1 && w->stash) {
				out[k++] = w->stash;
				w->stash = NULL;
				w->fault = WIRE_OK;
				w->faulted++;
			}
		}
		deliver(p->qd[d], out, k);
		moved += n;
	}
	return moved;
}

static unsigned poll_wire(struct pair *p, struct wire *w)
{
	unsigned work = poll_node(p->node[0], NULL) + pump(p, w);
	return work + poll_node(p->node[1], NULL) + pump(p, w);
}

struct wired {
	struct pair *p;
	struct wire *w;
};

static unsigned poll_wired(void *ctx)
{
	struct wired *pw = ctx;
	return poll_wire(pw->p, pw->w);
}

/* Feed and poll until 'want' more key pairs and then nothing moves for 5 ms. */
static unsigned run_wire(struct pair *p, struct wire *w, unsigned want, unsigned *mismatch)
{
	unsigned keys = 0;
	for (int f = 0; f < 200000 && (keys < want || w->fault != WIRE_OK); f++) {
		feed_frame(p);
		poll_wire(p, w);
		poll_wire(p, w);
		keys += keys_match(p, mismatch);
	}
	struct wired pw = {p, w};
	poll_until_quiet(poll_wired, &pw);
	return keys + keys_match(p, mismatch);
}

/* Distillation messages at MTU 1500: a message spanning frames costs one pad, and a block costs
 * the documented pad bytes on each end (docs/protocol.md): 2 x (16 block key + 32 COMMIT) + 4 per
 * BLOCK message sent or received. A lost or reordered fragment of a message drops it (counted),
 * its block is abandoned by both ends and later keys agree. */
static void test_distill_multi_frame(void)
{
	static struct pair p;
	g_mtu = 1500;
	g_tap = true;
	pair_setup(&p, g_block_bits, 200);
	g_mtu = 0;
	g_tap = false;
	struct wire w = {0};
	unsigned mismatch = 0;
	unsigned keys = run_wire(&p, &w, 2, &mismatch);
	CU_ASSERT(keys >= 2);
	CU_ASSERT_EQUAL(mismatch, 0);
	struct dp_link_report ra, rb;
	report(&p, 0, &ra);
	report(&p, 1, &rb);
	if (getenv("DP_DEBUG"))
		printf("\ndistill msgs %lu+%lu frames %lu+%lu\n", w.msgs[0], w.msgs[1], w.frames[0],
		       w.frames[1]);
	/* Some messages spanned frames, yet each end spent one pad per message sent or received:
	 * per block and direction one keyed BLOCK message and one COMMIT, the rest short tags. */
	CU_ASSERT(w.frames[0] + w.frames[1] > w.msgs[0] + w.msgs[1]);
	CU_ASSERT_EQUAL(ra.blocks_aborted + ra.blocks_failed, 0);
	for (int d = 0; d < 2; d++) {
		CU_ASSERT_EQUAL(w.keyed[d], ra.blocks_done);
		CU_ASSERT_EQUAL(w.commits[d], ra.blocks_done);
		CU_ASSERT_EQUAL(w.msgs[d], w.blk[d] + w.commits[d]);
	}
	uint64_t pads = 96 * ra.blocks_done + 4 * (w.blk[0] + w.blk[1]);
	CU_ASSERT_EQUAL(ra.auth_bytes_used - ra.auth_bytes_sift, pads);
	CU_ASSERT_EQUAL(rb.auth_bytes_used - rb.auth_bytes_sift, pads);
	CU_ASSERT_EQUAL(ra.block_msgs, w.blk[0] + w.blk[1]);
	CU_ASSERT_EQUAL(rb.block_msgs, w.blk[0] + w.blk[1]);

	for (int fault = WIRE_LOSE; fault <= WIRE_REORDER; fault++) {
		struct dp_lcore_stats s;
		dp_node_lcore_stats(p.node[1], -1, &s);
		uint64_t dropped = s.errors[DP_ERR_QD_MSG_DROPPED];
		uint64_t aborted_a = ra.blocks_aborted + ra.blocks_failed;
		uint64_t aborted_b = rb.blocks_aborted + rb.blocks_failed;
		w.fault = (enum wire_fault)fault;
		keys = run_wire(&p, &w, 1, &mismatch);
		CU_ASSERT_EQUAL(w.faulted, (unsigned)fault);
		CU_ASSERT(keys >= 1);
		CU_ASSERT_EQUAL(mismatch, 0);
		dp_node_lcore_stats(p.node[1], -1, &s);
		CU_ASSERT_EQUAL(s.errors[DP_ERR_QD_MSG_DROPPED], dropped + 1);
		report(&p, 0, &ra);
		report(&p, 1, &rb);
		CU_ASSERT(ra.blocks_aborted + ra.blocks_failed > aborted_a);
		CU_ASSERT(rb.blocks_aborted + rb.blocks_failed > aborted_b);
		CU_ASSERT_EQUAL(ra.blocks_done, rb.blocks_done);
		CU_ASSERT_EQUAL(ra.auth_failures + rb.auth_failures, 0);
	}
	if (getenv("DP_DEBUG"))
		debug_dump(&p);
	pair_teardown(&p);
}

static void test_peer_silent_mid_block(void)
{
	static struct pair p;
	pair_setup(&p, g_block_bits, 20);
	unsigned keys = 0, mismatch = 0;
	keys = run_until_keys(&p, keys, 1, 100000, &mismatch);
	CU_ASSERT_FATAL(keys >= 1);
	/* Bob stops the moment Alice has a block in flight (filled, not yet done). */
	struct dp_link_report ra, rb;
	for (int f = 0; f < 100000; f++) {
		feed_frame(&p);
		poll_node(p.node[0], NULL);
		report(&p, 0, &ra);
		if (ra.blocks_filled > ra.blocks_done + ra.blocks_aborted + ra.blocks_failed)
			break;
		poll_node(p.node[1], NULL);
	}
	bob_on = false;
	uint64_t done_before = ra.blocks_done;
	unsigned ring_before = rte_ring_count(dp_node_key_ring(p.node[0], 0));
	uint64_t t0 = g_poll_tsc; /* ten block timeouts of poll time */
	while (g_poll_tsc - t0 < rte_get_tsc_hz() / 5)
		poll_all(&p);
	report(&p, 0, &ra);
	if (getenv("DP_DEBUG"))
		debug_dump(&p);
	CU_ASSERT(ra.blocks_aborted >= 1);
	CU_ASSERT_EQUAL(ra.blocks_done, done_before);
	CU_ASSERT_EQUAL(rte_ring_count(dp_node_key_ring(p.node[0], 0)), ring_before);
	bob_on = true;
	/* Bob comes back: the stale block is abandoned on his side too, later keys agree. */
	drain_keys(p.node[0]);
	drain_keys(p.node[1]);
	report(&p, 1, &rb);
	keys = 0;
	keys = run_until_keys(&p, keys, 2, 200000, &mismatch);
	CU_ASSERT(keys >= 2);
	CU_ASSERT_EQUAL(mismatch, 0);
	pair_teardown(&p);
}

/* The per-worker command rings: PING answers with the worker's poll count, ZEROIZE abandons the
 * block in progress (the peer is told; nothing reaches a key ring). */
static void test_worker_commands(void)
{
	static struct pair p;
	pair_setup(&p, g_block_bits, 2000);
	struct dp_cmd ping = {.op = DP_CMD_PING};
	struct dp_cmd_resp r;
	CU_ASSERT_EQUAL(dp_node_worker_cmd(p.node[0], 0, &ping, &r), 0);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT(r.value >= 1);
	CU_ASSERT_EQUAL(dp_node_worker_cmd(p.node[0], 5, &ping, &r), -EINVAL);
	struct dp_link_report ra;
	for (int f = 0; f < 100000; f++) {
		feed_frame(&p);
		poll_node(p.node[0], NULL);
		report(&p, 0, &ra);
		if (ra.blocks_filled > ra.blocks_done + ra.blocks_aborted + ra.blocks_failed)
			break;
		poll_node(p.node[1], NULL);
	}
	unsigned ring_before = rte_ring_count(dp_node_key_ring(p.node[0], 0));
	struct dp_cmd z = {.op = DP_CMD_ZEROIZE};
	CU_ASSERT_EQUAL(dp_node_worker_cmd(p.node[0], 0, &z, &r), 0);
	CU_ASSERT_EQUAL(r.value, 1); /* one block was in progress */
	report(&p, 0, &ra);
	CU_ASSERT_EQUAL(ra.blocks_aborted, 1);
	CU_ASSERT_EQUAL(rte_ring_count(dp_node_key_ring(p.node[0], 0)), ring_before);
	struct dp_cmd bad = {.op = (enum dp_cmd_op)99};
	CU_ASSERT_EQUAL(dp_node_worker_cmd(p.node[0], 0, &bad, &r), 0);
	CU_ASSERT_EQUAL(r.rc, -EINVAL);
	pair_teardown(&p);
}

static void test_link_remove(void)
{
	static struct pair p;
	pair_setup(&p, g_block_bits, 2000);
	for (int f = 0; f < 10; f++) {
		feed_frame(&p);
		poll_all(&p);
	}
	CU_ASSERT_EQUAL(dp_node_link_remove(p.node[0], LINK), 0);
	CU_ASSERT_EQUAL(dp_node_link_remove(p.node[0], LINK), -ENOENT);
	struct dp_link_report r;
	CU_ASSERT_EQUAL(dp_node_link_report(p.node[0], LINK, &r), -ENOENT);
	feed_frame(&p);
	poll_all(&p);
	struct dp_lcore_stats s;
	dp_node_lcore_stats(p.node[0], 0, &s);
	CU_ASSERT(s.errors[DP_ERR_EVF_LINK] >= 1);
	/* Bad link configurations are refused with a reason. */
	struct dp_link_cfg lc = {.link_id = 9, .role = DP_ROLE_ALICE, .block_bits = 100,
				 .psk = p.psk, .psk_len = sizeof(p.psk)};
	const char *why = NULL;
	CU_ASSERT_EQUAL(dp_node_link_add(p.node[0], &lc, &why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(why);
	lc.block_bits = 8192;
	lc.psk_len = 10;
	CU_ASSERT_EQUAL(dp_node_link_add(p.node[0], &lc, &why), -EINVAL);
	/* an LDPC code family that cannot be loaded: refused, saying so, and no link appears */
	lc.psk_len = sizeof(p.psk);
	lc.rec_method = DST_REC_LDPC;
	lc.ldpc_codes = "/nonexistent/ldpc-codes";
	why = NULL;
	CU_ASSERT_NOT_EQUAL(dp_node_link_add(p.node[0], &lc, &why), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "LDPC code family"));
	CU_ASSERT_EQUAL(dp_node_link_report(p.node[0], 9, &r), -ENOENT);
	pair_teardown(&p);
}

static int suite_init(void)
{
	struct dp_eal_args a;
	char prefix[64]; /* per process: two checkouts may run this test at once */
	snprintf(prefix, sizeof(prefix), "test_node_ring_%d", (int)getpid());
	if (dp_eal_args_init(&a, "test_node_ring", prefix, "0", 512, true))
		return -1;
	if (rte_eal_init(a.argc, a.argv) < 0)
		return -1;
	tpool = rte_pktmbuf_pool_create("t_pool", 16383, 256, 0, RTE_PKTMBUF_HEADROOM + 9216,
					SOCKET_ID_ANY);
	return tpool ? 0 : -1;
}

static int suite_clean(void)
{
	rte_mempool_free(tpool);
	rte_eal_cleanup();
	return 0;
}

static CU_TestInfo tests[] = {
	{"ring pair distils identical keys", test_pair_distils_identical_keys},
	{"sparse transmitter frames", test_sparse_transmitter_frames},
	{"announcements smaller than a frame: blocks equal the reference", test_small_announcements},
	{"automatic auth refill keeps a link with little pad running", test_auto_refill_keeps_link_running},
	{"tampered Qdist message aborts the block", test_tampered_message_aborts_block},
	{"forged message with a valid short tag aborts at COMMIT", test_forged_short_tag_aborts_at_commit},
	{"bad, replayed and stale input is counted", test_bad_input_counted},
	{"multi-frame sift messages: faulty fragments drop the message", test_multi_frame_faults},
	{"multi-frame distill messages: one pad each, faulty fragments", test_distill_multi_frame},
	{"peer silent mid-block: block times out", test_peer_silent_mid_block},
	{"worker command rings", test_worker_commands},
	{"link removal through RCU", test_link_remove},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"node_ring", suite_init, suite_clean, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
