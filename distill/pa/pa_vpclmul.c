/* VPCLMULQDQ kernels for privacy amplification: two carry-less products per instruction on the
 * two 128-bit lanes of a 256-bit register (built with vpclmul_cflags). */
#include <immintrin.h>

#include "pa_internal.h"

/* Four outputs per pass: a 256-bit load of G[w..w+3] times a broadcast X[j] gives, with the low
 * qword selector, L_i and L_{i+2}; with the high one L_{i+1} and L_{i+3}. */
static void leaf_vpclmul(size_t k, const uint64_t *G, const uint64_t *X, uint64_t *Y)
{
	uint64_t lo[PA_LEAF_MAX + 4], hi[PA_LEAF_MAX + 4];
	for (size_t i = 0; i <= k; i += 4) {
		__m256i ae = _mm256_setzero_si256(), ao = _mm256_setzero_si256();
		const uint64_t *g = G + i + k - 1;
		for (size_t j = 0; j < k; j++) {
			__m256i gw = _mm256_loadu_si256((const __m256i *)(g - j));
			__m256i xj = _mm256_set1_epi64x((long long)X[j]);
			ae = _mm256_xor_si256(ae, _mm256_clmulepi64_epi128(gw, xj, 0x00));
			ao = _mm256_xor_si256(ao, _mm256_clmulepi64_epi128(gw, xj, 0x01));
		}
		/* ae = [L_i | L_{i+2}], ao = [L_{i+1} | L_{i+3}] as (lo, hi) qword pairs */
		uint64_t e[4], o[4];
		_mm256_storeu_si256((__m256i *)e, ae);
		_mm256_storeu_si256((__m256i *)o, ao);
		lo[i] = e[0], hi[i] = e[1], lo[i + 2] = e[2], hi[i + 2] = e[3];
		lo[i + 1] = o[0], hi[i + 1] = o[1], lo[i + 3] = o[2], hi[i + 3] = o[3];
	}
	for (size_t i = 0; i < k; i++)
		Y[i] ^= lo[i] >> 63 ^ hi[i] << 1 ^ lo[i + 1] << 1;
}

/* Four GF(2^64) products [b0·c0, b1·c1 | b2·c2, b3·c3], reduced modulo z^64 + z^4 + z^3 + z + 1. */
static inline __m256i mul4(__m256i b, __m256i c)
{
	__m256i p0 = _mm256_clmulepi64_epi128(b, c, 0x00), p1 = _mm256_clmulepi64_epi128(b, c, 0x11);
	__m256i lo = _mm256_unpacklo_epi64(p0, p1), hi = _mm256_unpackhi_epi64(p0, p1);
	__m256i u = _mm256_xor_si256(_mm256_xor_si256(hi, _mm256_srli_epi64(hi, 60)),
				     _mm256_xor_si256(_mm256_srli_epi64(hi, 61), _mm256_srli_epi64(hi, 63)));
	return _mm256_xor_si256(
		_mm256_xor_si256(lo, u),
		_mm256_xor_si256(_mm256_xor_si256(_mm256_slli_epi64(u, 1), _mm256_slli_epi64(u, 3)),
				 _mm256_slli_epi64(u, 4)));
}

#define LOAD(p) _mm256_load_si256((const __m256i *)(p))
#define STORE(p, v) _mm256_store_si256((__m256i *)(p), (v))

/* Splits 8 elements into the a and b halves of the butterflies of level 1 (h = 1: pairs) or
 * level 2 (h = 2), with the matching twiddle vector, and back. */
static inline void split8(unsigned h, __m256i v1, __m256i v2, __m256i *a, __m256i *b)
{
	if (h == 1) {
		*a = _mm256_unpacklo_epi64(v1, v2); /* [a0 a2 | a1 a3] */
		*b = _mm256_unpackhi_epi64(v1, v2);
	} else {
		*a = _mm256_permute2x128_si256(v1, v2, 0x20); /* [a0 a1 | a2 a3] */
		*b = _mm256_permute2x128_si256(v1, v2, 0x31);
	}
}

