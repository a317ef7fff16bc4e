/* Polynomial hash over GF(2^128) with PCLMULQDQ: four blocks per reduction (Horner aggregated
 * with k^4..k^1), Karatsuba products; the same field and bit order as verify_base.c. */
#include <immintrin.h>

#include "gf128.h"
#include "gf128_clmul.h"
#include "verify_internal.h"

static inline __m128i load_block(const uint64_t *msg, uint64_t nbits, uint64_t i)
{
	uint64_t b[2];
	gf128_block(msg, nbits, i, b);
	return _mm_set_epi64x((long long)b[1], (long long)b[0]);
}

void dst_gf128_mul_pclmul(const uint64_t a[2], const uint64_t b[2], uint64_t r[2])
{
	__m128i x = _mm_set_epi64x((long long)a[1], (long long)a[0]);
	__m128i y = _mm_set_epi64x((long long)b[1], (long long)b[0]);
	_mm_storeu_si128((__m128i *)r, gf128_clmul_mul(x, y));
}

void dst_verify_hash_pclmul(const uint64_t *msg, uint64_t nbits, const uint64_t k[2],
			    uint64_t out[2])
{
	__m128i k1 = _mm_set_epi64x((long long)k[1], (long long)k[0]);
	__m128i k2 = gf128_clmul_mul(k1, k1), k3 = gf128_clmul_mul(k2, k1), k4 = gf128_clmul_mul(k2, k2);
	__m128i acc = _mm_setzero_si128();
	uint64_t blocks = (nbits + 127) / 128, full = nbits / 128, i = 0;
	for (; i + 4 <= full; i += 4) {
		const __m128i *p = (const __m128i *)(msg + 2 * i);
		__m128i m0 = _mm_xor_si128(acc, _mm_loadu_si128(p));
		__m128i l0, h0, l1, h1, l2, h2, l3, h3;
		gf128_clmul(m0, k4, &l0, &h0);
		gf128_clmul(_mm_loadu_si128(p + 1), k3, &l1, &h1);
		gf128_clmul(_mm_loadu_si128(p + 2), k2, &l2, &h2);
		gf128_clmul(_mm_loadu_si128(p + 3), k1, &l3, &h3);
		acc = gf128_clmul_reduce(_mm_xor_si128(_mm_xor_si128(l0, l1), _mm_xor_si128(l2, l3)),
			     _mm_xor_si128(_mm_xor_si128(h0, h1), _mm_xor_si128(h2, h3)));
	}
	for (; i < blocks; i++)
		acc = gf128_clmul_mul(_mm_xor_si128(acc, load_block(msg, nbits, i)), k1);
	acc = gf128_clmul_mul(_mm_xor_si128(acc, _mm_set_epi64x(0, (long long)nbits)), k1);
	_mm_storeu_si128((__m128i *)out, acc);
}
