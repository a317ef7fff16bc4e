/* PCLMULQDQ kernels for privacy amplification (built with avx2_cflags). */
#include <immintrin.h>

#include "pa_internal.h"

/* Two outputs per pass: one unaligned 128-bit load of G[w], G[w+1] feeds L_i (low qword) and
 * L_{i+1} (high qword) for the same input word. */
static void leaf_avx2(size_t k, const uint64_t *G, const uint64_t *X, uint64_t *Y)
{
	__m128i L[PA_LEAF_MAX + 2];
	for (size_t i = 0; i <= k; i += 2) {
		__m128i a0 = _mm_setzero_si128(), a1 = _mm_setzero_si128();
		const uint64_t *g = G + i + k - 1;
		for (size_t j = 0; j < k; j++) {
			__m128i gw = _mm_loadu_si128((const __m128i *)(g - j));
			__m128i xj = _mm_cvtsi64_si128((long long)X[j]);
			a0 = _mm_xor_si128(a0, _mm_clmulepi64_si128(gw, xj, 0x00));
			a1 = _mm_xor_si128(a1, _mm_clmulepi64_si128(gw, xj, 0x01));
		}
		L[i] = a0;
		L[i + 1] = a1;
	}
	for (size_t i = 0; i < k; i++) {
		uint64_t lo = (uint64_t)_mm_cvtsi128_si64(L[i]);
		uint64_t hi = (uint64_t)_mm_extract_epi64(L[i], 1);
		uint64_t nx = (uint64_t)_mm_cvtsi128_si64(L[i + 1]);
		Y[i] ^= lo >> 63 ^ hi << 1 ^ nx << 1;
	}
}

/* Two GF(2^64) products [b0·c0, b1·c1], reduced modulo z^64 + z^4 + z^3 + z + 1 (see pa_base.c). */
static inline __m128i mul2(__m128i b, __m128i c)
{
	__m128i p0 = _mm_clmulepi64_si128(b, c, 0x00), p1 = _mm_clmulepi64_si128(b, c, 0x11);
	__m128i lo = _mm_unpacklo_epi64(p0, p1), hi = _mm_unpackhi_epi64(p0, p1);
	__m128i u = _mm_xor_si128(_mm_xor_si128(hi, _mm_srli_epi64(hi, 60)),
				  _mm_xor_si128(_mm_srli_epi64(hi, 61), _mm_srli_epi64(hi, 63)));
	return _mm_xor_si128(_mm_xor_si128(lo, u),
			     _mm_xor_si128(_mm_xor_si128(_mm_slli_epi64(u, 1), _mm_slli_epi64(u, 3)),
					   _mm_slli_epi64(u, 4)));
}

static void fft_level_avx2(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw)
{
	size_t h = (size_t)1 << (i - 1);
	if (h == 1) {
		if (len < 4) {
			pa_kernels_generic.fft_level(f, len, i, off, tw);
			return;
		}
		for (size_t o = 0; o < len; o += 4) {
			size_t q = (off + o) >> 1;
			__m128i v1 = _mm_load_si128((__m128i *)(f + o)), v2 = _mm_load_si128((__m128i *)(f + o + 2));
			__m128i a = _mm_unpacklo_epi64(v1, v2), b = _mm_unpackhi_epi64(v1, v2);
			__m128i c = _mm_set_epi64x((long long)pa_tw(tw, q + 1), (long long)pa_tw(tw, q));
			a = _mm_xor_si128(a, mul2(b, c));
			b = _mm_xor_si128(b, a);
			_mm_store_si128((__m128i *)(f + o), _mm_unpacklo_epi64(a, b));
			_mm_store_si128((__m128i *)(f + o + 2), _mm_unpackhi_epi64(a, b));
		}
		return;
	}
	for (size_t o = 0; o < len; o += 2 * h) {
		__m128i c = _mm_set1_epi64x((long long)pa_tw(tw, (off + o) >> i));
		uint64_t *pa = f + o, *pb = pa + h;
		for (size_t t = 0; t < h; t += 2) {
			__m128i a = _mm_load_si128((__m128i *)(pa + t)), b = _mm_load_si128((__m128i *)(pb + t));
			a = _mm_xor_si128(a, mul2(b, c));
			_mm_store_si128((__m128i *)(pa + t), a);
			_mm_store_si128((__m128i *)(pb + t), _mm_xor_si128(b, a));
		}
	}
}

