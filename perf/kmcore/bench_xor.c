/* Relay pad XOR: portable loop, AVX2 and ISA-L xor_gen against memcpy of the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "dst_cpu.h"
#include "km_xor.h"
#include "qkdperf.h"

struct xor_arg {
	unsigned char *dst, *a, *b;
	size_t len;
	km_xor_fn fn;
};

static void run_memcpy(void *p)
{
	struct xor_arg *x = p;
	memcpy(x->dst, x->a, x->len);
	QP_KEEP(x->dst);
}

static void run_xor(void *p)
{
	struct xor_arg *x = p;
	x->fn(x->dst, x->a, x->b, x->len);
	QP_KEEP(x->dst);
}

static void bench_relay_xor(struct qp_run *r)
{
	static const size_t sizes[] = {4096, 65536, 1 << 20, 16 << 20};
	size_t max = sizes[sizeof(sizes) / sizeof(sizes[0]) - 1];
	struct xor_arg x = {aligned_alloc(64, max), aligned_alloc(64, max), aligned_alloc(64, max), 0,
			    NULL};
	memset(x.a, 0x5a, max);
	memset(x.b, 0xc3, max);
	memset(x.dst, 0, max);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		x.len = sizes[s];
		struct qp_case c = {"relay_xor", "memcpy", x.len, "Gbit/s", 8.0 * (double)x.len,
				    run_memcpy, &x, true};
		qp_measure(r, &c);
		for (const struct km_xor_variant *v = km_xor_variants; v->name; v++) {
			if ((dst_cpu_detected() & v->needs) != v->needs)
				continue;
			x.fn = v->fn;
			c.variant = v->name;
			c.fn = run_xor;
			c.baseline = false;
			qp_measure(r, &c);
		}
	}
	free(x.dst);
	free(x.a);
	free(x.b);
}
QP_BENCH("relay_xor", "key-relay pad XOR per core vs memcpy", bench_relay_xor)
