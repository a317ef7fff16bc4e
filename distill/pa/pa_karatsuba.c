/* Toeplitz matrix-vector product by blocked Karatsuba (the transposed form of Karatsuba
 * multiplication, so only the m middle words of the product are computed).
 *
 * Word-level view: with NW = words(n), MW = words(m) and the seed shifted left by r = 64·NW - n
 * bits (generator G), output word I gets, for every input word J, bits 63..126 of the 128-bit
 * window G[w], G[w+1] (w = I - J + NW - 1) times X[J]. The MW x NW word matrix is cut into square
 * k x k tiles; each tile splits as [[A, B], [C, A]] (blocks on diagonals 0, -1, +1) and
 *     Y0 = A(X0 + X1) + (A + B) X1,   Y1 = A(X0 + X1) + (A + C) X0,
 * three half-size products instead of four. Odd sizes pad X1 with a zero word and drop the extra
 * output row, so no power-of-two padding is needed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pa_internal.h"

static size_t ws_need(size_t k)
{
	if (k <= PA_LEAF_MAX)
		return 0;
	size_t h = (k + 1) / 2;
	return 5 * h + 2 * PA_GSLACK + ws_need(h);
}

/* Relative cost of a k x k tile: leaf carry-less multiplies plus the word XORs of each split. */
static double tile_cost(size_t k)
{
	if (k <= PA_LEAF_MAX)
		return (double)k * (double)(k + 1);
	size_t h = (k + 1) / 2;
	return 3.0 * tile_cost(h) + 2.0 * (double)k;
}

/* Y[0..k) ^= T·X for the k x k tile whose generator window starts at G (readable from
 * G - PA_GSLACK to G + 2k + PA_GSLACK). */
static void tmvp(const struct pa_kernels *kern, size_t k, const uint64_t *G, const uint64_t *X,
		 uint64_t *Y, uint64_t *ws)
{
	if (k <= PA_LEAF_MAX) {
		kern->leaf(k, G, X, Y);
		return;
	}
	size_t h = (k + 1) / 2, l = k - h;
	const uint64_t *ga = G + (k - h), *gb = ga - h, *gc = ga + h;
	uint64_t *xs = ws, *x1 = xs + h, *gs = x1 + h + PA_GSLACK, *p = gs + 2 * h + PA_GSLACK;
	uint64_t *next = p + h;

	memcpy(x1, X + h, l * sizeof(uint64_t));
	if (l < h)
		x1[l] = 0;
	for (size_t t = 0; t < h; t++)
		xs[t] = X[t] ^ x1[t];

	memset(p, 0, h * sizeof(uint64_t));
	tmvp(kern, h, ga, xs, p, next); /* A(X0 + X1) goes to both halves */
	for (size_t t = 0; t < h; t++)
		Y[t] ^= p[t];
	for (size_t t = 0; t < l; t++)
		Y[h + t] ^= p[t];

	for (size_t t = 0; t < 2 * h; t++)
		gs[t] = ga[t] ^ gb[t];
	tmvp(kern, h, gs, x1, Y, next);

	for (size_t t = 0; t < 2 * h; t++)
		gs[t] = ga[t] ^ gc[t];
	if (l == h) {
		tmvp(kern, h, gs, X, Y + h, next);
	} else {
		memset(p, 0, h * sizeof(uint64_t));
		tmvp(kern, h, gs, X, p, next);
		for (size_t t = 0; t < l; t++)
			Y[h + t] ^= p[t];
	}
}

/* Pick the tile size that minimises tiles x tile cost (square tiles, zero padded at the edges). */
static size_t pick_tile(size_t mw, size_t nw, size_t *tr, size_t *tc)
{
	size_t lo = mw < nw ? mw : nw, hi = mw < nw ? nw : mw;
	size_t best = 1;
	double best_cost = -1;
	for (size_t t = 1; t <= 512; t++) {
		size_t cand[2] = {(lo + t - 1) / t, (hi + t - 1) / t};
		for (int c = 0; c < 2; c++) {
			size_t k = cand[c];
			if (k == 0)
				continue;
			double cost = (double)((mw + k - 1) / k) * (double)((nw + k - 1) / k) * tile_cost(k);
			if (best_cost < 0 || cost < best_cost) {
				best_cost = cost;
				best = k;
			}
		}
	}
	*tr = (mw + best - 1) / best;
	*tc = (nw + best - 1) / best;
	return best;
}

