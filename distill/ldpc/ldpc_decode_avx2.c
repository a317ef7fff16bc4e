/* AVX2 layered sum-product sweep: the 32 lanes of a vector are 32 consecutive checks of one
 * layer, so every circulant is read and written as contiguous vectors at its shift (each variable
 * block is stored twice in a row, making the cyclic rotation a plain unaligned load). Bit-exact
 * with ldpc_decode_base.c: the same saturating 8-bit operations per lane (one box-plus on the way
 * in, one box-minus on the way out per edge). */
#include <immintrin.h>

#include "ldpc_internal.h"

struct consts {
	__m256i m127, one, cmax, bias, tab, tabm;
};

/* Table lookup c[v] for v < 16, 0 beyond: adding 0x70 makes every index >= 16 negative, which
 * pshufb turns into 0. */
static inline __m256i lut(__m256i tab, __m256i v, __m256i bias)
{
	return _mm256_shuffle_epi8(tab, _mm256_adds_epu8(v, bias));
}

/* g(x, y) = max(min(x, y) + c[x + y] - c[|x - y|], 0) on magnitudes 0..127 */
static inline __m256i boxplus(const struct consts *k, __m256i x, __m256i y)
{
	__m256i mn = _mm256_min_epu8(x, y);
	__m256i s = lut(k->tab, _mm256_adds_epu8(x, y), k->bias);
	__m256i d = lut(k->tab, _mm256_abs_epi8(_mm256_sub_epi8(x, y)), k->bias);
	return _mm256_subs_epu8(_mm256_adds_epu8(mn, s), d);
}

/* Check-node state of one 32-check chunk on the way in. */
struct chunk {
	__m256i par, hd, mn, rest;
};

/* Edge j of a chunk on the way in: extrinsic t (kept for the way out), signs, smallest magnitude
 * and the box-plus of the others. */
static inline void take(const struct consts *k, struct chunk *s, const int8_t *ap, const int8_t *cp,
			__m256i *tt, uint32_t j)
{
	__m256i a = _mm256_loadu_si256((const __m256i *)ap);
	__m256i c = _mm256_load_si256((const __m256i *)cp);
	s->hd = _mm256_xor_si256(s->hd, a);
	__m256i t = _mm256_max_epi8(_mm256_subs_epi8(a, c), k->m127);
	_mm256_store_si256(tt, t);
	s->par = _mm256_xor_si256(s->par, t);
	__m256i m = _mm256_abs_epi8(t);
	if (j == 0) {
		s->mn = m;
		return;
	}
	__m256i big = _mm256_max_epu8(m, s->mn);
	s->rest = j == 1 ? big : boxplus(k, s->rest, big);
	s->mn = _mm256_min_epu8(m, s->mn);
}

/* Check-node totals of a chunk between the two passes. */
struct out {
	__m256i par, mn, total, cap, capn;
};

static inline struct out finish(const struct consts *k, const struct chunk *s)
{
	__m256i cap = _mm256_min_epu8(s->rest, k->cmax);
	struct out o = {s->par, s->mn, boxplus(k, s->mn, s->rest), cap, _mm256_min_epu8(cap, s->mn)};
	return o;
}

/* Message and new LLR of one edge on the way out (stored by the caller). */
static inline __m256i give(const struct consts *k, const struct out *o, int8_t *cp, const __m256i *tt)
{
	__m256i t = _mm256_load_si256(tt), m = _mm256_abs_epi8(t);
	__m256i up = _mm256_adds_epu8(o->total, lut(k->tabm, _mm256_subs_epu8(m, o->total), k->bias));
	__m256i h = _mm256_subs_epu8(up, lut(k->tabm, _mm256_adds_epu8(m, o->total), k->bias));
	/* an input equal to the minimum takes the cap (all ones -> min gives cap) */
	h = _mm256_min_epu8(h, o->capn);
	__m256i mag = _mm256_blendv_epi8(h, o->cap, _mm256_cmpeq_epi8(m, o->mn));
	__m256i v = _mm256_sign_epi8(mag, _mm256_or_si256(_mm256_xor_si256(o->par, t), k->one));
	_mm256_store_si256((__m256i *)cp, v);
	return _mm256_max_epi8(_mm256_adds_epi8(t, v), k->m127);
}

