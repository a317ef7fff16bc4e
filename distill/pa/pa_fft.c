/* Toeplitz product by an additive FFT over GF(2^64) (Lin–Chung–Han transform in the Cantor basis,
 * where the subspace polynomials s_i(X) = (X^2 + X)∘...∘(X^2 + X) have 0/1 coefficients).
 *
 * x and the seed are cut into 32-bit chunks; a chunk is a polynomial of degree < 32 in z, and the
 * product of two chunks has degree < 63, so it is represented exactly by GF(2)[z]/(p(z)) with
 * deg p = 64 and the product of the chunk polynomials over GF(2^64) equals the carry-less product.
 * Steps per block: monomial -> LCH novel basis (XORs only, Gao–Mateer style Taylor expansions at
 * X^(2^T) + X), forward transform on the 2^K-point subspace, pointwise product with the seed's
 * precomputed transform, inverse transform, back to monomial, pick the middle bits.
 *
 * The product is only known modulo s_K(X) = sum_{j ⊆ K} X^(2^j) (Lucas): coefficients at and above
 * N = 2^K fold down onto positions below d + 2^jmax, where d is the overflow and jmax the largest
 * proper submask of K. When those positions lie below the chunks the output needs, a transform
 * half the size of the full product suffices (K = 16 gives an almost cyclic wrap X^N = X). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pa_internal.h"

/* Sub-blocks of 2^PA_FFT_BLOCK elements (256 KiB) run all their remaining levels in cache. */
#define PA_FFT_BLOCK 15
/* At most this many column blocks (each holds a seed transform). */
#define PA_FFT_MAX_BLOCKS 4
/* Basis conversions of many small rows go through the array in groups of this many words. */
#define PA_CONV_CHUNK ((size_t)1 << 14)

/* ---- GF(2^64) set-up: Cantor basis v_0 = 1, v_i^2 + v_i = v_{i-1} ---- */

static void cantor_basis(uint64_t v[64])
{
	/* L(u) = u^2 + u is GF(2)-linear: eliminate its 64 columns once, then solve L(v_i) = v_{i-1}. */
	uint64_t piv_vec[64] = {0}, piv_comb[64] = {0};
	for (unsigned b = 0; b < 64; b++) {
		uint64_t e = 1ull << b;
		uint64_t vec = pa_gf64_mul(e, e) ^ e, comb = e;
		for (int p = 63; p >= 0; p--) {
			if (!(vec >> p & 1))
				continue;
			if (piv_vec[p]) {
				vec ^= piv_vec[p];
				comb ^= piv_comb[p];
			} else {
				piv_vec[p] = vec;
				piv_comb[p] = comb;
				break;
			}
		}
	}
	v[0] = 1;
	for (unsigned i = 1; i < 64; i++) {
		uint64_t a = v[i - 1], sol = 0;
		for (int p = 63; p >= 0; p--)
			if (a >> p & 1) {
				/* trace(v_{i-1}) = 0 for i < 64, so every needed pivot exists */
				a ^= piv_vec[p];
				sol ^= piv_comb[p];
			}
		v[i] = sol;
	}
}

/* ---- basis conversion (XORs of element runs; an element is w consecutive words) ---- */

static void xor_run(uint64_t *restrict dst, const uint64_t *restrict src, size_t len)
{
	for (size_t t = 0; t < len; t++)
		dst[t] ^= src[t];
}

/* Largest power of two below k (k >= 2). */
static unsigned split_of(unsigned k)
{
	unsigned t = 1;
	while (2 * t < k)
		t *= 2;
	return t;
}

/* Taylor expansion at Y = X^(2^T) + X of every row of 2^k elements (w words each) in f[0..words):
 * afterwards element h·2^T + d of a row holds the coefficient of X^d in c_h, row = sum_h c_h(X) Y^h.
 * Each level divides by Y^t = X^(t·2^T) + X^t; the blocks of one level are independent, so a level
 * runs over all blocks of all rows before the next. */
