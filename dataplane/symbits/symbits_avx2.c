/* AVX2 symbol kernels: planes by byte-sign masks (32 symbols per movemask), window nibbles by
 * 32-bit gathers (8 slots per vpgatherdd). Output identical to symbits_base.c. */
#include <immintrin.h>
#include <string.h>

#include "symbits_internal.h"

/* 32 symbols: bit k of every byte to a 32-bit mask (bit k moved to the byte's sign bit). */
static inline void planes32(__m256i v, uint32_t m[4])
{
	m[0] = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(v, 7));
	m[1] = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(v, 6));
	m[2] = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(v, 5));
	m[3] = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(v, 4));
}

void dp_sym_planes_avx2(const uint8_t *sym, size_t n, uint64_t *p0, uint64_t *p1, uint64_t *p2,
			uint64_t *p3)
{
	uint64_t *out[4] = {p0, p1, p2, p3};
	for (size_t w = 0; w * 64 < n; w++) {
		__m256i v0, v1;
		size_t m = n - w * 64;
		if (m >= 64) {
			v0 = _mm256_loadu_si256((const __m256i *)(const void *)(sym + w * 64));
			v1 = _mm256_loadu_si256((const __m256i *)(const void *)(sym + w * 64 + 32));
		} else { /* tail: zero-padded copy, so bits past n come out zero */
			uint8_t t[64] = {0};
			memcpy(t, sym + w * 64, m);
			v0 = _mm256_loadu_si256((const __m256i *)(const void *)t);
			v1 = _mm256_loadu_si256((const __m256i *)(const void *)(t + 32));
		}
		uint32_t lo[4], hi[4];
		planes32(v0, lo);
		planes32(v1, hi);
		for (int k = 0; k < 4; k++)
			if (out[k])
				out[k][w] = (uint64_t)lo[k] | (uint64_t)hi[k] << 32;
	}
}

void dp_win_gather_avx2(const uint8_t *win, uint64_t mask, uint64_t base, const uint64_t *slots,
			size_t n, uint8_t *out)
{
	const __m256i vbase = _mm256_set1_epi64x((long long)base);
	const __m256i vmask = _mm256_set1_epi64x((long long)mask);
	const __m256i low32 = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
	const __m256i one = _mm256_set1_epi32(1), nib = _mm256_set1_epi32(0xF);
	/* Low byte of each 32-bit lane to the lane's first four bytes. */
	const __m256i pack = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
					      -1, -1, 0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1,
					      -1, -1, -1, -1);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256i s0 = _mm256_loadu_si256((const __m256i *)(const void *)(slots + i));
		__m256i s1 = _mm256_loadu_si256((const __m256i *)(const void *)(slots + i + 4));
		s0 = _mm256_and_si256(_mm256_sub_epi64(s0, vbase), vmask);
		s1 = _mm256_and_si256(_mm256_sub_epi64(s1, vbase), vmask);
		/* The window has at most 2^30 slots: nibble indices fit 32 bits. */
		__m128i x0 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(s0, low32));
		__m128i x1 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(s1, low32));
		__m256i x = _mm256_inserti128_si256(_mm256_castsi128_si256(x0), x1, 1);
		__m256i g = _mm256_i32gather_epi32((const int *)(const void *)win,
						   _mm256_srli_epi32(x, 1), 1);
		__m256i sh = _mm256_slli_epi32(_mm256_and_si256(x, one), 2);
		__m256i v = _mm256_and_si256(_mm256_srlv_epi32(g, sh), nib);
		v = _mm256_shuffle_epi8(v, pack);
		__m128i b = _mm_unpacklo_epi32(_mm256_castsi256_si128(v),
					       _mm256_extracti128_si256(v, 1));
		_mm_storel_epi64((__m128i *)(void *)(out + i), b);
	}
	dp_win_gather_base(win, mask, base, slots + i, n - i, out + i); /* the tail */
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
		/* Prefix sums of 8 deltas per 128-bit lane, then the low lane's total carried into
		 * the high lane: 16 deltas of at most 4095 stay below 2^16. */
		__m256i x = _mm256_add_epi16(d, _mm256_slli_si256(d, 2));
		x = _mm256_add_epi16(x, _mm256_slli_si256(x, 4));
		x = _mm256_add_epi16(x, _mm256_slli_si256(x, 8));
		__m128i lo = _mm256_castsi256_si128(x);
		__m128i hi = _mm_add_epi16(_mm256_extracti128_si256(x, 1),
					   _mm_set1_epi16((short)_mm_extract_epi16(lo, 7)));
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
