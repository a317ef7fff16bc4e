/* Code construction: a base graph with the requested column weights (base_rows - 1 weight-2
 * columns on a chain, the rest placed progressively on the least-used rows), then progressive
 * lifting that picks each circulant shift to avoid 4-cycles and minimise 6- and 8-cycles, weighted
 * by their approximate cycle extrinsic message degree (ACE: low-ACE short cycles hurt BP most).
 * Weight-2 columns beyond the chain close cycles among weight-2 columns; a lifted cycle of them is
 * a codeword of their weight, so their second shift keeps those cycles long (see w2_cycles). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldpc_internal.h"

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64: deterministic from the design seed */
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

struct builder {
	uint32_t mb, nb, z;
	int32_t *sh;       /* mb * nb: shift, -1 no edge, -2 edge not lifted yet */
	uint32_t *wcol;    /* column weights */
	uint16_t **rowcols; /* per row: columns with an edge */
	uint32_t *rowdeg;
	uint16_t **colrows;
	uint32_t *coldeg;
	double *cost;      /* z */
	unsigned max_len;  /* longest cycle length counted (6 or 8) */
	uint32_t *dist;    /* mb * z: weight-2 cover distances (w2_cycles) */
	uint32_t *queue;   /* mb * z */
};

#define SH(b, r, c) ((b)->sh[(size_t)(r) * (b)->nb + (c)])

/* Closed walks through the new edge (r0, c0): row r0 -> c0 (+s) -> ... -> back to r0. 'sum'
 * excludes the new shift; every walk forbids s = -sum. */
static void walk(struct builder *b, uint32_t r0, uint32_t c0, uint32_t col, uint32_t from_row,
		 int64_t sum, unsigned len, unsigned ace, bool *hard)
{
	/* we stand on column 'col', having arrived from 'from_row'; len edges used so far */
	for (uint32_t i = 0; i < b->coldeg[col]; i++) {
		uint32_t r = b->colrows[col][i];
		if (r == from_row || SH(b, r, col) < 0)
			continue;
		int64_t s1 = sum - SH(b, r, col);
		if (r == r0) {
			if (len + 1 >= 4) {
				uint32_t bad = (uint32_t)(((-s1) % b->z + b->z) % b->z);
				unsigned L = len + 1;
				if (L == 4)
					hard[bad] = true;
				else
					b->cost[bad] += (L == 6 ? 1000.0 : 1.0) / (1.0 + ace);
			}
			continue;
		}
		if (len + 3 > b->max_len)
			continue;
		for (uint32_t j = 0; j < b->rowdeg[r]; j++) {
			uint32_t c = b->rowcols[r][j];
			if (c == col || SH(b, r, c) < 0)
				continue;
			walk(b, r0, c0, c, r, s1 + SH(b, r, c), len + 2, ace + b->wcol[c] - 2, hard);
		}
	}
}

/* Weight-2 cycles (codewords) of this many columns or more are not told apart: far heavier than
 * what decides a frame at FER 1e-2. */
#define W2_CYCLE_MIN 32

/* Lifting the second edge (rb, j) of a weight-2 column whose first edge is (ra, j) with shift sa:
 * row ra lane i then meets row rb lane i + sa - s. Breadth-first search over the lifted weight-2
 * columns so far from (ra, 0) gives the lengths of the weight-2 cycles each s closes; shifts
 * closing a shorter one than the best s (up to W2_CYCLE_MIN) are forbidden. */
