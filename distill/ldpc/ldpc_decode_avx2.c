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

struct consts {
	__m256i m127, one, cmax, bias, tab;
};

/* Check-node input for edge j of one 32-check chunk: extrinsic t, forward box-plus. */
static inline __m256i take(const struct consts *k, const int8_t *ap, const int8_t *cp, __m256i *tt,
			   __m256i *fw, uint32_t j, __m256i *hd, __m256i *par, __m256i f)
{
	__m256i a = _mm256_loadu_si256((const __m256i *)ap);
	__m256i c = _mm256_load_si256((const __m256i *)cp);
	*hd = _mm256_xor_si256(*hd, a);
	__m256i t = _mm256_max_epi8(_mm256_subs_epi8(a, c), k->m127);
	_mm256_store_si256(tt, t);
	*par = _mm256_xor_si256(*par, t);
	__m256i m = _mm256_abs_epi8(t);
	f = j == 0 ? m : boxplus(f, m, k->tab, k->bias);
	_mm256_store_si256(fw, f);
	return f;
}

/* Message and LLR update for edge j (walking backwards); returns the backward box-plus. */
static inline __m256i give(const struct consts *k, int8_t *ap, int8_t *cp, const __m256i *tt,
			   const __m256i *fw_prev, uint32_t j, uint32_t dc, __m256i par, __m256i b,
			   uint32_t p, uint32_t z)
{
	__m256i t = _mm256_load_si256(tt), m = _mm256_abs_epi8(t), mag;
	if (j == dc - 1) {
		mag = _mm256_load_si256(fw_prev);
		b = m;
	} else if (j == 0) {
		mag = b;
	} else {
		mag = boxplus(_mm256_load_si256(fw_prev), b, k->tab, k->bias);
		b = boxplus(b, m, k->tab, k->bias);
	}
	mag = _mm256_min_epu8(mag, k->cmax);
	__m256i v = _mm256_sign_epi8(mag, _mm256_or_si256(_mm256_xor_si256(par, t), k->one));
	_mm256_store_si256((__m256i *)cp, v);
	__m256i a = _mm256_max_epi8(_mm256_adds_epi8(t, v), k->m127);
	_mm256_storeu_si256((__m256i *)ap, a);
	if (p < z)
		_mm256_storeu_si256((__m256i *)(ap + z), a);
	if (p + 32 > z)
		_mm256_storeu_si256((__m256i *)(ap - z), a);
	return b;
}

/* Two chunks (64 checks) at a time: the box-plus chains are serial within a chunk, so a second
 * independent chain keeps the vector units busy. z is a multiple of 64. */
uint32_t ldpc_sweep_avx2(const struct ldpc_dec *d)
{
	const uint32_t z = d->z;
	const struct consts K = {
		_mm256_set1_epi8(-127), _mm256_set1_epi8(1), _mm256_set1_epi8(LDPC_C2V_MAX),
		_mm256_set1_epi8(0x70),
		_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)d->corr)),
	};
	uint32_t unsatisfied = 0;
	/* per edge j: t and forward value of chunk A then chunk B */
	__m256i *tt = (__m256i *)d->tmp, *fw = tt + 2 * 256;
	for (uint32_t r = 0; r < d->mb; r++) {
		const uint32_t e0 = d->row_start[r], dc = d->row_start[r + 1] - e0;
		const uint16_t *shift = d->shift + e0;
		int8_t *c2v0 = d->c2v + (size_t)e0 * z;
		int8_t *ap0[256]; /* circulant j's rotated view starts at ap0[j] */
		for (uint32_t j = 0; j < dc; j++)
			ap0[j] = d->app + (size_t)d->col[e0 + j] * d->app_stride + shift[j];
		for (uint32_t k = 0; k < z; k += 64) {
			const int8_t *sy = d->synd + (size_t)r * z + k;
			__m256i parA = _mm256_load_si256((const __m256i *)sy);
			__m256i parB = _mm256_load_si256((const __m256i *)(sy + 32));
			__m256i hdA = parA, hdB = parB, fA = parA, fB = parB;
			for (uint32_t j = 0; j < dc; j++) {
				const int8_t *cp = c2v0 + (size_t)j * z + k;
				fA = take(&K, ap0[j] + k, cp, tt + 2 * j, fw + 2 * j, j, &hdA, &parA, fA);
				fB = take(&K, ap0[j] + k + 32, cp + 32, tt + 2 * j + 1, fw + 2 * j + 1, j, &hdB,
					  &parB, fB);
			}
			unsatisfied += (uint32_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(hdA)) +
				       (uint32_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(hdB));
			__m256i bA = parA, bB = parB;
			for (uint32_t j = dc; j-- > 0;) {
				int8_t *cp = c2v0 + (size_t)j * z + k;
				const __m256i *fp = fw + 2 * (j ? j - 1 : 0);
				uint32_t p = shift[j] + k;
				bA = give(&K, ap0[j] + k, cp, tt + 2 * j, fp, j, dc, parA, bA, p, z);
				bB = give(&K, ap0[j] + k + 32, cp + 32, tt + 2 * j + 1, fp + 1, j, dc, parB, bB,
					  p + 32, z);
			}
		}
	}
	return unsatisfied;
}