static void taylor(uint64_t *f, size_t words, unsigned k, unsigned T, size_t w)
{
	for (unsigned l = k; l > T; l--) {
		size_t n = (size_t)1 << l, half = n / 2, t = n >> (T + 1);
		for (uint64_t *b = f; b < f + words; b += n * w) {
			xor_run(b + half * w, b + (n - t) * w, t * w);
			xor_run(b + t * w, b + half * w, (half - t) * w);
		}
	}
}

static void untaylor(uint64_t *f, size_t words, unsigned k, unsigned T, size_t w)
{
	for (unsigned l = T + 1; l <= k; l++) {
		size_t n = (size_t)1 << l, half = n / 2, t = n >> (T + 1);
		for (uint64_t *b = f; b < f + words; b += n * w) {
			xor_run(b + t * w, b + half * w, (half - t) * w);
			xor_run(b + half * w, b + (n - t) * w, t * w);
		}
	}
}

/* to_novel / from_novel of one 16-element row (k = 4, w = 1) written out: the same steps as the
 * general code (Taylor at X^4 + X, rows of 4, columns), without a loop per one-word run. */
static inline void conv16(uint64_t *a)
{
	a[8] ^= a[14], a[9] ^= a[15];
	for (int i = 2; i < 8; i++)
		a[i] ^= a[i + 6];
	a[4] ^= a[7], a[1] ^= a[4], a[2] ^= a[5], a[3] ^= a[6];
	a[12] ^= a[15], a[9] ^= a[12], a[10] ^= a[13], a[11] ^= a[14];
	for (int r = 0; r < 16; r += 4)
		a[r + 2] ^= a[r + 3], a[r + 1] ^= a[r + 2];
	for (int i = 8; i < 12; i++)
		a[i] ^= a[i + 4];
	for (int i = 4; i < 8; i++)
		a[i] ^= a[i + 4];
}

static inline void unconv16(uint64_t *a)
{
	for (int i = 4; i < 8; i++)
		a[i] ^= a[i + 4];
	for (int i = 8; i < 12; i++)
		a[i] ^= a[i + 4];
	for (int r = 0; r < 16; r += 4)
		a[r + 1] ^= a[r + 2], a[r + 2] ^= a[r + 3];
	a[9] ^= a[12], a[10] ^= a[13], a[11] ^= a[14], a[12] ^= a[15];
	a[1] ^= a[4], a[2] ^= a[5], a[3] ^= a[6], a[4] ^= a[7];
	for (int i = 2; i < 8; i++)
		a[i] ^= a[i + 6];
	a[8] ^= a[14], a[9] ^= a[15];
}

/* Monomial -> novel basis X_j = prod_i s_i(X)^(bit i of j), natural order, for every row of 2^k
 * elements of w words in f[0..words). With T a power of two, s_(T+i) = s_i(s_T) and
 * s_T = X^(2^T) + X, so after the Taylor expansion at s_T the low T basis bits are conversions of
 * the 2^T-element sub-rows and the high ones conversions along the columns, done for all columns
 * at once as XORs of whole sub-rows (elements 2^T·w words wide). */
static void to_novel(uint64_t *f, size_t words, unsigned k, size_t w)
{
	if (k <= 1)
		return;
	size_t row = ((size_t)1 << k) * w;
	if (words > row && words > PA_CONV_CHUNK) {
		/* many rows: finish a cache-sized group of rows before the next */
		size_t step = row > PA_CONV_CHUNK ? row : PA_CONV_CHUNK;
		for (size_t off = 0; off < words; off += step)
			to_novel(f + off, step, k, w);
		return;
	}
	if (k == 4 && w == 1) {
		for (size_t off = 0; off < words; off += 16)
			conv16(f + off);
		return;
	}
	unsigned T = split_of(k);
	taylor(f, words, k, T, w);
	to_novel(f, words, T, w);
	to_novel(f, words, k - T, ((size_t)1 << T) * w);
}

