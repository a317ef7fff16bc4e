/* Cascade kernel variants (one file each) and the dispatch pointer the protocol code uses. */
#ifndef CASCADE_KERNELS_H
#define CASCADE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "dst_cascade.h"

uint64_t cas_fold_base(const uint64_t *w, size_t nw);
uint64_t cas_fold_and_base(const uint64_t *a, const uint64_t *m, size_t nw);
void cas_gather_base(uint64_t *dst, const uint64_t *src, const uint32_t *perm, size_t n);

uint64_t cas_fold_avx2(const uint64_t *w, size_t nw);
uint64_t cas_fold_and_avx2(const uint64_t *a, const uint64_t *m, size_t nw);
void cas_gather_avx2(uint64_t *dst, const uint64_t *src, const uint32_t *perm, size_t n);

extern const struct dst_cascade_kernels *cas_k;

/* Parity of bits [start, end) of a packed bit string. */
static inline unsigned cas_parity_range(const uint64_t *w, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	uint64_t a = start >> 6, b = (end - 1) >> 6;
	uint64_t lo = ~0ULL << (start & 63);
	uint64_t hi = ~0ULL >> (63 - ((end - 1) & 63));
	if (a == b)
		return (unsigned)__builtin_parityll(w[a] & lo & hi);
	uint64_t x = (w[a] & lo) ^ (w[b] & hi);
	if (b > a + 1)
		x ^= cas_k->fold(w + a + 1, b - a - 1);
	return (unsigned)__builtin_parityll(x);
}

#endif
