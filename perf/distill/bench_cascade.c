/* Cascade: parity kernels (portable vs AVX2), the whole protocol's throughput per core (both
 * sides on one core; portable kernels as the baseline), and Monte Carlo figures: efficiency f,
 * round trips per 10^5 bits and failures at QBER 1, 2, 3, 5, 8% for 10^5- and 10^6-bit keys. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dst_cascade.h"
#include "dst_cpu.h"
#include "dst_estimate.h"
#include "qkdperf.h"

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* ---- kernels ------------------------------------------------------------------------------ */

struct kern_arg {
	const struct dst_cascade_kernels *k;
	uint64_t *a, *m, *dst;
	uint32_t *perm;
	size_t nw, n;
};

static void run_fold(void *p)
{
	struct kern_arg *x = p;
	QP_KEEP(x->k->fold(x->a, x->nw));
}

static void run_fold_and(void *p)
{
	struct kern_arg *x = p;
	QP_KEEP(x->k->fold_and(x->a, x->m, x->nw));
}

static void run_gather(void *p)
{
	struct kern_arg *x = p;
	x->k->gather(x->dst, x->a, x->perm, x->n);
	QP_KEEP(x->dst);
}

static void bench_kernels(struct qp_run *r)
{
	const size_t n = 1 << 20, nw = n / 64;
	struct kern_arg x = {NULL, malloc(nw * 8), malloc(nw * 8), malloc(nw * 8), malloc(n * 4), nw, n};
	uint64_t s = 1;
	for (size_t i = 0; i < nw; i++) {
		x.a[i] = rng_next(&s);
		x.m[i] = rng_next(&s);
	}
	for (size_t i = 0; i < n; i++)
		x.perm[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t k = rng_next(&s) % (i + 1);
		uint32_t t = x.perm[i];
		x.perm[i] = x.perm[k];
		x.perm[k] = t;
	}
	struct {
		const char *name;
		void (*fn)(void *);
	} ks[] = {{"cascade_fold", run_fold}, {"cascade_fold_and", run_fold_and},
		  {"cascade_gather", run_gather}};
	for (unsigned j = 0; j < 3; j++) {
		bool first = true;
		for (const struct dst_cascade_kernels *v = dst_cascade_kernel_variants; v->name; v++) {
			if ((dst_cpu_detected() & v->needs) != v->needs)
				continue;
			x.k = v;
			struct qp_case c = {ks[j].name, v->name, n, j == 2 ? "Mbit/s" : "Gbit/s", (double)n,
					    ks[j].fn, &x, first};
			qp_measure(r, &c);
			first = false;
		}
	}
	free(x.a);
	free(x.m);
	free(x.dst);
	free(x.perm);
}

/* ---- the protocol ------------------------------------------------------------------------- */

struct proto {
	struct dst_cascade_cfg cfg;
	struct dst_cascade_alice *A;
	struct dst_cascade_bob *B;
	uint8_t *m1, *m2;
	size_t cap;
	uint64_t *ka, *kb, n;
	struct dst_cascade_params p;
	double t_alice, t_bob;
	struct dst_cascade_stats st;
	int ok;
};

static int proto_init(struct proto *x, uint32_t frame_bits, uint32_t frames)
{
	memset(x, 0, sizeof(*x));
	x->cfg = (struct dst_cascade_cfg){frame_bits, frames, 16, 12345};
	x->A = dst_cascade_alice_create(&x->cfg);
	x->B = dst_cascade_bob_create(&x->cfg);
	x->cap = dst_cascade_max_msg(&x->cfg);
	x->m1 = malloc(x->cap);
	x->m2 = malloc(x->cap);
	x->n = (uint64_t)frame_bits * frames;
	x->ka = calloc((x->n + 63) / 64, 8);
	x->kb = calloc((x->n + 63) / 64, 8);
	return x->A && x->B && x->m1 && x->m2 && x->ka && x->kb ? 0 : -1;
}

static void proto_fini(struct proto *x)
{
	dst_cascade_alice_free(x->A);
	dst_cascade_bob_free(x->B);
	free(x->m1);
	free(x->m2);
	free(x->ka);
	free(x->kb);
}

/* Fresh keys with independent errors at rate q; returns the error count. */
static uint64_t proto_keys(struct proto *x, double q, uint64_t seed)
{
	uint64_t nw = (x->n + 63) / 64, s = seed | 1, e = 0;
	for (uint64_t i = 0; i < nw; i++)
		x->ka[i] = rng_next(&s);
	if (x->n & 63)
		x->ka[nw - 1] &= ~0ULL >> (64 - (x->n & 63));
	memcpy(x->kb, x->ka, nw * 8);
	uint64_t thr = (uint64_t)(q * 18446744073709551616.0);
	for (uint64_t i = 0; i < x->n; i++)
		if (rng_next(&s) < thr) {
			x->kb[i >> 6] ^= 1ULL << (i & 63);
			e++;
		}
	return e;
}