/* Two chunks (64 checks, lanes k..k+63 of a layer) at a time: the box-plus chain is serial
 * within a chunk, so a second independent chain keeps the vector units busy. The 64 LLRs of
 * circulant j start at position (shift + k) mod z of its block and read across the end through
 * the repeated head. z is a multiple of 64. */
uint32_t ldpc_sweep_avx2(const struct ldpc_dec *d)
{
	const uint32_t z = d->z;
	const struct consts K = {
		_mm256_set1_epi8(-127),
		_mm256_set1_epi8(1),
		_mm256_set1_epi8(LDPC_C2V_MAX),
		_mm256_set1_epi8(0x70),
		_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)d->corr)),
		_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)d->corr_minus)),
	};
	uint32_t unsatisfied = 0;
	__m256i *tt = (__m256i *)d->tmp; /* per edge j: t of chunk A then chunk B */
	for (uint32_t r = 0; r < d->mb; r++) {
		const uint32_t e0 = d->row_start[r], dc = d->row_start[r + 1] - e0;
		int8_t *c2v0 = d->c2v + (size_t)e0 * z;
		int8_t *blk[256];  /* circulant j's variable block */
		uint32_t pos[256]; /* and the position of check k in it */
		for (uint32_t j = 0; j < dc; j++) {
			blk[j] = d->app + (size_t)d->col[e0 + j] * d->app_stride;
			pos[j] = d->shift[e0 + j];
		}
		for (uint32_t k = 0; k < z; k += 64) {
			const int8_t *sy = d->synd + (size_t)r * z + k;
			struct chunk A, B;
			A.par = A.hd = _mm256_load_si256((const __m256i *)sy);
			B.par = B.hd = _mm256_load_si256((const __m256i *)(sy + 32));
			A.mn = A.rest = B.mn = B.rest = _mm256_setzero_si256();
			for (uint32_t j = 0; j < dc; j++) {
				const int8_t *ap = blk[j] + pos[j], *cp = c2v0 + (size_t)j * z + k;
				uint32_t step = j < 2 ? j : 2;
				take(&K, &A, ap, cp, tt + 2 * j, step);
				take(&K, &B, ap + 32, cp + 32, tt + 2 * j + 1, step);
			}
			unsatisfied += (uint32_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(A.hd)) +
				       (uint32_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(B.hd));
			const struct out oA = finish(&K, &A), oB = finish(&K, &B);
			for (uint32_t j = 0; j < dc; j++) {
				int8_t *cp = c2v0 + (size_t)j * z + k;
				uint32_t p = pos[j];
				int8_t *ap = blk[j] + p;
				__m256i a = give(&K, &oA, cp, tt + 2 * j);
				__m256i b = give(&K, &oB, cp + 32, tt + 2 * j + 1);
				_mm256_storeu_si256((__m256i *)ap, a);
				_mm256_storeu_si256((__m256i *)(ap + 32), b);
				/* keep the head and its repetition equal (2 of z / 64 chunk pairs) */
				if (__builtin_expect(p < LDPC_APP_TAIL, 0)) {
					_mm256_storeu_si256((__m256i *)(ap + z), a);
					_mm256_storeu_si256((__m256i *)(ap + z + 32), b);
				}
				if (__builtin_expect(p + 64 > z, 0)) {
					_mm256_storeu_si256((__m256i *)(ap - z), a);
					_mm256_storeu_si256((__m256i *)(ap - z + 32), b);
				}
				pos[j] = p + 64 < z ? p + 64 : p + 64 - z;
			}
		}
	}
	return unsatisfied;
}
