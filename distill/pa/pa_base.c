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

/* Reduce a 128-bit product modulo z^64 + z^4 + z^3 + z + 1: hi·z^64 = hi·(z^4 + z^3 + z + 1); the
 * four bits that overflow once more are folded in with u = hi + (hi >> 60) + (hi >> 61) + (hi >> 63). */
static inline uint64_t gf64_reduce(uint64_t lo, uint64_t hi)
{
	uint64_t u = hi ^ hi >> 60 ^ hi >> 61 ^ hi >> 63;
	return lo ^ u ^ u << 1 ^ u << 3 ^ u << 4;
}

uint64_t pa_gf64_mul(uint64_t a, uint64_t b)
{
	uint64_t lo, hi;
	pa_clmul64(a, b, &lo, &hi);
	return gf64_reduce(lo, hi);
}

static void fft_level_generic(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw)
{
	size_t h = (size_t)1 << (i - 1);
	for (size_t o = 0; o < len; o += 2 * h) {
		uint64_t c = pa_tw(tw, (off + o) >> i);
		uint64_t *a = f + o, *b = a + h;
		for (size_t t = 0; t < h; t++) {
			a[t] ^= pa_gf64_mul(c, b[t]);
			b[t] ^= a[t];
		}
	}
}

static void ifft_level_generic(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw)
{
	size_t h = (size_t)1 << (i - 1);
	for (size_t o = 0; o < len; o += 2 * h) {
		uint64_t c = pa_tw(tw, (off + o) >> i);
		uint64_t *a = f + o, *b = a + h;
		for (size_t t = 0; t < h; t++) {
			b[t] ^= a[t];
			a[t] ^= pa_gf64_mul(c, b[t]);
		}
	}
}

static void gf_mul_generic(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t len)
{
	for (size_t t = 0; t < len; t++)
		d[t] = pa_gf64_mul(a[t], b[t]);
}

const struct pa_kernels pa_kernels_generic = {
	.leaf = leaf_generic,
	.fft_level = fft_level_generic,
	.ifft_level = ifft_level_generic,
	.gf_mul = gf_mul_generic,
};
