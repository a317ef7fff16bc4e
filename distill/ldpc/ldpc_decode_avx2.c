/* AVX2 layered sum-product sweep: the 32 lanes of a vector are 32 consecutive checks of one
 * layer, so every circulant is read and written as contiguous vectors at its shift (each variable
 * block is stored twice in a row, making the cyclic rotation a plain unaligned load). Bit-exact
 * with ldpc_decode_base.c: the same saturating 8-bit operations per lane. */
#include <immintrin.h>

#include "ldpc_internal.h"

/* g(x, y) = max(min(x, y) + c[x + y] - c[|x - y|], 0) on magnitudes 0..127; adding 0x70 makes
 * every index >= 16 negative, which pshufb turns into 0 (the table's tail). */
static inline __m256i boxplus(__m256i x, __m256i y, __m256i tab, __m256i bias)
{
	__m256i mn = _mm256_min_epu8(x, y);
	__m256i s = _mm256_adds_epu8(_mm256_adds_epu8(x, y), bias);
	__m256i d = _mm256_adds_epu8(_mm256_abs_epi8(_mm256_sub_epi8(x, y)), bias);
	return _mm256_subs_epu8(_mm256_adds_epu8(mn, _mm256_shuffle_epi8(tab, s)),
				_mm256_shuffle_epi8(tab, d));
}

uint32_t ldpc_sweep_avx2(const struct ldpc_dec *d)
{
	const uint32_t z = d->z;
	const __m256i m127 = _mm256_set1_epi8(-127), one = _mm256_set1_epi8(1);
	const __m256i cmax = _mm256_set1_epi8(LDPC_C2V_MAX), bias = _mm256_set1_epi8(0x70);
	const __m256i tab = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)d->corr));
	uint32_t unsatisfied = 0;
	__m256i *tt = (__m256i *)d->tmp, *fw = tt + 256;
	for (uint32_t r = 0; r < d->mb; r++) {
		const uint32_t e0 = d->row_start[r], dc = d->row_start[r + 1] - e0;
		const uint16_t *shift = d->shift + e0;
		int8_t *c2v0 = d->c2v + (size_t)e0 * z;
		int8_t *ap0[256]; /* circulant j's rotated view starts at ap0[j] */
		for (uint32_t j = 0; j < dc; j++)
			ap0[j] = d->app + (size_t)d->col[e0 + j] * d->app_stride + shift[j];
		for (uint32_t k = 0; k < z; k += 32) {
			__m256i par = _mm256_load_si256((const __m256i *)(d->synd + (size_t)r * z + k));
			__m256i hd = par, f = _mm256_setzero_si256();
			for (uint32_t j = 0; j < dc; j++) {
				__m256i a = _mm256_loadu_si256((const __m256i *)(ap0[j] + k));
				__m256i c = _mm256_load_si256((const __m256i *)(c2v0 + (size_t)j * z + k));
				hd = _mm256_xor_si256(hd, a);
				__m256i t = _mm256_max_epi8(_mm256_subs_epi8(a, c), m127);
				_mm256_store_si256(tt + j, t);
				par = _mm256_xor_si256(par, t);
				__m256i m = _mm256_abs_epi8(t);
				f = j == 0 ? m : boxplus(f, m, tab, bias);
				_mm256_store_si256(fw + j, f);
			}
			unsatisfied += (uint32_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(hd));
			__m256i b = _mm256_setzero_si256();
			for (uint32_t j = dc; j-- > 0;) {
				__m256i t = _mm256_load_si256(tt + j), m = _mm256_abs_epi8(t), mag;
				if (j == dc - 1) {
					mag = _mm256_load_si256(fw + dc - 2);
					b = m;
				} else if (j == 0) {
					mag = b;
				} else {
					mag = boxplus(_mm256_load_si256(fw + j - 1), b, tab, bias);
					b = boxplus(b, m, tab, bias);
				}
				mag = _mm256_min_epu8(mag, cmax);
				__m256i sgn = _mm256_or_si256(_mm256_xor_si256(par, t), one);
				__m256i v = _mm256_sign_epi8(mag, sgn);
				_mm256_store_si256((__m256i *)(c2v0 + (size_t)j * z + k), v);
				__m256i a = _mm256_max_epi8(_mm256_adds_epi8(t, v), m127);
				int8_t *ap = ap0[j] + k;
				uint32_t p = shift[j] + k;
				_mm256_storeu_si256((__m256i *)ap, a);
				if (p < z)
					_mm256_storeu_si256((__m256i *)(ap + z), a);
				if (p + 32 > z)
					_mm256_storeu_si256((__m256i *)(ap - z), a);
			}
		}
	}
	return unsatisfied;
}
