/* Node object: ports, mempool, rings, the lcore map and its loops, the RCU-published link table,
 * reports and the control thread's entry points. */
#include <errno.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#include "dp_eal.h"
#include "node_internal.h"

#define IDLE_POLLS_BEFORE_SLEEP 256

struct lcore_plan {
	struct dp_node *n;
	unsigned lcore;
	bool rx, tx;
	unsigned n_workers;
	unsigned workers[DP_MAX_WORKERS];
};

static struct lcore_plan plans[RTE_MAX_LCORE];
static unsigned n_plans;
static unsigned node_serial;

static struct lcore_plan *plan_for(unsigned lcore)
{
	for (unsigned i = 0; i < n_plans; i++)
		if (plans[i].lcore == lcore)
			return &plans[i];
	plans[n_plans].lcore = lcore;
	return &plans[n_plans++];
}

static int lcore_main(void *arg)
{
	struct lcore_plan *pl = arg;
	struct dp_node *n = pl->n;
	unsigned idle = 0;
	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&n->stop, memory_order_relaxed)) {
		const struct dp_snap *s = rcu_dereference(n->snap);
		unsigned work = 0;
		if (pl->rx) {
			unsigned k = dp_rx_iteration(n, s);
			n->rx.st.polls++;
			n->rx.st.busy_polls += k != 0;
			work += k;
		}
		for (unsigned i = 0; i < pl->n_workers; i++) {
			struct dp_lcore_ctx *c = &n->wk[pl->workers[i]];
			unsigned k = dp_worker_iteration(n, pl->workers[i], s);
			c->st.polls++;
			c->st.busy_polls += k != 0;
			work += k;
		}
		if (pl->tx) {
			unsigned k = dp_tx_iteration(n);
			n->txc.st.polls++;
			n->txc.st.busy_polls += k != 0;
			work += k;
		}
		urcu_qsbr_quiescent_state();
		if (work) {
			idle = 0;
		} else if (n->cfg.idle_sleep_us && ++idle >= IDLE_POLLS_BEFORE_SLEEP) {
			/* Offline while asleep so a grace period does not wait for us. */
			urcu_qsbr_thread_offline();
			usleep(n->cfg.idle_sleep_us);
			urcu_qsbr_thread_online();
		}
	}
	urcu_qsbr_unregister_thread();
	return 0;
}

static struct rte_ring *make_ring(struct dp_node *n, const char *what, unsigned esize,
				  unsigned count)
{
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "dp%u%s%u", node_serial, what, n->ring_serial++);
	return rte_ring_create_elem(name, esize, count, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

static int setup_port(struct dp_node *n, unsigned i, const char **why)
{
	uint16_t port = n->cfg.port_ids[i];
	if (!rte_eth_dev_is_valid_port(port))
		return *why = "invalid port id", -EINVAL;
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) < 0)
		return *why = "cannot configure port", -EIO;
	uint16_t rxd = (uint16_t)(n->cfg.rxd ? n->cfg.rxd : 1024);
	uint16_t txd = (uint16_t)(n->cfg.txd ? n->cfg.txd : 1024);
	if (rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd) < 0 ||
	    rte_eth_rx_queue_setup(port, 0, rxd, rte_eth_dev_socket_id(port), NULL, n->pool) < 0 ||
	    rte_eth_tx_queue_setup(port, 0, txd, rte_eth_dev_socket_id(port), NULL) < 0)
		return *why = "cannot set up port queues", -EIO;
	rte_eth_dev_set_mtu(port, (uint16_t)n->cfg.mtu); /* vdevs without MTU support keep theirs */
	rte_eth_macaddr_get(port, &n->port_mac[i]);
	return 0;
}

