/* Cascade: corrects random error patterns exactly (Bob ends with Alice's key), leak equals the
 * parities Alice's messages carry, batched frames give what each frame gives alone, kernels of
 * every CPU variant equal the reference, malformed messages are refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dst_cascade.h"
#include "dst_cpu.h"
#include "unit.h"

struct run {
	int rc;
	uint64_t parity_bits; /* sum of the count fields of Alice's PARITY messages */
	uint64_t payload_bits; /* bits of Alice's PARITY payloads (whole bytes) */
	unsigned alice_msgs;
	struct dst_cascade_stats as, bs;
};

/* Runs both sides in-process; 'flip_at' >= 0 flips that bit of Alice's n-th answer. */
static struct run run_pair(const struct dst_cascade_cfg *cfg, const uint64_t *ka, const uint64_t *kb,
			   uint64_t n, const struct dst_cascade_params *p, uint64_t *bob_out)
{
	struct run r = {0};
	struct dst_cascade_alice *a = dst_cascade_alice_create(cfg);
	struct dst_cascade_bob *b = dst_cascade_bob_create(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	size_t cap = dst_cascade_max_msg(cfg), l1 = 0, l2 = 0;
	uint8_t *m1 = malloc(cap), *m2 = malloc(cap);
	CU_ASSERT_EQUAL(dst_cascade_alice_begin(a, ka, n), 0);
	CU_ASSERT_EQUAL(dst_cascade_bob_begin(b, kb, n, p), 0);
	int rb = dst_cascade_bob_step(b, NULL, 0, m1, cap, &l1);
	for (;;) {
		int ra = dst_cascade_alice_step(a, m1, l1, m2, cap, &l2);
		if (ra < 0) {
			r.rc = ra;
			break;
		}
		if (rb == DST_CASCADE_DONE) {
			CU_ASSERT_EQUAL(ra, DST_CASCADE_DONE);
			CU_ASSERT_EQUAL(l2, 0);
			break;
		}
		CU_ASSERT_EQUAL_FATAL(m2[0], 0x23);
		uint32_t count = (uint32_t)m2[8] | (uint32_t)m2[9] << 8 | (uint32_t)m2[10] << 16 |
				 (uint32_t)m2[11] << 24;
		r.parity_bits += count;
		r.payload_bits += 8 * (l2 - 12);
		r.alice_msgs++;
		rb = dst_cascade_bob_step(b, m2, l2, m1, cap, &l1);
		if (rb < 0) {
			r.rc = rb;
			break;
		}
	}
	dst_cascade_alice_stats(a, &r.as);
	dst_cascade_bob_stats(b, &r.bs);
	if (r.rc == 0 && bob_out)
		memcpy(bob_out, dst_cascade_bob_key(b), (n + 63) / 64 * 8);
	free(m1);
	free(m2);
	dst_cascade_alice_free(a);
	dst_cascade_bob_free(b);
	return r;
}

/* Alice's key random, Bob's with independent errors at rate q; returns the error count. */
static uint64_t make_keys(uint64_t *ka, uint64_t *kb, uint64_t n, double q, uint64_t seed)
{
	uint64_t nw = (n + 63) / 64, s = seed, errors = 0;
	unit_fill_random(ka, nw * 8, seed);
	if (n & 63)
		ka[nw - 1] &= ~0ULL >> (64 - (n & 63));
	memcpy(kb, ka, nw * 8);
	uint64_t thr = (uint64_t)(q * 18446744073709551616.0);
	for (uint64_t i = 0; i < n; i++)
		if (unit_rand(&s) < thr) {
			kb[i >> 6] ^= 1ULL << (i & 63);
			errors++;
		}
	return errors;
}

static void test_corrects_random_errors(void)
{
	static const struct {
		uint32_t frame_bits, frames;
		uint64_t n;
		double q;
	} cases[] = {
		{100000, 1, 100000, 0.01}, {100000, 1, 100000, 0.03}, {65536, 2, 131072, 0.05},
		{20000, 3, 51234, 0.08},   {4099, 4, 16000, 0.02},   {1000, 8, 7777, 0.11},
	};
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct dst_cascade_cfg cfg = {cases[c].frame_bits, cases[c].frames, 16, 42 + c};
		uint64_t nw = (cases[c].n + 63) / 64;
		uint64_t *ka = calloc(nw, 8), *kb = calloc(nw, 8), *out = calloc(nw, 8);
		uint64_t errors = make_keys(ka, kb, cases[c].n, cases[c].q, 1000 + c);
		struct dst_cascade_params p;
		dst_cascade_params_for_qber(cases[c].q, cfg.frame_bits, 16, &p);
		struct run r = run_pair(&cfg, ka, kb, cases[c].n, &p, out);
		CU_ASSERT_EQUAL(r.rc, 0);
		CU_ASSERT(memcmp(out, ka, nw * 8) == 0);
		CU_ASSERT_EQUAL(r.bs.bits_corrected, errors);
		CU_ASSERT_EQUAL(r.as.bits_corrected, errors);
		CU_ASSERT_EQUAL(r.bs.frames, cases[c].frames);
		free(ka);
		free(kb);
		free(out);
	}
}

