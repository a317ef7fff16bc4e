/* LDPC reconciliation frames: AVX2 and portable decoders agree bit for bit (decisions, iteration
 * counts and the fixed-point state); an error-free frame decodes in one iteration; frames below
 * capacity are corrected to Alice's key; frames far above capacity are reported failed and Bob's
 * bits come back unchanged; leak accounting follows its definition; blind rounds resumed from the
 * failed state (dst_ldpc_bob_resume, dst_ldpc_bob_blind) agree between variants, recover a frame
 * that failed at its start rate and never turn a hopeless one into a success; bad arguments
 * change nothing. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dst_ldpc.h"
#include "unit.h"

static struct dst_ldpc_family *fam;
static struct dst_ldpc_ws *ws;
static uint64_t rng = 0x5eed1234abcdull;

static int setup(void)
{
	char err[DST_LDPC_ERRLEN];
	if (dst_ldpc_family_load(NULL, &fam, err))
		return -1;
	ws = dst_ldpc_ws_create(fam);
	return ws ? 0 : -1;
}

static int teardown(void)
{
	dst_ldpc_ws_free(ws);
	dst_ldpc_family_free(fam);
	return 0;
}

static double h2(double p)
{
	return -p * log2(p) - (1 - p) * log2(1 - p);
}

/* Alice's key, Bob's copy through a BSC with exactly 'errors' flips, filler and syndrome */
struct frame {
	uint64_t *alice, *bob, *fill, *syn, *out;
	uint32_t words;
};

static void frame_make(struct frame *f, const struct dst_ldpc_plan *p, uint32_t errors)
{
	f->words = p->key_bits / 64;
	f->alice = malloc(f->words * 8);
	f->bob = malloc(f->words * 8);
	f->out = malloc(f->words * 8);
	f->fill = malloc(p->punctured / 8 + 8);
	f->syn = malloc(p->syndrome_bits / 8);
	for (uint32_t i = 0; i < f->words; i++)
		f->alice[i] = unit_rand(&rng);
	for (uint32_t i = 0; i < p->punctured / 64 + 1; i++)
		f->fill[i] = unit_rand(&rng);
	memcpy(f->bob, f->alice, f->words * 8);
	for (uint32_t e = 0; e < errors;) {
		uint32_t b = (uint32_t)(unit_rand(&rng) % p->key_bits);
		if ((f->bob[b / 64] ^ f->alice[b / 64]) >> (b % 64) & 1)
			continue;
		f->bob[b / 64] ^= 1ull << (b % 64);
		e++;
	}
	CU_ASSERT_EQUAL(dst_ldpc_alice(ws, p, f->alice, f->fill, f->syn), 0);
}

static void frame_free(struct frame *f)
{
	free(f->alice);
	free(f->bob);
	free(f->out);
	free(f->fill);
	free(f->syn);
}

static void test_zero_errors_one_iteration(void)
{
	const double qs[] = {0.005, 0.01, 0.02, 0.05, 0.08, 0.11};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		struct dst_ldpc_plan p;
		CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, qs[i], 0, &p), 0);
		struct frame f;
		frame_make(&f, &p, 0);
		struct dst_ldpc_result r;
		if (p.punctured) {
			/* punctured filler is unknown to Bob: reveal all of it so nothing is to be found */
			dst_ldpc_plan_reveal(&p, p.punctured);
		}
		CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, f.bob, f.syn, f.fill, f.out, &r), 0);
		CU_ASSERT_EQUAL(r.status, DST_LDPC_OK);
		CU_ASSERT_EQUAL(r.iterations, 1);
		CU_ASSERT_EQUAL(r.flipped, 0);
		CU_ASSERT_EQUAL(memcmp(f.out, f.alice, f.words * 8), 0);
		frame_free(&f);
	}
}

static void test_corrects_below_capacity(void)
{
	/* generous efficiency: every frame must come back equal to Alice's key */
	const double qs[] = {0.01, 0.03, 0.06};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		struct dst_ldpc_plan p;
		CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, qs[i], 1.5, &p), 0);
		CU_ASSERT(p.f >= 1.5 - 1e-9);
		struct frame f;
		uint32_t errors = (uint32_t)(qs[i] * p.key_bits);
		frame_make(&f, &p, errors);
		struct dst_ldpc_result r;
		CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, f.bob, f.syn, NULL, f.out, &r), 0);
		CU_ASSERT_EQUAL(r.status, DST_LDPC_OK);
		CU_ASSERT_EQUAL(r.flipped, errors);
		CU_ASSERT_EQUAL(memcmp(f.out, f.alice, f.words * 8), 0);
		CU_ASSERT(r.iterations > 1);
		frame_free(&f);
	}
}