static void from_novel(uint64_t *f, size_t words, unsigned k, size_t w)
{
	if (k <= 1)
		return;
	size_t row = ((size_t)1 << k) * w;
	if (words > row && words > PA_CONV_CHUNK) {
		size_t step = row > PA_CONV_CHUNK ? row : PA_CONV_CHUNK;
		for (size_t off = 0; off < words; off += step)
			from_novel(f + off, step, k, w);
		return;
	}
	if (k == 4 && w == 1) {
		for (size_t off = 0; off < words; off += 16)
			unconv16(f + off);
		return;
	}
	unsigned T = split_of(k);
	from_novel(f, words, k - T, ((size_t)1 << T) * w);
	from_novel(f, words, T, w);
	untaylor(f, words, k, T, w);
}

/* ---- transforms, cache-blocked: big levels one pass each, then sub-blocks depth-first ---- */

/* Levels hi down to lo on f[off, off + len), two at a time where the kernel has a fused pass. */
static void fwd_levels(const struct pa_kernels *kern, const struct pa_tw *tw, uint64_t *f, size_t off,
		       size_t len, unsigned hi, unsigned lo)
{
	unsigned l = hi;
	while (l >= lo && l >= 1) {
		if (kern->fft_level2 && l >= 4 && l - 1 >= lo) {
			kern->fft_level2(f + off, len, l, off, tw);
			l -= 2;
		} else {
			kern->fft_level(f + off, len, l, off, tw);
			l--;
		}
	}
}

static void inv_levels(const struct pa_kernels *kern, const struct pa_tw *tw, uint64_t *f, size_t off,
		       size_t len, unsigned lo, unsigned hi)
{
	unsigned l = lo;
	while (l <= hi) {
		if (kern->ifft_level2 && l + 1 >= 4 && l + 1 <= hi) {
			kern->ifft_level2(f + off, len, l + 1, off, tw);
			l += 2;
		} else {
			kern->ifft_level(f + off, len, l, off, tw);
			l++;
		}
	}
}

static void fwd(const struct pa_kernels *kern, const struct pa_tw *tw, uint64_t *f, size_t off, unsigned i)
{
	size_t len = (size_t)1 << i;
	if (i <= PA_FFT_BLOCK) {
		fwd_levels(kern, tw, f, off, len, i, 1);
		return;
	}
	/* the big levels go through memory; two per pass, then the parts recurse */
	unsigned lo = i - 1 > PA_FFT_BLOCK ? i - 1 : i;
	fwd_levels(kern, tw, f, off, len, i, lo);
	size_t part = (size_t)1 << (lo - 1);
	for (size_t p = 0; p < len; p += part)
		fwd(kern, tw, f, off + p, lo - 1);
}

static void inv(const struct pa_kernels *kern, const struct pa_tw *tw, uint64_t *f, size_t off, unsigned i)
{
	size_t len = (size_t)1 << i;
	if (i <= PA_FFT_BLOCK) {
		inv_levels(kern, tw, f, off, len, 1, i);
		return;
	}
	unsigned lo = i - 1 > PA_FFT_BLOCK ? i - 1 : i;
	size_t part = (size_t)1 << (lo - 1);
	for (size_t p = 0; p < len; p += part)
		inv(kern, tw, f, off + p, lo - 1);
	inv_levels(kern, tw, f, off, len, lo, i);
}

/* ---- sizes ---- */

static void needed_chunks(size_t n, size_t m, size_t *c_lo, size_t *c_hi)
{
	*c_lo = (n - 1) / 32;
	*c_hi = (n + m - 2) / 32;
}

/* log2 of the transform size for an n x m Toeplitz product. */
static unsigned log_size(size_t n, size_t m)
{
	size_t nx = (n + 31) / 32, ns = (n + m - 1 + 31) / 32, total = nx + ns - 1, c_lo, c_hi;
	needed_chunks(n, m, &c_lo, &c_hi);
	for (unsigned K = 1;; K++) {
		size_t N = (size_t)1 << K;
		if (N < ns || N < nx)
			continue;
		if (N >= total)
			return K;
		/* folded coefficients land below d + 2^jmax; product chunk c needs h[c-1] and h[c] */
		size_t d = total - N;
		unsigned jmax = K & (K - 1) ? K - (K & -K) : 0;
		if (c_hi < N && c_lo >= 1 && d + ((size_t)1 << jmax) <= c_lo - 1)
			return K;
	}
}

