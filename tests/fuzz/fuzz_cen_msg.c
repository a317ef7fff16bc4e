/* Controller message decoding (cp_central.h) on arbitrary bytes: a decode either fails with a
 * reason and leaves nothing allocated, or succeeds, and then the message encodes and decodes back
 * to the same content. */
#include <stdlib.h>
#include <string.h>

#include "cp_central.h"

static int same(const struct cp_cen_msg *a, const struct cp_cen_msg *b)
{
	if (a->type != b->type || strcmp(a->node, b->node) || a->seq != b->seq ||
	    strcmp(a->reason, b->reason) || a->n_edges != b->n_edges || a->lsa.n_links != b->lsa.n_links ||
	    a->lsa.number != b->lsa.number || a->n_numbers != b->n_numbers ||
	    a->numbers_present != b->numbers_present)
		return 0;
	for (unsigned i = 0; i < a->n_numbers; i++)
		if (strcmp(a->numbers[i].name, b->numbers[i].name) ||
		    a->numbers[i].number != b->numbers[i].number)
			return 0;
	for (unsigned i = 0; i < a->n_edges; i++)
		if (strcmp(a->edges[i].a, b->edges[i].a) || strcmp(a->edges[i].b, b->edges[i].b) ||
		    a->edges[i].cost != b->edges[i].cost)
			return 0;
	for (unsigned i = 0; i < a->lsa.n_links; i++) {
		const struct cp_lsa_link *x = &a->lsa.links[i], *y = &b->lsa.links[i];
		if (strcmp(x->peer, y->peer) || x->attr.up != y->attr.up || x->attr.avail != y->attr.avail ||
		    x->attr.max != y->attr.max || x->attr.delta != y->attr.delta ||
		    x->attr.low_water != y->attr.low_water || x->rate_bps != y->rate_bps)
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_cen_msg m, back;
	char why[CP_CEN_REASON_MAX] = "";
	if (cp_cen_decode((const char *)data, size, &m, why, sizeof(why))) {
		if (!why[0] || m.edges)
			abort();
		return 0;
	}
	char *s = cp_cen_encode(&m);
	if (!s || cp_cen_decode(s, strlen(s), &back, why, sizeof(why)) || !same(&m, &back))
		abort();
	cp_cen_msg_clear(&back);
	cp_cen_msg_clear(&m);
	free(s);
	return 0;
}
