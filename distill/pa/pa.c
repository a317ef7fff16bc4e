/* Privacy amplification plans: argument checks, algorithm and kernel-variant choice, naive
 * definition. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dst_cpu.h"
#include "pa_internal.h"

const struct dst_pa_variant dst_pa_variants[] = {
	{"generic", 0},
	{"avx2", DST_CPU_LEVEL_AVX2},
	{"vpclmul", DST_CPU_LEVEL_VPCLMUL},
	{NULL, 0},
};
static const struct pa_kernels *const variant_kernels[] = {
	&pa_kernels_generic,
	&pa_kernels_avx2,
	&pa_kernels_vpclmul,
};
#define NVARIANTS (sizeof(variant_kernels) / sizeof(variant_kernels[0]))

static size_t best_variant;

static void pa_select(unsigned flags)
{
	best_variant = 0;
	for (size_t v = 0; v < NVARIANTS; v++)
		if ((flags & dst_pa_variants[v].needs) == dst_pa_variants[v].needs)
			best_variant = v;
}
DST_DISPATCH("pa", pa_select)

struct dst_pa_plan {
	size_t n, m;
	enum dst_pa_alg alg;
	int variant; /* index into dst_pa_variants, -1: follow the dispatch */
	struct pa_kara kara;
	struct pa_fft fft;
};

/* Cost models of both algorithms; the factor is the measured break-even (VPCLMUL kernels: equal
 * speed at n ~ 50k and 140k for m = n/2, Karatsuba 3x faster at 20k, FFT 1.3x faster at 100k;
 * for small m Karatsuba is linear in n and always wins). */
static enum dst_pa_alg pa_auto_alg(size_t n, size_t m)
{
	return pa_kara_cost(n, m) > 1.3 * pa_fft_cost(n, m) ? DST_PA_ALG_FFT : DST_PA_ALG_KARATSUBA;
}

static int check_sizes(size_t n, size_t m)
{
	return (n >= 1 && m >= 1 && m <= n && n <= DST_PA_MAX_BITS) ? 0 : -EINVAL;
}

int dst_pa_plan_create_with(size_t n, size_t m, const uint64_t *seed, enum dst_pa_alg alg,
			    const char *variant, struct dst_pa_plan **plan)
{
	if (!plan || !seed || check_sizes(n, m))
		return -EINVAL;
	*plan = NULL;
	int vi = -1;
	if (variant) {
		for (size_t v = 0; v < NVARIANTS; v++)
			if (!strcmp(variant, dst_pa_variants[v].name))
				vi = (int)v;
		if (vi < 0)
			return -EINVAL;
		unsigned needs = dst_pa_variants[vi].needs;
		if ((dst_cpu_detected() & needs) != needs)
			return -ENOTSUP;
	}
	if (alg == DST_PA_ALG_AUTO)
		alg = pa_auto_alg(n, m);
	if (alg != DST_PA_ALG_KARATSUBA && alg != DST_PA_ALG_FFT)
		return -EINVAL;
	struct dst_pa_plan *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->n = n;
	p->m = m;
	p->alg = alg;
	p->variant = vi;
	int rc = alg == DST_PA_ALG_FFT ? pa_fft_init(&p->fft, n, m) : pa_kara_init(&p->kara, n, m);
	if (rc) {
		free(p);
		return rc;
	}
	dst_pa_plan_reseed(p, seed);
	*plan = p;
	return 0;
}

int dst_pa_plan_create(size_t n, size_t m, const uint64_t *seed, struct dst_pa_plan **plan)
{
	return dst_pa_plan_create_with(n, m, seed, DST_PA_ALG_AUTO, NULL, plan);
}

static const struct pa_kernels *plan_kernels(const struct dst_pa_plan *p)
{
	return variant_kernels[p->variant >= 0 ? (size_t)p->variant : best_variant];
}

int dst_pa_plan_reseed(struct dst_pa_plan *p, const uint64_t *seed)
{
	if (!p || !seed)
		return -EINVAL;
	if (p->alg == DST_PA_ALG_FFT)
		pa_fft_set_seed(&p->fft, plan_kernels(p), seed);
	else
		pa_kara_set_seed(&p->kara, seed);
	return 0;
}

int dst_pa_apply(struct dst_pa_plan *p, const uint64_t *x, uint64_t *y)
{
	if (!p || !x || !y)
		return -EINVAL;
	if (p->alg == DST_PA_ALG_FFT)
		pa_fft_apply(&p->fft, plan_kernels(p), x, y);
	else
		pa_kara_apply(&p->kara, plan_kernels(p), x, y);
	return 0;
}

void dst_pa_plan_free(struct dst_pa_plan *p)
{
	if (!p)
		return;
	pa_kara_fini(&p->kara);
	pa_fft_fini(&p->fft);
	free(p);
}

enum dst_pa_alg dst_pa_plan_alg(const struct dst_pa_plan *p)
{
	return p->alg;
}

const char *dst_pa_plan_variant(const struct dst_pa_plan *p)
{
	return dst_pa_variants[p->variant >= 0 ? (size_t)p->variant : best_variant].name;
}

size_t dst_pa_plan_bytes(const struct dst_pa_plan *p)
{
	return sizeof(*p) + (p->alg == DST_PA_ALG_FFT ? pa_fft_bytes(&p->fft) : pa_kara_bytes(&p->kara));
}

int dst_pa_naive(size_t n, size_t m, const uint64_t *seed, const uint64_t *x, uint64_t *y)
{
	if (!seed || !x || !y || check_sizes(n, m))
		return -EINVAL;
	size_t mw = DST_PA_WORDS(m), sbits = n + m - 1;
	memset(y, 0, mw * sizeof(uint64_t));
	for (size_t j = 0; j < n; j++) {
		if (!(x[j >> 6] >> (j & 63) & 1))
			continue;
		long long start = (long long)(n - 1 - j); /* y_i gets s_{i + n-1-j} */
		for (size_t t = 0; t < mw; t++)
			y[t] ^= pa_bits_get64(seed, sbits, start + 64 * (long long)t);
	}
	if (m & 63)
		y[mw - 1] &= (1ull << (m & 63)) - 1;
	return 0;
}