static void test_above_capacity_fails_cleanly(void)
{
	/* a plan for 1% QBER fed 6% errors: far beyond what the syndrome can resolve */
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, 0.01, 0, &p), 0);
	p.max_iter = 20;
	for (int k = 0; k < 3; k++) {
		struct frame f;
		frame_make(&f, &p, (uint32_t)(0.06 * p.key_bits));
		memset(f.out, 0xa5, f.words * 8);
		struct dst_ldpc_result r;
		CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, f.bob, f.syn, NULL, f.out, &r), 0);
		CU_ASSERT_EQUAL(r.status, DST_LDPC_FAILED);
		CU_ASSERT_EQUAL(r.iterations, 20);
		CU_ASSERT_EQUAL(memcmp(f.out, f.bob, f.words * 8), 0); /* Bob's bits unchanged */
		frame_free(&f);
	}
}

/* Two workspaces hold the same fixed-point decoder state (APP LLRs and check messages). */
static void assert_same_state(const struct dst_ldpc_ws *w1, const struct dst_ldpc_ws *w2)
{
	size_t l1, l2;
	const int8_t *a1 = dst_ldpc_ws_app(w1, &l1), *a2 = dst_ldpc_ws_app(w2, &l2);
	CU_ASSERT_EQUAL(l1, l2);
	CU_ASSERT_EQUAL(memcmp(a1, a2, l1), 0);
	const int8_t *c1 = dst_ldpc_ws_c2v(w1, &l1), *c2 = dst_ldpc_ws_c2v(w2, &l2);
	CU_ASSERT_EQUAL(l1, l2);
	CU_ASSERT_EQUAL(memcmp(c1, c2, l1), 0);
}

/* Run both variants on the same frame with the same iteration cap and check node; compare
 * everything. */
static void compare_variants_cn(const struct dst_ldpc_plan *p, uint32_t errors)
{
	struct dst_ldpc_ws *w2 = dst_ldpc_ws_create(fam);
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_ws_force_variant(ws, "generic"), 0);
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_ws_force_variant(w2, "avx2"), 0);
	struct frame f;
	frame_make(&f, p, errors);
	uint64_t *out2 = malloc(f.words * 8);
	struct dst_ldpc_result r1, r2;
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, p, f.bob, f.syn, NULL, f.out, &r1), 0);
	CU_ASSERT_EQUAL(dst_ldpc_bob(w2, p, f.bob, f.syn, NULL, out2, &r2), 0);
	CU_ASSERT_STRING_EQUAL(dst_ldpc_ws_variant(ws), "generic");
	CU_ASSERT_STRING_EQUAL(dst_ldpc_ws_variant(w2), "avx2");
	CU_ASSERT_EQUAL(r1.status, r2.status);
	CU_ASSERT_EQUAL(r1.iterations, r2.iterations);
	CU_ASSERT_EQUAL(r1.flipped, r2.flipped);
	CU_ASSERT_EQUAL(memcmp(f.out, out2, f.words * 8), 0);
	assert_same_state(ws, w2);
	dst_ldpc_ws_force_variant(ws, NULL);
	free(out2);
	frame_free(&f);
	dst_ldpc_ws_free(w2);
}

/* compare_variants_cn for every check node on the same frame; the forms must differ somewhere
 * in the decoder state (the plan's choice reaches the kernels). */
static void compare_variants(const struct dst_ldpc_plan *p0, uint32_t errors)
{
	struct dst_ldpc_plan p = *p0;
	uint64_t start = rng;
	size_t len, n = 0;
	int8_t *first = NULL;
	for (unsigned cn = 0; cn < DST_LDPC_CN_COUNT; cn++) {
		p.check_node = (uint8_t)cn;
		rng = start; /* the same frame for every check node */
		compare_variants_cn(&p, errors);
		const int8_t *c = dst_ldpc_ws_c2v(ws, &len);
		if (!first) {
			first = malloc(len);
			CU_ASSERT_PTR_NOT_NULL_FATAL(first);
			memcpy(first, c, len);
			n = len;
		} else {
			CU_ASSERT(len == n && memcmp(first, c, len) != 0);
		}
	}
	free(first);
}

