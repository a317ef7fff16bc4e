/* Portable reference of one layered sum-product sweep in 8-bit fixed point (LLR * 4). It defines
 * the results: every SIMD variant must reproduce its messages and LLRs bit for bit.
 *
 * Per check (row r, lane i) of a layer, with edges j = 0..dc-1 (variable block col[j], shifted):
 *   t_j   = clamp(app - c2v_j)           extrinsic input, clamp to [-127, 127]
 *   c2v_j = sign_j * min(|boxplus_{k != j} t_k|, LDPC_C2V_MAX)
 *           sign_j = syndrome bit ^ product of the other signs
 *   app   = clamp(t_j + c2v_j)
 * Magnitudes combine with the box-plus in table form,
 *   g(x, y) = max(min(x, y) + c[x + y] - c[|x - y|], 0),  c[d] = round(4 ln(1 + e^(-d/4))).
 * One pass keeps the smallest magnitude mn and E, the box-plus of all the others (each new input
 * sends the larger of itself and mn into E: one box-plus per edge); the total is S = g(mn, E).
 * The message of an edge holding mn is E exactly; every other message is S with the edge taken
 * out again by the box-minus
 *   h(S, x) = S + c'[x - S] - c'[x + S],  c'[d] = round(-4 ln(1 - e^(-d/4))),
 * capped by E (removing an input larger than mn leaves at most what removing mn leaves). That is
 * two table operations per edge instead of the three of a forward/backward box-plus.
 * The hard decisions seen when a layer starts are checked against the syndrome on the way; the
 * sweep returns how many checks were unsatisfied then. */
#include <stdlib.h>

#include "ldpc_internal.h"

const uint8_t ldpc_boxplus_corr[16] = {3, 2, 2, 2, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
/* c'[0] stands for infinity; only an input equal to mn can meet it, and that one takes E */
const uint8_t ldpc_boxminus_corr[16] = {127, 8, 5, 3, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0};

static inline int8_t clamp127(int v)
{
	return (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
}

static inline int sat_u8(int v)
{
	return v > 255 ? 255 : v < 0 ? 0 : v;
}

static inline int boxplus(int x, int y, const uint8_t *corr)
{
	int mn = x < y ? x : y, s = x + y, d = x > y ? x - y : y - x;
	int r = mn + (s < 16 ? corr[s] : 0) - (d < 16 ? corr[d] : 0);
	return r < 0 ? 0 : r;
}

/* h(S, x) with the saturations of unsigned bytes (x >= S) */
static inline int boxminus(int s, int x, const uint8_t *cm)
{
	int d = x - s, sum = sat_u8(x + s);
	return sat_u8(sat_u8(s + (d < 16 ? cm[d] : 0)) - (sum < 16 ? cm[sum] : 0));
}

uint32_t ldpc_sweep_base(const struct ldpc_dec *d)
{
	const uint32_t z = d->z;
	const uint8_t *corr = d->corr, *cm = d->corr_minus;
	uint32_t unsatisfied = 0;
	int8_t t[256];
	for (uint32_t r = 0; r < d->mb; r++) {
		const uint32_t e0 = d->row_start[r], dc = d->row_start[r + 1] - e0;
		for (uint32_t i = 0; i < z; i++) {
			int par = d->synd[(size_t)r * z + i] & 1, hd = par, mn = 0, rest = 0;
			for (uint32_t j = 0; j < dc; j++) {
				uint32_t e = e0 + j;
				uint32_t p = (d->shift[e] + i) % z;
				int a = d->app[(size_t)d->col[e] * d->app_stride + p];
				int c = d->c2v[(size_t)e * z + i];
				hd ^= a < 0;
				t[j] = clamp127(a - c);
				par ^= t[j] < 0;
				int m = abs(t[j]);
				if (j == 1)
					rest = m > mn ? m : mn;
				else if (j > 1)
					rest = boxplus(rest, m > mn ? m : mn, corr);
				mn = j == 0 || m < mn ? m : mn;
			}
			unsatisfied += (uint32_t)hd;
			int total = boxplus(mn, rest, corr);
			int cap = rest < LDPC_C2V_MAX ? rest : LDPC_C2V_MAX;
			for (uint32_t j = 0; j < dc; j++) {
				int m = abs(t[j]), mag = boxminus(total, m, cm);
				if (mag > cap)
					mag = cap;
				if (mag > mn)
					mag = mn;
				if (m == mn)
					mag = cap;
				uint32_t e = e0 + j;
				int v = (par ^ (t[j] < 0)) ? -mag : mag;
				d->c2v[(size_t)e * z + i] = (int8_t)v;
				int8_t *blk = d->app + (size_t)d->col[e] * d->app_stride;
				uint32_t p = (d->shift[e] + i) % z;
				int8_t a = clamp127(t[j] + v);
				blk[p] = a;
				if (p < LDPC_APP_TAIL)
					blk[p + z] = a;
			}
		}
	}
	return unsatisfied;
}
