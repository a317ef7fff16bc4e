/* RX + parse + slot-window fill per lcore, from a pre-filled ring of the transmitter module's
 * dense detector-event frames (the node's heaviest input: one symbol per slot), against a plain
 * RX + free loop over the very same mbufs (the packet-handling floor). Both variants rewrite each
 * frame's sequence number and first slot before sending it again, so the node sees one
 * continuous stream. */
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "dp_evframe.h"
#include "dp_node.h"
#include "dp_simgen.h"
#include "qkdperf.h"

#define SLOTS 2048
#define FRAMES 1024

struct rx_arg {
	struct rte_mbuf *m[FRAMES];
	struct rte_ring *in, *sink;
	uint16_t port;
	struct dp_node *node;
	uint64_t pass;
};

/* Re-stamp and queue every frame once; returns after the receiver has drained the ring. */
static void push_all(struct rx_arg *x, void (*drain)(struct rx_arg *))
{
	uint64_t base_seq = x->pass * FRAMES, base_slot = x->pass * FRAMES * SLOTS;
	for (unsigned i = 0; i < FRAMES; i += 32) {
		for (unsigned j = i; j < i + 32; j++) {
			uint8_t *h = rte_pktmbuf_mtod_offset(x->m[j], uint8_t *, DP_ETH_HDR_LEN);
			uint32_t seq = (uint32_t)(base_seq + j);
			uint64_t slot = base_slot + (uint64_t)j * SLOTS + 1;
			memcpy(h + 4, &seq, 4);
			memcpy(h + 8, &slot, 8);
			rte_mbuf_refcnt_update(x->m[j], 1); /* the receiver's free leaves ours */
		}
		rte_ring_enqueue_bulk(x->in, (void **)&x->m[i], 32, NULL);
		drain(x);
	}
	x->pass++;
}

static void drain_free(struct rx_arg *x)
{
	struct rte_mbuf *b[32];
	uint16_t k;
	while ((k = rte_eth_rx_burst(x->port, 0, b, 32)) != 0)
		rte_pktmbuf_free_bulk(b, k);
}

static void drain_node(struct rx_arg *x)
{
	while (rte_ring_count(x->in))
		dp_node_poll_rx(x->node);
}

static void run_free(void *p) { push_all(p, drain_free); }
static void run_node(void *p) { push_all(p, drain_node); }

static void bench_dp_rx(struct qp_run *r)
{
	if (!dp_bench_eal())
		return;
	static struct rx_arg x;
	struct rte_mempool *pool = rte_pktmbuf_pool_create("bench_rx_pool", FRAMES + 511, 0, 0,
							   RTE_PKTMBUF_HEADROOM + 2048, SOCKET_ID_ANY);
	x.in = dp_bench_ring(2048);
	x.sink = dp_bench_ring(2048);
	struct dst_link_params lp;
	dst_link_params_default(&lp);
	struct dp_simgen *g = dp_simgen_create(&lp, 5, 1, SLOTS, true);
	if (!pool || !x.in || !x.sink || !g)
		return;
	static uint8_t fa[4096], fb[8192];
	for (unsigned i = 0; i < FRAMES; i++) {
		size_t la, lb;
		dp_simgen_next(g, fa, sizeof(fa), &la, fb, sizeof(fb), &lb);
		x.m[i] = rte_pktmbuf_alloc(pool);
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(x.m[i], (uint16_t)(DP_ETH_HDR_LEN + la));
		static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
		dp_eth_write(d, mac, mac, DP_ETHERTYPE_EVENTS);
		memcpy(d + DP_ETH_HDR_LEN, fa, la);
	}
	dp_simgen_free(g);
	int port = dp_bench_ring_port(x.in, x.sink);
	struct dp_node_cfg nc = {.n_ports = 1, .port_ids = {(uint16_t)port}, .n_workers = 1,
				 .manual = true, .mbufs = 1023};
	x.node = port >= 0 ? dp_node_create(&nc, NULL) : NULL;
	static uint8_t psk[1024];
	struct dp_link_cfg lc = {.link_id = 1, .role = DP_ROLE_ALICE, .module_port = 0,
				 .peer_port = 0, .block_bits = 1u << 18, .psk = psk,
				 .psk_len = sizeof(psk)};
	if (!x.node || dp_node_start(x.node) || dp_node_link_add(x.node, &lc, NULL))
		return;
	x.port = (uint16_t)port;
	struct qp_case c = {"dp_rx", "rx_free", SLOTS * FRAMES, "Mevents/s",
			    (double)SLOTS * FRAMES, run_free, &x, true};
	qp_measure(r, &c);
	c.variant = "parse_window";
	c.fn = run_node;
	c.baseline = false;
	qp_measure(r, &c);
	dp_node_free(x.node);
	for (unsigned i = 0; i < FRAMES; i++)
		rte_pktmbuf_free(x.m[i]);
	rte_ring_free(x.in);
	rte_ring_free(x.sink);
	rte_mempool_free(pool);
}
QP_BENCH("dp_rx", "RX + parse + slot window per lcore (dense event frames) vs RX + free",
	 bench_dp_rx)