static unsigned ceil_log2(size_t v)
{
	unsigned k = 0;
	while (((size_t)1 << k) < v)
		k++;
	return k;
}

/* Work of a plan with q column blocks: per block a truncated forward transform, its basis
 * conversion and a pointwise product; then one inverse transform and conversion. */
struct fft_shape {
	unsigned q, K, kx;
	size_t nb;
	double cost;
};

static struct fft_shape shape_for(size_t n, size_t m, unsigned q)
{
	struct fft_shape sh = {q, 0, 0, n, 0};
	if (q > 1)
		sh.nb = ((n + q - 1) / q + 63) / 64 * 64;
	sh.K = log_size(sh.nb, m);
	sh.kx = ceil_log2((sh.nb + 31) / 32);
	double N = (double)((size_t)1 << sh.K), bx = (double)((size_t)1 << sh.kx);
	sh.cost = q * (N / 2 * sh.kx + 5 * bx + N) + N / 2 * sh.K + 5 * N;
	return sh;
}

static struct fft_shape best_shape(size_t n, size_t m)
{
	struct fft_shape best = shape_for(n, m, 1);
	/* more blocks pay off when the full product just misses a smaller transform (n >~ 10^6) */
	for (unsigned q = 2; q <= PA_FFT_MAX_BLOCKS && n >= (1u << 20); q++) {
		struct fft_shape sh = shape_for(n, m, q);
		if (sh.cost < best.cost)
			best = sh;
	}
	return best;
}

double pa_fft_cost(size_t n, size_t m)
{
	return best_shape(n, m).cost;
}

int pa_fft_init(struct pa_fft *p, size_t n, size_t m)
{
	memset(p, 0, sizeof(*p));
	struct fft_shape sh = best_shape(n, m);
	p->n = n;
	p->m = m;
	p->q = sh.q;
	p->nb = sh.nb;
	p->K = sh.K;
	p->kx = sh.kx;
	p->N = (size_t)1 << p->K;
	needed_chunks(p->nb, m, &p->c_lo, &p->c_hi);
	p->out_words = (p->c_hi - p->c_lo + 2) / 2 + 1;
	p->tw_hi_len = (p->N >> (PA_TW_LO_BITS + 1)) + 1;
	size_t bytes = (p->N < 8 ? 8 : p->N) * sizeof(uint64_t);
	p->seed_hat = aligned_alloc(64, p->q * bytes);
	p->work = aligned_alloc(64, bytes);
	p->acc = p->q > 1 ? aligned_alloc(64, bytes) : p->work;
	p->out = calloc(p->out_words, sizeof(uint64_t));
	p->tw.hi = calloc(p->tw_hi_len, sizeof(uint64_t));
	if (!p->seed_hat || !p->work || !p->acc || !p->out || !p->tw.hi) {
		pa_fft_fini(p);
		return -ENOMEM;
	}
	uint64_t v[64];
	cantor_basis(v);
	/* omega(2q) = sum_b q_b v_(b+1) */
	for (size_t u = 0; u < (1u << PA_TW_LO_BITS); u++) {
		uint64_t s = 0;
		for (unsigned b = 0; b < PA_TW_LO_BITS; b++)
			if (u >> b & 1)
				s ^= v[b + 1];
		p->tw.lo[u] = s;
	}
	for (size_t u = 0; u < p->tw_hi_len; u++) {
		uint64_t s = 0;
		for (unsigned b = 0; b + PA_TW_LO_BITS + 1 < 64 && (u >> b); b++)
			if (u >> b & 1)
				s ^= v[b + PA_TW_LO_BITS + 1];
		p->tw.hi[u] = s;
	}
	return 0;
}

/* 32-bit chunks of a word-aligned bit string into elements f[0..chunks), zero above. */
static void load_chunks(uint64_t *f, size_t len, const uint64_t *bits, size_t nbits)
{
	size_t chunks = (nbits + 31) / 32;
	const uint32_t *c = (const uint32_t *)bits; /* little-endian: chunk k is 32-bit word k */
	for (size_t k = 0; k < chunks; k++)
		f[k] = c[k];
	if (nbits & 31)
		f[chunks - 1] &= (1u << (nbits & 31)) - 1;
	memset(f + chunks, 0, (len - chunks) * sizeof(uint64_t));
}

