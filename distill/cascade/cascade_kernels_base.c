/* Portable reference of the Cascade parity kernels. */
#include "cascade_kernels.h"

uint64_t cas_fold_base(const uint64_t *w, size_t nw)
{
	uint64_t x = 0;
	for (size_t i = 0; i < nw; i++)
		x ^= w[i];
	return x;
}

uint64_t cas_fold_and_base(const uint64_t *a, const uint64_t *m, size_t nw)
{
	uint64_t x = 0;
	for (size_t i = 0; i < nw; i++)
		x ^= a[i] & m[i];
	return x;
}

void cas_gather_base(uint64_t *dst, const uint64_t *src, const uint32_t *perm, size_t n)
{
	size_t i = 0;
	for (; i + 64 <= n; i += 64) {
		uint64_t w = 0;
		for (unsigned k = 0; k < 64; k++) {
			uint32_t p = perm[i + k];
			w |= ((src[p >> 6] >> (p & 63)) & 1) << k;
		}
		dst[i >> 6] = w;
	}
	if (i < n) {
		uint64_t w = 0;
		for (unsigned k = 0; i + k < n; k++) {
			uint32_t p = perm[i + k];
			w |= ((src[p >> 6] >> (p & 63)) & 1) << k;
		}
		dst[i >> 6] = w;
	}
}
