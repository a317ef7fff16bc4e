/* Portable reference of one layered sum-product sweep in 8-bit fixed point (LLR * 4). It defines
 * the results: every SIMD variant must reproduce its messages and LLRs bit for bit.
 *
 * Per check (row r, lane i) of a layer, with edges j = 0..dc-1 (variable block col[j], shifted):
 *   t_j   = sat(app - c2v_j)             extrinsic input, saturated to [-128, 127]
 *   c2v_j = sign_j * min(|boxplus_{k != j} t_k|, LDPC_C2V_MAX)
 *           sign_j = syndrome bit ^ product of the other signs
 *   app   = sat(t_j + c2v_j)             saturated to [-128, 127] (one instruction in AVX2)
 * Magnitudes combine with the box-plus in table form,
 *   g(x, y) = max(min(x, y) + c[x + y] - c[|x - y|], 0),  c[d] = round(4 ln(1 + e^(-d/4))),
 * in one of two ways:
 * - rows of fewer than LDPC_MINUS_DC edges: forward and backward over the edges, the message of
 *   edge j is g(forward[j - 1], backward[j + 1]) (3 dc - 6 box-plus per check);
 * - longer rows (every row with cap2): one pass keeps the smallest magnitude mn and E, the
 *   box-plus of all the others
 *   (each new input sends the larger of itself and mn into E: one box-plus per edge), total
 *   S = g(mn, E). The message of an edge holding mn is E exactly; every other edge gets S with
 *   the edge taken out again by the box-minus h(S, x) = S + c'[x - S], capped by E and by mn
 *   (both bound what is left without an input larger than mn): two table operations per edge.
 *   With cap2 the pass also keeps the second smallest magnitude mn2 exactly and every message
 *   but mn's is capped at E2 = g(mn, mn2) as well: exact for edges beyond the two smallest,
 *   smaller than the true message on mn2's edge (a damping that wins at some operating points
 *   and loses at others, see dst_ldpc_check_node_default).
 *   c'[d] follows -4 ln(1 - e^(-d/4)) rounded up (see ldpc_boxminus_corr). A serial box-plus
 *   chain loses the small messages of short rows at low SNR (rounding per step), hence the
 *   forward/backward form there.
 * The hard decisions seen when a layer starts are checked against the syndrome on the way; the
 * sweep returns how many checks were unsatisfied then. */
#include <stdlib.h>

#include "ldpc_internal.h"