static void test_avx2_matches_portable(void)
{
	if (dst_ldpc_ws_force_variant(ws, "avx2") == -ENOTSUP)
		return; /* nothing to compare on this CPU */
	dst_ldpc_ws_force_variant(ws, NULL);
	/* mid-decoding state after a few iterations (near the threshold, so messages are busy),
	 * for low, middle and high rate codes with puncturing or shortening */
	const double qs[] = {0.012, 0.03, 0.09};
	uint32_t cdeg_min = 255, cdeg_max = 0;
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		struct dst_ldpc_plan p;
		CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, qs[i], 0, &p), 0);
		p.max_iter = 3;
		compare_variants(&p, (uint32_t)(qs[i] * p.key_bits * 1.1));
		struct dst_ldpc_code_info in;
		dst_ldpc_code_get_info(p.code, &in);
		cdeg_min = in.cdeg_min < cdeg_min ? in.cdeg_min : cdeg_min;
		cdeg_max = in.cdeg_max > cdeg_max ? in.cdeg_max : cdeg_max;
	}
	/* both check-node forms were compared: forward/backward below 12 edges (LDPC_MINUS_DC),
	 * box-minus from 12 on */
	CU_ASSERT(cdeg_min < 12);
	CU_ASSERT(cdeg_max >= 12);
	/* a full decode to the end, and a failing one */
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, 0.02, 1.25, &p), 0);
	p.max_iter = 40;
	compare_variants(&p, (uint32_t)(0.02 * p.key_bits));
	p.max_iter = 4;
	compare_variants(&p, (uint32_t)(0.05 * p.key_bits));
}

/* Circulants of 64 and 128: a chunk pair of the AVX2 kernel then meets both the end of its block
 * and the repeated head, and rows of ~13 edges (box-minus) and ~10 (forward/backward) are both
 * compared. And the largest circulant a code may have (long frames: 2^20 bits at 128 columns). The helpers work on the globals, which point at a one-code family meanwhile. */
static void test_small_circulants(void)
{
	if (dst_ldpc_ws_force_variant(ws, "avx2") == -ENOTSUP)
		return;
	dst_ldpc_ws_force_variant(ws, NULL);
	const struct {
		uint32_t z, rows;
	} cases[] = {{64, 6}, {64, 8}, {128, 6}, {128, 8}, {DST_LDPC_MAX_Z, 8}};
	struct dst_ldpc_family *keep_fam = fam;
	struct dst_ldpc_ws *keep_ws = ws;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dst_ldpc_design d = {.z = cases[i].z, .base_cols = 24, .base_rows = cases[i].rows,
					    .nvdeg = 3, .vdeg_w = {2, 3, 6}, .vdeg = {5, 15, 4}, .seed = 7,
					    .name = "small"};
		struct dst_ldpc_code *c;
		char err[DST_LDPC_ERRLEN];
		CU_ASSERT_EQUAL_FATAL(dst_ldpc_code_build(&d, &c, err), 0);
		struct dst_ldpc_code_info in;
		dst_ldpc_code_get_info(c, &in);
		CU_ASSERT(cases[i].rows == 6 ? in.cdeg_min >= 12 : in.cdeg_max < 12);
		CU_ASSERT_EQUAL_FATAL(dst_ldpc_family_create(&c, 1, &fam, err), 0);
		ws = dst_ldpc_ws_create(fam);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
		struct dst_ldpc_plan p;
		CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, 0.02, 1.6, &p), 0);
		p.max_iter = 3;
		compare_variants(&p, (uint32_t)(0.03 * p.key_bits));
		p.max_iter = 40;
		compare_variants(&p, (uint32_t)(0.01 * p.key_bits));
		dst_ldpc_ws_free(ws);
		dst_ldpc_family_free(fam);
	}
	fam = keep_fam;
	ws = keep_ws;
}

/* Fixed-point box-plus of the decoder's definition (ldpc_decode_base.c), the correction table from
 * its formula c[d] = round(4 ln(1 + e^(-d/4))). */
static int g_boxplus(int x, int y)
{
	int mn = x < y ? x : y, s = x + y, d = abs(x - y);
	int r = mn + (int)lround(4 * log1p(exp(-s / 4.0))) - (int)lround(4 * log1p(exp(-d / 4.0)));
	return r < 0 ? 0 : r;
}

static int sat8(int v)
{
	return v > 127 ? 127 : v < -128 ? -128 : v;
}

/* CAP2 on the rows of a code by its definition: from the decoder state after k sweeps, row 0's
 * messages in sweep k + 1 are recomputed here (inputs app - c2v; the smallest input's edge gets
 * E, the serial box-plus of the others; every other edge the box-minus of the total, capped by
 * E, the smallest input and g(smallest, second smallest); magnitudes stop at 40, signs from the
 * syndrome and the other inputs) and compared with what the decoder stored. */