static void test_leak_counts_disclosed_parities(void)
{
	struct dst_cascade_cfg cfg = {50000, 2, 12, 7};
	uint64_t n = 90000, nw = (n + 63) / 64;
	uint64_t *ka = calloc(nw, 8), *kb = calloc(nw, 8);
	make_keys(ka, kb, n, 0.04, 99);
	struct dst_cascade_params p;
	dst_cascade_params_for_qber(0.04, cfg.frame_bits, 12, &p);
	struct run r = run_pair(&cfg, ka, kb, n, &p, NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_EQUAL(r.as.leak_bits, r.parity_bits);
	CU_ASSERT_EQUAL(r.bs.leak_bits, r.parity_bits);
	/* Every disclosed parity occupies one payload bit, padding only to the byte. */
	CU_ASSERT(r.payload_bits >= r.parity_bits && r.payload_bits < r.parity_bits + 8 * r.alice_msgs);
	CU_ASSERT_EQUAL(r.bs.rounds, r.alice_msgs);

	/* No errors: only the block parities, from the definition: the first pass all of its
	 * ceil(n / 2^b) blocks, each later pass one fewer; one round trip. */
	memcpy(kb, ka, nw * 8);
	r = run_pair(&cfg, ka, kb, n, &p, NULL);
	uint64_t expect = 0;
	for (unsigned j = 0; j < p.passes; j++)
		expect += (cfg.frame_bits + (1u << p.log2_block[j]) - 1) / (1u << p.log2_block[j]) - (j > 0);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_EQUAL(r.as.leak_bits, 2 * expect);
	CU_ASSERT_EQUAL(r.bs.rounds, 1);
	CU_ASSERT_EQUAL(r.bs.bits_corrected, 0);
	free(ka);
	free(kb);
}

static void test_batched_equals_unbatched(void)
{
	const uint32_t fb = 30000, frames = 5;
	uint64_t n = (uint64_t)fb * frames, nw = (n + 63) / 64, fw = (fb + 63) / 64;
	uint64_t *ka = calloc(nw, 8), *kb = calloc(nw, 8), *out = calloc(nw, 8);
	make_keys(ka, kb, n, 0.03, 5);
	for (int sched = 0; sched <= 1; sched++) {
		struct dst_cascade_params p;
		dst_cascade_params_for_qber(0.03, fb, 16, &p);
		p.schedule = (uint8_t)sched;
		struct dst_cascade_cfg cfg = {fb, frames, 16, 77};
		struct run all = run_pair(&cfg, ka, kb, n, &p, out);
		CU_ASSERT_EQUAL(all.rc, 0);
		CU_ASSERT(memcmp(out, ka, nw * 8) == 0);
		struct dst_cascade_cfg one = {fb, 1, 16, 77};
		uint64_t leak = 0, corrected = 0;
		uint32_t rounds = 0;
		uint64_t *fa = calloc(fw, 8), *fbk = calloc(fw, 8), *fo = calloc(fw, 8);
		for (uint32_t f = 0; f < frames; f++) {
			/* fb is not a multiple of 64: cut frame f out bit by bit. */
			memset(fa, 0, fw * 8);
			memset(fbk, 0, fw * 8);
			for (uint32_t i = 0; i < fb; i++) {
				uint64_t k = (uint64_t)f * fb + i;
				fa[i >> 6] |= ((ka[k >> 6] >> (k & 63)) & 1) << (i & 63);
				fbk[i >> 6] |= ((kb[k >> 6] >> (k & 63)) & 1) << (i & 63);
			}
			struct run r = run_pair(&one, fa, fbk, fb, &p, fo);
			CU_ASSERT_EQUAL(r.rc, 0);
			CU_ASSERT(memcmp(fo, fa, fw * 8) == 0);
			leak += r.as.leak_bits;
			corrected += r.bs.bits_corrected;
			if (r.bs.rounds > rounds)
				rounds = r.bs.rounds;
		}
		/* Frames are independent Cascades sharing round trips. */
		CU_ASSERT_EQUAL(all.as.leak_bits, leak);
		CU_ASSERT_EQUAL(all.bs.bits_corrected, corrected);
		CU_ASSERT_EQUAL(all.bs.rounds, rounds);
		free(fa);
		free(fbk);
		free(fo);
	}
	free(ka);
	free(kb);
	free(out);
}

static void test_kernels_match_reference(void)
{
	const struct dst_cascade_kernels *ref = &dst_cascade_kernel_variants[0];
	const size_t n = 10007, nw = (n + 63) / 64;
	uint64_t *a = malloc(nw * 8 + 64), *m = malloc(nw * 8 + 64), *d0 = calloc(nw, 8), *d1 = calloc(nw, 8);
	uint32_t *perm = malloc(n * 4);
	uint64_t s = 3;
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t k = unit_rand(&s) % (i + 1);
		uint32_t t = perm[i];
		perm[i] = perm[k];
		perm[k] = t;
	}
	unit_fill_random(a, nw * 8, 11);
	unit_fill_random(m, nw * 8, 12);
	/* The reference itself against the definition of a gather. */
	ref->gather(d0, a, perm, n);
	unsigned bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += ((d0[i >> 6] >> (i & 63)) & 1) != ((a[perm[i] >> 6] >> (perm[i] & 63)) & 1);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(d0[nw - 1] >> (n & 63), 0);
	for (const struct dst_cascade_kernels *v = dst_cascade_kernel_variants; v->name; v++) {
		if ((dst_cpu_detected() & v->needs) != v->needs)
			continue;
		for (size_t len = 0; len <= nw; len += len < 20 ? 1 : 37) {
			CU_ASSERT_EQUAL(v->fold(a, len), ref->fold(a, len));
			CU_ASSERT_EQUAL(v->fold_and(a, m, len), ref->fold_and(a, m, len));
		}
		for (size_t len = 1; len <= n; len = len * 3 + 1) {
			memset(d1, 0xff, nw * 8);
			memset(d0, 0xff, nw * 8);
			ref->gather(d0, a, perm, len);
			v->gather(d1, a, perm, len);
			CU_ASSERT(memcmp(d0, d1, (len + 63) / 64 * 8) == 0);
		}
	}
	free(a);
	free(m);
	free(d0);
	free(d1);
	free(perm);
}

