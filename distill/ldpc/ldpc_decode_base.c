/* Portable reference of one layered sum-product sweep in 8-bit fixed point (LLR * 4). It defines
 * the results: every SIMD variant must reproduce its messages and LLRs bit for bit.
 *
 * Per check (row r, lane i) of a layer, with edges j = 0..dc-1 (variable block col[j], shifted):
 *   t_j   = clamp(app - c2v_j)           extrinsic input, clamp to [-127, 127]
 *   c2v_j = sign_j * min(|boxplus_{k != j} t_k|, LDPC_C2V_MAX)
 *           sign_j = syndrome bit ^ product of the other signs
 *   app   = clamp(t_j + c2v_j)
 * Magnitudes combine with the exact box-plus in table form,
 *   g(x, y) = max(min(x, y) + c[x + y] - c[|x - y|], 0),  c[d] = round(4 ln(1 + e^(-d/4))),
 * forward over the edges and backward again (3 dc - 6 box-plus per check, no division).
 * The hard decisions seen when a layer starts are checked against the syndrome on the way; the
 * sweep returns how many checks were unsatisfied then. */
#include <stdlib.h>

#include "ldpc_internal.h"

const uint8_t ldpc_boxplus_corr[16] = {3, 2, 2, 2, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};

static inline int8_t clamp127(int v)
{
	return (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
}

static inline int boxplus(int x, int y, const uint8_t *corr)
{
	int mn = x < y ? x : y, s = x + y, d = x > y ? x - y : y - x;
	int r = mn + (s < 16 ? corr[s] : 0) - (d < 16 ? corr[d] : 0);
	return r < 0 ? 0 : r;
}

uint32_t ldpc_sweep_base(const struct ldpc_dec *d)
{
	const uint32_t z = d->z;
	const uint8_t *corr = d->corr;
	uint32_t unsatisfied = 0;
	int8_t t[256];
	uint8_t fwd[256];
	for (uint32_t r = 0; r < d->mb; r++) {
		const uint32_t e0 = d->row_start[r], dc = d->row_start[r + 1] - e0;
		for (uint32_t i = 0; i < z; i++) {
			int par = d->synd[(size_t)r * z + i] & 1, hd = par;
			for (uint32_t j = 0; j < dc; j++) {
				uint32_t e = e0 + j;
				int a = d->app[(size_t)d->col[e] * d->app_stride + d->shift[e] + i];
				int c = d->c2v[(size_t)e * z + i];
				hd ^= a < 0;
				t[j] = clamp127(a - c);
				par ^= t[j] < 0;
				int m = abs(t[j]);
				fwd[j] = (uint8_t)(j == 0 ? m : boxplus(fwd[j - 1], m, corr));
			}
			unsatisfied += (uint32_t)hd;
			int bwd = 0;
			for (uint32_t jj = dc; jj-- > 0;) {
				int m = abs(t[jj]), mag;
				if (jj == dc - 1)
					mag = fwd[dc - 2];
				else if (jj == 0)
					mag = bwd;
				else
					mag = boxplus(fwd[jj - 1], bwd, corr);
				bwd = jj == dc - 1 ? m : boxplus(bwd, m, corr);
				if (mag > LDPC_C2V_MAX)
					mag = LDPC_C2V_MAX;
				uint32_t e = e0 + jj;
				int v = (par ^ (t[jj] < 0)) ? -mag : mag;
				d->c2v[(size_t)e * z + i] = (int8_t)v;
				int8_t *blk = d->app + (size_t)d->col[e] * d->app_stride;
				uint32_t p = d->shift[e] + i; /* in [0, 2z - 1); block stored twice */
				int8_t a = clamp127(t[jj] + v);
				blk[p] = a;
				blk[p < z ? p + z : p - z] = a;
			}
		}
	}
	return unsatisfied;
}
