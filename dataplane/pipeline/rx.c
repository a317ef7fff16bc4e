/* RX lcore: burst receive on every port, classify by EtherType and link, hand detector events to
 * sifting, sift-channel Qdist to the sifting state and distill-channel Qdist to the link's worker. */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include "node_internal.h"

#define PREFETCH_AHEAD 3

static void rx_events(struct dp_node *n, const struct dp_snap *s, const uint8_t *p, size_t len)
{
	struct dp_evf_hdr h;
	enum dp_err e = dp_evf_parse(p, len, &h);
	if (e) {
		dp_count(&n->rx, e);
		return;
	}
	struct dp_link *l = dp_snap_find(s, h.link_id);
	if (!l) {
		dp_count(&n->rx, DP_ERR_EVF_LINK);
		return;
	}
	dp_sift_event_frame(n, l, &h, p + DP_EVF_HDR_LEN);
}

/* Returns true when the mbuf was kept (queued or held). */
static bool rx_qdist(struct dp_node *n, const struct dp_snap *s, struct rte_mbuf *m,
		     const uint8_t *p, size_t len)
{
	struct dp_qd_hdr h;
	enum dp_err e = dp_qd_parse(p, len, &h);
	if (e) {
		dp_count(&n->rx, e);
		return false;
	}
	struct dp_link *l = dp_snap_find(s, h.link_id);
	if (!l) {
		dp_count(&n->rx, DP_ERR_QD_LINK);
		return false;
	}
	if (h.role == l->cfg.role) { /* only the peer speaks to us on this link */
		dp_count(&n->rx, DP_ERR_QD_RESERVED);
		return false;
	}
	if (h.channel == DP_QD_CH_SIFT) {
		dp_sift_qdist(n, l, m);
		return true;
	}
	if (rte_ring_enqueue(l->msg_in, m) != 0) {
		dp_count(&n->rx, DP_ERR_QD_HOLD_FULL);
		return false;
	}
	return true;
}

static void rx_one(struct dp_node *n, const struct dp_snap *s, struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t len = rte_pktmbuf_data_len(m);
	uint16_t et;
	enum dp_err e = dp_eth_type(p, len, &et);
	if (e) {
		dp_count(&n->rx, e);
	} else if (et != DP_ETHERTYPE_EVENTS && et != DP_ETHERTYPE_QDIST) {
		dp_count(&n->rx, DP_ERR_ETH_TYPE);
	} else if (m->nb_segs != 1) {
		/* Both protocols fit one segment (jumbo mbufs); chained frames are not ours. */
		dp_count(&n->rx, et == DP_ETHERTYPE_QDIST ? DP_ERR_QD_LENGTH : DP_ERR_EVF_LENGTH);
	} else if (et == DP_ETHERTYPE_EVENTS) {
		rx_events(n, s, p + DP_ETH_HDR_LEN, len - DP_ETH_HDR_LEN);
	} else if (et == DP_ETHERTYPE_QDIST) {
		if (rx_qdist(n, s, m, p + DP_ETH_HDR_LEN, len - DP_ETH_HDR_LEN))
			return;
	}
	rte_pktmbuf_free(m);
}

unsigned dp_rx_iteration(struct dp_node *n, const struct dp_snap *s)
{
	struct rte_mbuf *pkts[DP_BURST];
	unsigned work = 0;
	uint64_t t0 = rte_rdtsc();
	n->rx.now = t0;
	for (unsigned p = 0; p < n->cfg.n_ports; p++) {
		uint16_t k = rte_eth_rx_burst(n->cfg.port_ids[p], 0, pkts, DP_BURST);
		if (!k)
			continue;
		n->rx.st.rx_pkts += k;
		for (unsigned i = 0; i < k && i < PREFETCH_AHEAD; i++)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
		for (unsigned i = 0; i < k; i++) {
			if (i + PREFETCH_AHEAD < k)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
			rx_one(n, s, pkts[i]);
		}
		work += k;
	}
	uint64_t t1 = rte_rdtsc();
	for (unsigned i = 0; i < s->n; i++)
		work += dp_sift_service(n, s->links[i]);
	uint64_t t2 = rte_rdtsc();
	/* Parsing and window writes count as RX; announcement matching and block filling as sift. */
	n->rx.st.cycles_rx += t1 - t0;
	n->rx.st.cycles_sift += t2 - t1;
	return work;
}