static void test_cap2_definition(void)
{
	static const uint8_t cminus[16] = {127, 8, 5, 3, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0};
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, 0.03, 0, &p), 0);
	p.check_node = DST_LDPC_CN_CAP2;
	struct frame f;
	frame_make(&f, &p, (uint32_t)(0.035 * p.key_bits));
	struct dst_ldpc_code_info in;
	dst_ldpc_code_get_info(p.code, &in);
	const uint32_t k = 4, z = in.z;
	uint32_t dc = 0, col[64], shift[64], row;
	while (dc < 64 && dc < dst_ldpc_code_base_edges(p.code)) {
		dst_ldpc_code_base_edge(p.code, dc, &row, &col[dc], &shift[dc]);
		if (row)
			break;
		dc++;
	}
	CU_ASSERT_FATAL(dc >= 12 && dc < 64);
	struct dst_ldpc_result r;
	p.max_iter = k;
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, f.bob, f.syn, NULL, f.out, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.status, DST_LDPC_FAILED);
	size_t na, nc;
	const int8_t *a = dst_ldpc_ws_app(ws, &na), *c = dst_ldpc_ws_c2v(ws, &nc);
	int8_t *app = malloc(na), *c2v = malloc(nc);
	memcpy(app, a, na);
	memcpy(c2v, c, nc);
	p.max_iter = k + 1;
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, f.bob, f.syn, NULL, f.out, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.iterations, k + 1);
	c = dst_ldpc_ws_c2v(ws, &nc);
	uint32_t wrong = 0, capped = 0;
	for (uint32_t i = 0; i < z; i++) {
		int t[64] = {0}, m[64] = {0}, par = (int)(f.syn[i / 64] >> (i % 64) & 1);
		for (uint32_t j = 0; j < dc; j++) {
			uint32_t at = (i / 64 * dc + j) * 64 + i % 64;
			t[j] = sat8(app[(size_t)col[j] * z + (shift[j] + i) % z] - c2v[at]);
			m[j] = abs(t[j]);
			par ^= t[j] < 0;
		}
		int mn = m[0] < m[1] ? m[0] : m[1], e = m[0] < m[1] ? m[1] : m[0];
		for (uint32_t j = 2; j < dc; j++) {
			e = g_boxplus(e, m[j] > mn ? m[j] : mn);
			mn = m[j] < mn ? m[j] : mn;
		}
		int mn2 = 1000, seen_mn = 0;
		for (uint32_t j = 0; j < dc; j++) {
			if (m[j] == mn && !seen_mn)
				seen_mn = 1;
			else
				mn2 = m[j] < mn2 ? m[j] : mn2;
		}
		int s = g_boxplus(mn, e), e2 = g_boxplus(mn, mn2);
		for (uint32_t j = 0; j < dc; j++) {
			int h = m[j] == mn ? e : s + (m[j] - s < 16 ? cminus[m[j] - s] : 0);
			if (m[j] != mn) {
				int bound = e < mn ? e : mn;
				capped += e2 < bound && h > e2;
				h = h < bound ? h : bound;
				h = h < e2 ? h : e2;
			}
			h = h < 40 ? h : 40;
			int v = par ^ (t[j] < 0) ? -h : h;
			wrong += c[(i / 64 * dc + j) * 64 + i % 64] != v;
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT(capped > 0); /* the cap decided some messages */
	free(app);
	free(c2v);
	frame_free(&f);
}

static void test_leak_accounting(void)
{
	const double qs[] = {0.01, 0.02, 0.035, 0.05, 0.08, 0.11}; /* reachable at f = 1.12 */
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		struct dst_ldpc_plan p;
		double target = 1.12;
		CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, qs[i], target, &p), 0);
		struct dst_ldpc_code_info in;
		dst_ldpc_code_get_info(p.code, &in);
		CU_ASSERT_EQUAL(p.n, 131072);
		CU_ASSERT_EQUAL(p.syndrome_bits, in.m);
		CU_ASSERT_EQUAL(p.key_bits, p.n - p.punctured - p.shortened);
		CU_ASSERT_EQUAL(p.key_bits % 64, 0);
		CU_ASSERT_EQUAL(p.leak_bits, in.m - p.punctured);
		double f = p.leak_bits / (p.key_bits * h2(qs[i]));
		CU_ASSERT_DOUBLE_EQUAL(p.f, f, 1e-12);
		CU_ASSERT_DOUBLE_EQUAL(dst_ldpc_efficiency(p.leak_bits, p.key_bits, qs[i]), f, 1e-12);
		/* at or above the target, by less than one 64-bit granule's worth */
		CU_ASSERT(p.f >= target - 1e-9);
		CU_ASSERT(p.f <= target + 64.0 / (p.key_bits * h2(qs[i])) + 1e-9);
		/* a blind round adds what it reveals */
		if (p.punctured >= 128) {
			uint32_t leak = p.leak_bits;
			CU_ASSERT_EQUAL(dst_ldpc_plan_reveal(&p, 100), 128);
			CU_ASSERT_EQUAL(p.revealed, 128);
			CU_ASSERT_EQUAL(p.leak_bits, leak + 128);
		}
	}
}

