/* Privacy amplification internals: the per-variant kernel table and the two algorithms. */
#ifndef PA_INTERNAL_H
#define PA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dst_pa.h"

/* Largest Toeplitz block (in 64-bit words) the leaf kernel multiplies directly. */
#define PA_LEAF_MAX 16
/* Words every generator buffer must stay readable before and after its window: the kernels read a
 * few words past the ends and only use the results for padding rows and columns. */
#define PA_GSLACK 4

/* FFT twiddles: the block at global offset o on level i uses omega(2·(o >> i)), omega(u) being the
 * subspace element sum_b u_b v_b of the Cantor basis v; omega(2q) = lo[q mod 4096] ^ hi[q / 4096]. */
#define PA_TW_LO_BITS 12
struct pa_tw {
	uint64_t lo[1u << PA_TW_LO_BITS];
	uint64_t *hi;
};
static inline uint64_t pa_tw(const struct pa_tw *tw, size_t q)
{
	return tw->lo[q & ((1u << PA_TW_LO_BITS) - 1)] ^ tw->hi[q >> PA_TW_LO_BITS];
}

struct pa_kernels {
	/* Y[0..k) ^= T·X for a k x k word Toeplitz block, 1 <= k <= PA_LEAF_MAX: output word i,
	 * input word j use the 128-bit generator window G[w], G[w+1] with w = i - j + k - 1, i.e. output
	 * bit a of word i gets bit 63 + a of G-window(w) · X[j] (carry-less). */
	void (*leaf)(size_t k, const uint64_t *G, const uint64_t *X, uint64_t *Y);
	/* One level i >= 1 of the additive FFT over GF(2^64) on f[0..len), len a multiple of 2^i,
	 * f[0] being global element 'off': each block of 2^i elements at global offset o, halves a and
	 * b, twiddle c = pa_tw(tw, o >> i), gets a += c·b; b += a. */
	void (*fft_level)(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw);
	/* The inverse level: b += a; a += c·b. */
	void (*ifft_level)(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw);
	/* Levels i and i-1 (i >= 4) in one pass over the quarters of each 2^i block; the inverse does
	 * inverse level i-1 then i. NULL: the driver runs the two levels one by one. */
	void (*fft_level2)(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw);
	void (*ifft_level2)(uint64_t *f, size_t len, unsigned i, size_t off, const struct pa_tw *tw);
	/* d[t] = a[t]·b[t] in GF(2^64), t < len (d may alias a). */
	void (*gf_mul)(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t len);
};

extern const struct pa_kernels pa_kernels_generic;
extern const struct pa_kernels pa_kernels_avx2;
extern const struct pa_kernels pa_kernels_vpclmul;

/* GF(2^64) with modulus z^64 + z^4 + z^3 + z + 1: portable multiply. */
uint64_t pa_gf64_mul(uint64_t a, uint64_t b);
/* Portable 64 x 64 -> 128 carry-less multiply. */
void pa_clmul64(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi);

/* Karatsuba Toeplitz product state (inside a plan). */
struct pa_kara {
	size_t n, m, nw, mw;
	size_t k, tr, tc;   /* square tile size (words), row and column tile counts */
	uint64_t *gbuf;     /* shifted seed with slack: generator word q at g[q] */
	uint64_t *g;
	uint64_t *xpad;     /* tc·k words */
	uint64_t *ypad;     /* tr·k words */
	uint64_t *ws;       /* recursion workspace */
	size_t gbuf_words, ws_words;
};

int pa_kara_init(struct pa_kara *p, size_t n, size_t m);
void pa_kara_set_seed(struct pa_kara *p, const uint64_t *seed);
void pa_kara_apply(struct pa_kara *p, const struct pa_kernels *kern, const uint64_t *x, uint64_t *y);
void pa_kara_fini(struct pa_kara *p);
size_t pa_kara_bytes(const struct pa_kara *p);
/* Model cost (leaf carry-less multiplies plus XOR words) of a Karatsuba plan for (n, m). */
double pa_kara_cost(size_t n, size_t m);

/* Additive FFT product state (inside a plan): x and the seed cut into 32-bit chunks, each chunk an
 * element of GF(2^64), so chunk products never wrap; the product is evaluated on a 2^K-element
 * subspace spanned by the Cantor basis. x may be split into q column blocks of nb bits, each with
 * its own seed window and transform; their products add up before a single inverse transform. */
struct pa_fft {
	size_t n, m;
	unsigned q;          /* column blocks */
	size_t nb;           /* bits per block (a multiple of 64 when q > 1) */
	unsigned K, kx;      /* transform size N = 2^K; a block of x fits in 2^kx chunks */
	size_t N;
	size_t c_lo, c_hi;   /* product chunks holding output bits nb-1 .. nb+m-2 */
	uint64_t *seed_hat;  /* q·N: transforms of the seed windows */
	uint64_t *work;      /* N */
	uint64_t *acc;       /* N when q > 1: sum of the block products */
	uint64_t *out;       /* product chunks c_lo .. c_hi as 32-bit values */
	size_t out_words;
	struct pa_tw tw;
	size_t tw_hi_len;
};

int pa_fft_init(struct pa_fft *p, size_t n, size_t m);
void pa_fft_set_seed(struct pa_fft *p, const struct pa_kernels *kern, const uint64_t *seed);
void pa_fft_apply(struct pa_fft *p, const struct pa_kernels *kern, const uint64_t *x, uint64_t *y);
void pa_fft_fini(struct pa_fft *p);
size_t pa_fft_bytes(const struct pa_fft *p);
/* Model cost of the FFT plan pa_fft_init() would make (same units as pa_kara_cost: see pa.c). */
double pa_fft_cost(size_t n, size_t m);

/* Bits [pos, pos + 64) of the bit string s of nbits bits; bits outside [0, nbits) read as zero and
 * pos may be negative. Reads only the words that hold s's bits. */
uint64_t pa_bits_get64(const uint64_t *s, size_t nbits, long long pos);

#endif
