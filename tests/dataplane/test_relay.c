/* Relay workers over net_ring ports: several simulated KMs in one process, each with its own key
 * store, km_relay and dp_relay worker; adjacent KMs joined by a ring port pair and holding the
 * same link key stream. The workers are polled round-robin until the origin reports. */
#include <errno.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <stdio.h>
#include <unistd.h>

#include "../kmcore/store_util.h"
#include "dp_eal.h"
#include "dp_relay.h"

#define MAXN 5
#define LINK_KEYS 64
#define LINK_KEY_BYTES 1024

static struct rte_mempool *pool;
static volatile bool quit_flag; /* stops workers launched with dp_relay_lcore_main */
static bool resolve_mode;       /* net_up: workers report overdue relays instead of expiring */

struct node {
	char dir[256];
	struct km_store *st;
	struct dp_relay_worker *w;
	struct rte_ring *req, *ev;
	uint16_t ports[2];
	unsigned nports;
};

struct net {
	int n;
	struct node nd[MAXN];
	struct rte_ring *rings[2 * MAXN];
	unsigned nrings;
};

static int suite_init(void)
{
	struct dp_eal_args a;
	char prefix[64]; /* per process: two checkouts may run this test at once */
	snprintf(prefix, sizeof(prefix), "test_relay_%d", (int)getpid());
	if (dp_eal_args_init(&a, "test_relay", prefix, "0-1", 256, true))
		return -1;
	if (rte_eal_init(a.argc, a.argv) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("relay_pool", 2047, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	return pool ? 0 : -1;
}

static int suite_clean(void)
{
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 0;
}

static km_pool_id link_pool(int i)
{
	return KM_POOL_LINK(200 + i);
}

static uint32_t node_id(int i)
{
	return 30u + (uint32_t)i;
}

static int port_up(uint16_t port)
{
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) || rte_eth_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, NULL, pool) ||
	    rte_eth_tx_queue_setup(port, 0, 256, SOCKET_ID_ANY, NULL) || rte_eth_dev_start(port))
		return -1;
	return 0;
}

