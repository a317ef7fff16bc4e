/* qkdperf harness: a benchmark runs a kernel or pipeline on generated data for a fixed amount of
 * work per call, the harness repeats it, reports median and spread, and compares every variant
 * with the named baseline measured in the same run (the portable reference, or memcpy). */
#ifndef QKDPERF_H
#define QKDPERF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct qp_run;

struct qp_case {
	const char *name;      /* benchmark name, e.g. "relay_xor" */
	const char *variant;   /* "generic", "avx2", "memcpy", ... */
	size_t input_size;     /* size of one call's input in the unit's base quantity (bits, events) */
	const char *unit;      /* "Mbit/s", "Gbit/s", "Mevents/s", "Gslots/s", "kreq/s", "/s" */
	double units_per_call; /* base quantity processed by one call of fn (bits, events, slots) */
	void (*fn)(void *arg);
	void *arg;
	bool baseline;         /* this case is the baseline the following cases are compared to */
};

/* Time c->fn repeatedly and record the result. Returns the median throughput in c->unit. */
double qp_measure(struct qp_run *r, const struct qp_case *c);

/* Record a figure a benchmark measured itself (a Monte Carlo FER, an end-to-end rate); 'extra'
 * (may be NULL, reference stolen) is merged into the JSON object. */
void qp_report(struct qp_run *r, const char *name, const char *variant, size_t input_size,
	       double value, const char *unit, json_t *extra);

/* CPU seconds used by the calling thread (for benchmarks that time themselves). */
double qp_thread_cpu_seconds(void);

/* Harness settings a benchmark may scale its work by. */
bool qp_quick(const struct qp_run *r);

struct qp_bench {
	const char *name;
	const char *what;
	void (*run)(struct qp_run *r);
	struct qp_bench *next;
};
void qp_register(struct qp_bench *b);

#define QP_BENCH(bench_name, description, run_fn)                                                \
	static struct qp_bench run_fn##_bench = {bench_name, description, run_fn, 0};           \
	__attribute__((constructor)) static void run_fn##_register(void)                         \
	{                                                                                        \
		qp_register(&run_fn##_bench);                                                    \
	}

/* Keep the compiler from discarding a result. */
#define QP_KEEP(x) __asm__ volatile("" : : "g"(x) : "memory")

#endif