static inline void join8(unsigned h, __m256i a, __m256i b, __m256i *v1, __m256i *v2)
{
	if (h == 1) {
		*v1 = _mm256_unpacklo_epi64(a, b);
		*v2 = _mm256_unpackhi_epi64(a, b);
	} else {
		*v1 = _mm256_permute2x128_si256(a, b, 0x20);
		*v2 = _mm256_permute2x128_si256(a, b, 0x31);
	}
}

static inline __m256i tw8(unsigned h, const struct pa_tw *tw, size_t q)
{
	if (h == 1)
		return _mm256_set_epi64x((long long)pa_tw(tw, q + 3), (long long)pa_tw(tw, q + 1),
					 (long long)pa_tw(tw, q + 2), (long long)pa_tw(tw, q));
	uint64_t c0 = pa_tw(tw, q), c1 = pa_tw(tw, q + 1);
	return _mm256_set_epi64x((long long)c1, (long long)c1, (long long)c0, (long long)c0);
}

static void fft_level_vpclmul(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw)
{
	size_t h = (size_t)1 << (i - 1);
	if (len < 8) {
		pa_kernels_generic.fft_level(f, len, i, off, tw);
		return;
	}
	if (h <= 2) {
		for (size_t o = 0; o < len; o += 8) {
			__m256i a, b, v1 = LOAD(f + o), v2 = LOAD(f + o + 4);
			split8((unsigned)h, v1, v2, &a, &b);
			a = _mm256_xor_si256(a, mul4(b, tw8((unsigned)h, tw, (off + o) >> i)));
			b = _mm256_xor_si256(b, a);
			join8((unsigned)h, a, b, &v1, &v2);
			STORE(f + o, v1);
			STORE(f + o + 4, v2);
		}
		return;
	}
	for (size_t o = 0; o < len; o += 2 * h) {
		__m256i c = _mm256_set1_epi64x((long long)pa_tw(tw, (off + o) >> i));
		uint64_t *pa = f + o, *pb = pa + h;
		for (size_t t = 0; t < h; t += 4) {
			__m256i a = LOAD(pa + t), b = LOAD(pb + t);
			a = _mm256_xor_si256(a, mul4(b, c));
			STORE(pa + t, a);
			STORE(pb + t, _mm256_xor_si256(b, a));
		}
	}
}

static void ifft_level_vpclmul(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw)
{
	size_t h = (size_t)1 << (i - 1);
	if (len < 8) {
		pa_kernels_generic.ifft_level(f, len, i, off, tw);
		return;
	}
	if (h <= 2) {
		for (size_t o = 0; o < len; o += 8) {
			__m256i a, b, v1 = LOAD(f + o), v2 = LOAD(f + o + 4);
			split8((unsigned)h, v1, v2, &a, &b);
			b = _mm256_xor_si256(b, a);
			a = _mm256_xor_si256(a, mul4(b, tw8((unsigned)h, tw, (off + o) >> i)));
			join8((unsigned)h, a, b, &v1, &v2);
			STORE(f + o, v1);
			STORE(f + o + 4, v2);
		}
		return;
	}
	for (size_t o = 0; o < len; o += 2 * h) {
		__m256i c = _mm256_set1_epi64x((long long)pa_tw(tw, (off + o) >> i));
		uint64_t *pa = f + o, *pb = pa + h;
		for (size_t t = 0; t < h; t += 4) {
			__m256i a = LOAD(pa + t), b = _mm256_xor_si256(LOAD(pb + t), a);
			STORE(pa + t, _mm256_xor_si256(a, mul4(b, c)));
			STORE(pb + t, b);
		}
	}
}