static void test_generic_and_native_agree(void)
{
	struct dst_cascade_cfg cfg = {20000, 2, 16, 5};
	uint64_t n = 40000, nw = (n + 63) / 64;
	uint64_t *ka = calloc(nw, 8), *kb = calloc(nw, 8), *o1 = calloc(nw, 8), *o2 = calloc(nw, 8);
	make_keys(ka, kb, n, 0.02, 8);
	struct dst_cascade_params p;
	dst_cascade_params_for_qber(0.02, cfg.frame_bits, 16, &p);
	CU_ASSERT_EQUAL(dst_cpu_select("generic"), 0);
	struct run r1 = run_pair(&cfg, ka, kb, n, &p, o1);
	CU_ASSERT_EQUAL(dst_cpu_select("native"), 0);
	struct run r2 = run_pair(&cfg, ka, kb, n, &p, o2);
	CU_ASSERT(memcmp(o1, o2, nw * 8) == 0);
	CU_ASSERT_EQUAL(r1.as.leak_bits, r2.as.leak_bits);
	CU_ASSERT_EQUAL(r1.bs.rounds, r2.bs.rounds);
	free(ka);
	free(kb);
	free(o1);
	free(o2);
}

static void test_malformed_messages_refused(void)
{
	struct dst_cascade_cfg cfg = {4096, 1, 8, 1};
	uint64_t ka[64], kb[64];
	make_keys(ka, kb, 4096, 0.03, 3);
	struct dst_cascade_params p;
	dst_cascade_params_for_qber(0.03, 4096, 8, &p);
	size_t cap = dst_cascade_max_msg(&cfg), l1, l2;
	uint8_t *m1 = malloc(cap), *m2 = malloc(cap), *bad = malloc(cap);
	struct dst_cascade_alice *a = dst_cascade_alice_create(&cfg);
	struct dst_cascade_bob *b = dst_cascade_bob_create(&cfg);
	CU_ASSERT_EQUAL(dst_cascade_alice_begin(a, ka, 4096), 0);
	CU_ASSERT_EQUAL(dst_cascade_bob_begin(b, kb, 4096, &p), 0);
	CU_ASSERT_EQUAL(dst_cascade_bob_step(b, NULL, 0, m1, cap, &l1), DST_CASCADE_CONTINUE);
	/* Truncated, wrong version, wrong seed: refused, Alice stays ready for the real one. */
	CU_ASSERT_EQUAL(dst_cascade_alice_step(a, m1, l1 - 1, m2, cap, &l2), -EPROTO);
	CU_ASSERT_EQUAL(dst_cascade_alice_begin(a, ka, 4096), 0);
	memcpy(bad, m1, l1);
	bad[1] = 9;
	CU_ASSERT_EQUAL(dst_cascade_alice_step(a, bad, l1, m2, cap, &l2), -EPROTO);
	CU_ASSERT_EQUAL(dst_cascade_alice_begin(a, ka, 4096), 0);
	memcpy(bad, m1, l1);
	bad[12 + 16] ^= 1; /* seed */
	CU_ASSERT_EQUAL(dst_cascade_alice_step(a, bad, l1, m2, cap, &l2), -EPROTO);
	CU_ASSERT_EQUAL(dst_cascade_alice_begin(a, ka, 4096), 0);
	CU_ASSERT_EQUAL(dst_cascade_alice_step(a, m1, l1, m2, cap, &l2), DST_CASCADE_CONTINUE);
	/* Too small an output buffer. */
	CU_ASSERT_EQUAL(dst_cascade_bob_step(b, m2, l2, m1, 8, &l1), -ENOSPC);
	/* Bob refuses an answer with a wrong count once he is back at that point. */
	CU_ASSERT_EQUAL(dst_cascade_bob_begin(b, kb, 4096, &p), 0);
	CU_ASSERT_EQUAL(dst_cascade_bob_step(b, NULL, 0, m1, cap, &l1), DST_CASCADE_CONTINUE);
	memcpy(bad, m2, l2);
	bad[8] ^= 1;
	CU_ASSERT_EQUAL(dst_cascade_bob_step(b, bad, l2, m1, cap, &l1), -EPROTO);
	/* A query for a frame that does not exist (first group's frame number). */
	CU_ASSERT_EQUAL(dst_cascade_bob_begin(b, kb, 4096, &p), 0);
	CU_ASSERT_EQUAL(dst_cascade_bob_step(b, NULL, 0, m1, cap, &l1), DST_CASCADE_CONTINUE);
	CU_ASSERT_EQUAL(dst_cascade_bob_step(b, m2, l2, m1, cap, &l1), DST_CASCADE_CONTINUE);
	memcpy(bad, m1, l1);
	bad[12 + 4] = 0xff;
	bad[12 + 5] = 0xff;
	CU_ASSERT_EQUAL(dst_cascade_alice_step(a, bad, l1, m2, cap, &l2), -EPROTO);
	/* Bad arguments. */
	CU_ASSERT_EQUAL(dst_cascade_bob_begin(b, kb, 4097, &p), -EINVAL);
	struct dst_cascade_params q = p;
	q.log2_block[0] = 30;
	CU_ASSERT_EQUAL(dst_cascade_bob_begin(b, kb, 4096, &q), -EINVAL);
	struct dst_cascade_cfg badcfg = {10, 1, 8, 1};
	CU_ASSERT_PTR_NULL(dst_cascade_alice_create(&badcfg));
	badcfg.frame_bits = DST_CASCADE_MAX_FRAME_BITS + 1; /* node indices would not fit */
	CU_ASSERT_PTR_NULL(dst_cascade_bob_create(&badcfg));
	dst_cascade_alice_free(a);
	dst_cascade_bob_free(b);
	free(m1);
	free(m2);
	free(bad);
}

static CU_TestInfo cascade_tests[] = {
	{"corrects random error patterns exactly", test_corrects_random_errors},
	{"leak equals the parities Alice disclosed", test_leak_counts_disclosed_parities},
	{"batched frames equal frames run alone", test_batched_equals_unbatched},
	{"kernels of every variant equal the reference", test_kernels_match_reference},
	{"generic and native dispatch give the same run", test_generic_and_native_agree},
	{"malformed messages are refused", test_malformed_messages_refused},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"cascade", NULL, NULL, NULL, NULL, cascade_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