static void net_up(struct net *w, int n, int empty_link, uint64_t ack_timeout_ns)
{
	static int seq;
	memset(w, 0, sizeof(*w));
	w->n = n;
	struct dp_relay_port ports[MAXN][2];
	unsigned np[MAXN] = {0};
	for (int i = 0; i + 1 < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "rl%d_%d_f", seq, i);
		struct rte_ring *f = rte_ring_create(name, 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "rl%d_%d_b", seq, i);
		struct rte_ring *b = rte_ring_create(name, 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		CU_ASSERT_FATAL(f && b);
		w->rings[w->nrings++] = f;
		w->rings[w->nrings++] = b;
		snprintf(name, sizeof(name), "rp%d_%d_a", seq, i);
		int pa = rte_eth_from_rings(name, &b, 1, &f, 1, SOCKET_ID_ANY);
		snprintf(name, sizeof(name), "rp%d_%d_b", seq, i);
		int pb = rte_eth_from_rings(name, &f, 1, &b, 1, SOCKET_ID_ANY);
		CU_ASSERT_FATAL(pa >= 0 && pb >= 0);
		CU_ASSERT_EQUAL_FATAL(port_up((uint16_t)pa), 0);
		CU_ASSERT_EQUAL_FATAL(port_up((uint16_t)pb), 0);
		struct rte_ether_addr ma = {{0x02, 0, 0, 0, (uint8_t)i, 1}}, mb = {{0x02, 0, 0, 0, (uint8_t)i, 2}};
		ports[i][np[i]++] = (struct dp_relay_port){node_id(i + 1), (uint16_t)pa, 0, ma, mb};
		ports[i + 1][np[i + 1]++] = (struct dp_relay_port){node_id(i), (uint16_t)pb, 0, mb, ma};
		w->nd[i].ports[w->nd[i].nports++] = (uint16_t)pa;
		w->nd[i + 1].ports[w->nd[i + 1].nports++] = (uint16_t)pb;
	}
	for (int i = 0; i < n; i++) {
		struct node *d = &w->nd[i];
		su_tmpdir(d->dir, sizeof(d->dir), "dprelay");
		d->st = su_open(d->dir, KM_SYNC_NONE, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d->st);
	}
	for (int i = 0; i + 1 < n; i++) {
		uint32_t keys = i == empty_link ? 0 : LINK_KEYS;
		CU_ASSERT_EQUAL(su_put_stream(w->nd[i].st, link_pool(i), 900 + (uint64_t)i, 0, keys, LINK_KEY_BYTES), 0);
		CU_ASSERT_EQUAL(su_put_stream(w->nd[i + 1].st, link_pool(i), 900 + (uint64_t)i, 0, keys, LINK_KEY_BYTES), 0);
	}
	for (int i = 0; i < n; i++) {
		struct node *d = &w->nd[i];
		struct km_relay_neighbor nb[2];
		unsigned nn = 0;
		if (i > 0)
			nb[nn++] = (struct km_relay_neighbor){node_id(i - 1), link_pool(i - 1)};
		if (i + 1 < n)
			nb[nn++] = (struct km_relay_neighbor){node_id(i + 1), link_pool(i)};
		struct km_relay_config rc = {node_id(i), d->st, nb, nn};
		struct km_relay *r;
		CU_ASSERT_EQUAL_FATAL(km_relay_create(&rc, &r), 0);
		char name[64];
		snprintf(name, sizeof(name), "rq%d_%d", seq, i);
		d->req = rte_ring_create_elem(name, sizeof(struct dp_relay_request), 64, SOCKET_ID_ANY,
					      RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "re%d_%d", seq, i);
		d->ev = rte_ring_create_elem(name, sizeof(struct dp_relay_event), 64, SOCKET_ID_ANY,
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		CU_ASSERT_FATAL(d->req && d->ev);
		struct dp_relay_config cfg = {.relay = r, .requests = d->req, .events = d->ev, .pool = pool,
					      .ports = ports[i], .nports = np[i], .ack_timeout_ns = ack_timeout_ns,
					      .resolve_overdue = resolve_mode, .quit = &quit_flag,
					      .resync_age_ns = 1 /* the test's keys are all fresh */};
		CU_ASSERT_EQUAL_FATAL(dp_relay_worker_create(&cfg, &d->w), 0);
	}
	seq++;
}

static void net_down(struct net *w)
{
	for (int i = 0; i < w->n; i++) {
		struct node *d = &w->nd[i];
		dp_relay_worker_free(d->w);
		km_store_close(d->st);
		su_rmdir(d->dir);
		for (unsigned p = 0; p < d->nports; p++) {
			rte_eth_dev_stop(d->ports[p]);
			rte_eth_dev_close(d->ports[p]);
		}
		rte_ring_free(d->req);
		rte_ring_free(d->ev);
	}
	for (unsigned i = 0; i < w->nrings; i++) {
		struct rte_mbuf *m;
		while (rte_ring_dequeue(w->rings[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(w->rings[i]);
	}
}

/* Poll every node until node 0 emits an event other than STARTED (or give up). */
static int run_until_origin_event(struct net *w, struct dp_relay_event *ev, int max_rounds)
{
	for (int round = 0; round < max_rounds; round++) {
		for (int i = 0; i < w->n; i++)
			dp_relay_poll(w->nd[i].w);
		while (rte_ring_dequeue_elem(w->nd[0].ev, ev, sizeof(*ev)) == 0)
			if (ev->kind != DP_RELAY_EV_STARTED)
				return ev->kind;
	}
	return 0;
}

static int request(struct net *w, uint32_t bytes, uint64_t cookie)
{
	struct dp_relay_request req = {.cookie = cookie, .bytes = bytes, .nroute = (uint8_t)w->n};
	for (int i = 0; i < w->n; i++)
		req.route[i] = node_id(i);
	return rte_ring_enqueue_elem(w->nd[0].req, &req, sizeof(req));
}

static int stored_key(struct km_store *st, km_pool_id p, const uint8_t id[16], uint32_t bytes, uint8_t *out)
{
	/* keys above KM_CHUNK_BYTES are stored in chunks: name them all */
	struct km_take t = {.pool = p, .bytes = bytes, .nsrc = (bytes + KM_CHUNK_BYTES - 1) / KM_CHUNK_BYTES};
	memcpy(t.src[0], id, 16);
	for (uint32_t i = 1; i < t.nsrc; i++)
		km_store_chunk_id(id, i, t.src[i]);
	struct km_take_handle h;
	int rc = km_store_take_named(st, &t, out, &h);
	if (rc == 0)
		km_store_take_abort(st, &h, false);
	return rc;
}

static void chain(int n, uint32_t bytes)
{
	struct net w;
	net_up(&w, n, -1, 0);
	CU_ASSERT_EQUAL_FATAL(request(&w, bytes, 77), 0);
	/* the STARTED event carries the relay id */
	dp_relay_poll(w.nd[0].w);
	struct dp_relay_event started, ev;
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue_elem(w.nd[0].ev, &started, sizeof(started)), 0);
	CU_ASSERT_EQUAL(started.kind, DP_RELAY_EV_STARTED);
	CU_ASSERT_EQUAL(started.cookie, 77);
	CU_ASSERT_EQUAL(run_until_origin_event(&w, &ev, 100), KM_RELAY_CONFIRMED);
	CU_ASSERT(memcmp(ev.relay_id, started.relay_id, 16) == 0);
	struct dp_relay_event dev;
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue_elem(w.nd[n - 1].ev, &dev, sizeof(dev)), 0);
	CU_ASSERT_EQUAL(dev.kind, KM_RELAY_DELIVERED);
	CU_ASSERT(memcmp(dev.relay_id, started.relay_id, 16) == 0);
	uint8_t *a = malloc(bytes), *c = malloc(bytes);
	CU_ASSERT_EQUAL(stored_key(w.nd[0].st, KM_POOL_PEER(node_id(n - 1)), started.relay_id, bytes, a), 0);
	CU_ASSERT_EQUAL(stored_key(w.nd[n - 1].st, KM_POOL_PEER(node_id(0)), started.relay_id, bytes, c), 0);
	CU_ASSERT(memcmp(a, c, bytes) == 0);
	/* every link: both ends spent exactly one tag key + pad, the same bytes */
	for (int i = 0; i + 1 < n; i++) {
		struct km_pool_stats x, y;
		km_store_pool_stats(w.nd[i].st, link_pool(i), &x);
		km_store_pool_stats(w.nd[i + 1].st, link_pool(i), &y);
		CU_ASSERT_EQUAL(x.available_bits, y.available_bits);
		CU_ASSERT_EQUAL(x.available_bits, ((uint64_t)LINK_KEYS * LINK_KEY_BYTES - (32 + bytes + 32)) * 8);
	}
	for (int i = 1; i + 1 < n; i++)
		CU_ASSERT_EQUAL(dp_relay_stats(w.nd[i].w)->forwarded, 1);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[0].w)->confirmed, 1);
	free(a);
	free(c);
	net_down(&w);
}

static void test_three_kms(void)
{
	chain(3, 256);
}

/* Nothing came back from a 3-KM relay: the origin times out (1 ms ACK timeout) and discards its
 * key, and neither end holds it. */