static void fft_level2_vpclmul(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw)
{
	size_t q = (size_t)1 << (i - 2);
	for (size_t o = 0; o < len; o += 4 * q) {
		size_t g = off + o;
		__m256i c = _mm256_set1_epi64x((long long)pa_tw(tw, g >> i));
		__m256i c0 = _mm256_set1_epi64x((long long)pa_tw(tw, g >> (i - 1)));
		__m256i c1 = _mm256_set1_epi64x((long long)pa_tw(tw, (g >> (i - 1)) + 1));
		uint64_t *p0 = f + o, *p1 = p0 + q, *p2 = p1 + q, *p3 = p2 + q;
		for (size_t t = 0; t < q; t += 4) {
			__m256i x0 = LOAD(p0 + t), x1 = LOAD(p1 + t), x2 = LOAD(p2 + t), x3 = LOAD(p3 + t);
			x0 = _mm256_xor_si256(x0, mul4(x2, c));
			x2 = _mm256_xor_si256(x2, x0);
			x1 = _mm256_xor_si256(x1, mul4(x3, c));
			x3 = _mm256_xor_si256(x3, x1);
			x0 = _mm256_xor_si256(x0, mul4(x1, c0));
			x1 = _mm256_xor_si256(x1, x0);
			x2 = _mm256_xor_si256(x2, mul4(x3, c1));
			x3 = _mm256_xor_si256(x3, x2);
			STORE(p0 + t, x0);
			STORE(p1 + t, x1);
			STORE(p2 + t, x2);
			STORE(p3 + t, x3);
		}
	}
}

static void ifft_level2_vpclmul(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw)
{
	size_t q = (size_t)1 << (i - 2);
	for (size_t o = 0; o < len; o += 4 * q) {
		size_t g = off + o;
		__m256i c = _mm256_set1_epi64x((long long)pa_tw(tw, g >> i));
		__m256i c0 = _mm256_set1_epi64x((long long)pa_tw(tw, g >> (i - 1)));
		__m256i c1 = _mm256_set1_epi64x((long long)pa_tw(tw, (g >> (i - 1)) + 1));
		uint64_t *p0 = f + o, *p1 = p0 + q, *p2 = p1 + q, *p3 = p2 + q;
		for (size_t t = 0; t < q; t += 4) {
			__m256i x0 = LOAD(p0 + t), x1 = LOAD(p1 + t), x2 = LOAD(p2 + t), x3 = LOAD(p3 + t);
			x1 = _mm256_xor_si256(x1, x0);
			x0 = _mm256_xor_si256(x0, mul4(x1, c0));
			x3 = _mm256_xor_si256(x3, x2);
			x2 = _mm256_xor_si256(x2, mul4(x3, c1));
			x2 = _mm256_xor_si256(x2, x0);
			x0 = _mm256_xor_si256(x0, mul4(x2, c));
			x3 = _mm256_xor_si256(x3, x1);
			x1 = _mm256_xor_si256(x1, mul4(x3, c));
			STORE(p0 + t, x0);
			STORE(p1 + t, x1);
			STORE(p2 + t, x2);
			STORE(p3 + t, x3);
		}
	}
}

static void gf_mul_vpclmul(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t len)
{
	size_t t = 0;
	for (; t + 4 <= len; t += 4)
		_mm256_storeu_si256((__m256i *)(d + t),
				    mul4(_mm256_loadu_si256((const __m256i *)(a + t)),
					 _mm256_loadu_si256((const __m256i *)(b + t))));
	if (t < len)
		pa_kernels_generic.gf_mul(d + t, a + t, b + t, len - t);
}

const struct pa_kernels pa_kernels_vpclmul = {
	.leaf = leaf_vpclmul,
	.fft_level = fft_level_vpclmul,
	.ifft_level = ifft_level_vpclmul,
	.gf_mul = gf_mul_vpclmul,
	.fft_level2 = fft_level2_vpclmul,
	.ifft_level2 = ifft_level2_vpclmul,
};