static void proto_run(void *p)
{
	struct proto *x = p;
	size_t l1 = 0, l2 = 0;
	double t0 = qp_thread_cpu_seconds();
	dst_cascade_alice_begin(x->A, x->ka, x->n);
	double t1 = qp_thread_cpu_seconds();
	dst_cascade_bob_begin(x->B, x->kb, x->n, &x->p);
	int rb = dst_cascade_bob_step(x->B, NULL, 0, x->m1, x->cap, &l1);
	double t2 = qp_thread_cpu_seconds();
	x->t_alice += t1 - t0;
	x->t_bob += t2 - t1;
	x->ok = 0;
	for (;;) {
		t0 = qp_thread_cpu_seconds();
		int ra = dst_cascade_alice_step(x->A, x->m1, l1, x->m2, x->cap, &l2);
		t1 = qp_thread_cpu_seconds();
		x->t_alice += t1 - t0;
		if (ra < 0 || rb == DST_CASCADE_DONE)
			break;
		rb = dst_cascade_bob_step(x->B, x->m2, l2, x->m1, x->cap, &l1);
		x->t_bob += qp_thread_cpu_seconds() - t1;
		if (rb < 0)
			return;
	}
	dst_cascade_bob_stats(x->B, &x->st);
	x->ok = memcmp(dst_cascade_bob_key(x->B), x->ka, (x->n + 63) / 64 * 8) == 0;
}

static void bench_throughput(struct qp_run *r)
{
	struct proto x;
	if (proto_init(&x, 1000000, 1) == 0) {
		proto_keys(&x, 0.02, 7);
		dst_cascade_params_for_qber(0.02, x.cfg.frame_bits, 16, &x.p);
		/* Portable kernels first: the baseline of the same run. */
		const char *levels[] = {"generic", "native"};
		for (int k = 0; k < 2; k++) {
			if (dst_cpu_select(levels[k]))
				continue;
			struct qp_case c = {"cascade_protocol_q2", k ? dst_cpu_level_name(dst_cpu_active()) : "generic",
					    (size_t)x.n, "Mbit/s", (double)x.n, proto_run, &x, k == 0};
			qp_measure(r, &c);
		}
		dst_cpu_select("native");
	}
	proto_fini(&x);
}

static void monte_carlo(struct qp_run *r, uint32_t frame_bits, uint32_t frames, unsigned trials,
			const char *variant, uint8_t schedule)
{
	static const double qs[] = {0.01, 0.02, 0.03, 0.05, 0.08};
	struct proto x;
	if (proto_init(&x, frame_bits, frames)) {
		proto_fini(&x);
		return;
	}
	for (unsigned qi = 0; qi < sizeof(qs) / sizeof(qs[0]); qi++) {
		double fsum = 0, fmax = 0, rounds = 0, leak = 0, bytes = 0;
		unsigned fails = 0;
		dst_cascade_params_for_qber(qs[qi], frame_bits, 16, &x.p);
		x.p.schedule = schedule;
		/* One untimed run first: a link's engine is warm (its pages touched) after its first key. */
		proto_keys(&x, qs[qi], 999);
		proto_run(&x);
		x.t_alice = x.t_bob = 0;
		for (unsigned t = 0; t < trials; t++) {
			uint64_t e = proto_keys(&x, qs[qi], 1000 * qi + t + 1);
			proto_run(&x);
			fails += !x.ok;
			double f = (double)x.st.leak_bits / ((double)x.n * dst_h2((double)e / (double)x.n));
			fsum += f;
			fmax = f > fmax ? f : fmax;
			rounds += x.st.rounds;
			leak += (double)x.st.leak_bits;
			bytes += (double)x.st.msg_bytes;
		}
		char name[48];
		snprintf(name, sizeof(name), "cascade_f_q%g", 100 * qs[qi]);
		json_t *extra = json_object();
		json_object_set_new(extra, "qber", json_real(qs[qi]));
		json_object_set_new(extra, "frames", json_integer(frames));
		json_object_set_new(extra, "frame_bits", json_integer(frame_bits));
		json_object_set_new(extra, "trials", json_integer(trials));
		json_object_set_new(extra, "f_max", json_real(fmax));
		json_object_set_new(extra, "round_trips", json_real(rounds / trials));
		json_object_set_new(extra, "round_trips_per_1e5_bits", json_real(rounds / trials * 1e5 / (double)x.n));
		json_object_set_new(extra, "frame_failures", json_integer(fails));
		json_object_set_new(extra, "leak_bits", json_real(leak / trials));
		json_object_set_new(extra, "msg_bytes_per_key_bit", json_real(bytes / trials / (double)x.n));
		double bits = (double)x.n * trials;
		json_object_set_new(extra, "mbit_s_both_sides", json_real(bits / (x.t_alice + x.t_bob) / 1e6));
		json_object_set_new(extra, "mbit_s_alice", json_real(bits / x.t_alice / 1e6));
		json_object_set_new(extra, "mbit_s_bob", json_real(bits / x.t_bob / 1e6));
		qp_report(r, name, variant, (size_t)x.n, fsum / trials, "f", extra);
	}
	proto_fini(&x);
}

static void bench_cascade(struct qp_run *r)
{
	bench_kernels(r);
	bench_throughput(r);
	unsigned t5 = qp_quick(r) ? 4 : 20, t6 = qp_quick(r) ? 1 : 4;
	monte_carlo(r, 100000, 1, t5, "waves", DST_CASCADE_WAVES);
	monte_carlo(r, 100000, 10, t6, "waves_10x1e5", DST_CASCADE_WAVES);
	monte_carlo(r, 1000000, 1, t6, "waves", DST_CASCADE_WAVES);
	monte_carlo(r, 100000, 1, t5, "concurrent", DST_CASCADE_CONCURRENT);
	monte_carlo(r, 1000000, 1, t6, "concurrent", DST_CASCADE_CONCURRENT);
}
QP_BENCH("cascade", "Cascade kernels, protocol Mbit/s per core, Monte Carlo f and round trips",
	 bench_cascade)