static void test_blind_plan(void)
{
	const double qs[] = {0.01, 0.02, 0.05, 0.08};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		struct dst_ldpc_plan p;
		CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make_blind(fam, qs[i], 1.05, 0.1, &p), 0);
		struct dst_ldpc_code_info in;
		dst_ldpc_code_get_info(p.code, &in);
		CU_ASSERT_EQUAL(p.shortened, 0);
		CU_ASSERT(p.punctured > 0);
		CU_ASSERT(p.punctured <= in.max_punctured);
		CU_ASSERT(p.f >= 1.05 - 1e-9);
		CU_ASSERT(p.f <= 1.05 + 64.0 / (p.key_bits * h2(qs[i])) + 1e-9);
		/* revealing everything gives back the mother code's own leak */
		while (dst_ldpc_plan_reveal(&p, 4096) > 0)
			;
		CU_ASSERT_EQUAL(p.revealed, p.punctured);
		CU_ASSERT_EQUAL(p.leak_bits, in.m);
	}
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL(dst_ldpc_plan_make_blind(fam, 0.02, 0.5, 0.1, &p), -EINVAL);
	CU_ASSERT_EQUAL(dst_ldpc_plan_make_blind(fam, 0.6, 1.1, 0.1, &p), -EINVAL);
}

/* Even frames: the frame count of the plan stays, each frame carries 64 * ceil(bits / 64F) key
 * bits at the target efficiency (the rest shortened), so the key fills its frames; leak and shape
 * follow their definitions; a blind plan can reveal up to the calibrated fixed-rate f. */
static void test_plan_fit(void)
{
	const double qs[] = {0.005, 0.01, 0.02, 0.03, 0.05, 0.08};
	const uint64_t lens[] = {1u << 20, 300001, 5u << 20};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
			for (int blind = 0; blind < 2; blind++) {
				struct dst_ldpc_plan p, full;
				double f0;
				unsigned step;
				CU_ASSERT_EQUAL_FATAL(dst_ldpc_blind_default(fam, qs[i], &f0, &step), 0);
				CU_ASSERT_EQUAL_FATAL(blind ? dst_ldpc_plan_make_blind(fam, qs[i], f0,
										 DST_LDPC_BLIND_HEADROOM, &p)
							    : dst_ldpc_plan_make(fam, qs[i], 0, &p), 0);
				full = p;
				uint64_t bits = lens[l], F = (bits + full.key_bits - 1) / full.key_bits;
				CU_ASSERT_EQUAL(dst_ldpc_plan_fit(fam, bits, blind, &p), 0);
				uint64_t want = (bits + 64 * F - 1) / (64 * F) * 64;
				struct dst_ldpc_code_info in;
				dst_ldpc_code_get_info(p.code, &in);
				CU_ASSERT_EQUAL(p.key_bits, want);
				CU_ASSERT_EQUAL((bits + p.key_bits - 1) / p.key_bits, F);
				CU_ASSERT(F * p.key_bits - bits < 64 * F);
				CU_ASSERT_EQUAL(p.key_bits, p.n - p.punctured - p.shortened);
				CU_ASSERT_EQUAL(p.syndrome_bits, in.m);
				CU_ASSERT_EQUAL(p.leak_bits, in.m - p.punctured);
				CU_ASSERT(p.punctured <= in.max_punctured && p.shortened <= in.max_shortened);
				CU_ASSERT(p.punctured % 64 == 0 && p.shortened % 64 == 0);
				CU_ASSERT_DOUBLE_EQUAL(p.f, p.leak_bits / (p.key_bits * h2(qs[i])), 1e-12);
				CU_ASSERT(p.f >= full.f_target - 1e-9);
				/* never more leak per frame than the full frames (where no code reaches the
				 * target on the smaller frames, f ends above it but the leak still falls) */
				CU_ASSERT(p.leak_bits <= full.leak_bits);
				if (blind)
					CU_ASSERT(in.m / (p.key_bits * h2(qs[i])) >=
						  dst_ldpc_default_f(fam, qs[i]) - 1e-9);
				/* fitting again changes nothing */
				struct dst_ldpc_plan again = p;
				CU_ASSERT_EQUAL(dst_ldpc_plan_fit(fam, bits, blind, &again), 0);
				CU_ASSERT_EQUAL(memcmp(&again, &p, sizeof(p)), 0);
			}
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, 0.02, 0, &p), 0);
	struct dst_ldpc_plan same = p;
	CU_ASSERT_EQUAL(dst_ldpc_plan_fit(fam, 3ull * p.key_bits, false, &same), 0);
	CU_ASSERT_EQUAL(memcmp(&same, &p, sizeof(p)), 0); /* full frames already */
	CU_ASSERT_EQUAL(dst_ldpc_plan_fit(fam, 0, false, &same), -EINVAL);
	dst_ldpc_plan_reveal(&same, 64);
	if (same.revealed)
		CU_ASSERT_EQUAL(dst_ldpc_plan_fit(fam, 1000000, false, &same), -EINVAL);
}