static void origin_expires(struct net *w)
{
	struct dp_relay_event ev;
	rte_delay_ms(150);
	CU_ASSERT_EQUAL(run_until_origin_event(w, &ev, 1000), DP_RELAY_EV_EXPIRED);
	struct km_key_meta meta;
	CU_ASSERT_EQUAL(km_store_get(w->nd[0].st, ev.relay_id, &meta), -ENOENT);
	CU_ASSERT_EQUAL(km_store_get(w->nd[2].st, ev.relay_id, &meta), -ENOENT);
}

static void test_five_kms_fragments(void)
{
	chain(5, 5000); /* larger than the MTU: fragments on every hop */
	chain(3, KM_RELAY_KEY_MAX);
}

/* Take every frame off a ring (FIFO order kept in m[]). */
static unsigned drain_ring(struct rte_ring *r, struct rte_mbuf **m, unsigned max)
{
	unsigned n = 0;
	while (n < max && rte_ring_dequeue(r, (void **)&m[n]) == 0)
		n++;
	return n;
}

/* A key larger than the MTU crosses a link as fragments, each one mbuf of at most the port's MTU
 * plus its Ethernet header, that reassemble into the message; a lost fragment, or fragments out of
 * order, lose the whole message (counted, nothing spent at the receiver) and the origin's timeout
 * handles it like a lost frame. */
static void test_fragments_lost_or_reordered(void)
{
	for (int mode = 0; mode < 2; mode++) {
		struct net w;
		net_up(&w, 3, -1, 1000000); /* 1 ms ACK timeout */
		CU_ASSERT_EQUAL_FATAL(request(&w, 6000, 8), 0);
		dp_relay_poll(w.nd[0].w);
		struct rte_mbuf *m[16];
		unsigned n = drain_ring(w.rings[0], m, 16);
		uint16_t mtu = 0;
		CU_ASSERT_EQUAL(rte_eth_dev_get_mtu(w.nd[0].ports[0], &mtu), 0);
		CU_ASSERT_FATAL(n >= 5); /* 6000 key bytes + header and tags, at most ~1.5 KB a frame */
		uint32_t sum = 0;
		for (unsigned i = 0; i < n; i++) {
			CU_ASSERT_EQUAL(m[i]->nb_segs, 1);
			CU_ASSERT(rte_pktmbuf_pkt_len(m[i]) <= (uint32_t)mtu + RTE_ETHER_HDR_LEN);
			sum += rte_pktmbuf_pkt_len(m[i]) - DP_RELAY_HDR_LEN;
		}
		CU_ASSERT(sum > 6000);
		if (mode == 0) { /* the third fragment is lost */
			rte_pktmbuf_free(m[2]);
			memmove(m + 2, m + 3, (n - 3) * sizeof(m[0]));
			n--;
		} else { /* the second and third swap places */
			struct rte_mbuf *t = m[1];
			m[1] = m[2];
			m[2] = t;
		}
		for (unsigned i = 0; i < n; i++)
			CU_ASSERT_EQUAL(rte_ring_enqueue(w.rings[0], m[i]), 0);
		struct km_pool_stats before, after;
		km_store_pool_stats(w.nd[1].st, link_pool(0), &before);
		dp_relay_poll(w.nd[1].w);
		const struct dp_relay_stats *b = dp_relay_stats(w.nd[1].w);
		CU_ASSERT(b->rx_incomplete >= 1);
		CU_ASSERT_EQUAL(b->forwarded, 0);
		CU_ASSERT_EQUAL(b->rx_bad_auth + b->rx_malformed + b->rx_other, 0);
		km_store_pool_stats(w.nd[1].st, link_pool(0), &after);
		CU_ASSERT_EQUAL(before.available_bits, after.available_bits);
		origin_expires(&w);
		net_down(&w);
	}
}

static bool pools_agree(struct km_store *a, struct km_store *b, km_pool_id pool);

/* Fragment headers that cannot be right are refused without touching anything. */
static void test_bad_fragment_headers(void)
{
	struct net w;
	net_up(&w, 2, -1, 0);
	struct rte_ether_addr zero = {{0}};
	const uint16_t bad[][2] = {{0, 0}, {100, 90}, {60000, 0}}; /* total, offset for 20 bytes */
	for (unsigned i = 0; i < 3; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		CU_ASSERT_FATAL(m != NULL);
		uint8_t *f = (uint8_t *)rte_pktmbuf_append(m, DP_RELAY_HDR_LEN + 20);
		dp_relay_frame_header(f, &zero, &zero, DP_RELAY_PROTO, bad[i][0], bad[i][1], 1);
		memset(f + DP_RELAY_HDR_LEN, 0xa5, 20);
		CU_ASSERT_EQUAL(rte_ring_enqueue(w.rings[0], m), 0);
	}
	dp_relay_poll(w.nd[1].w);
	const struct dp_relay_stats *b = dp_relay_stats(w.nd[1].w);
	CU_ASSERT_EQUAL(b->rx_malformed, 3);
	CU_ASSERT_EQUAL(b->rx_incomplete, 0);
	CU_ASSERT_TRUE(pools_agree(w.nd[0].st, w.nd[1].st, link_pool(0)));
	net_down(&w);
}