struct dp_node *dp_node_create(const struct dp_node_cfg *cfg, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (cfg->n_ports == 0 || cfg->n_ports > DP_MAX_PORTS)
		return *why = "need 1 .. 8 ports", NULL;
	if (cfg->n_workers == 0 || cfg->n_workers > DP_MAX_WORKERS)
		return *why = "need 1 .. 8 distill workers", NULL;
	if (!cfg->manual) {
		unsigned main_lcore = rte_get_main_lcore();
		bool bad = !rte_lcore_is_enabled(cfg->rx_lcore) || !rte_lcore_is_enabled(cfg->tx_lcore) ||
			   cfg->rx_lcore == main_lcore || cfg->tx_lcore == main_lcore;
		for (unsigned i = 0; i < cfg->n_workers; i++)
			bad |= !rte_lcore_is_enabled(cfg->worker_lcores[i]) ||
			       cfg->worker_lcores[i] == main_lcore;
		if (bad)
			return *why = "lcore map names a disabled lcore or the main lcore", NULL;
	}
	struct dp_node *n = rte_zmalloc("dp_node", sizeof(*n), RTE_CACHE_LINE_SIZE);
	if (!n)
		return *why = "out of memory", NULL;
	n->cfg = *cfg;
	if (!n->cfg.mtu)
		n->cfg.mtu = 9000; /* Qdist wants jumbo frames: every message costs a 16-byte pad */
	if (n->cfg.mtu < 1280 || n->cfg.mtu > 9600) {
		*why = "mtu must be 1280 .. 9600";
		goto fail;
	}
	if (!n->cfg.tx_drain_us)
		n->cfg.tx_drain_us = 100;
	n->tsc_hz = rte_get_tsc_hz();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n->anchor_tsc = rte_rdtsc();
	n->anchor_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	n->drain_tsc = n->tsc_hz / 1000000 * n->cfg.tx_drain_us;
	unsigned serial = __atomic_fetch_add(&node_serial, 1, __ATOMIC_RELAXED);
	char name[RTE_MEMPOOL_NAMESIZE];
	snprintf(name, sizeof(name), "dp_pool%u", serial);
	unsigned room = RTE_PKTMBUF_HEADROOM + n->cfg.mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	if (room < RTE_MBUF_DEFAULT_BUF_SIZE)
		room = RTE_MBUF_DEFAULT_BUF_SIZE;
	n->pool = cfg->pool ? cfg->pool
			    : rte_pktmbuf_pool_create(name, cfg->mbufs ? cfg->mbufs : 4095, 256, 0,
						      (uint16_t)room, SOCKET_ID_ANY);
	if (cfg->pool && rte_pktmbuf_data_room_size(cfg->pool) < room) {
		*why = "mbuf pool data room smaller than the MTU needs";
		n->pool = NULL;
		goto fail;
	}
	if (!n->pool) {
		*why = "cannot create mbuf pool";
		goto fail;
	}
	for (unsigned i = 0; i < cfg->n_ports; i++)
		if (setup_port(n, i, why))
			goto fail;
	n->rx.tx = make_ring(n, "rt", sizeof(void *), DP_TX_RING);
	if (!n->rx.tx)
		goto nomem;
	unsigned kr = cfg->key_ring_size ? cfg->key_ring_size : 1024;
	for (unsigned w = 0; w < cfg->n_workers; w++) {
		n->wk[w].tx = make_ring(n, "wt", sizeof(void *), DP_TX_RING);
		n->wk[w].cmd = make_ring(n, "wc", sizeof(struct dp_cmd), 16);
		n->wk[w].resp = make_ring(n, "wr", sizeof(struct dp_cmd_resp), 16);
		n->key_ring[w] = make_ring(n, "kr", sizeof(struct km_key_desc), rte_align32pow2(kr + 1));
		if (!n->wk[w].tx || !n->wk[w].cmd || !n->wk[w].resp || !n->key_ring[w])
			goto nomem;
	}
	n->snap = calloc(1, sizeof(*n->snap));
	if (!n->snap)
		goto nomem;
	return n;
nomem:
	*why = "out of memory (rings)";
fail:
	dp_node_free(n);
	return NULL;
}

