/* Privacy amplification throughput in Mbit/s of input per core, m = n/2: the naive O(n·m)
 * definition is the baseline at the sizes where it finishes, then every algorithm and kernel
 * variant on the same block; large blocks run the fast algorithms only. */
#include <stdio.h>
#include <stdlib.h>

#include "dst_cpu.h"
#include "dst_pa.h"
#include "qkdperf.h"

struct pa_arg {
	size_t n, m;
	uint64_t *seed, *x, *y;
	struct dst_pa_plan *plan;
};

static void run_naive(void *p)
{
	struct pa_arg *a = p;
	dst_pa_naive(a->n, a->m, a->seed, a->x, a->y);
	QP_KEEP(a->y);
}

static void run_plan(void *p)
{
	struct pa_arg *a = p;
	dst_pa_apply(a->plan, a->x, a->y);
	QP_KEEP(a->y);
}

static uint64_t *random_words(size_t bits, uint64_t s)
{
	size_t w = DST_PA_WORDS(bits);
	uint64_t *p = malloc(w * sizeof(uint64_t));
	for (size_t i = 0; i < w; i++) {
		s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
		p[i] = s * 0x2545F4914F6CDD1DULL;
	}
	return p;
}

static const struct {
	enum dst_pa_alg alg;
	const char *name;
} algs[] = {
	{DST_PA_ALG_KARATSUBA, "karatsuba"},
	{DST_PA_ALG_FFT, "fft"},
};

static void bench_size(struct qp_run *r, size_t n, bool naive, size_t max_generic_n)
{
	struct pa_arg a = {n, n / 2, random_words(n + n / 2 - 1, n), random_words(n, n + 1),
			   malloc(DST_PA_WORDS(n / 2) * sizeof(uint64_t)), NULL};
	char variant[64];
	struct qp_case c = {"pa", "naive", n, "Mbit/s", (double)n, run_naive, &a, true};
	if (naive)
		qp_measure(r, &c);
	for (size_t g = 0; g < sizeof(algs) / sizeof(algs[0]); g++)
		for (const struct dst_pa_variant *v = dst_pa_variants; v->name; v++) {
			if ((dst_cpu_detected() & v->needs) != v->needs)
				continue;
			if (!v->needs && n > max_generic_n)
				continue;
			if (dst_pa_plan_create_with(a.n, a.m, a.seed, algs[g].alg, v->name, &a.plan))
				continue;
			snprintf(variant, sizeof(variant), "%s-%s", algs[g].name, v->name);
			c.variant = variant;
			c.fn = run_plan;
			c.baseline = false;
			qp_measure(r, &c);
			dst_pa_plan_free(a.plan);
		}
	free(a.seed);
	free(a.x);
	free(a.y);
}

static void bench_pa(struct qp_run *r)
{
	bool quick = qp_quick(r);
	bench_size(r, 100000, true, 1000000);
	bench_size(r, 1000000, !quick, 1000000);
	bench_size(r, 10000000, false, quick ? 0 : 10000000);
	if (!quick)
		bench_size(r, 100000000, false, 0);
}
QP_BENCH("pa", "Toeplitz privacy amplification, m = n/2, Mbit/s of input per core", bench_pa)
