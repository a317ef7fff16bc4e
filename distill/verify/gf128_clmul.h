/* GF(2^128) products on 128-bit PCLMULQDQ, shared by the PCLMUL and VPCLMUL hash variants
 * (include only from files built with -mpclmul). Private header. */
#ifndef DST_GF128_CLMUL_H
#define DST_GF128_CLMUL_H

#include <immintrin.h>

/* Unreduced 256-bit product as lo (x^0..x^127) and hi (x^128..x^255). */
static inline void gf128_clmul(__m128i a, __m128i b, __m128i *lo, __m128i *hi)
{
	__m128i l = _mm_clmulepi64_si128(a, b, 0x00);
	__m128i h = _mm_clmulepi64_si128(a, b, 0x11);
	__m128i m = _mm_clmulepi64_si128(_mm_xor_si128(a, _mm_srli_si128(a, 8)),
					 _mm_xor_si128(b, _mm_srli_si128(b, 8)), 0x00);
	m = _mm_xor_si128(m, _mm_xor_si128(l, h));
	*lo = _mm_xor_si128(l, _mm_slli_si128(m, 8));
	*hi = _mm_xor_si128(h, _mm_srli_si128(m, 8));
}

/* lo + hi x^128 mod x^128 + x^7 + x^2 + x + 1, two carry-less multiplications by 0x87. */
static inline __m128i gf128_clmul_reduce(__m128i lo, __m128i hi)
{
	const __m128i poly = _mm_set_epi64x(0, 0x87);
	/* hi = h0 + h1 x^64 stands for hi x^128 = hi g (g = 0x87). t = h1 g has up to 71 bits:
	 * t x^64 puts its low word into lo's high half and its top bits at x^128, which join h0. */
	__m128i t = _mm_clmulepi64_si128(hi, poly, 0x01);
	hi = _mm_xor_si128(hi, _mm_srli_si128(t, 8));
	lo = _mm_xor_si128(lo, _mm_slli_si128(t, 8));
	__m128i u = _mm_clmulepi64_si128(hi, poly, 0x00); /* (h0 + top of t) g, under 2^71 */
	return _mm_xor_si128(lo, u);
}

static inline __m128i gf128_clmul_mul(__m128i a, __m128i b)
{
	__m128i lo, hi;
	gf128_clmul(a, b, &lo, &hi);
	return gf128_clmul_reduce(lo, hi);
}

#endif
