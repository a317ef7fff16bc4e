/* Geometric gaps for the link model without a logarithm per draw. A geometric variable X (failures
 * before the first success, success probability p) splits into independent base-4096 digits: X mod
 * 4096 follows the geometric law truncated to [0, 4095] and X div 4096 is geometric with failure
 * probability (1-p)^4096. Each digit level is one alias-table lookup; the top level (failure
 * probability below 1/2) is a short loop. Probabilities are quantised to 2^-32. Private header. */
#ifndef DST_MODEL_GEOMETRIC_H
#define DST_MODEL_GEOMETRIC_H

#include <stdint.h>

#include "rng.h"

#define DST_GEOM_BITS 12
#define DST_GEOM_SIZE (1u << DST_GEOM_BITS)
#define DST_GEOM_MAX_LEVELS 5

struct dst_geom_level {
	uint32_t prob[DST_GEOM_SIZE];  /* keep index i when the coin is below prob[i] */
	uint16_t alias[DST_GEOM_SIZE];
};

struct dst_geom {
	unsigned levels;               /* digit levels in use */
	uint64_t top_fail;             /* top-level failure probability scaled to 2^32 */
	int never;                     /* p == 0: no success ever */
	int use_log;                   /* p too small for the tables: log(U)/log(1-p) */
	double log_fail;
	struct dst_geom_level *lv;     /* 'levels' tables */
};

/* 0 or -ENOMEM. p in [0, 1]. */
int dst_geom_init(struct dst_geom *g, double p);
void dst_geom_free(struct dst_geom *g);
/* Failures before the next success; UINT64_MAX when it would not fit (or never happens). */
uint64_t dst_geom_draw(const struct dst_geom *g, struct dst_rng *r);

#endif