void pa_fft_set_seed(struct pa_fft *p, const struct pa_kernels *kern, const uint64_t *seed)
{
	/* block b sees the window w_k = s_(k + n - (b+1)·nb), k < nb + m - 1 (zero outside s) */
	size_t sbits = p->n + p->m - 1, wbits = p->nb + p->m - 1, chunks = (wbits + 31) / 32;
	for (unsigned b = 0; b < p->q; b++) {
		uint64_t *f = p->seed_hat + b * p->N;
		long long off = (long long)p->n - (long long)((b + 1) * p->nb);
		for (size_t k = 0; k < chunks; k++)
			f[k] = pa_bits_get64(seed, sbits, off + 32 * (long long)k) & 0xffffffffu;
		if (wbits & 31)
			f[chunks - 1] &= (1u << (wbits & 31)) - 1;
		memset(f + chunks, 0, (p->N - chunks) * sizeof(uint64_t));
		to_novel(f, p->N, p->K, 1);
		fwd(kern, &p->tw, f, 0, p->K);
	}
}

void pa_fft_apply(struct pa_fft *p, const struct pa_kernels *kern, const uint64_t *x, uint64_t *y)
{
	size_t bx = (size_t)1 << p->kx;
	uint64_t *f = p->work, *acc = p->acc;
	for (unsigned b = 0; b < p->q; b++) {
		size_t from = b * p->nb, bits = p->n - from < p->nb ? p->n - from : p->nb;
		load_chunks(f, bx, x + from / 64, bits);
		to_novel(f, bx, p->kx, 1);
		/* x has no novel-basis terms at or above 2^kx: the top K - kx levels only copy */
		for (size_t r = 1; r < ((size_t)1 << (p->K - p->kx)); r++)
			memcpy(f + r * bx, f, bx * sizeof(uint64_t));
		for (size_t r = 0; r < ((size_t)1 << (p->K - p->kx)); r++)
			fwd(kern, &p->tw, f, r * bx, p->kx);
		if (b == 0) {
			kern->gf_mul(acc, f, p->seed_hat, p->N);
		} else {
			kern->gf_mul(f, f, p->seed_hat + b * p->N, p->N);
			xor_run(acc, f, p->N);
		}
	}
	inv(kern, &p->tw, acc, 0, p->K);
	from_novel(acc, p->N, p->K, 1);

	/* product chunk c = low half of h[c] + high half of h[c-1] */
	uint32_t *o = (uint32_t *)p->out;
	for (size_t c = p->c_lo; c <= p->c_hi; c++)
		o[c - p->c_lo] = (uint32_t)acc[c] ^ (uint32_t)(c ? acc[c - 1] >> 32 : 0);
	size_t obits = 32 * (p->c_hi - p->c_lo + 1), first = p->nb - 1 - 32 * p->c_lo;
	size_t mw = DST_PA_WORDS(p->m);
	for (size_t t = 0; t < mw; t++)
		y[t] = pa_bits_get64(p->out, obits, (long long)(first + 64 * t));
	if (p->m & 63)
		y[mw - 1] &= (1ull << (p->m & 63)) - 1;
}

size_t pa_fft_bytes(const struct pa_fft *p)
{
	size_t arrays = p->q + 1 + (p->q > 1);
	return (arrays * p->N + p->out_words + p->tw_hi_len + (1u << PA_TW_LO_BITS)) * sizeof(uint64_t);
}

static void wipe_free(void *ptr, size_t bytes)
{
	if (ptr) {
		explicit_bzero(ptr, bytes);
		free(ptr);
	}
}

void pa_fft_fini(struct pa_fft *p)
{
	if (p->acc != p->work)
		wipe_free(p->acc, p->N * sizeof(uint64_t));
	wipe_free(p->seed_hat, p->q * p->N * sizeof(uint64_t));
	wipe_free(p->work, p->N * sizeof(uint64_t));
	wipe_free(p->out, p->out_words * sizeof(uint64_t));
	free(p->tw.hi);
	memset(p, 0, sizeof(*p));
}
