/* AVX2 Cascade kernels: 256-bit XOR folds and an 8-lane gather of permuted bits. */
#include <immintrin.h>

#include "cascade_kernels.h"

static inline uint64_t hxor(__m256i v)
{
	__m128i x = _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	return (uint64_t)(_mm_cvtsi128_si64(x) ^ _mm_extract_epi64(x, 1));
}

uint64_t cas_fold_avx2(const uint64_t *w, size_t nw)
{
	__m256i a0 = _mm256_setzero_si256(), a1 = a0;
	size_t i = 0;
	for (; i + 8 <= nw; i += 8) {
		a0 = _mm256_xor_si256(a0, _mm256_loadu_si256((const __m256i *)(w + i)));
		a1 = _mm256_xor_si256(a1, _mm256_loadu_si256((const __m256i *)(w + i + 4)));
	}
	uint64_t x = hxor(_mm256_xor_si256(a0, a1));
	for (; i < nw; i++)
		x ^= w[i];
	return x;
}

uint64_t cas_fold_and_avx2(const uint64_t *a, const uint64_t *m, size_t nw)
{
	__m256i a0 = _mm256_setzero_si256(), a1 = a0;
	size_t i = 0;
	for (; i + 8 <= nw; i += 8) {
		a0 = _mm256_xor_si256(a0, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(a + i)),
							   _mm256_loadu_si256((const __m256i *)(m + i))));
		a1 = _mm256_xor_si256(a1,
				      _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(a + i + 4)),
						       _mm256_loadu_si256((const __m256i *)(m + i + 4))));
	}
	uint64_t x = hxor(_mm256_xor_si256(a0, a1));
	for (; i < nw; i++)
		x ^= a[i] & m[i];
	return x;
}

/* 8 bits per step: gather the 32-bit words holding them, shift each bit to the sign position
 * and collect the signs with movemask. */
static inline uint32_t gather8(const int *src32, const uint32_t *perm)
{
	__m256i idx = _mm256_loadu_si256((const __m256i *)perm);
	__m256i words = _mm256_i32gather_epi32(src32, _mm256_srli_epi32(idx, 5), 4);
	__m256i sh = _mm256_sub_epi32(_mm256_set1_epi32(31), _mm256_and_si256(idx, _mm256_set1_epi32(31)));
	__m256i top = _mm256_sllv_epi32(words, sh);
	return (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(top));
}

void cas_gather_avx2(uint64_t *dst, const uint64_t *src, const uint32_t *perm, size_t n)
{
	const int *src32 = (const int *)src;
	size_t i = 0;
	for (; i + 64 <= n; i += 64) {
		uint64_t w = 0;
		for (unsigned k = 0; k < 8; k++)
			w |= (uint64_t)gather8(src32, perm + i + 8 * k) << (8 * k);
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