static void test_tampered_frame_rejected(void)
{
	struct net w;
	net_up(&w, 3, -1, 1000000); /* 1 ms ACK timeout */
	CU_ASSERT_EQUAL_FATAL(request(&w, 128, 5), 0);
	dp_relay_poll(w.nd[0].w); /* A sends; the frame waits in the A->B ring */
	struct rte_mbuf *m = NULL;
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(w.rings[0], (void **)&m), 0);
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	p[rte_pktmbuf_data_len(m) - 20] ^= 0x04; /* a ciphertext byte */
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue(w.rings[0], m), 0);
	struct km_pool_stats before, after;
	km_store_pool_stats(w.nd[1].st, link_pool(0), &before);
	dp_relay_poll(w.nd[1].w);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[1].w)->rx_bad_auth, 1);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[1].w)->forwarded, 0);
	km_store_pool_stats(w.nd[1].st, link_pool(0), &after);
	CU_ASSERT_EQUAL(before.available_bits, after.available_bits);
	origin_expires(&w); /* nothing comes back */
	net_down(&w);
}

static void test_failed_hop_reported(void)
{
	struct net w;
	net_up(&w, 5, 3, 0); /* node 33 -> 34 has no key material */
	CU_ASSERT_EQUAL_FATAL(request(&w, 300, 9), 0);
	struct dp_relay_event ev;
	CU_ASSERT_EQUAL(run_until_origin_event(&w, &ev, 100), KM_RELAY_FAILED);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[3].w)->rejected, 1);
	struct km_key_meta meta;
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(km_store_get(w.nd[i].st, ev.relay_id, &meta), -ENOENT);
	/* a request along a route this node is not on fails at once */
	struct dp_relay_request bad = {.cookie = 3, .bytes = 16, .nroute = 2, .route = {node_id(1), node_id(2)}};
	CU_ASSERT_EQUAL(rte_ring_enqueue_elem(w.nd[0].req, &bad, sizeof(bad)), 0);
	dp_relay_poll(w.nd[0].w);
	CU_ASSERT_EQUAL(rte_ring_dequeue_elem(w.nd[0].ev, &ev, sizeof(ev)), 0);
	CU_ASSERT_EQUAL(ev.cookie, 3);
	CU_ASSERT_EQUAL(ev.kind, -EINVAL);
	net_down(&w);
}

/* Resolve mode: C's ACK is lost on the wire; A reports the relay overdue instead of dropping
 * it, the control side resolves it along the route, C (which holds the key untouched) discards
 * it and answers gone: neither store keeps the key. The answer forged into "have" and the answer
 * replayed are counted (rx_bad_auth, rx_replayed) and change nothing. */
static void test_lost_ack_resolved(void)
{
	resolve_mode = true;
	struct net w;
	net_up(&w, 3, -1, 1000000); /* 1 ms ACK timeout */
	resolve_mode = false;
	CU_ASSERT_EQUAL_FATAL(request(&w, 64, 11), 0);
	dp_relay_poll(w.nd[0].w);
	dp_relay_poll(w.nd[1].w);
	dp_relay_poll(w.nd[2].w); /* delivered, ACK on the C -> B ring */
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[2].w)->delivered, 1);
	struct rte_mbuf *ack = NULL;
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(w.rings[3], (void **)&ack), 0);
	rte_pktmbuf_free(ack); /* lost */
	rte_delay_ms(150);
	struct dp_relay_event ev, started;
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue_elem(w.nd[0].ev, &started, sizeof(started)), 0);
	CU_ASSERT_EQUAL(started.kind, DP_RELAY_EV_STARTED);
	CU_ASSERT_EQUAL(run_until_origin_event(&w, &ev, 100), DP_RELAY_EV_OVERDUE);
	CU_ASSERT(memcmp(ev.relay_id, started.relay_id, 16) == 0);
	struct km_key_meta meta;
	CU_ASSERT_EQUAL(km_store_get(w.nd[2].st, ev.relay_id, &meta), 0); /* only C has it now */
	struct dp_relay_request res = {.kind = DP_RELAY_REQ_RESOLVE, .nroute = 3,
				       .route = {node_id(0), node_id(1), node_id(2)}};
	memcpy(res.relay_id, ev.relay_id, 16);
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue_elem(w.nd[0].req, &res, sizeof(res)), 0);
	/* A sends the resolve, B passes it on, C answers gone, B passes the answer back */
	const int pollers[4] = {0, 1, 2, 1};
	for (int i = 0; i < 4; i++)
		dp_relay_poll(w.nd[pollers[i]].w);
	struct rte_mbuf *gone = NULL;
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(w.rings[1], (void **)&gone), 0);
	struct rte_mbuf *forged = rte_pktmbuf_copy(gone, pool, 0, UINT32_MAX);
	struct rte_mbuf *replay = rte_pktmbuf_copy(gone, pool, 0, UINT32_MAX);
	CU_ASSERT_FATAL(forged && replay);
	uint8_t *fp = rte_pktmbuf_mtod(forged, uint8_t *);
	CU_ASSERT_EQUAL(fp[DP_RELAY_HDR_LEN + 5], 6);
	fp[DP_RELAY_HDR_LEN + 5] = 5; /* a forged "have": A would store a key C discarded */
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue(w.rings[1], forged), 0);
	dp_relay_poll(w.nd[0].w);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[0].w)->rx_bad_auth, 1);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[0].w)->confirmed, 0);
	CU_ASSERT_EQUAL(km_store_get(w.nd[0].st, started.relay_id, &meta), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue(w.rings[1], gone), 0);
	int kind;
	while ((kind = run_until_origin_event(&w, &ev, 100)) == DP_RELAY_EV_OVERDUE)
		;
	CU_ASSERT_EQUAL(kind, KM_RELAY_FAILED);
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue(w.rings[1], replay), 0); /* the answer again */
	dp_relay_poll(w.nd[0].w);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[0].w)->rx_replayed, 1);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[0].w)->failed, 1);
	CU_ASSERT(memcmp(ev.relay_id, started.relay_id, 16) == 0);
	CU_ASSERT_EQUAL(km_store_get(w.nd[0].st, started.relay_id, &meta), -ENOENT);
	CU_ASSERT_EQUAL(km_store_get(w.nd[2].st, started.relay_id, &meta), -ENOENT);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[0].w)->resolves, 1);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[2].w)->answered, 1);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[0].w)->expired, 0);
	/* a relay that cannot be resolved is given up on request */
	CU_ASSERT_EQUAL_FATAL(request(&w, 64, 12), 0);
	dp_relay_poll(w.nd[0].w);
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue_elem(w.nd[0].ev, &started, sizeof(started)), 0);
	struct dp_relay_request cancel = {.kind = DP_RELAY_REQ_CANCEL};
	memcpy(cancel.relay_id, started.relay_id, 16);
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue_elem(w.nd[0].req, &cancel, sizeof(cancel)), 0);
	dp_relay_poll(w.nd[0].w);
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue_elem(w.nd[0].ev, &ev, sizeof(ev)), 0);
	CU_ASSERT_EQUAL(ev.kind, DP_RELAY_EV_EXPIRED);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[0].w)->cancelled, 1);
	net_down(&w);
}