static void test_blind_round_recovers(void)
{
	/* a frame that fails at its plan decodes once Alice reveals punctured filler */
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, 0.02, 1.05, &p), 0);
	if (p.punctured < 1024)
		return;
	struct frame f;
	frame_make(&f, &p, (uint32_t)(0.0225 * p.key_bits));
	struct dst_ldpc_result r;
	p.max_iter = 60;
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, f.bob, f.syn, NULL, f.out, &r), 0);
	while (r.status != DST_LDPC_OK && dst_ldpc_plan_reveal(&p, p.punctured / 4) > 0)
		CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, f.bob, f.syn, f.fill, f.out, &r), 0);
	CU_ASSERT_EQUAL(r.status, DST_LDPC_OK);
	CU_ASSERT_EQUAL(memcmp(f.out, f.alice, f.words * 8), 0);
	frame_free(&f);
}

/* Resumed blind rounds: after a failed first decode and each reveal, the generic and AVX2
 * decoders continue to the same decisions, iteration counts and fixed-point state, with either
 * check node. */
static void resume_compare(unsigned cn)
{
	struct dst_ldpc_ws *w2 = dst_ldpc_ws_create(fam);
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_ws_force_variant(ws, "generic"), 0);
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_ws_force_variant(w2, "avx2"), 0);
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make_blind(fam, 0.03, 1.05, 0.15, &p), 0);
	p.check_node = (uint8_t)cn;
	CU_ASSERT_FATAL(p.punctured >= 4 * 64);
	struct frame f;
	frame_make(&f, &p, (uint32_t)(0.033 * p.key_bits));
	uint64_t *out2 = malloc(f.words * 8);
	struct dst_ldpc_result r1, r2;
	p.max_iter = 6;
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, f.bob, f.syn, NULL, f.out, &r1), 0);
	CU_ASSERT_EQUAL(dst_ldpc_bob(w2, &p, f.bob, f.syn, NULL, out2, &r2), 0);
	CU_ASSERT_EQUAL(r1.status, DST_LDPC_FAILED);
	for (int round = 0; round < 3; round++) {
		CU_ASSERT(dst_ldpc_plan_reveal(&p, p.punctured / 4) > 0);
		p.max_iter = 3 + (unsigned)round;
		CU_ASSERT_EQUAL(dst_ldpc_bob_resume(ws, &p, f.bob, f.fill, f.out, &r1), 0);
		CU_ASSERT_EQUAL(dst_ldpc_bob_resume(w2, &p, f.bob, f.fill, out2, &r2), 0);
		CU_ASSERT_EQUAL(r1.status, r2.status);
		CU_ASSERT_EQUAL(r1.iterations, r2.iterations);
		CU_ASSERT_EQUAL(r1.flipped, r2.flipped);
		CU_ASSERT_EQUAL(memcmp(f.out, out2, f.words * 8), 0);
		assert_same_state(ws, w2);
		if (r1.status == DST_LDPC_OK)
			break;
	}
	dst_ldpc_ws_force_variant(ws, NULL);
	free(out2);
	frame_free(&f);
	dst_ldpc_ws_free(w2);
}

static void test_resume_avx2_matches_portable(void)
{
	if (dst_ldpc_ws_force_variant(ws, "avx2") == -ENOTSUP)
		return;
	for (unsigned cn = 0; cn < DST_LDPC_CN_COUNT; cn++)
		resume_compare(cn);
}

/* Alice's filler bits as the decoder sees them once revealed: the APP LLRs of the revealed
 * positions carry their values (bit 1 <-> negative) right after the resume put them in. */
static void test_resume_sets_revealed(void)
{
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make_blind(fam, 0.02, 1.05, 0.15, &p), 0);
	struct frame f;
	frame_make(&f, &p, (uint32_t)(0.05 * p.key_bits)); /* far above: keeps failing */
	struct dst_ldpc_result r;
	p.max_iter = 2;
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, f.bob, f.syn, NULL, f.out, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.status, DST_LDPC_FAILED);
	CU_ASSERT(dst_ldpc_plan_reveal(&p, 128) == 128);
	p.max_iter = 0; /* no sweep: the state as the reveal left it */
	CU_ASSERT_EQUAL(dst_ldpc_bob_resume(ws, &p, f.bob, f.fill, f.out, &r), 0);
	CU_ASSERT_EQUAL(r.status, DST_LDPC_FAILED);
	CU_ASSERT_EQUAL(memcmp(f.out, f.bob, f.words * 8), 0);
	size_t len;
	const int8_t *app = dst_ldpc_ws_app(ws, &len);
	/* each revealed filler word sits in some 64-bit word of the frame whose LLRs are all +-127
	 * with its bits' signs (a chance match of 64 random signs and saturation is negligible) */
	unsigned found = 0;
	for (int k = 0; k < 2; k++)
		for (size_t w = 0; w < len / 64; w++) {
			unsigned match = 0;
			for (int b = 0; b < 64; b++) {
				int8_t a = app[w * 64 + (size_t)b];
				int bit = (int)(f.fill[k] >> b & 1);
				match += (a == 127 && !bit) || (a == -127 && bit);
			}
			if (match == 64) {
				found++;
				break;
			}
		}
	CU_ASSERT_EQUAL(found, 2);
	frame_free(&f);
}

