/* Event-frame generator on top of the link model's dense planes. */
#include "dp_simgen.h"

#include <errno.h>
#include <stdlib.h>

#include "dp_evframe.h"

struct dp_simgen {
	struct dst_model *m;
	struct dst_planes *pl;
	uint16_t link_id;
	bool alice_dense;
	uint32_t seq_a, seq_b;
	uint8_t *syms_a, *syms_b, *syms_det;
	uint64_t *slots;
};

struct dp_simgen *dp_simgen_create(const struct dst_link_params *p, uint64_t seed,
				   uint16_t link_id, unsigned slots_per_frame, bool alice_dense)
{
	if (slots_per_frame == 0 || slots_per_frame % 64 || slots_per_frame > 65472)
		return NULL;
	struct dp_simgen *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->m = dst_model_create(p, seed);
	g->pl = dst_planes_create(slots_per_frame);
	g->syms_a = malloc(slots_per_frame);
	g->syms_b = malloc(slots_per_frame);
	g->syms_det = malloc(slots_per_frame);
	g->slots = malloc(slots_per_frame * sizeof(uint64_t));
	if (!g->m || !g->pl || !g->syms_a || !g->syms_b || !g->syms_det || !g->slots) {
		dp_simgen_free(g);
		return NULL;
	}
	g->link_id = link_id;
	g->alice_dense = alice_dense;
	return g;
}

void dp_simgen_free(struct dp_simgen *g)
{
	if (!g)
		return;
	dst_model_free(g->m);
	dst_planes_free(g->pl);
	free(g->syms_a);
	free(g->syms_b);
	free(g->syms_det);
	free(g->slots);
	free(g);
}

static unsigned bit(const uint64_t *w, size_t i)
{
	return (unsigned)(w[i >> 6] >> (i & 63)) & 1;
}

int dp_simgen_next(struct dp_simgen *g, uint8_t *alice, size_t cap_a, size_t *len_a,
		   uint8_t *bob, size_t cap_b, size_t *len_b)
{
	struct dst_planes *pl = g->pl;
	dst_model_planes(g->m, pl);
	unsigned nd = 0;
	for (size_t j = 0; j < pl->nslots; j++) {
		unsigned cls = bit(pl->cls_lo, j) | bit(pl->cls_hi, j) << 1;
		g->syms_a[j] = DP_SYM(bit(pl->a_basis, j), bit(pl->a_bit, j), cls);
		if (bit(pl->det, j)) {
			g->slots[nd] = pl->slot0 + j + 1;
			g->syms_b[nd] = DP_SYM(bit(pl->b_basis, j), bit(pl->b_bit, j), 0);
			g->syms_det[nd] = g->syms_a[j];
			nd++;
		}
	}
	*len_a = *len_b = 0;
	if (g->alice_dense) {
		struct dp_evf_hdr h = {.flags = DP_EVF_FLAG_DENSE, .link_id = g->link_id,
				       .seq = g->seq_a, .first_slot = pl->slot0 + 1,
				       .count = (uint16_t)pl->nslots};
		int k = dp_evf_build_dense(alice, cap_a, &h, g->syms_a);
		if (k < 0)
			return k;
		*len_a = (size_t)k;
		g->seq_a++;
	} else if (nd) {
		struct dp_evf_hdr h = {.link_id = g->link_id, .seq = g->seq_a, .first_slot = pl->slot0 + 1};
		int k = dp_evf_build_sparse(alice, cap_a, &h, g->slots, g->syms_det, nd);
		if (k < 0)
			return k;
		*len_a = (size_t)k;
		g->seq_a++;
	}
	if (nd) {
		struct dp_evf_hdr h = {.flags = DP_EVF_FLAG_RX_SIDE, .link_id = g->link_id,
				       .seq = g->seq_b, .first_slot = pl->slot0 + 1};
		int k = dp_evf_build_sparse(bob, cap_b, &h, g->slots, g->syms_b, nd);
		if (k < 0)
			return k;
		*len_b = (size_t)k;
		g->seq_b++;
	}
	return (int)nd;
}

const struct dst_planes *dp_simgen_planes(const struct dp_simgen *g)
{
	return g->pl;
}
