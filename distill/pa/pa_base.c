/* Portable reference kernels for privacy amplification (no carry-less multiply instruction). */
#include "pa_internal.h"

void pa_clmul64(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
	/* 4-bit window: tab[t] = a·t as a 67-bit value */
	uint64_t tl[16], th[16];
	tl[0] = th[0] = 0;
	tl[1] = a;
	th[1] = 0;
	for (int t = 2; t < 16; t += 2) {
		tl[t] = tl[t / 2] << 1;
		th[t] = th[t / 2] << 1 | tl[t / 2] >> 63;
		tl[t + 1] = tl[t] ^ a;
		th[t + 1] = th[t];
	}
	uint64_t l = 0, h = 0;
	for (int i = 60; i >= 0; i -= 4) {
		h = h << 4 | l >> 60;
		l <<= 4;
		unsigned t = (unsigned)(b >> i) & 15;
		l ^= tl[t];
		h ^= th[t];
	}
	*lo = l;
	*hi = h;
}

static void leaf_generic(size_t k, const uint64_t *G, const uint64_t *X, uint64_t *Y)
{
	uint64_t llo[PA_LEAF_MAX + 1], lhi[PA_LEAF_MAX + 1];
	for (size_t i = 0; i <= k; i++) {
		uint64_t al = 0, ah = 0;
		for (size_t j = 0; j < k; j++) {
			uint64_t pl, ph;
			pa_clmul64(G[i + k - 1 - j], X[j], &pl, &ph);
			al ^= pl;
			ah ^= ph;
		}
		llo[i] = al;
		lhi[i] = ah;
	}
	for (size_t i = 0; i < k; i++)
		Y[i] ^= llo[i] >> 63 ^ lhi[i] << 1 ^ llo[i + 1] << 1;
}

const struct pa_kernels pa_kernels_generic = {
	.leaf = leaf_generic,
};