double pa_kara_cost(size_t n, size_t m)
{
	size_t tr, tc, k = pick_tile(DST_PA_WORDS(m), DST_PA_WORDS(n), &tr, &tc);
	return (double)tr * (double)tc * tile_cost(k);
}

int pa_kara_init(struct pa_kara *p, size_t n, size_t m)
{
	memset(p, 0, sizeof(*p));
	p->n = n;
	p->m = m;
	p->nw = DST_PA_WORDS(n);
	p->mw = DST_PA_WORDS(m);
	p->k = pick_tile(p->mw, p->nw, &p->tr, &p->tc);
	/* tile offsets reach k words before G[0] and k past G[MW + NW] */
	size_t slack = p->k + PA_GSLACK;
	p->gbuf_words = p->mw + p->nw + 2 * slack;
	p->ws_words = ws_need(p->k) + PA_GSLACK;
	p->gbuf = calloc(p->gbuf_words, sizeof(uint64_t));
	p->xpad = calloc(p->tc * p->k, sizeof(uint64_t));
	p->ypad = calloc(p->tr * p->k, sizeof(uint64_t));
	p->ws = calloc(p->ws_words, sizeof(uint64_t));
	if (!p->gbuf || !p->xpad || !p->ypad || !p->ws) {
		pa_kara_fini(p);
		return -ENOMEM;
	}
	p->g = p->gbuf + slack;
	return 0;
}

void pa_kara_set_seed(struct pa_kara *p, const uint64_t *seed)
{
	size_t sbits = p->n + p->m - 1;
	long long r = (long long)(64 * p->nw - p->n);
	for (size_t q = 0; q < p->mw + p->nw; q++)
		p->g[q] = pa_bits_get64(seed, sbits, 64 * (long long)q - r);
}

void pa_kara_apply(struct pa_kara *p, const struct pa_kernels *kern, const uint64_t *x, uint64_t *y)
{
	size_t k = p->k;
	memcpy(p->xpad, x, p->nw * sizeof(uint64_t));
	if (p->n & 63)
		p->xpad[p->nw - 1] &= (1ull << (p->n & 63)) - 1;
	memset(p->ypad, 0, p->tr * k * sizeof(uint64_t));
	for (size_t I = 0; I < p->tr; I++)
		for (size_t J = 0; J < p->tc; J++) {
			ptrdiff_t off = ((ptrdiff_t)I - (ptrdiff_t)J) * (ptrdiff_t)k + (ptrdiff_t)p->nw -
					(ptrdiff_t)k;
			tmvp(kern, k, p->g + off, p->xpad + J * k, p->ypad + I * k, p->ws);
		}
	memcpy(y, p->ypad, p->mw * sizeof(uint64_t));
	if (p->m & 63)
		y[p->mw - 1] &= (1ull << (p->m & 63)) - 1;
}

size_t pa_kara_bytes(const struct pa_kara *p)
{
	return (p->gbuf_words + p->ws_words + (p->tr + p->tc) * p->k) * sizeof(uint64_t);
}

void pa_kara_fini(struct pa_kara *p)
{
	if (p->gbuf) {
		explicit_bzero(p->gbuf, p->gbuf_words * sizeof(uint64_t));
		free(p->gbuf);
	}
	if (p->xpad) {
		explicit_bzero(p->xpad, p->tc * p->k * sizeof(uint64_t));
		free(p->xpad);
	}
	if (p->ypad) {
		explicit_bzero(p->ypad, p->tr * p->k * sizeof(uint64_t));
		free(p->ypad);
	}
	if (p->ws) {
		explicit_bzero(p->ws, p->ws_words * sizeof(uint64_t));
		free(p->ws);
	}
	memset(p, 0, sizeof(*p));
}
