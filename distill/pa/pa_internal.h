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

struct pa_kernels {
	/* Y[0..k) ^= T·X for a k x k word Toeplitz block, 1 <= k <= PA_LEAF_MAX: output word i,
	 * input word j use the 128-bit generator window G[w], G[w+1] with w = i - j + k - 1, i.e. output
	 * bit a of word i gets bit 63 + a of G-window(w) · X[j] (carry-less). */
	void (*leaf)(size_t k, const uint64_t *G, const uint64_t *X, uint64_t *Y);
};

extern const struct pa_kernels pa_kernels_generic;
extern const struct pa_kernels pa_kernels_avx2;
extern const struct pa_kernels pa_kernels_vpclmul;

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

/* Bits [pos, pos + 64) of the bit string s of nbits bits; bits outside [0, nbits) read as zero and
 * pos may be negative. Reads only the words that hold s's bits. */
uint64_t pa_bits_get64(const uint64_t *s, size_t nbits, long long pos);

#endif
