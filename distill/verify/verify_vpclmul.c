/* Polynomial hash over GF(2^128) with VPCLMULQDQ on 256-bit lanes: two blocks per register,
 * eight blocks per reduction (Horner aggregated with k^8..k^1). Same field, bit order and result
 * as verify_base.c; the tail goes one block at a time on 128-bit PCLMULQDQ. */
#include <immintrin.h>

#include "gf128.h"
#include "gf128_clmul.h"
#include "verify_internal.h"

/* Per-lane Karatsuba terms of a x b without the final combination: lo x lo, hi x hi and
 * (lo + hi)(lo' + hi'), accumulated by the caller. bk holds b's lo + hi in each lane's low word. */
static inline void clmul256(__m256i a, __m256i b, __m256i bk, __m256i *l, __m256i *h, __m256i *m)
{
	__m256i ak = _mm256_xor_si256(a, _mm256_shuffle_epi32(a, 0x4E));
	*l = _mm256_xor_si256(*l, _mm256_clmulepi64_epi128(a, b, 0x00));
	*h = _mm256_xor_si256(*h, _mm256_clmulepi64_epi128(a, b, 0x11));
	*m = _mm256_xor_si256(*m, _mm256_clmulepi64_epi128(ak, bk, 0x00));
}

void dst_verify_hash_vpclmul(const uint64_t *msg, uint64_t nbits, const uint64_t k[2],
			     uint64_t out[2])
{
	__m128i p[9];
	p[1] = _mm_set_epi64x((long long)k[1], (long long)k[0]);
	for (int i = 2; i <= 8; i++)
		p[i] = gf128_clmul_mul(p[i - 1], p[1]);
	/* Lane 0 takes the earlier block of a pair, so it gets the higher power. */
	__m256i kp[4], kk[4];
	for (int j = 0; j < 4; j++) {
		kp[j] = _mm256_set_m128i(p[7 - 2 * j], p[8 - 2 * j]);
		kk[j] = _mm256_xor_si256(kp[j], _mm256_shuffle_epi32(kp[j], 0x4E));
	}
	__m128i acc = _mm_setzero_si128();
	uint64_t blocks = (nbits + 127) / 128, full = nbits / 128, i = 0;
	for (; i + 8 <= full; i += 8) {
		const __m256i *q = (const __m256i *)(msg + 2 * i);
		__m256i l = _mm256_setzero_si256(), h = l, m = l;
		__m256i m0 = _mm256_xor_si256(_mm256_loadu_si256(q), _mm256_zextsi128_si256(acc));
		clmul256(m0, kp[0], kk[0], &l, &h, &m);
		clmul256(_mm256_loadu_si256(q + 1), kp[1], kk[1], &l, &h, &m);
		clmul256(_mm256_loadu_si256(q + 2), kp[2], kk[2], &l, &h, &m);
		clmul256(_mm256_loadu_si256(q + 3), kp[3], kk[3], &l, &h, &m);
		/* Fold the two lanes (the products just add up), then finish Karatsuba. */
		__m128i lo = _mm_xor_si128(_mm256_castsi256_si128(l), _mm256_extracti128_si256(l, 1));
		__m128i hi = _mm_xor_si128(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
		__m128i mid = _mm_xor_si128(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
		mid = _mm_xor_si128(mid, _mm_xor_si128(lo, hi));
		lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
		hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
		acc = gf128_clmul_reduce(lo, hi);
	}
	for (; i < blocks; i++) {
		uint64_t b[2];
		gf128_block(msg, nbits, i, b);
		acc = gf128_clmul_mul(_mm_xor_si128(acc, _mm_set_epi64x((long long)b[1], (long long)b[0])), p[1]);
	}
	acc = gf128_clmul_mul(_mm_xor_si128(acc, _mm_set_epi64x(0, (long long)nbits)), p[1]);
	_mm_storeu_si128((__m128i *)out, acc);
}
