/* Verification hash (GF(2^128) polynomial) throughput per core: the portable reference is the
 * baseline, the PCLMUL variant is compared with it in the same run. */
#include <stdlib.h>

#include "dst_cpu.h"
#include "dst_verify.h"
#include "qkdperf.h"

struct verify_arg {
	const uint64_t *msg;
	uint64_t nbits;
	uint64_t k[2];
	dst_verify_hash_fn fn;
};

static void run_hash(void *p)
{
	struct verify_arg *a = p;
	uint64_t out[2];
	a->fn(a->msg, a->nbits, a->k, out);
	QP_KEEP(out[0]);
}

static void bench_verify(struct qp_run *r)
{
	static const uint64_t sizes[] = {1u << 20, 1u << 26};
	uint64_t max = sizes[qp_quick(r) ? 0 : 1];
	uint64_t *msg = malloc(max / 8);
	if (!msg)
		return;
	uint64_t s = 0x1234567;
	for (uint64_t i = 0; i < max / 64; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		msg[i] = s;
	}
	for (unsigned si = 0; si < 2 && sizes[si] <= max; si++) {
		struct verify_arg a = {msg, sizes[si], {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL}, NULL};
		for (const struct dst_verify_variant *v = dst_verify_variants; v->name; v++) {
			if ((dst_cpu_detected() & v->needs) != v->needs)
				continue;
			a.fn = v->fn;
			struct qp_case c = {"verify_hash", v->name, (size_t)sizes[si], "Gbit/s",
					    (double)sizes[si], run_hash, &a, v == dst_verify_variants};
			qp_measure(r, &c);
		}
	}
	free(msg);
}
QP_BENCH("verify_hash", "verification hash over GF(2^128), Gbit/s per core", bench_verify)
