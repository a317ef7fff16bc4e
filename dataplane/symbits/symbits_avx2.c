/* AVX2 symbol kernels: planes by byte-sign masks (32 symbols per movemask), window nibbles by
 * 32-bit gathers (8 slots per vpgatherdd), deltas summed by vpmaddwd. Output identical to
 * symbits_base.c. */
#include <immintrin.h>
#include <string.h>

#include "symbits_internal.h"

static inline uint64_t hsum32(__m256i v)
{
	__m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4E));
	x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xB1));
	return (uint32_t)_mm_cvtsi128_si32(x);
}

uint64_t dp_ann_group_avx2(const uint8_t *words, uint64_t planes[4], uint8_t *cut)
{
	const __m256i dmask = _mm256_set1_epi16(0x0FFF), zero = _mm256_setzero_si256();
	const __m256i cmask = _mm256_set1_epi16(0x1FFF);
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i zeros = zero, sum = zero;
	uint32_t m[2][4];
	for (int h = 0; h < 2; h++) {
		__m256i w0 = _mm256_loadu_si256((const __m256i *)(const void *)(words + 64 * h));
		__m256i w1 = _mm256_loadu_si256((const __m256i *)(const void *)(words + 64 * h + 32));
		__m256i d0 = _mm256_and_si256(w0, dmask), d1 = _mm256_and_si256(w1, dmask);
		if (cut) {
			__m256i *c = (__m256i *)(void *)(cut + 64 * h);
			_mm256_storeu_si256(c, _mm256_and_si256(w0, cmask));
			_mm256_storeu_si256(c + 1, _mm256_and_si256(w1, cmask));
		}
		zeros = _mm256_or_si256(zeros, _mm256_or_si256(_mm256_cmpeq_epi16(d0, zero),
							       _mm256_cmpeq_epi16(d1, zero)));
		sum = _mm256_add_epi32(sum, _mm256_add_epi32(_mm256_madd_epi16(d0, ones),
							     _mm256_madd_epi16(d1, ones)));
		/* The symbol nibbles (high bytes' high halves) as bytes in event order. */
		__m256i b = _mm256_packus_epi16(_mm256_srli_epi16(w0, 8), _mm256_srli_epi16(w1, 8));
		b = _mm256_permute4x64_epi64(b, 0xD8);
		for (int k = 0; k < 4; k++)
			m[h][k] = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(b, 3 - k));
	}
	for (int k = 0; k < 4; k++)
		planes[k] = (uint64_t)m[0][k] | (uint64_t)m[1][k] << 32;
	return _mm256_movemask_epi8(zeros) ? UINT64_MAX : hsum32(sum);
}

/* 32 symbols (one per byte): bit k of every byte to a 32-bit mask (bit k moved to the sign bit). */
/* Inclusive prefix sums of 16 deltas of at most 4095 (they stay below 2^16): 8 per 128-bit lane,
 * then the low lane's total carried into the high lane; lo = sums 0-7, hi = sums 8-15. */
static inline void prefix16(__m256i d, __m128i *lo, __m128i *hi)
{
	__m256i x = _mm256_add_epi16(d, _mm256_slli_si256(d, 2));
	x = _mm256_add_epi16(x, _mm256_slli_si256(x, 4));
	x = _mm256_add_epi16(x, _mm256_slli_si256(x, 8));
	*lo = _mm256_castsi256_si128(x);
	*hi = _mm_add_epi16(_mm256_extracti128_si256(x, 1),
			    _mm_set1_epi16((short)_mm_extract_epi16(*lo, 7)));
}

static inline void planes32(__m256i v, uint32_t m[4])
{
	m[0] = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(v, 7));
	m[1] = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(v, 6));
	m[2] = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(v, 5));
	m[3] = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(v, 4));
}

