/* PCLMULQDQ kernels for privacy amplification (built with avx2_cflags). */
#include <immintrin.h>

#include "pa_internal.h"

/* Two outputs per pass: one unaligned 128-bit load of G[w], G[w+1] feeds L_i (low qword) and
 * L_{i+1} (high qword) for the same input word. */
static void leaf_avx2(size_t k, const uint64_t *G, const uint64_t *X, uint64_t *Y)
{
	__m128i L[PA_LEAF_MAX + 2];
	for (size_t i = 0; i <= k; i += 2) {
		__m128i a0 = _mm_setzero_si128(), a1 = _mm_setzero_si128();
		const uint64_t *g = G + i + k - 1;
		for (size_t j = 0; j < k; j++) {
			__m128i gw = _mm_loadu_si128((const __m128i *)(g - j));
			__m128i xj = _mm_cvtsi64_si128((long long)X[j]);
			a0 = _mm_xor_si128(a0, _mm_clmulepi64_si128(gw, xj, 0x00));
			a1 = _mm_xor_si128(a1, _mm_clmulepi64_si128(gw, xj, 0x01));
		}
		L[i] = a0;
		L[i + 1] = a1;
	}
	for (size_t i = 0; i < k; i++) {
		uint64_t lo = (uint64_t)_mm_cvtsi128_si64(L[i]);
		uint64_t hi = (uint64_t)_mm_extract_epi64(L[i], 1);
		uint64_t nx = (uint64_t)_mm_cvtsi128_si64(L[i + 1]);
		Y[i] ^= lo >> 63 ^ hi << 1 ^ nx << 1;
	}
}

const struct pa_kernels pa_kernels_avx2 = {
	.leaf = leaf_avx2,
};
