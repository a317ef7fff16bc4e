/* Table-driven geometric sampler (see geometric.h). */
#include "geometric.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Vose's alias method for P(j) proportional to f^j on [0, 4096). */
struct scratch {
	double w[DST_GEOM_SIZE];
	unsigned small[DST_GEOM_SIZE], large[DST_GEOM_SIZE];
};

static void build_level(struct dst_geom_level *lv, double f, struct scratch *sc)
{
	double *w = sc->w, sum = 0, x = 1;
	unsigned *small = sc->small, *large = sc->large;
	for (unsigned j = 0; j < DST_GEOM_SIZE; j++, x *= f) {
		w[j] = x;
		sum += x;
	}
	unsigned ns = 0, nl = 0;
	for (unsigned j = 0; j < DST_GEOM_SIZE; j++) {
		w[j] *= DST_GEOM_SIZE / sum;
		if (w[j] < 1.0)
			small[ns++] = j;
		else
			large[nl++] = j;
	}
	while (ns && nl) {
		unsigned s = small[--ns], l = large[nl - 1];
		lv->prob[s] = (uint32_t)fmin(w[s] * 4294967296.0, 4294967295.0);
		lv->alias[s] = (uint16_t)l;
		w[l] -= 1.0 - w[s];
		if (w[l] < 1.0) {
			nl--;
			small[ns++] = l;
		}
	}
	while (nl) { /* rounding leftovers: keep themselves */
		unsigned l = large[--nl];
		lv->prob[l] = UINT32_MAX;
		lv->alias[l] = (uint16_t)l;
	}
	while (ns) {
		unsigned s = small[--ns];
		lv->prob[s] = UINT32_MAX;
		lv->alias[s] = (uint16_t)s;
	}
}

int dst_geom_init(struct dst_geom *g, double p)
{
	memset(g, 0, sizeof(*g));
	if (!(p > 0.0)) {
		g->never = 1;
		return 0;
	}
	double log_fail = log1p(-fmin(p, 1.0)); /* log of the failure probability, <= 0 */
	g->log_fail = log_fail;
	/* Levels until the failure probability of the remaining quotient drops below 1/2. */
	unsigned levels = 0;
	double lf = log_fail;
	while (levels < DST_GEOM_MAX_LEVELS && exp(lf) >= 0.5) {
		lf *= DST_GEOM_SIZE;
		levels++;
	}
	if (exp(lf) >= 0.5) {
		g->use_log = 1;
		return 0;
	}
	g->levels = levels;
	g->top_fail = (uint64_t)llround(exp(lf) * 4294967296.0);
	if (levels) {
		g->lv = malloc(levels * sizeof(*g->lv));
		struct scratch *sc = malloc(sizeof(*sc));
		if (!g->lv || !sc) {
			free(sc);
			dst_geom_free(g);
			return -ENOMEM;
		}
		double f = log_fail;
		for (unsigned l = 0; l < levels; l++, f *= DST_GEOM_SIZE)
			build_level(&g->lv[l], exp(f), sc);
		free(sc);
	}
	return 0;
}

void dst_geom_free(struct dst_geom *g)
{
	free(g->lv);
	g->lv = NULL;
}

uint64_t dst_geom_draw(const struct dst_geom *g, struct dst_rng *r)
{
	if (g->never)
		return UINT64_MAX;
	if (g->use_log) {
		double gap = floor(log(dst_rng_unit_open0(r)) / g->log_fail);
		return gap < 1.8e19 ? (uint64_t)gap : UINT64_MAX;
	}
	uint64_t top = 0;
	for (;;) { /* failures of the top-level geometric: mean below 1 */
		uint64_t x = dst_rng_next(r);
		if ((x >> 32) >= g->top_fail)
			break;
		top++;
		if ((uint32_t)x >= g->top_fail)
			break;
		top++;
	}
	unsigned shift = DST_GEOM_BITS * g->levels; /* at most 60 */
	if (shift && top >> (64 - shift))
		return UINT64_MAX;
	uint64_t gap = top << shift;
	for (unsigned l = 0; l < g->levels; l++) {
		uint64_t x = dst_rng_next(r);
		unsigned i = (unsigned)(x >> (64 - DST_GEOM_BITS));
		uint32_t coin = (uint32_t)x;
		unsigned d = coin < g->lv[l].prob[i] ? i : g->lv[l].alias[i];
		gap += (uint64_t)d << (DST_GEOM_BITS * l);
	}
	return gap;
}
