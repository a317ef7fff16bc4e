/* Privacy amplification throughput in Mbit/s of input per core, m = n/2: the naive O(n·m)
 * definition is the baseline at the sizes where it finishes, then every algorithm and kernel
 * variant on the same block; large blocks run the fast algorithms only. "pa_reseed" is the best
 * variant when every block brings a new seed (the FFT then transforms the seed per block). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

/* A fresh seed per block (dst_pa_plan_reseed) followed by the hash. */
static void run_reseed_apply(void *p)
{
	struct pa_arg *a = p;
	dst_pa_plan_reseed(a->plan, a->seed);
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

/* Throughput per second of this thread's CPU time: on a shared machine wall-clock figures also
 * count the time the scheduler gives to other processes. */
static void report_cpu_time(struct qp_run *r, const char *variant, struct pa_arg *a)
{
	double used = 0, t0 = qp_thread_cpu_seconds();
	unsigned long calls = 0;
	while (used < (qp_quick(r) ? 0.2 : 1.0) || calls < 3) {
		run_plan(a);
		calls++;
		used = qp_thread_cpu_seconds() - t0;
	}
	json_t *extra = json_pack("{s:I, s:f}", "calls", (json_int_t)calls, "cpu_seconds", used);
	qp_report(r, "pa_cputime", variant, a->n, (double)a->n * (double)calls / used / 1e6, "Mbit/s", extra);
}

static const struct {
	enum dst_pa_alg alg;
	const char *name;
} algs[] = {
	{DST_PA_ALG_KARATSUBA, "karatsuba"},
	{DST_PA_ALG_FFT, "fft"},
};

/* Karatsuba above 10^7 bits and the portable kernels on the largest blocks take minutes a call. */
static bool worth_running(enum dst_pa_alg alg, const struct dst_pa_variant *v, size_t n)
{
	if (alg == DST_PA_ALG_KARATSUBA)
		return n <= (v->needs ? 10000000 : 1000000);
	return n <= (v->needs ? DST_PA_MAX_BITS : 10000000);
}

static void bench_size(struct qp_run *r, size_t n, bool naive)
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
			if (!worth_running(algs[g].alg, v, n))
				continue;
			if (dst_pa_plan_create_with(a.n, a.m, a.seed, algs[g].alg, v->name, &a.plan))
				continue;
			snprintf(variant, sizeof(variant), "%s-%s", algs[g].name, v->name);
			c.variant = variant;
			c.fn = run_plan;
			c.baseline = false;
			qp_measure(r, &c);
			if (v->needs && !v[1].name) {
				/* best variant: also with a new seed every block */
				struct qp_case rc = c;
				rc.name = "pa_reseed";
				rc.fn = run_reseed_apply;
				qp_measure(r, &rc);
				report_cpu_time(r, variant, &a);
			}
			dst_pa_plan_free(a.plan);
		}
	free(a.seed);
	free(a.x);
	free(a.y);
}

static void bench_pa(struct qp_run *r)
{
	bool quick = qp_quick(r);
	bench_size(r, 100000, true);
	bench_size(r, 1000000, !quick);
	bench_size(r, 10000000, false);
	if (!quick)
		bench_size(r, 100000000, false);
}
QP_BENCH("pa", "Toeplitz privacy amplification, m = n/2, Mbit/s of input per core", bench_pa)
