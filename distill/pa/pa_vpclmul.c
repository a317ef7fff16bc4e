/* VPCLMULQDQ kernels for privacy amplification: two carry-less products per instruction on the
 * two 128-bit lanes of a 256-bit register (built with vpclmul_cflags). */
#include <immintrin.h>

#include "pa_internal.h"

/* Four outputs per pass: a 256-bit load of G[w..w+3] times a broadcast X[j] gives, with the low
 * qword selector, L_i and L_{i+2}; with the high one L_{i+1} and L_{i+3}. */
static void leaf_vpclmul(size_t k, const uint64_t *G, const uint64_t *X, uint64_t *Y)
{
	uint64_t lo[PA_LEAF_MAX + 4], hi[PA_LEAF_MAX + 4];
	for (size_t i = 0; i <= k; i += 4) {
		__m256i ae = _mm256_setzero_si256(), ao = _mm256_setzero_si256();
		const uint64_t *g = G + i + k - 1;
		for (size_t j = 0; j < k; j++) {
			__m256i gw = _mm256_loadu_si256((const __m256i *)(g - j));
			__m256i xj = _mm256_set1_epi64x((long long)X[j]);
			ae = _mm256_xor_si256(ae, _mm256_clmulepi64_epi128(gw, xj, 0x00));
			ao = _mm256_xor_si256(ao, _mm256_clmulepi64_epi128(gw, xj, 0x01));
		}
		/* ae = [L_i | L_{i+2}], ao = [L_{i+1} | L_{i+3}] as (lo, hi) qword pairs */
		uint64_t e[4], o[4];
		_mm256_storeu_si256((__m256i *)e, ae);
		_mm256_storeu_si256((__m256i *)o, ao);
		lo[i] = e[0], hi[i] = e[1], lo[i + 2] = e[2], hi[i + 2] = e[3];
		lo[i + 1] = o[0], hi[i + 1] = o[1], lo[i + 3] = o[2], hi[i + 3] = o[3];
	}
	for (size_t i = 0; i < k; i++)
		Y[i] ^= lo[i] >> 63 ^ hi[i] << 1 ^ lo[i + 1] << 1;
}

const struct pa_kernels pa_kernels_vpclmul = {
	.leaf = leaf_vpclmul,
};