static void link_req(struct net *w, int at, uint32_t neighbor, bool up, uint64_t cookie)
{
	struct dp_relay_request r = {.cookie = cookie, .kind = DP_RELAY_REQ_LINK, .up = up,
				     .neighbor = neighbor};
	CU_ASSERT_EQUAL(rte_ring_enqueue_elem(w->nd[at].req, &r, sizeof(r)), 0);
	dp_relay_poll(w->nd[at].w);
}

/* LINK requests: with B's link to C down a relay A -> B -> C is NACKed at B and no store holds
 * its key; up again, the next relay is confirmed; an unknown neighbour is refused. */
static void test_link_request(void)
{
	struct net w;
	net_up(&w, 3, -1, 0);
	link_req(&w, 1, node_id(2), false, 1);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[1].w)->link_changes, 1);
	CU_ASSERT_EQUAL_FATAL(request(&w, 64, 2), 0);
	struct dp_relay_event ev;
	CU_ASSERT_EQUAL(run_until_origin_event(&w, &ev, 100), KM_RELAY_FAILED);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[1].w)->rejected, 1);
	struct km_key_meta meta;
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(km_store_get(w.nd[i].st, ev.relay_id, &meta), -ENOENT);
	link_req(&w, 1, node_id(2), true, 3);
	CU_ASSERT_EQUAL_FATAL(request(&w, 64, 4), 0);
	CU_ASSERT_EQUAL(run_until_origin_event(&w, &ev, 100), KM_RELAY_CONFIRMED);
	link_req(&w, 1, node_id(4), false, 5);
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue_elem(w.nd[1].ev, &ev, sizeof(ev)), 0);
	while (ev.cookie != 5 && rte_ring_dequeue_elem(w.nd[1].ev, &ev, sizeof(ev)) == 0)
		;
	CU_ASSERT_EQUAL(ev.cookie, 5);
	CU_ASSERT_EQUAL(ev.kind, -ENOENT);
	net_down(&w);
}

/* The origin's worker runs dp_relay_lcore_main on its own lcore; the test thread feeds its request
 * ring, polls the other KMs and collects the origin's events. */
static void test_worker_on_own_lcore(void)
{
	unsigned lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore >= RTE_MAX_LCORE) {
		printf("  (one lcore only: skipped)\n");
		return;
	}
	struct net w;
	net_up(&w, 3, -1, 30000000000ull); /* no expiry on a loaded machine: the test is the lcore */
	quit_flag = false;
	CU_ASSERT_EQUAL_FATAL(rte_eal_remote_launch(dp_relay_lcore_main, w.nd[0].w, lcore), 0);
	enum { N = 20 };
	uint8_t ids[N][16];
	int started = 0, confirmed = 0;
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL(request(&w, 64, (uint64_t)i), 0);
	uint64_t deadline = rte_get_tsc_cycles() + 5 * rte_get_tsc_hz();
	while (confirmed < N && rte_get_tsc_cycles() < deadline) {
		dp_relay_poll(w.nd[1].w);
		dp_relay_poll(w.nd[2].w);
		struct dp_relay_event ev;
		while (rte_ring_dequeue_elem(w.nd[0].ev, &ev, sizeof(ev)) == 0) {
			if (ev.kind == DP_RELAY_EV_STARTED && started < N)
				memcpy(ids[started++], ev.relay_id, 16);
			confirmed += ev.kind == KM_RELAY_CONFIRMED;
		}
	}
	quit_flag = true;
	CU_ASSERT_EQUAL(rte_eal_wait_lcore(lcore), 0);
	CU_ASSERT_EQUAL(started, N);
	CU_ASSERT_EQUAL(confirmed, N);
	for (int i = 0; i < started; i++) {
		uint8_t a[64], c[64];
		CU_ASSERT_EQUAL(stored_key(w.nd[0].st, KM_POOL_PEER(node_id(2)), ids[i], 64, a), 0);
		CU_ASSERT_EQUAL(stored_key(w.nd[2].st, KM_POOL_PEER(node_id(0)), ids[i], 64, c), 0);
		CU_ASSERT(memcmp(a, c, 64) == 0);
	}
	net_down(&w);
}

struct id_list {
	unsigned n;
	uint8_t (*ids)[KM_KEY_ID_LEN];
	uint32_t *bytes;
};

static int add_id(void *ctx, const struct km_key_meta *m)
{
	struct id_list *l = ctx;
	l->ids = realloc(l->ids, (l->n + 1) * sizeof(*l->ids));
	l->bytes = realloc(l->bytes, (l->n + 1) * sizeof(*l->bytes));
	memcpy(l->ids[l->n], m->id, KM_KEY_ID_LEN);
	l->bytes[l->n++] = m->bits / 8;
	return 0;
}

