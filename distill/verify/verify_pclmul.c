/* Polynomial hash over GF(2^128) with PCLMULQDQ: four blocks per reduction (Horner aggregated
 * with k^4..k^1), Karatsuba products; the same field and bit order as verify_base.c. */
#include <immintrin.h>

#include "gf128.h"
#include "verify_internal.h"

/* Unreduced 256-bit product as lo (x^0..x^127) and hi (x^128..x^255). */
static inline void clmul128(__m128i a, __m128i b, __m128i *lo, __m128i *hi)
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
static inline __m128i reduce(__m128i lo, __m128i hi)
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

static inline __m128i load_block(const uint64_t *msg, uint64_t nbits, uint64_t i)
{
	uint64_t b[2];
	gf128_block(msg, nbits, i, b);
	return _mm_set_epi64x((long long)b[1], (long long)b[0]);
}

static inline __m128i mul(__m128i a, __m128i b)
{
	__m128i lo, hi;
	clmul128(a, b, &lo, &hi);
	return reduce(lo, hi);
}

void dst_verify_hash_pclmul(const uint64_t *msg, uint64_t nbits, const uint64_t k[2],
			    uint64_t out[2])
{
	__m128i k1 = _mm_set_epi64x((long long)k[1], (long long)k[0]);
	__m128i k2 = mul(k1, k1), k3 = mul(k2, k1), k4 = mul(k2, k2);
	__m128i acc = _mm_setzero_si128();
	uint64_t blocks = (nbits + 127) / 128, full = nbits / 128, i = 0;
	for (; i + 4 <= full; i += 4) {
		const __m128i *p = (const __m128i *)(msg + 2 * i);
		__m128i m0 = _mm_xor_si128(acc, _mm_loadu_si128(p));
		__m128i l0, h0, l1, h1, l2, h2, l3, h3;
		clmul128(m0, k4, &l0, &h0);
		clmul128(_mm_loadu_si128(p + 1), k3, &l1, &h1);
		clmul128(_mm_loadu_si128(p + 2), k2, &l2, &h2);
		clmul128(_mm_loadu_si128(p + 3), k1, &l3, &h3);
		acc = reduce(_mm_xor_si128(_mm_xor_si128(l0, l1), _mm_xor_si128(l2, l3)),
			     _mm_xor_si128(_mm_xor_si128(h0, h1), _mm_xor_si128(h2, h3)));
	}
	for (; i < blocks; i++)
		acc = mul(_mm_xor_si128(acc, load_block(msg, nbits, i)), k1);
	acc = mul(_mm_xor_si128(acc, _mm_set_epi64x(0, (long long)nbits)), k1);
	_mm_storeu_si128((__m128i *)out, acc);
}
