/* Privacy amplification: Toeplitz hashing of an n-bit block down to m bits.
 *
 * Convention (shared with every tool and test): a bit string's bit k is bit (k mod 8) of byte k/8,
 * packed in little-endian uint64_t words (so word and byte views agree). A seed s of n+m-1 bits maps
 * x (n bits) to y (m bits) by
 *     y_i = XOR_{j=0..n-1} (s_{i+n-1-j} AND x_j),   0 <= i < m,
 * i.e. y is bits n-1 .. n+m-2 of the carry-less product s(z)·x(z) (a middle product).
 *
 * A plan is made once per (n, m, seed): it shifts or transforms the seed and allocates every buffer
 * the chosen algorithm needs, so dst_pa_apply() does not allocate. Algorithms: a blocked Karatsuba
 * Toeplitz-matrix-vector product on carry-less multiplies (small n) and an additive FFT over
 * GF(2^64) in the Cantor basis whose seed transform is computed once per plan (large n). A plan
 * holds its workspace: use one plan per thread. An FFT plan holds about (q + 2)·2^K words with
 * 2^K ~ (2n + m)/32 / q (q = 1..4 column blocks), i.e. 1-1.4 bytes per input bit at m = n/2, and
 * reseeding it costs about one apply (the seed windows are transformed again). */
#ifndef DST_PA_H
#define DST_PA_H

#include <stddef.h>
#include <stdint.h>

/* Largest input length accepted (bits). */
#define DST_PA_MAX_BITS (1ull << 30)
/* Words needed to hold 'bits' bits. */
#define DST_PA_WORDS(bits) (((bits) + 63) / 64)

enum dst_pa_alg {
	DST_PA_ALG_AUTO = 0,  /* the faster algorithm for (n, m), from measured crossovers */
	DST_PA_ALG_KARATSUBA, /* blocked Karatsuba Toeplitz product */
	DST_PA_ALG_FFT,       /* additive FFT over GF(2^64), Cantor basis, seed transform precomputed */
};

struct dst_pa_plan;

/* Kernel variants, the portable reference first; terminated by a NULL name. */
struct dst_pa_variant {
	const char *name; /* "generic", "avx2" (PCLMULQDQ), "vpclmul" (VPCLMULQDQ on 256-bit lanes) */
	unsigned needs;   /* DST_CPU_* flags */
};
extern const struct dst_pa_variant dst_pa_variants[];

/* Plan for n input bits, m output bits (1 <= m <= n <= DST_PA_MAX_BITS) and a seed of n+m-1 bits
 * (DST_PA_WORDS(n+m-1) words; bits past n+m-1 are ignored). The seed is copied or transformed, the
 * caller may wipe it afterwards. 0, -EINVAL or -ENOMEM. */
int dst_pa_plan_create(size_t n, size_t m, const uint64_t *seed, struct dst_pa_plan **plan);

/* Same with a forced algorithm and kernel variant (NULL: the best variant the active CPU level
 * allows, following dst_cpu_select()). -ENOTSUP when the CPU lacks the variant. */
int dst_pa_plan_create_with(size_t n, size_t m, const uint64_t *seed, enum dst_pa_alg alg,
			    const char *variant, struct dst_pa_plan **plan);

/* Replace the seed of an existing plan (same n, m) without allocating. 0 or -EINVAL. */
int dst_pa_plan_reseed(struct dst_pa_plan *plan, const uint64_t *seed);

/* y = Toeplitz(seed) · x: reads DST_PA_WORDS(n) words of x (bits past n ignored), writes
 * DST_PA_WORDS(m) words of y (bits past m set to zero). x and y must not overlap. 0 or -EINVAL. */
int dst_pa_apply(struct dst_pa_plan *plan, const uint64_t *x, uint64_t *y);

/* Wipes the seed material and workspace, frees; accepts NULL. */
void dst_pa_plan_free(struct dst_pa_plan *plan);

/* What a plan chose: algorithm, variant name, bytes it holds. */
enum dst_pa_alg dst_pa_plan_alg(const struct dst_pa_plan *plan);
const char *dst_pa_plan_variant(const struct dst_pa_plan *plan);
size_t dst_pa_plan_bytes(const struct dst_pa_plan *plan);

/* The O(n·m) definition (word-parallel): for every set x_j, XOR the m-bit window of s starting at
 * bit n-1-j into y. For tests and as the benchmark baseline. 0 or -EINVAL. */
int dst_pa_naive(size_t n, size_t m, const uint64_t *seed, const uint64_t *x, uint64_t *y);

#endif