static void w2_cycles(struct builder *b, uint32_t ra, uint32_t rb, uint32_t sa, bool *hard)
{
	const uint32_t z = b->z, none = UINT32_MAX;
	for (size_t i = 0; i < (size_t)b->mb * z; i++)
		b->dist[i] = none;
	uint32_t head = 0, tail = 0;
	b->dist[(size_t)ra * z] = 0;
	b->queue[tail++] = ra * z;
	while (head < tail) {
		uint32_t node = b->queue[head++], r = node / z, i = node % z;
		if (b->dist[node] + 1 >= W2_CYCLE_MIN)
			break;
		for (uint32_t k = 0; k < b->rowdeg[r]; k++) {
			uint32_t c = b->rowcols[r][k];
			if (b->wcol[c] != 2 || b->coldeg[c] != 2)
				continue;
			uint32_t r2 = b->colrows[c][0] == r ? b->colrows[c][1] : b->colrows[c][0];
			uint32_t next = r2 * z + (i + (uint32_t)SH(b, r, c) + z - (uint32_t)SH(b, r2, c)) % z;
			if (b->dist[next] == none) {
				b->dist[next] = b->dist[node] + 1;
				b->queue[tail++] = next;
			}
		}
	}
	/* Shift s makes delta = sa - s the lane step from row ra to row rb. Cycles through the new
	 * column once: a path rb -> ra of lane step -delta, length dist[delta] + 1; twice in the same
	 * direction: two paths of steps y and 2 delta - y, length dist[y] + dist[2 delta - y] + 2.
	 * (Cycles through it twice in opposite directions have the same length for every s.) */
	const uint32_t *d = b->dist + (size_t)rb * z;
	uint32_t *len = b->queue, best = 0;
	for (uint32_t delta = 0; delta < z; delta++) {
		uint32_t l = d[delta] == none ? W2_CYCLE_MIN : d[delta] + 1;
		for (uint32_t y = 0; y < z && l > 2; y++) {
			uint32_t y2 = (2 * delta + z - y) % z;
			if (d[y] != none && d[y2] != none && d[y] + d[y2] + 2 < l)
				l = d[y] + d[y2] + 2;
		}
		len[delta] = l;
	}
	for (uint32_t s = 0; s < z; s++)
		if (!hard[s] && len[(sa + z - s) % z] > best)
			best = len[(sa + z - s) % z];
	for (uint32_t s = 0; s < z; s++)
		if (len[(sa + z - s) % z] < best)
			hard[s] = true;
}