void dp_ann_gather_avx2(const uint8_t *words, uint64_t pos, const uint8_t *win, uint64_t mask,
			uint64_t base, uint64_t planes[4])
{
	const __m256i dmask = _mm256_set1_epi16(0x0FFF), vmask = _mm256_set1_epi32((int)mask);
	const __m256i one = _mm256_set1_epi32(1), low = _mm256_set1_epi8(0x0F);
	const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
	/* The ring has at most 2^30 slots, so nibble indices wrap correctly in 32 bits. */
	uint32_t off = (uint32_t)(pos - base);
	uint32_t at[DP_ANN_GROUP]; /* byte of each event's nibble */
	__m256i odd16[4];          /* which half of it, per event (lane-interleaved 16-bit) */
	for (int q = 0; q < 4; q++) {
		__m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(words + 32 * q));
		__m256i d = _mm256_and_si256(w, dmask);
		__m128i lo, hi;
		prefix16(d, &lo, &hi);
		__m256i vo = _mm256_set1_epi32((int)off);
		__m256i i0 = _mm256_and_si256(_mm256_add_epi32(vo, _mm256_cvtepu16_epi32(lo)), vmask);
		__m256i i1 = _mm256_and_si256(_mm256_add_epi32(vo, _mm256_cvtepu16_epi32(hi)), vmask);
		_mm256_storeu_si256((__m256i *)(void *)(at + 16 * q), _mm256_srli_epi32(i0, 1));
		_mm256_storeu_si256((__m256i *)(void *)(at + 16 * q + 8), _mm256_srli_epi32(i1, 1));
		odd16[q] = _mm256_packus_epi32(_mm256_and_si256(i0, one), _mm256_and_si256(i1, one));
		off += (uint16_t)_mm_extract_epi16(hi, 7);
	}
	/* Byte loads beat vpgatherdd here (one load op each, no gather microcode); the bytes are
	 * packed in registers, 8 per word, and each event's half picked in vectors. */
	uint64_t raw[DP_ANN_GROUP / 8];
	for (int j = 0; j < DP_ANN_GROUP / 8; j++) {
		uint64_t v = 0;
		for (int k = 0; k < 8; k++)
			v |= (uint64_t)win[at[8 * j + k]] << (8 * k);
		raw[j] = v;
	}
	uint32_t m[2][4];
	for (int h = 0; h < 2; h++) {
		__m256i b = _mm256_set_epi64x((long long)raw[4 * h + 3], (long long)raw[4 * h + 2],
					      (long long)raw[4 * h + 1], (long long)raw[4 * h]);
		__m256i odd = _mm256_permutevar8x32_epi32(
			_mm256_packus_epi16(odd16[2 * h], odd16[2 * h + 1]), order);
		__m256i sel = _mm256_cmpeq_epi8(odd, _mm256_set1_epi8(1));
		__m256i nib = _mm256_blendv_epi8(_mm256_and_si256(b, low),
						 _mm256_and_si256(_mm256_srli_epi16(b, 4), low), sel);
		planes32(nib, m[h]);
	}
	for (int k = 0; k < 4; k++)
		planes[k] = (uint64_t)m[0][k] | (uint64_t)m[1][k] << 32;
}

uint64_t dp_sparse_copy_run_avx2(const uint8_t *words, size_t n, uint8_t *out)
{
	const __m256i dmask = _mm256_set1_epi16(0x0FFF), zero = _mm256_setzero_si256();
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i zeros = zero, sum = zero;
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(words + 2 * i));
		_mm256_storeu_si256((__m256i *)(void *)(out + 2 * i), w);
		__m256i d = _mm256_and_si256(w, dmask);
		zeros = _mm256_or_si256(zeros, _mm256_cmpeq_epi16(d, zero));
		sum = _mm256_add_epi32(sum, _mm256_madd_epi16(d, ones)); /* < 2^31 for n < 2^18 */
	}
	uint64_t tail = dp_sparse_copy_run_base(words + 2 * i, n - i, out + 2 * i);
	if (_mm256_movemask_epi8(zeros) || tail == UINT64_MAX)
		return UINT64_MAX;
	return hsum32(sum) + tail;
}