/* Both ends of a link hold the same available keys: the same ids, each with the same bytes. */
static bool pools_agree(struct km_store *a, struct km_store *b, km_pool_id pool)
{
	struct id_list x = {0}, y = {0};
	km_store_list(a, pool, KM_KEY_AVAILABLE, add_id, &x);
	km_store_list(b, pool, KM_KEY_AVAILABLE, add_id, &y);
	bool same = x.n == y.n && x.n > 0 && memcmp(x.ids, y.ids, x.n * sizeof(*x.ids)) == 0;
	for (unsigned i = 0; same && i < x.n; i++) {
		uint8_t *ka = malloc(x.bytes[i] + 1), *kb = malloc(x.bytes[i] + 1);
		struct km_take t = {.pool = pool, .bytes = x.bytes[i], .nsrc = 1};
		memcpy(t.src[0], x.ids[i], KM_KEY_ID_LEN);
		struct km_take_handle h;
		same = x.bytes[i] == y.bytes[i] && km_store_take_named(a, &t, ka, &h) == 0;
		if (same)
			km_store_take_abort(a, &h, false);
		same = same && km_store_take_named(b, &t, kb, &h) == 0;
		if (same) {
			km_store_take_abort(b, &h, false);
			same = memcmp(ka, kb, x.bytes[i]) == 0;
		}
		free(ka);
		free(kb);
	}
	free(x.ids);
	free(x.bytes);
	free(y.ids);
	free(y.bytes);
	return same;
}

/* Poll every node; node 0's OVERDUE events become RESOLVE requests along the route (what the
 * control thread does). Returns the first event at node 0 of a kind in want[], 0 after
 * max_ms of wall time (automatic resyncs run on the workers' 100 ms tick). */
static int drive(struct net *w, const int *want, unsigned nwant, struct dp_relay_event *out,
		 unsigned max_ms)
{
	uint64_t end = rte_get_tsc_cycles() + rte_get_tsc_hz() / 1000 * max_ms;
	while (rte_get_tsc_cycles() < end) {
		for (int i = 0; i < w->n; i++)
			dp_relay_poll(w->nd[i].w);
		struct dp_relay_event ev;
		while (rte_ring_dequeue_elem(w->nd[0].ev, &ev, sizeof(ev)) == 0) {
			if (ev.kind == DP_RELAY_EV_OVERDUE) {
				struct dp_relay_request res = {.kind = DP_RELAY_REQ_RESOLVE,
							       .nroute = (uint8_t)w->n};
				for (int i = 0; i < w->n; i++)
					res.route[i] = node_id(i);
				memcpy(res.relay_id, ev.relay_id, KM_KEY_ID_LEN);
				rte_ring_enqueue_elem(w->nd[0].req, &res, sizeof(res));
			}
			for (unsigned k = 0; k < nwant; k++) {
				if (ev.kind == want[k]) {
					*out = ev;
					return ev.kind;
				}
			}
		}
		rte_delay_us_sleep(200);
	}
	return 0;
}

/* A key message lost on the KM link A -> B leaves A's half of the link pool ahead of B's: every
 * later message from A names a leftover key B never made. Nobody steps in: B sees the mismatch,
 * resyncs the link with A by itself, A's overdue relay is resolved (gone at both ends: C never
 * got it) and new relays are confirmed; both ends of the link hold the same keys. */
static void test_lost_message_auto_resync(void)
{
	resolve_mode = true;
	struct net w;
	net_up(&w, 3, -1, 1000000); /* 1 ms ACK timeout: overdue at the next tick */
	resolve_mode = false;
	CU_ASSERT_EQUAL_FATAL(request(&w, 64, 1), 0);
	dp_relay_poll(w.nd[0].w);
	struct dp_relay_event lost, ev;
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue_elem(w.nd[0].ev, &lost, sizeof(lost)), 0);
	CU_ASSERT_EQUAL(lost.kind, DP_RELAY_EV_STARTED);
	struct rte_mbuf *m = NULL;
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(w.rings[0], (void **)&m), 0); /* test hook: lost */
	rte_pktmbuf_free(m);
	CU_ASSERT_FALSE(pools_agree(w.nd[0].st, w.nd[1].st, link_pool(0)));
	const int fail_or_confirm[] = {KM_RELAY_FAILED, KM_RELAY_CONFIRMED, DP_RELAY_EV_EXPIRED};
	CU_ASSERT_EQUAL(drive(&w, fail_or_confirm, 3, &ev, 10000), KM_RELAY_FAILED);
	CU_ASSERT(memcmp(ev.relay_id, lost.relay_id, 16) == 0);
	const struct dp_relay_stats *a = dp_relay_stats(w.nd[0].w), *b = dp_relay_stats(w.nd[1].w);
	CU_ASSERT(b->rx_pool_mismatch >= 1);
	CU_ASSERT(b->resync_auto + a->resync_auto >= 1);
	CU_ASSERT(a->resyncs >= 1 && b->resyncs >= 1);
	CU_ASSERT_EQUAL(a->resync_errors + b->resync_errors, 0);
	struct km_key_meta meta;
	for (int i = 0; i < 3; i++) /* the lost relay's key is nowhere */
		CU_ASSERT_EQUAL(km_store_get(w.nd[i].st, lost.relay_id, &meta), -ENOENT);
	/* the link works again: relays are confirmed, the same key at both ends */
	for (int k = 0; k < 3; k++) {
		CU_ASSERT_EQUAL_FATAL(request(&w, 64, 10 + (uint64_t)k), 0);
		const int started[] = {DP_RELAY_EV_STARTED};
		struct dp_relay_event st;
		CU_ASSERT_EQUAL_FATAL(drive(&w, started, 1, &st, 5000), DP_RELAY_EV_STARTED);
		CU_ASSERT_EQUAL(drive(&w, fail_or_confirm, 3, &ev, 5000), KM_RELAY_CONFIRMED);
		uint8_t ka[64], kc[64];
		CU_ASSERT_EQUAL(stored_key(w.nd[0].st, KM_POOL_PEER(node_id(2)), st.relay_id, 64, ka), 0);
		CU_ASSERT_EQUAL(stored_key(w.nd[2].st, KM_POOL_PEER(node_id(0)), st.relay_id, 64, kc), 0);
		CU_ASSERT(memcmp(ka, kc, 64) == 0);
	}
	for (int i = 0; i < 2; i++)
		CU_ASSERT_TRUE(pools_agree(w.nd[i].st, w.nd[i + 1].st, link_pool(i)));
	CU_ASSERT_EQUAL(b->rx_bad_auth, 0);
	net_down(&w);
}