int dp_node_start(struct dp_node *n)
{
	for (unsigned i = 0; i < n->cfg.n_ports; i++) {
		if (dp_port_start(n->cfg.port_ids[i], DP_PORT_START_WAIT_MS) < 0)
			return -EIO;
		rte_eth_promiscuous_enable(n->cfg.port_ids[i]);
	}
	n->started = true;
	if (n->cfg.manual)
		return 0;
	plan_for(n->cfg.rx_lcore)->rx = true;
	plan_for(n->cfg.tx_lcore)->tx = true;
	for (unsigned w = 0; w < n->cfg.n_workers; w++) {
		struct lcore_plan *p = plan_for(n->cfg.worker_lcores[w]);
		p->workers[p->n_workers++] = w;
	}
	for (unsigned i = 0; i < n_plans; i++) {
		plans[i].n = n;
		if (rte_eal_remote_launch(lcore_main, &plans[i], plans[i].lcore) != 0) {
			dp_node_stop(n);
			return -EBUSY;
		}
	}
	return 0;
}

bool dp_node_stopping(const struct dp_node *n)
{
	return atomic_load(&n->stop);
}

void dp_node_request_stop(struct dp_node *n)
{
	atomic_store(&n->stop, true);
}

void dp_node_stop(struct dp_node *n)
{
	if (!n || n->stopped)
		return;
	atomic_store(&n->stop, true);
	if (!n->cfg.manual)
		for (unsigned i = 0; i < n_plans; i++)
			if (plans[i].n == n)
				rte_eal_wait_lcore(plans[i].lcore);
	/* Send what the lcores queued last (a COMMIT the peer waits for) before the ports stop. */
	for (unsigned k = 0; n->started && k < 1000 && dp_tx_iteration(n); k++)
		;
	if (n->started)
		for (unsigned i = 0; i < n->cfg.n_ports; i++)
			rte_eth_dev_stop(n->cfg.port_ids[i]);
	n->stopped = true;
}