int dp_sparse_decode_run_avx2(const uint8_t *words, size_t n, uint64_t pos, uint64_t *slots,
			      uint8_t *syms)
{
	const __m256i dmask = _mm256_set1_epi16(0x0FFF), zero = _mm256_setzero_si256();
	__m256i zeros = zero;
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(words + 2 * i));
		__m256i d = _mm256_and_si256(w, dmask);
		zeros = _mm256_or_si256(zeros, _mm256_cmpeq_epi16(d, zero));
		__m128i lo, hi;
		prefix16(d, &lo, &hi);
		__m256i base = _mm256_set1_epi64x((long long)pos);
		__m256i *out = (__m256i *)(void *)(slots + i);
		_mm256_storeu_si256(out, _mm256_add_epi64(base, _mm256_cvtepu16_epi64(lo)));
		_mm256_storeu_si256(out + 1,
				    _mm256_add_epi64(base, _mm256_cvtepu16_epi64(_mm_srli_si128(lo, 8))));
		_mm256_storeu_si256(out + 2, _mm256_add_epi64(base, _mm256_cvtepu16_epi64(hi)));
		_mm256_storeu_si256(out + 3,
				    _mm256_add_epi64(base, _mm256_cvtepu16_epi64(_mm_srli_si128(hi, 8))));
		pos += (uint16_t)_mm_extract_epi16(hi, 7);
		__m256i s = _mm256_srli_epi16(w, 12);
		_mm_storeu_si128((__m128i *)(void *)(syms + i),
				 _mm_packus_epi16(_mm256_castsi256_si128(s),
						  _mm256_extracti128_si256(s, 1)));
	}
	int bad = _mm256_movemask_epi8(zeros) != 0;
	bad |= dp_sparse_decode_run_base(words + 2 * i, n - i, pos, slots + i, syms + i) != 0;
	return bad ? -1 : 0;
}

size_t dp_sparse_encode_run_avx2(const uint64_t *slots, const uint8_t *syms, size_t n,
				 uint64_t prev, uint8_t sym_mask, uint16_t *words)
{
	/* The first gap counts from 'prev' (scalar), then whole vectors read slots[i - 1]. */
	if (!n || !dp_sparse_encode_run_base(slots, syms, 1, prev, sym_mask, words))
		return 0;
	size_t i = 1;
	/* 1 <= gap <= 4095 as an unsigned test on gap - 1, with signed compares on flipped signs. */
	const __m256i one = _mm256_set1_epi64x(1), sign = _mm256_set1_epi64x((long long)(1ull << 63));
	const __m256i lim = _mm256_xor_si256(_mm256_set1_epi64x(0xFFE), sign);
	const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
	const __m256i smask = _mm256_set1_epi16(sym_mask);
	for (; i + 16 <= n; i += 16) {
		__m256i g[4], bad = _mm256_setzero_si256();
		for (int k = 0; k < 4; k++) {
			const uint64_t *c = slots + i + 4 * k;
			g[k] = _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(const void *)c),
						_mm256_loadu_si256((const __m256i *)(const void *)(c - 1)));
			__m256i x = _mm256_xor_si256(_mm256_sub_epi64(g[k], one), sign);
			bad = _mm256_or_si256(bad, _mm256_cmpgt_epi64(x, lim));
		}
		if (_mm256_movemask_epi8(bad))
			break;
		/* Gaps fit 12 bits: two unsigned-saturating packs and a dword permute put the 16
		 * low halves in order. */
		__m256i p01 = _mm256_packus_epi32(g[0], g[1]), p23 = _mm256_packus_epi32(g[2], g[3]);
		__m256i q = _mm256_permutevar8x32_epi32(_mm256_packus_epi32(p01, p23), order);
		__m256i s = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(syms + i)));
		s = _mm256_slli_epi16(_mm256_and_si256(s, smask), 12);
		_mm256_storeu_si256((__m256i *)(void *)(words + i), _mm256_or_si256(q, s));
	}
	return i + dp_sparse_encode_run_base(slots + i, syms + i, n - i, i ? slots[i - 1] : prev,
					     sym_mask, words + i);
}
