/* TX lcore: drain the RX lcore's and the workers' TX rings into per-port bursts and send them.
 * Nothing is dropped here: a burst the port does not take is kept and retried (the rings behind
 * it fill up and their producers pause), and partial bursts go out after the drain interval. */
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "node_internal.h"


static unsigned port_index(const struct dp_node *n, uint16_t port_id)
{
	for (unsigned i = 0; i < n->cfg.n_ports; i++)
		if (n->cfg.port_ids[i] == port_id)
			return i;
	return 0;
}

static unsigned flush(struct dp_node *n, unsigned p)
{
	struct dp_tx_buf *b = &n->txb[p];
	if (!b->n)
		return 0;
	uint16_t k = rte_eth_tx_burst(n->cfg.port_ids[p], 0, b->pkts, b->n);
	n->txc.st.tx_pkts += k;
	if (k < b->n)
		memmove(b->pkts, b->pkts + k, (b->n - k) * sizeof(b->pkts[0]));
	b->n = (uint16_t)(b->n - k);
	return k;
}

static unsigned drain_ring(struct dp_node *n, struct rte_ring *r, uint64_t now)
{
	struct rte_mbuf *ms[DP_BURST];
	unsigned room = DP_BURST;
	for (unsigned p = 0; p < n->cfg.n_ports; p++)
		if ((unsigned)(DP_BURST - n->txb[p].n) < room)
			room = (unsigned)(DP_BURST - n->txb[p].n);
	unsigned k = rte_ring_dequeue_burst(r, (void **)ms, room, NULL);
	for (unsigned i = 0; i < k; i++) {
		unsigned p = port_index(n, ms[i]->port);
		struct dp_tx_buf *b = &n->txb[p];
		if (!b->n)
			b->since = now;
		b->pkts[b->n++] = ms[i];
		if (b->n == DP_BURST)
			flush(n, p);
	}
	return k;
}

unsigned dp_tx_iteration(struct dp_node *n)
{
	uint64_t now = rte_rdtsc();
	unsigned work = drain_ring(n, n->rx.tx, now);
	for (unsigned w = 0; w < n->cfg.n_workers; w++)
		work += drain_ring(n, n->wk[w].tx, now);
	unsigned sent = 0;
	for (unsigned p = 0; p < n->cfg.n_ports; p++)
		if (n->txb[p].n && (n->txb[p].n == DP_BURST || now - n->txb[p].since >= n->drain_tsc || !work))
			sent += flush(n, p);
	work += sent;
	n->txc.st.cycles_tx += rte_rdtsc() - now;
	return work;
}

/* Free what is still queued (after the lcores stopped). */
void dp_tx_discard(struct dp_node *n)
{
	for (unsigned p = 0; p < n->cfg.n_ports; p++) {
		for (unsigned i = 0; i < n->txb[p].n; i++)
			rte_pktmbuf_free(n->txb[p].pkts[i]);
		n->txb[p].n = 0;
	}
}