static void drain_ring_mbufs(struct rte_ring *r)
{
	void *m;
	while (r && rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
}

void dp_node_free(struct dp_node *n)
{
	if (!n)
		return;
	dp_node_stop(n);
	if (n->snap) {
		for (unsigned i = 0; i < n->snap->n; i++)
			dp_link_free(n->snap->links[i]);
		free(n->snap);
	}
	dp_tx_discard(n);
	drain_ring_mbufs(n->rx.tx);
	rte_ring_free(n->rx.tx);
	for (unsigned w = 0; w < DP_MAX_WORKERS; w++) {
		drain_ring_mbufs(n->wk[w].tx);
		rte_ring_free(n->wk[w].tx);
		rte_ring_free(n->wk[w].cmd);
		rte_ring_free(n->wk[w].resp);
		struct km_key_desc d;
		/* Keys nobody consumed are wiped, never left in memory. */
		while (n->key_ring[w] && rte_ring_dequeue_elem(n->key_ring[w], &d, sizeof(d)) == 0)
			km_key_material_free(d.material, (d.bits + 7) / 8);
		rte_ring_free(n->key_ring[w]);
	}
	for (unsigned i = 0; i < n->cfg.n_ports && n->started; i++)
		rte_eth_dev_close(n->cfg.port_ids[i]);
	if (!n->cfg.pool)
		rte_mempool_free(n->pool);
	rte_free(n);
}

/* Control thread: publish a new link table and wait until no lcore can see the old one. */
static void publish(struct dp_node *n, struct dp_snap *s)
{
	memset(s->hash, 0, sizeof(s->hash));
	for (unsigned i = 0; i < s->n; i++) {
		unsigned h = s->links[i]->cfg.link_id & (2 * DP_MAX_LINKS - 1);
		while (s->hash[h].l)
			h = (h + 1) & (2 * DP_MAX_LINKS - 1);
		s->hash[h].id = s->links[i]->cfg.link_id;
		s->hash[h].l = s->links[i];
	}
	struct dp_snap *old = rcu_xchg_pointer(&n->snap, s);
	urcu_qsbr_synchronize_rcu();
	free(old);
}

int dp_node_link_add(struct dp_node *n, const struct dp_link_cfg *lc, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	const struct dp_snap *old = n->snap;
	if (old->n == DP_MAX_LINKS)
		return *why = "too many links", -ENOSPC;
	if (dp_snap_find(old, lc->link_id))
		return *why = "link id already in use", -EEXIST;
	struct dp_snap *s = malloc(sizeof(*s));
	if (!s)
		return *why = "out of memory", -ENOMEM;
	struct dp_link *l = dp_link_create(n, lc, why);
	if (!l) {
		free(s);
		return -EINVAL;
	}
	*s = *old;
	s->links[s->n++] = l;
	publish(n, s);
	return 0;
}

int dp_node_link_remove(struct dp_node *n, uint16_t link_id)
{
	const struct dp_snap *old = n->snap;
	struct dp_link *l = dp_snap_find(old, link_id);
	if (!l)
		return -ENOENT;
	struct dp_snap *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->n = 0;
	for (unsigned i = 0; i < old->n; i++)
		if (old->links[i] != l)
			s->links[s->n++] = old->links[i];
	publish(n, s);
	dp_link_free(l); /* no lcore holds it after the grace period */
	return 0;
}

#define RD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* CLOCK_MONOTONIC nanoseconds of a TSC stamp (0 stays 0: no stamp). */
static uint64_t tsc_ns(const struct dp_node *n, uint64_t tsc)
{
	if (!tsc)
		return 0;
	double d = ((double)tsc - (double)n->anchor_tsc) * 1e9 / (double)n->tsc_hz;
	return (uint64_t)((double)n->anchor_ns + d);
}

int dp_node_link_report(struct dp_node *n, uint16_t link_id, struct dp_link_report *r)
{
	struct dp_link *l = dp_snap_find(n->snap, link_id);
	if (!l)
		return -ENOENT;
	const struct dp_link_rx_stats *a = &l->rx.st;
	const struct dp_link_wk_stats *b = &l->wk.st;
	*r = (struct dp_link_report){
		.link_id = link_id,
		.frames = RD(a->frames),
		.events = RD(a->events),
		.sifted_bits = RD(a->sifted_bits),
		.test_bits = RD(a->test_bits),
		.blocks_filled = RD(a->blocks_filled),
		.blocks_done = RD(b->blocks_done),
		.blocks_failed = RD(b->blocks_failed),
		.blocks_aborted = RD(b->blocks_aborted),
		.secret_bits = RD(b->secret_bits),
		.leak_bits = RD(b->leak_bits),
		.qber_errors = RD(b->qber_errors),
		.qber_bits = RD(b->qber_bits),
		.auth_failures = RD(a->auth_failures) + RD(b->auth_failures),
		.auth_bytes_used = RD(a->auth_bytes) + RD(b->auth_bytes),
		.auth_bytes_sift = RD(a->auth_bytes),
		.keys_dropped = RD(b->keys_dropped),
		.block_msgs = RD(b->block_msgs),
		.auth_refill_bytes = RD(b->refill_bytes),
		.transcript_failures = RD(b->transcript_failures),
		.first_ns = tsc_ns(n, RD(a->first_tsc)),
		.last_ns = tsc_ns(n, RD(a->last_tsc)),
	};
	return 0;
}

static void add_stats(struct dp_lcore_stats *s, const struct dp_lcore_stats *c)
{
	s->polls += RD(c->polls);
	s->busy_polls += RD(c->busy_polls);
	s->rx_pkts += RD(c->rx_pkts);
	s->tx_pkts += RD(c->tx_pkts);
	s->cycles_rx += RD(c->cycles_rx);
	s->cycles_sift += RD(c->cycles_sift);
	s->cycles_distill += RD(c->cycles_distill);
	s->cycles_tx += RD(c->cycles_tx);
	for (unsigned e = 0; e < DP_ERR__COUNT; e++)
		s->errors[e] += RD(c->errors[e]);
}

void dp_node_lcore_stats(struct dp_node *n, int index, struct dp_lcore_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (index < 0 || index == 0)
		add_stats(s, &n->rx.st);
	if (index < 0 || index == 1)
		add_stats(s, &n->txc.st);
	for (unsigned w = 0; w < n->cfg.n_workers; w++)
		if (index < 0 || index == (int)w + 2)
			add_stats(s, &n->wk[w].st);
}

struct rte_ring *dp_node_key_ring(struct dp_node *n, unsigned w)
{
	return w < n->cfg.n_workers ? n->key_ring[w] : NULL;
}

unsigned dp_node_workers(const struct dp_node *n)
{
	return n->cfg.n_workers;
}

int dp_node_worker_cmd(struct dp_node *n, unsigned w, const struct dp_cmd *c, struct dp_cmd_resp *r)
{
	if (w >= n->cfg.n_workers)
		return -EINVAL;
	if (rte_ring_enqueue_elem(n->wk[w].cmd, (void *)(uintptr_t)c, sizeof(*c)) != 0)
		return -EAGAIN;
	for (unsigned i = 0; i < 100000; i++) {
		if (n->cfg.manual)
			dp_node_poll_worker(n, w);
		if (rte_ring_dequeue_elem(n->wk[w].resp, r, sizeof(*r)) == 0)
			return 0;
		rte_delay_us_sleep(10);
	}
	return -ETIMEDOUT;
}

unsigned dp_node_poll_rx(struct dp_node *n)
{
	n->rx.st.polls++;
	return dp_rx_iteration(n, n->snap);
}

unsigned dp_node_poll_worker(struct dp_node *n, unsigned w)
{
	n->wk[w].st.polls++;
	return w < n->cfg.n_workers ? dp_worker_iteration(n, w, n->snap) : 0;
}

unsigned dp_node_poll_tx(struct dp_node *n)
{
	n->txc.st.polls++;
	return dp_tx_iteration(n);
}

void dp_node_test_corrupt_tx(struct dp_node *n, uint16_t link_id, unsigned count, unsigned bit)
{
	struct dp_link *l = dp_snap_find(n->snap, link_id);
	if (!l)
		return;
	__atomic_store_n(&l->wk.corrupt_bit, bit, __ATOMIC_RELAXED);
	__atomic_store_n(&l->wk.corrupt_left, count, __ATOMIC_RELEASE);
}

void dp_node_test_forge_tx(struct dp_node *n, uint16_t link_id, unsigned count, uint8_t msg_type,
			   unsigned bit)
{
	struct dp_link *l = dp_snap_find(n->snap, link_id);
	if (!l)
		return;
	__atomic_store_n(&l->wk.forge_bit, bit, __ATOMIC_RELAXED);
	__atomic_store_n(&l->wk.forge_type, msg_type, __ATOMIC_RELAXED);
	__atomic_store_n(&l->wk.forge_left, count, __ATOMIC_RELEASE);
}

int dp_qdist_send(struct dp_node *n, struct dp_lcore_ctx *ctx, struct dp_link *l,
		  struct dp_auth_stream *stream, uint8_t type, uint64_t block_seq,
		  const uint8_t *payload, uint32_t len)
{
	return dp_qdist_send_tagged(n, ctx, l, stream, type, DP_QD_TAG_LEN, block_seq, payload, len);
}

int dp_qdist_send_tagged(struct dp_node *n, struct dp_lcore_ctx *ctx, struct dp_link *l,
			 struct dp_auth_stream *stream, uint8_t type, uint8_t tag, uint64_t block_seq,
			 const uint8_t *payload, uint32_t len)
{
	unsigned tlen = tag & DP_QD_TAG_LEN_MASK;
	/* Every fragment carries up to 'room' bytes, so the last one has space for the tag. */
	uint32_t room = n->cfg.mtu - DP_QD_HDR_LEN - DP_QD_TAG_LEN;
	uint32_t cnt = len ? (len + room - 1) / room : 1;
	if (len > DP_QD_MSG_MAX || cnt > DP_QD_FRAGS_MAX)
		return -EMSGSIZE;
	/* Check everything that can fail before the pad is spent. */
	if (rte_ring_free_count(ctx->tx) < cnt)
		return -EAGAIN;
	if (dp_auth_stream_bytes_left(stream) < dp_auth_msg_pad(tag)) {
		dp_count(ctx, DP_ERR_AUTH_EMPTY);
		return -EAGAIN;
	}
	struct rte_mbuf *ms[DP_QD_FRAGS_MAX];
	if (rte_pktmbuf_alloc_bulk(n->pool, ms, cnt) != 0) {
		dp_count(ctx, DP_ERR_NO_MBUF);
		return -EAGAIN;
	}
	struct dp_qd_hdr h = {
		.type = type,
		.link_id = l->cfg.link_id,
		.channel = dp_qd_type_channel(type),
		.tag = tag,
		.role = (uint8_t)l->cfg.role,
		.block_seq = block_seq,
		.msg_seq = stream->next_seq, /* the pad dp_auth_seal_msg takes */
		.msg_len = len,
		.frag_cnt = (uint16_t)cnt,
	};
	uint8_t *q = NULL;
	uint32_t off = 0;
	for (uint32_t i = 0; i < cnt; i++) {
		uint32_t k = len - off < room ? len - off : room;
		bool last = i + 1 == cnt;
		size_t total = DP_ETH_HDR_LEN + DP_QD_HDR_LEN + k + (last ? tlen : 0);
		uint8_t *p = (uint8_t *)rte_pktmbuf_append(ms[i], (uint16_t)total);
		if (!p) {
			rte_pktmbuf_free_bulk(ms, cnt);
			return -EMSGSIZE;
		}
		dp_eth_write(p, l->cfg.peer_mac, l->src_mac.addr_bytes, DP_ETHERTYPE_QDIST);
		q = p + DP_ETH_HDR_LEN;
		h.frag_idx = (uint16_t)i;
		h.payload_len = (uint16_t)k;
		dp_qd_write_hdr(q, &h);
		memcpy(q + DP_QD_HDR_LEN, payload + off, k);
		ms[i]->port = l->peer_port_id;
		off += k;
	}
	/* One tag, in the last fragment (q), over its header and the whole payload; for a single
	 * frame that is exactly the bytes it carries. */
	uint32_t klast = h.payload_len;
	if (dp_auth_seal_msg(stream, q, DP_QD_HDR_LEN, payload, len, q + DP_QD_HDR_LEN + klast) < 0) {
		rte_pktmbuf_free_bulk(ms, cnt);
		return -EAGAIN;
	}
	if (h.channel == DP_QD_CH_DISTILL &&
	    __atomic_load_n(&l->wk.corrupt_left, __ATOMIC_ACQUIRE)) {
		unsigned bit = l->wk.corrupt_bit % (8 * (DP_QD_HDR_LEN + klast + tlen));
		q[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		__atomic_fetch_sub(&l->wk.corrupt_left, 1, __ATOMIC_RELAXED);
	}
	/* This lcore is the ring's only producer and checked the room: all or nothing, and the
	 * mbufs are not touched again once queued. */
	rte_ring_enqueue_bulk(ctx->tx, (void **)ms, cnt, NULL);
	return 0;
}