const uint8_t ldpc_boxplus_corr[16] = {3, 2, 2, 2, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
/* -4 ln(1 - e^(-d/4)) = 6.0 3.7 2.6 1.8 1.4 1.0 0.8 0.6 0.5 0.3 0.3 ...: rounded up, with more at
 * d = 1, 2, which measured best (FER by Monte Carlo at QBER 2-5%); c'[0] stands for infinity
 * (only an input equal to mn meets it, and that one takes E) */
const uint8_t ldpc_boxminus_corr[16] = {127, 8, 5, 3, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0};

static inline int8_t sat8(int v)
{
	return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
}

static inline int boxplus(int x, int y, const uint8_t *corr)
{
	int mn = x < y ? x : y, s = x + y, d = x > y ? x - y : y - x;
	int r = mn + (s < 16 ? corr[s] : 0) - (d < 16 ? corr[d] : 0);
	return r < 0 ? 0 : r;
}

/* Magnitudes of the messages of one check from its inputs' magnitudes m[0..dc-1]. */
static void check_fb(const uint8_t *m, uint32_t dc, const uint8_t *corr, uint8_t *mag)
{
	uint8_t fwd[256];
	fwd[0] = m[0];
	for (uint32_t j = 1; j < dc; j++)
		fwd[j] = (uint8_t)boxplus(fwd[j - 1], m[j], corr);
	int bwd = m[dc - 1];
	mag[dc - 1] = fwd[dc - 2];
	for (uint32_t j = dc - 1; j-- > 1;) {
		mag[j] = (uint8_t)boxplus(fwd[j - 1], bwd, corr);
		bwd = boxplus(bwd, m[j], corr);
	}
	mag[0] = (uint8_t)bwd;
}

static void check_minus(const uint8_t *m, uint32_t dc, const uint8_t *corr, const uint8_t *cm,
			bool cap2, uint8_t *mag)
{
	int mn = m[0], rest = m[1] > mn ? m[1] : mn, mn2 = rest;
	mn = m[1] < mn ? m[1] : mn;
	for (uint32_t j = 2; j < dc; j++) {
		int x = m[j] > mn ? m[j] : mn; /* the larger of the input and mn leaves the minimum */
		rest = boxplus(rest, x, corr);
		mn2 = x < mn2 ? x : mn2;
		mn = m[j] < mn ? m[j] : mn;
	}
	int total = boxplus(mn, rest, corr);
	int cap = rest < mn ? rest : mn;
	if (cap2) {
		int e2 = boxplus(mn, mn2, corr);
		cap = e2 < cap ? e2 : cap;
	}
	for (uint32_t j = 0; j < dc; j++) {
		int d = m[j] - total; /* >= 0: total <= mn <= m[j] */
		int h = total + (d < 16 ? cm[d] : 0);
		h = h < cap ? h : cap;
		mag[j] = (uint8_t)(m[j] == mn ? rest : h);
	}
}

uint32_t ldpc_check_base(const struct ldpc_dec *d)
{
	const uint32_t z = d->z;
	uint32_t unsatisfied = 0;
	for (uint32_t r = 0; r < d->mb; r++)
		for (uint32_t i = 0; i < z; i++) {
			int par = d->synd[(size_t)r * z + i] & 1;
			for (uint32_t e = d->row_start[r]; e < d->row_start[r + 1]; e++)
				par ^= d->app[(size_t)d->col[e] * d->app_stride + (d->shift[e] + i) % z] < 0;
			unsatisfied += (uint32_t)par;
		}
	return unsatisfied;
}

uint32_t ldpc_sweep_base(const struct ldpc_dec *d)
{
	const uint32_t z = d->z;
	uint32_t unsatisfied = 0;
	int8_t t[256];
	uint8_t m[256], mag[256];
	for (uint32_t r = 0; r < d->mb; r++) {
		const uint32_t e0 = d->row_start[r], dc = d->row_start[r + 1] - e0;
		int8_t *c2v = d->c2v + (size_t)e0 * z;
		for (uint32_t i = 0; i < z; i++) {
			int par = d->synd[(size_t)r * z + i] & 1, hd = par;
			for (uint32_t j = 0; j < dc; j++) {
				uint32_t e = e0 + j;
				int a = d->app[(size_t)d->col[e] * d->app_stride + (d->shift[e] + i) % z];
				int c = c2v[ldpc_c2v_at(i, j, dc)];
				hd ^= a < 0;
				t[j] = sat8(a - c);
				par ^= t[j] < 0;
				m[j] = (uint8_t)abs(t[j]);
			}
			unsatisfied += (uint32_t)hd;
			if (dc < d->minus_dc)
				check_fb(m, dc, d->corr, mag);
			else
				check_minus(m, dc, d->corr, d->corr_minus, d->cap2, mag);
			for (uint32_t j = 0; j < dc; j++) {
				uint32_t e = e0 + j;
				int v = mag[j] < LDPC_C2V_MAX ? mag[j] : LDPC_C2V_MAX;
				v = (par ^ (t[j] < 0)) ? -v : v;
				c2v[ldpc_c2v_at(i, j, dc)] = (int8_t)v;
				int8_t *blk = d->app + (size_t)d->col[e] * d->app_stride;
				uint32_t p = (d->shift[e] + i) % z;
				int8_t a = sat8(t[j] + v);
				blk[p] = a;
				if (p < LDPC_APP_TAIL)
					blk[p + z] = a;
			}
		}
	}
	return unsatisfied;
}