/* Queue a resync message on the ring that feeds B from A, as if A had sent it. */
static void inject_resync(struct net *w, const uint8_t *msg, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	CU_ASSERT_FATAL(m && DP_RELAY_HDR_LEN + len <= rte_pktmbuf_tailroom(m));
	uint8_t *f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_RELAY_HDR_LEN + len));
	struct rte_ether_addr zero = {{0}};
	dp_relay_frame_header(f, &zero, &zero, DP_RELAY_PROTO_RESYNC, (uint16_t)len, 0, 0);
	memcpy(f + DP_RELAY_HDR_LEN, msg, len);
	CU_ASSERT_EQUAL(rte_ring_enqueue(w->rings[0], m), 0);
}

/* Someone on the link who holds no key of it forges a resync with B, listing half of B's ids
 * (ids are public) under keys of its own: B answers, but the forger's confirm cannot verify, so
 * B discards nothing; B then resyncs with the real A by itself and the link works. */
static void test_forged_resync_changes_nothing(void)
{
	struct net w;
	net_up(&w, 2, -1, 0);
	km_pool_id lp = link_pool(0);
	struct id_list bl = {0};
	km_store_list(w.nd[1].st, lp, KM_KEY_AVAILABLE, add_id, &bl);
	CU_ASSERT_EQUAL_FATAL(bl.n, LINK_KEYS);
	char dir[256];
	su_tmpdir(dir, sizeof(dir), "forger");
	struct km_store *x = su_open(dir, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	uint8_t mat[LINK_KEY_BYTES];
	for (unsigned i = 0; i < bl.n; i += 2) {
		unit_fill_random(mat, sizeof(mat), 1000 + i);
		struct km_key_in k = {.pool = lp, .bits = bl.bytes[i] * 8, .type = KM_KEY_QKD,
				      .material = mat};
		memcpy(k.id, bl.ids[i], KM_KEY_ID_LEN);
		CU_ASSERT_EQUAL(km_store_put(x, &k, 1), 0);
	}
	struct km_resync *fx;
	CU_ASSERT_EQUAL_FATAL(km_resync_start(x, lp, 0, &fx), 0);
	uint8_t *msg = malloc(KM_RESYNC_MSG_MAX);
	int n = km_resync_next(fx, msg, KM_RESYNC_MSG_MAX);
	CU_ASSERT_FATAL(n > 0);
	inject_resync(&w, msg, (size_t)n);
	/* B answers the forger (whose frames we take off the B -> A ring before A sees them) */
	int confirms = 0;
	for (int round = 0; round < 20 && !confirms; round++) {
		dp_relay_poll(w.nd[1].w);
		struct rte_mbuf *m;
		while (rte_ring_dequeue(w.rings[1], (void **)&m) == 0) {
			uint32_t len = rte_pktmbuf_pkt_len(m);
			CU_ASSERT_FATAL(len <= KM_RESYNC_MSG_MAX + DP_RELAY_HDR_LEN);
			uint8_t *copy = malloc(len);
			const uint8_t *f = rte_pktmbuf_read(m, 0, len, copy);
			if (f != copy)
				memcpy(copy, f, len);
			confirms += km_resync_receive(fx, copy + DP_RELAY_HDR_LEN, len - DP_RELAY_HDR_LEN) == 1;
			free(copy);
			rte_pktmbuf_free(m);
		}
		while ((n = km_resync_next(fx, msg, KM_RESYNC_MSG_MAX)) > 0)
			inject_resync(&w, msg, (size_t)n);
	}
	CU_ASSERT_EQUAL(confirms, 1); /* B confirmed, and the forger's confirm is on its way */
	struct dp_relay_event ev;
	for (int round = 0; round < 5; round++)
		dp_relay_poll(w.nd[1].w);
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue_elem(w.nd[1].ev, &ev, sizeof(ev)), 0);
	CU_ASSERT_EQUAL(ev.kind, DP_RELAY_EV_RESYNC_FAILED);
	CU_ASSERT_EQUAL(ev.count, -EBADMSG);
	CU_ASSERT_EQUAL(ev.fails, 1);
	/* every key the forger did not list is still at B (an unauthenticated resync would have
	 * discarded them) */
	struct km_key_meta meta;
	for (unsigned i = 1; i < bl.n; i += 2)
		CU_ASSERT_EQUAL(km_store_get(w.nd[1].st, bl.ids[i], &meta), 0);
	/* B spent the bytes of its confirm: it resyncs with A on its own, and relays go through */
	struct rte_mbuf *m;
	while (rte_ring_dequeue(w.rings[1], (void **)&m) == 0)
		rte_pktmbuf_free(m);
	const int resynced[] = {DP_RELAY_EV_RESYNCED};
	CU_ASSERT_EQUAL(drive(&w, resynced, 1, &ev, 5000), DP_RELAY_EV_RESYNCED);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[1].w)->resync_auto, 1);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[1].w)->resync_errors, 1);
	for (int round = 0; round < 10; round++) /* A's side finishes too */
		for (int i = 0; i < 2; i++)
			dp_relay_poll(w.nd[i].w);
	CU_ASSERT_TRUE(pools_agree(w.nd[0].st, w.nd[1].st, lp));
	CU_ASSERT_EQUAL_FATAL(request(&w, 64, 3), 0);
	const int confirmed[] = {KM_RELAY_CONFIRMED, KM_RELAY_FAILED, DP_RELAY_EV_EXPIRED};
	CU_ASSERT_EQUAL(drive(&w, confirmed, 3, &ev, 5000), KM_RELAY_CONFIRMED);
	km_resync_free(fx);
	free(msg);
	free(bl.ids);
	free(bl.bytes);
	km_store_close(x);
	su_rmdir(dir);
	net_down(&w);
}

