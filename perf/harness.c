/* Timing, statistics and JSON output for qkdperf. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dst_cpu.h"
#include "qkd_version.h"
#include "qkdperf.h"
#include "harness.h"

static struct qp_bench *benches;

void qp_register(struct qp_bench *b)
{
	/* keep registration order stable: append */
	struct qp_bench **p = &benches;
	while (*p)
		p = &(*p)->next;
	b->next = NULL;
	*p = b;
}

struct qp_bench *qp_benches(void)
{
	return benches;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double qp_thread_cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double median_sorted(double *v, unsigned n)
{
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double unit_scale(const char *unit)
{
	switch (unit[0]) {
	case 'k':
		return 1e3;
	case 'M':
		return 1e6;
	case 'G':
		return 1e9;
	default:
		return 1.0;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

bool qp_quick(const struct qp_run *r)
{
	return r->quick;
}

static void cpu_model(char *buf, size_t len)
{
	snprintf(buf, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && c) {
			c += 2;
			c[strcspn(c, "\n")] = 0;
			snprintf(buf, len, "%s", c);
			break;
		}
	}
	fclose(f);
}

static json_t *new_record(struct qp_run *r, const char *name, const char *variant,
			  size_t input_size, double value, const char *unit)
{
	static char model[256];
	if (!model[0])
		cpu_model(model, sizeof(model));
	return json_pack("{s:s, s:s, s:I, s:f, s:s, s:s, s:s, s:s}", "name", name, "variant", variant,
			 "input_size", (json_int_t)input_size, "throughput", value, "unit", unit,
			 "cpu_model", model, "git_rev", QKD_GIT_REV, "cpu_level",
			 dst_cpu_level_name(dst_cpu_active()));
}

double qp_measure(struct qp_run *r, const struct qp_case *c)
{
	/* Calibrate: double the calls per repetition until one repetition lasts min_time. */
	c->fn(c->arg); /* warm caches and lazy allocations */
	unsigned long calls = 1;
	double t;
	for (;;) {
		double t0 = now_s();
		for (unsigned long i = 0; i < calls; i++)
			c->fn(c->arg);
		t = now_s() - t0;
		if (t >= r->min_time || calls >= (1ul << 30))
			break;
		calls = t > 0 ? (unsigned long)(calls * fmin(16.0, 1.2 * r->min_time / t)) + 1 : calls * 16;
	}
	/* Wall-clock rates are what a user sees; CPU-time rates (this thread only) stay steady when
	 * the shared machine is loaded, so both are reported. */
	double rates[QP_MAX_REPEATS], cpu_rates[QP_MAX_REPEATS];
	unsigned reps = r->repeats;
	for (unsigned k = 0; k < reps; k++) {
		double t0 = now_s(), c0 = qp_thread_cpu_seconds();
		for (unsigned long i = 0; i < calls; i++)
			c->fn(c->arg);
		t = now_s() - t0;
		double ct = qp_thread_cpu_seconds() - c0;
		double work = c->units_per_call * (double)calls / unit_scale(c->unit);
		rates[k] = work / t;
		cpu_rates[k] = ct > 0 ? work / ct : rates[k];
	}
	qsort(rates, reps, sizeof(double), cmp_double);
	qsort(cpu_rates, reps, sizeof(double), cmp_double);
	double med = median_sorted(rates, reps);
	double cpu_med = median_sorted(cpu_rates, reps);
	double spread = med > 0 ? 100.0 * (rates[reps - 1] - rates[0]) / med : 0;

	if (c->baseline) {
		snprintf(r->base_name, sizeof(r->base_name), "%s", c->variant);
		r->base_value = med;
		r->base_cpu_value = cpu_med;
		r->base_size = c->input_size;
	}
	bool have_base = r->base_value > 0 && r->base_size == c->input_size;
	double ratio = have_base ? med / r->base_value : NAN;
	double cpu_ratio = have_base ? cpu_med / r->base_cpu_value : NAN;

	printf("  %-22s %-12s n=%-10zu %10.3f %-10s (min %.3f max %.3f, spread %4.1f%%, %u reps,"
	       " cpu-time %.3f)",
	       c->name, c->variant, c->input_size, med, c->unit, rates[0], rates[reps - 1], spread,
	       reps, cpu_med);
	if (have_base && !c->baseline)
		printf("  x%.2f vs %s (cpu-time x%.2f)", ratio, r->base_name, cpu_ratio);
	else if (c->baseline)
		printf("  [baseline]");
	printf("\n");
	fflush(stdout);

	json_t *o = new_record(r, c->name, c->variant, c->input_size, med, c->unit);
	json_object_set_new(o, "min", json_real(rates[0]));
	json_object_set_new(o, "max", json_real(rates[reps - 1]));
	json_object_set_new(o, "spread_pct", json_real(spread));
	json_object_set_new(o, "throughput_cpu", json_real(cpu_med));
	json_object_set_new(o, "repeats", json_integer(reps));
	json_object_set_new(o, "calls_per_repeat", json_integer((json_int_t)calls));
	if (have_base) {
		json_object_set_new(o, "baseline", json_string(r->base_name));
		json_object_set_new(o, "baseline_throughput", json_real(r->base_value));
		json_object_set_new(o, "ratio", json_real(ratio));
		json_object_set_new(o, "ratio_cpu", json_real(cpu_ratio));
	}
	json_array_append_new(r->results, o);
	return med;
}

void qp_report(struct qp_run *r, const char *name, const char *variant, size_t input_size,
	       double value, const char *unit, json_t *extra)
{
	printf("  %-22s %-12s n=%-10zu %10.4f %-10s", name, variant, input_size, value, unit);
	json_t *o = new_record(r, name, variant, input_size, value, unit);
	if (extra) {
		const char *k;
		json_t *v;
		json_object_foreach(extra, k, v)
		{
			if (json_is_real(v))
				printf(" %s=%.4g", k, json_real_value(v));
			else if (json_is_integer(v))
				printf(" %s=%lld", k, (long long)json_integer_value(v));
			else if (json_is_string(v))
				printf(" %s=%s", k, json_string_value(v));
		}
		json_object_update(o, extra);
		json_decref(extra);
	}
	printf("\n");
	fflush(stdout);
	json_array_append_new(r->results, o);
}
