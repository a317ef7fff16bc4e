/* The ledger port of a link (dp_node.h): rings and claim slots between a link's lcores and the
 * owner of its authentication ledger (dp_ledger.h), who runs on the control thread. */
#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

#include "node_internal.h"

struct pads {
	uint32_t part;
	uint32_t pad;
	uint8_t mat[]; /* two parts */
};

void *dp_node_pads_alloc(const uint8_t *mat, uint32_t part, unsigned a, unsigned b)
{
	struct pads *p = (struct pads *)km_key_material_alloc((uint32_t)sizeof(*p) + 2 * part);
	if (!p)
		return NULL;
	p->part = part;
	memcpy(p->mat, mat + (size_t)a * part, part);
	memcpy(p->mat + part, mat + (size_t)b * part, part);
	return p;
}

void dp_ledger_port_apply(struct rte_ring *r, struct dp_auth_stream *a, struct dp_auth_stream *b)
{
	void *obj;
	while (rte_ring_dequeue(r, &obj) == 0) {
		struct pads *p = obj;
		/* the owner checked the room (dp_ledger_decide's max_head), so these cannot fail */
		dp_auth_stream_append(a, p->mat, p->part);
		dp_auth_stream_append(b, p->mat + p->part, p->part);
		km_key_material_free((uint8_t *)p, (uint32_t)sizeof(*p) + 2 * p->part);
	}
}

void dp_ledger_port_drain(struct rte_ring *r)
{
	void *obj;
	while (r && rte_ring_dequeue(r, &obj) == 0) {
		struct pads *p = obj;
		km_key_material_free((uint8_t *)p, (uint32_t)sizeof(*p) + 2 * p->part);
	}
}

int dp_node_link_port(struct dp_node *n, uint16_t link_id, struct dp_link_port *p)
{
	struct dp_link *l = dp_snap_find(n->snap, link_id);
	if (!l || !l->managed)
		return -ENOENT;
	enum dp_role me = l->cfg.role, peer = me == DP_ROLE_ALICE ? DP_ROLE_BOB : DP_ROLE_ALICE;
	p->finished = l->fin;
	p->apply_sift = l->apply_sift;
	p->apply_distill = l->apply_distill;
	p->streams[dp_auth_stream_index(DP_QD_CH_SIFT, me)] = &l->rx.tx;
	p->streams[dp_auth_stream_index(DP_QD_CH_SIFT, peer)] = &l->rx.rx;
	p->streams[dp_auth_stream_index(DP_QD_CH_DISTILL, me)] = &l->wk.tx;
	p->streams[dp_auth_stream_index(DP_QD_CH_DISTILL, peer)] = &l->wk.rx;
	p->send_mask = 1u << dp_auth_stream_index(DP_QD_CH_SIFT, me) |
		       1u << dp_auth_stream_index(DP_QD_CH_DISTILL, me);
	p->own = &l->own_claim;
	p->peer = &l->peer_claim;
	p->block_in_use = &l->rx.next_block_seq;
	return 0;
}

bool dp_node_claims_sent(struct dp_node *n)
{
	const struct dp_snap *s = n->snap;
	for (unsigned i = 0; i < s->n; i++) {
		struct dp_link *l = s->links[i];
		uint64_t upto, held;
		if (!l->managed)
			continue;
		dp_claim_slot_read(&l->own_claim, &upto, &held);
		if (__atomic_load_n(&l->wk.claim_sent, __ATOMIC_ACQUIRE) < upto)
			return false;
	}
	return true;
}

void dp_node_test_clock(struct dp_node *n, uint64_t (*now)(void *ctx), void *ctx)
{
	n->test_clock_ctx = ctx;
	n->test_clock = now;
}

void dp_node_test_drop_commit(struct dp_node *n, uint16_t link_id, unsigned skip, unsigned count)
{
	struct dp_link *l = dp_snap_find(n->snap, link_id);
	if (!l)
		return;
	__atomic_store_n(&l->wk.drop_commit_skip, skip, __ATOMIC_RELAXED);
	__atomic_store_n(&l->wk.drop_commit_left, count, __ATOMIC_RELEASE);
}