/* After a restart the two ends of a link disagree: the resync over the KM link leaves both with
 * the common keys and the same digest. */
static void test_resync_over_km_link(void)
{
	struct net w;
	net_up(&w, 2, -1, 0);
	km_pool_id lp = link_pool(0);
	/* 1500 common small keys (19 messages each way), 20 only at node 0, 30 only at node 1 */
	CU_ASSERT_EQUAL(su_put_stream(w.nd[0].st, lp, 77, 0, 1500, 16), 0);
	CU_ASSERT_EQUAL(su_put_stream(w.nd[1].st, lp, 77, 0, 1500, 16), 0);
	CU_ASSERT_EQUAL(su_put_stream(w.nd[0].st, lp, 78, 0, 20, 16), 0);
	CU_ASSERT_EQUAL(su_put_stream(w.nd[1].st, lp, 79, 0, 30, 16), 0);
	struct dp_relay_request req = {.cookie = 4242, .kind = DP_RELAY_REQ_RESYNC, .neighbor = node_id(1)};
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue_elem(w.nd[0].req, &req, sizeof(req)), 0);
	struct dp_relay_event ev[2];
	int got[2] = {0, 0};
	for (int round = 0; round < 200 && !(got[0] && got[1]); round++) {
		for (int i = 0; i < 2; i++) {
			dp_relay_poll(w.nd[i].w);
			if (!got[i] && rte_ring_dequeue_elem(w.nd[i].ev, &ev[i], sizeof(ev[i])) == 0)
				got[i] = 1;
		}
	}
	CU_ASSERT_FATAL(got[0] && got[1]);
	CU_ASSERT_EQUAL(ev[0].kind, DP_RELAY_EV_RESYNCED);
	CU_ASSERT_EQUAL(ev[1].kind, DP_RELAY_EV_RESYNCED);
	CU_ASSERT_EQUAL(ev[0].cookie, 4242);
	CU_ASSERT_EQUAL(ev[0].count, 20);
	CU_ASSERT_EQUAL(ev[1].count, 30);
	CU_ASSERT_EQUAL(ev[0].neighbor, node_id(1));
	CU_ASSERT_EQUAL(ev[1].neighbor, node_id(0));
	CU_ASSERT(memcmp(ev[0].digest, ev[1].digest, 32) == 0);
	/* the common keys stay, less the 64 bytes the two confirms were tagged with */
	struct km_pool_stats a;
	km_store_pool_stats(w.nd[0].st, lp, &a);
	CU_ASSERT_EQUAL(a.available_bits, ((uint64_t)LINK_KEYS * LINK_KEY_BYTES + 1500 * 16 - 64) * 8);
	CU_ASSERT_TRUE(pools_agree(w.nd[0].st, w.nd[1].st, lp));
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[0].w)->resyncs, 1);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[1].w)->resyncs, 1);
	CU_ASSERT_EQUAL(dp_relay_stats(w.nd[0].w)->resync_auto, 0);
	/* a resync with a node that is not a neighbour fails at once */
	req.neighbor = 999;
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue_elem(w.nd[0].req, &req, sizeof(req)), 0);
	dp_relay_poll(w.nd[0].w);
	CU_ASSERT_EQUAL(rte_ring_dequeue_elem(w.nd[0].ev, &ev[0], sizeof(ev[0])), 0);
	CU_ASSERT_EQUAL(ev[0].kind, -EHOSTUNREACH);
	net_down(&w);
}

static CU_TestInfo relay_tests[] = {
	{"A -> B -> C over net_ring ports", test_three_kms},
	{"5-KM chain, keys larger than the MTU go as fragments", test_five_kms_fragments},
	{"lost or reordered fragments lose the message, nothing else", test_fragments_lost_or_reordered},
	{"bad fragment headers refused", test_bad_fragment_headers},
	{"tampered frame rejected, origin expires", test_tampered_frame_rejected},
	{"failed hop reported to the origin", test_failed_hop_reported},
	{"worker on its own lcore", test_worker_on_own_lcore},
	{"LINK requests: down NACKs new relays, up restores", test_link_request},
	{"lost ACK: overdue, resolved, gone at both ends", test_lost_ack_resolved},
	{"resync over the KM link", test_resync_over_km_link},
	{"lost KM-link message: the link resyncs by itself", test_lost_message_auto_resync},
	{"forged resync changes nothing, the real one follows", test_forged_resync_changes_nothing},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"dp_relay", suite_init, suite_clean, NULL, NULL, relay_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