int dst_ldpc_code_build(const struct dst_ldpc_design *d, struct dst_ldpc_code **out, char *err)
{
	if (!d || !out || d->z < 64 || d->z % 64 || d->z > DST_LDPC_MAX_Z || d->base_rows < 2 ||
	    d->base_cols <= d->base_rows || d->base_cols > DST_LDPC_MAX_BASE || d->nvdeg == 0 ||
	    d->nvdeg > 8) {
		ldpc_err(err, "design: bad sizes");
		return -EINVAL;
	}
	uint32_t mb = d->base_rows, nb = d->base_cols, z = d->z, total = 0, n2 = 0;
	for (uint32_t i = 0; i < d->nvdeg; i++) {
		if (d->vdeg_w[i] < 2 || d->vdeg_w[i] > mb) {
			ldpc_err(err, "design: column weight %u outside [2, %u]", d->vdeg_w[i], mb);
			return -EINVAL;
		}
		total += d->vdeg[i];
		if (d->vdeg_w[i] == 2)
			n2 += d->vdeg[i];
	}
	if (total != nb || n2 >= nb - 1) {
		ldpc_err(err, "design: %u columns listed for %u, %u of weight 2", total, nb, n2);
		return -EINVAL;
	}
	uint32_t nchain = n2 < mb - 1 ? n2 : mb - 1;
	struct builder b = {mb, nb, z, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	/* 8-cycles only when their enumeration stays cheap: (dv * dc)^3 walks per edge */
	{
		uint32_t edges = 0;
		for (uint32_t i = 0; i < d->nvdeg; i++)
			edges += d->vdeg_w[i] * d->vdeg[i];
		double branch = (double)edges / mb * ((double)edges / nb);
		b.max_len = branch * branch * branch * edges < 4e8 ? 8 : 6;
	}
	uint64_t rng = d->seed;
	int rc = -ENOMEM;
	struct dst_ldpc_code *c = NULL;
	bool *hard = calloc(z, sizeof(bool));
	b.sh = malloc((size_t)mb * nb * sizeof(int32_t));
	b.wcol = calloc(nb, sizeof(uint32_t));
	b.rowcols = calloc(mb, sizeof(uint16_t *));
	b.rowdeg = calloc(mb, sizeof(uint32_t));
	b.colrows = calloc(nb, sizeof(uint16_t *));
	b.coldeg = calloc(nb, sizeof(uint32_t));
	b.cost = calloc(z, sizeof(double));
	uint32_t *cand = malloc(z * sizeof(uint32_t));
	b.dist = malloc((size_t)mb * z * sizeof(uint32_t));
	b.queue = malloc((size_t)mb * z * sizeof(uint32_t));
	if (!hard || !b.sh || !b.wcol || !b.rowcols || !b.rowdeg || !b.colrows || !b.coldeg || !b.cost ||
	    !cand || !b.dist || !b.queue)
		goto out;
	for (uint32_t r = 0; r < mb; r++)
		if (!(b.rowcols[r] = malloc(nb * sizeof(uint16_t))))
			goto out;
	for (uint32_t j = 0; j < nb; j++)
		if (!(b.colrows[j] = malloc(mb * sizeof(uint16_t))))
			goto out;
	for (size_t i = 0; i < (size_t)mb * nb; i++)
		b.sh[i] = -1;
	/* column weights: weight-2 chain first, then ascending weight */
	{
		uint32_t j = 0;
		for (uint32_t w = 2; w <= mb; w++)
			for (uint32_t i = 0; i < d->nvdeg; i++)
				if (d->vdeg_w[i] == w)
					for (uint32_t k = 0; k < d->vdeg[i]; k++)
						b.wcol[j++] = w;
	}
	/* base graph */
	for (uint32_t j = 0; j < nb; j++) {
		if (j < nchain) {
			SH(&b, j, j) = -2;
			SH(&b, j + 1, j) = -2;
		} else {
			for (uint32_t k = 0; k < b.wcol[j]; k++) {
				/* least-used row not yet in this column; random tie-break */
				uint32_t best = UINT32_MAX, bestdeg = UINT32_MAX, ties = 0;
				for (uint32_t r = 0; r < mb; r++) {
					if (SH(&b, r, j) != -1)
						continue;
					uint32_t dg = 0;
					for (uint32_t jj = 0; jj < j; jj++)
						dg += SH(&b, r, jj) != -1;
					if (dg < bestdeg) {
						bestdeg = dg;
						best = r;
						ties = 1;
					} else if (dg == bestdeg && rng_next(&rng) % ++ties == 0) {
						best = r;
					}
				}
				SH(&b, best, j) = -2;
			}
		}
	}
	/* lifting, column by column (progressive edge growth order) */
	for (uint32_t j = 0; j < nb; j++) {
		for (uint32_t r = 0; r < mb; r++) {
			if (SH(&b, r, j) != -2)
				continue;
			memset(hard, 0, z * sizeof(bool));
			for (uint32_t i = 0; i < z; i++)
				b.cost[i] = 0;
			/* enumerate cycles via already-lifted edges; add (r,j) to adjacency first */
			walk(&b, r, j, j, r, 0, 1, b.wcol[j] - 2, hard);
			if (b.wcol[j] == 2 && b.coldeg[j] == 1)
				w2_cycles(&b, b.colrows[j][0], r, (uint32_t)SH(&b, b.colrows[j][0], j), hard);
			double best = 1e300;
			uint32_t nc = 0;
			for (uint32_t s = 0; s < z; s++) {
				if (hard[s])
					continue;
				if (b.cost[s] < best - 1e-9) {
					best = b.cost[s];
					nc = 0;
				}
				if (b.cost[s] <= best + 1e-9)
					cand[nc++] = s;
			}
			if (!nc) {
				ldpc_err(err, "lifting: no 4-cycle-free shift for row %u column %u (z too small)",
					 r, j);
				rc = -EINVAL;
				goto out;
			}
			SH(&b, r, j) = (int32_t)cand[rng_next(&rng) % nc];
			b.rowcols[r][b.rowdeg[r]++] = (uint16_t)j;
			b.colrows[j][b.coldeg[j]++] = (uint16_t)r;
		}
	}
	uint32_t ne = 0;
	for (size_t i = 0; i < (size_t)mb * nb; i++)
		ne += b.sh[i] >= 0;
	uint32_t npunct = (nchain + 1) / 2;
	c = ldpc_code_alloc(mb, nb, ne, npunct);
	if (!c)
		goto out;
	snprintf(c->name, sizeof(c->name), "%s", d->name[0] ? d->name : "qc");
	c->z = z;
	c->seed = d->seed;
	{
		uint32_t k = 0;
		for (uint32_t r = 0; r < mb; r++) {
			c->row_start[r] = k;
			for (uint32_t j = 0; j < nb; j++)
				if (SH(&b, r, j) >= 0) {
					c->col[k] = (uint16_t)j;
					c->shift[k] = (uint16_t)SH(&b, r, j);
					k++;
				}
		}
		c->row_start[mb] = k;
	}
	for (uint32_t k = 0; k < npunct; k++)
		c->punct_cols[k] = (uint16_t)(2 * k); /* every other chain column: 1-step recoverable */
	rc = ldpc_code_finish(c, err);
	if (rc) {
		dst_ldpc_code_free(c);
		c = NULL;
	}
out:
	if (rc == -ENOMEM)
		ldpc_err(err, "out of memory");
	if (b.rowcols)
		for (uint32_t r = 0; r < mb; r++)
			free(b.rowcols[r]);
	if (b.colrows)
		for (uint32_t j = 0; j < nb; j++)
			free(b.colrows[j]);
	free(b.rowcols);
	free(b.colrows);
	free(b.sh);
	free(b.wcol);
	free(b.rowdeg);
	free(b.coldeg);
	free(b.cost);
	free(cand);
	free(hard);
	free(b.dist);
	free(b.queue);
	*out = c;
	return rc;
}