/* The blind schedule: a frame that fails at the start rate decodes after reveals, equal to
 * Alice's key, with leak = syndrome - punctured + revealed bits. */
static void test_blind_schedule_recovers(void)
{
	const double qs[] = {0.02, 0.05};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		struct dst_ldpc_plan p;
		CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make_blind(fam, qs[i], 1.03, 0.15, &p), 0);
		struct dst_ldpc_code_info in;
		dst_ldpc_code_get_info(p.code, &in);
		struct frame f;
		frame_make(&f, &p, (uint32_t)(qs[i] * p.key_bits));
		struct dst_ldpc_result r;
		unsigned round = 0;
		CU_ASSERT_EQUAL(dst_ldpc_bob_blind(ws, &p, round, f.bob, f.syn, NULL, f.out, &r), 0);
		CU_ASSERT_EQUAL(r.status, DST_LDPC_FAILED); /* f 1.03 is below what the code can do */
		while (r.status != DST_LDPC_OK && dst_ldpc_plan_reveal(&p, p.punctured / 16) > 0)
			CU_ASSERT_EQUAL(dst_ldpc_bob_blind(ws, &p, ++round, f.bob, f.syn, f.fill, f.out,
							   &r), 0);
		CU_ASSERT_EQUAL(r.status, DST_LDPC_OK);
		CU_ASSERT(round >= 1);
		CU_ASSERT_EQUAL(r.flipped, (uint32_t)(qs[i] * p.key_bits));
		CU_ASSERT_EQUAL(memcmp(f.out, f.alice, f.words * 8), 0);
		CU_ASSERT(p.revealed > 0 && p.revealed <= p.punctured);
		CU_ASSERT_EQUAL(p.leak_bits, in.m - p.punctured + p.revealed);
		CU_ASSERT_EQUAL(r.leak_bits, p.leak_bits);
		frame_free(&f);
	}
}

/* A frame above capacity even with every filler bit revealed ends failed after the last round,
 * with Bob's bits unchanged, never as a success with wrong bits. */
static void test_blind_schedule_above_capacity(void)
{
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make_blind(fam, 0.02, 1.10, 0.08, &p), 0);
	p.max_iter = 20;
	struct frame f;
	frame_make(&f, &p, (uint32_t)(0.06 * p.key_bits));
	memset(f.out, 0xa5, f.words * 8);
	struct dst_ldpc_result r;
	unsigned round = 0;
	CU_ASSERT_EQUAL(dst_ldpc_bob_blind(ws, &p, round, f.bob, f.syn, NULL, f.out, &r), 0);
	while (r.status != DST_LDPC_OK && dst_ldpc_plan_reveal(&p, p.punctured / 8) > 0)
		CU_ASSERT_EQUAL(dst_ldpc_bob_blind(ws, &p, ++round, f.bob, f.syn, f.fill, f.out, &r), 0);
	CU_ASSERT_EQUAL(r.status, DST_LDPC_FAILED);
	CU_ASSERT_EQUAL(p.revealed, p.punctured);
	CU_ASSERT(round >= 1);
	CU_ASSERT_EQUAL(memcmp(f.out, f.bob, f.words * 8), 0);
	frame_free(&f);
}