static void ifft_level_avx2(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw)
{
	size_t h = (size_t)1 << (i - 1);
	if (h == 1) {
		if (len < 4) {
			pa_kernels_generic.ifft_level(f, len, i, off, tw);
			return;
		}
		for (size_t o = 0; o < len; o += 4) {
			size_t q = (off + o) >> 1;
			__m128i v1 = _mm_load_si128((__m128i *)(f + o)), v2 = _mm_load_si128((__m128i *)(f + o + 2));
			__m128i a = _mm_unpacklo_epi64(v1, v2), b = _mm_unpackhi_epi64(v1, v2);
			__m128i c = _mm_set_epi64x((long long)pa_tw(tw, q + 1), (long long)pa_tw(tw, q));
			b = _mm_xor_si128(b, a);
			a = _mm_xor_si128(a, mul2(b, c));
			_mm_store_si128((__m128i *)(f + o), _mm_unpacklo_epi64(a, b));
			_mm_store_si128((__m128i *)(f + o + 2), _mm_unpackhi_epi64(a, b));
		}
		return;
	}
	for (size_t o = 0; o < len; o += 2 * h) {
		__m128i c = _mm_set1_epi64x((long long)pa_tw(tw, (off + o) >> i));
		uint64_t *pa = f + o, *pb = pa + h;
		for (size_t t = 0; t < h; t += 2) {
			__m128i a = _mm_load_si128((__m128i *)(pa + t)), b = _mm_load_si128((__m128i *)(pb + t));
			b = _mm_xor_si128(b, a);
			_mm_store_si128((__m128i *)(pa + t), _mm_xor_si128(a, mul2(b, c)));
			_mm_store_si128((__m128i *)(pb + t), b);
		}
	}
}

/* Levels i and i-1 in one pass over the quarters of each 2^i block (see pa_internal.h). */
static void fft_level2_avx2(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw)
{
	size_t q = (size_t)1 << (i - 2);
	for (size_t o = 0; o < len; o += 4 * q) {
		size_t g = off + o;
		__m128i c = _mm_set1_epi64x((long long)pa_tw(tw, g >> i));
		__m128i c0 = _mm_set1_epi64x((long long)pa_tw(tw, g >> (i - 1)));
		__m128i c1 = _mm_set1_epi64x((long long)pa_tw(tw, (g >> (i - 1)) + 1));
		__m128i *p0 = (__m128i *)(f + o), *p1 = (__m128i *)(f + o + q);
		__m128i *p2 = (__m128i *)(f + o + 2 * q), *p3 = (__m128i *)(f + o + 3 * q);
		for (size_t t = 0; t < q / 2; t++) {
			__m128i x0 = p0[t], x1 = p1[t], x2 = p2[t], x3 = p3[t];
			x0 = _mm_xor_si128(x0, mul2(x2, c));
			x2 = _mm_xor_si128(x2, x0);
			x1 = _mm_xor_si128(x1, mul2(x3, c));
			x3 = _mm_xor_si128(x3, x1);
			x0 = _mm_xor_si128(x0, mul2(x1, c0));
			x1 = _mm_xor_si128(x1, x0);
			x2 = _mm_xor_si128(x2, mul2(x3, c1));
			x3 = _mm_xor_si128(x3, x2);
			p0[t] = x0, p1[t] = x1, p2[t] = x2, p3[t] = x3;
		}
	}
}

static void ifft_level2_avx2(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw)
{
	size_t q = (size_t)1 << (i - 2);
	for (size_t o = 0; o < len; o += 4 * q) {
		size_t g = off + o;
		__m128i c = _mm_set1_epi64x((long long)pa_tw(tw, g >> i));
		__m128i c0 = _mm_set1_epi64x((long long)pa_tw(tw, g >> (i - 1)));
		__m128i c1 = _mm_set1_epi64x((long long)pa_tw(tw, (g >> (i - 1)) + 1));
		__m128i *p0 = (__m128i *)(f + o), *p1 = (__m128i *)(f + o + q);
		__m128i *p2 = (__m128i *)(f + o + 2 * q), *p3 = (__m128i *)(f + o + 3 * q);
		for (size_t t = 0; t < q / 2; t++) {
			__m128i x0 = p0[t], x1 = p1[t], x2 = p2[t], x3 = p3[t];
			x1 = _mm_xor_si128(x1, x0);
			x0 = _mm_xor_si128(x0, mul2(x1, c0));
			x3 = _mm_xor_si128(x3, x2);
			x2 = _mm_xor_si128(x2, mul2(x3, c1));
			x2 = _mm_xor_si128(x2, x0);
			x0 = _mm_xor_si128(x0, mul2(x2, c));
			x3 = _mm_xor_si128(x3, x1);
			x1 = _mm_xor_si128(x1, mul2(x3, c));
			p0[t] = x0, p1[t] = x1, p2[t] = x2, p3[t] = x3;
		}
	}
}

static void gf_mul_avx2(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t len)
{
	size_t t = 0;
	for (; t + 2 <= len; t += 2)
		_mm_storeu_si128((__m128i *)(d + t), mul2(_mm_loadu_si128((const __m128i *)(a + t)),
							  _mm_loadu_si128((const __m128i *)(b + t))));
	if (t < len)
		pa_kernels_generic.gf_mul(d + t, a + t, b + t, len - t);
}

const struct pa_kernels pa_kernels_avx2 = {
	.leaf = leaf_avx2,
	.fft_level = fft_level_avx2,
	.ifft_level = ifft_level_avx2,
	.gf_mul = gf_mul_avx2,
	.fft_level2 = fft_level2_avx2,
	.ifft_level2 = ifft_level2_avx2,
};