static void test_resume_bad_arguments(void)
{
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make_blind(fam, 0.02, 1.05, 0.15, &p), 0);
	struct frame f;
	frame_make(&f, &p, (uint32_t)(0.05 * p.key_bits));
	struct dst_ldpc_result r;
	/* after Alice's syndrome the workspace holds no decode to continue */
	CU_ASSERT_EQUAL(dst_ldpc_bob_resume(ws, &p, f.bob, NULL, f.out, &r), -EINVAL);
	p.max_iter = 2;
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, f.bob, f.syn, NULL, f.out, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.status, DST_LDPC_FAILED);
	struct dst_ldpc_plan q = p;
	dst_ldpc_plan_reveal(&q, 64);
	CU_ASSERT_EQUAL(dst_ldpc_bob_resume(ws, &q, f.bob, NULL, f.out, &r), -EINVAL); /* no values */
	struct dst_ldpc_plan other;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make_blind(fam, 0.02, 1.10, 0.15, &other), 0);
	if (other.punctured != p.punctured || other.code != p.code)
		CU_ASSERT_EQUAL(dst_ldpc_bob_resume(ws, &other, f.bob, f.fill, f.out, &r), -EINVAL);
	CU_ASSERT_EQUAL(dst_ldpc_bob_resume(ws, &q, f.bob, f.fill, f.out, &r), 0);
	/* fewer revealed bits than the state already knows */
	CU_ASSERT_EQUAL(dst_ldpc_bob_resume(ws, &p, f.bob, f.fill, f.out, &r), -EINVAL);
	/* after a success there is nothing to continue */
	struct dst_ldpc_plan easy;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, 0.02, 1.5, &easy), 0);
	struct frame g;
	frame_make(&g, &easy, 10);
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &easy, g.bob, g.syn, NULL, g.out, &r), 0);
	CU_ASSERT_EQUAL(r.status, DST_LDPC_OK);
	CU_ASSERT_EQUAL(dst_ldpc_bob_resume(ws, &easy, g.bob, NULL, g.out, &r), -EINVAL);
	frame_free(&g);
	frame_free(&f);
}

static void test_bad_arguments(void)
{
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL(dst_ldpc_plan_make(fam, 0, 1.1, &p), -EINVAL);
	CU_ASSERT_EQUAL(dst_ldpc_plan_make(fam, 0.5, 1.1, &p), -EINVAL);
	CU_ASSERT_EQUAL(dst_ldpc_plan_make(fam, 0.02, 0.9, &p), -EINVAL);
	CU_ASSERT_EQUAL(dst_ldpc_plan_make(fam, NAN, 1.1, &p), -EINVAL);
	CU_ASSERT_EQUAL(dst_ldpc_plan_make(fam, 0.02, 1.1, &p), 0);
	uint64_t *buf = calloc(p.n / 64, 8), *syn = calloc(p.syndrome_bits / 64, 8);
	struct dst_ldpc_result r;
	struct dst_ldpc_plan bad = p;
	bad.key_bits += 64; /* inconsistent plan */
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &bad, buf, syn, NULL, buf, &r), -EINVAL);
	CU_ASSERT_EQUAL(dst_ldpc_alice(ws, &bad, buf, buf, syn), -EINVAL);
	bad = p;
	bad.revealed = 64; /* revealed bits but no values */
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &bad, buf, syn, NULL, buf, &r), -EINVAL);
	bad = p;
	bad.check_node = DST_LDPC_CN_COUNT; /* no such check node */
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &bad, buf, syn, NULL, buf, &r), -EINVAL);
	CU_ASSERT_PTR_NULL(dst_ldpc_check_node_name(DST_LDPC_CN_COUNT));
	CU_ASSERT_STRING_EQUAL(dst_ldpc_check_node_name(DST_LDPC_CN_CAP2), "cap2");
	CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, NULL, syn, NULL, buf, &r), -EINVAL);
	CU_ASSERT_EQUAL(dst_ldpc_ws_force_variant(ws, "sse9"), -EINVAL);
	CU_ASSERT_EQUAL(dst_ldpc_ws_force_variant(ws, NULL), 0);
	free(buf);
	free(syn);
}

int main(void)
{
	CU_TestInfo frames[] = {
		{"zero errors: one iteration", test_zero_errors_one_iteration},
		{"corrects below capacity", test_corrects_below_capacity},
		{"above capacity fails cleanly", test_above_capacity_fails_cleanly},
		{"avx2 bit-exact with portable", test_avx2_matches_portable},
		{"avx2 bit-exact on small circulants", test_small_circulants},
		{"cap2 check node by its definition", test_cap2_definition},
		{"leak accounting", test_leak_accounting},
		{"blind plan", test_blind_plan},
		{"even frames (plan fit)", test_plan_fit},
		{"blind round recovers", test_blind_round_recovers},
		{"resume: avx2 bit-exact with portable", test_resume_avx2_matches_portable},
		{"resume: revealed filler becomes certain", test_resume_sets_revealed},
		{"blind schedule recovers a failing frame", test_blind_schedule_recovers},
		{"blind schedule above capacity fails", test_blind_schedule_above_capacity},
		{"resume: bad arguments", test_resume_bad_arguments},
		{"bad arguments", test_bad_arguments},
		CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suites[] = {
		{"ldpc_frames", setup, teardown, NULL, NULL, frames},
		CU_SUITE_INFO_NULL,
	};
	return unit_run(suites);
}
