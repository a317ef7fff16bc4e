/* Privacy amplification: the naive routine is the bit-level definition, every algorithm and kernel
 * variant equals it on random inputs (n not a multiple of 64, m = 1, rectangular and square), the
 * map is linear, and the committed known answers (tests/distill/pa_kat.py) are reproduced. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dst_cpu.h"
#include "dst_pa.h"
#include "unit.h"

static uint64_t *rand_bits(size_t bits, uint64_t seed)
{
	size_t w = DST_PA_WORDS(bits);
	uint64_t *p = malloc(w * sizeof(uint64_t));
	unit_fill_random(p, w * sizeof(uint64_t), seed); /* garbage past 'bits' on purpose */
	return p;
}

static int bit(const uint64_t *s, size_t k)
{
	return (int)(s[k >> 6] >> (k & 63) & 1);
}

static void test_naive_is_definition(void)
{
	static const size_t sizes[][2] = {{1, 1}, {2, 1}, {5, 3}, {64, 64}, {65, 1}, {100, 37}, {130, 129}, {300, 71}};
	for (size_t c = 0; c < sizeof(sizes) / sizeof(sizes[0]); c++) {
		size_t n = sizes[c][0], m = sizes[c][1];
		uint64_t *s = rand_bits(n + m - 1, 11 + c), *x = rand_bits(n, 91 + c);
		uint64_t *y = rand_bits(m + 64, 5);
		CU_ASSERT_EQUAL_FATAL(dst_pa_naive(n, m, s, x, y), 0);
		for (size_t i = 0; i < m; i++) {
			int acc = 0;
			for (size_t j = 0; j < n; j++)
				acc ^= bit(s, i + n - 1 - j) & bit(x, j);
			CU_ASSERT_EQUAL(bit(y, i), acc);
		}
		for (size_t i = m; i < 64 * DST_PA_WORDS(m); i++)
			CU_ASSERT_EQUAL(bit(y, i), 0);
		free(s), free(x), free(y);
	}
}

/* Every (algorithm, variant) the CPU has against the naive definition. */
static void check_all(size_t n, size_t m, uint64_t seed)
{
	uint64_t *s = rand_bits(n + m - 1, seed), *x = rand_bits(n, seed * 7 + 1);
	size_t mw = DST_PA_WORDS(m);
	uint64_t *want = malloc(mw * 8), *got = malloc(mw * 8);
	CU_ASSERT_EQUAL_FATAL(dst_pa_naive(n, m, s, x, want), 0);
	static const enum dst_pa_alg algs[] = {DST_PA_ALG_AUTO, DST_PA_ALG_KARATSUBA, DST_PA_ALG_FFT};
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++)
		for (const struct dst_pa_variant *v = dst_pa_variants; v->name; v++) {
			if ((dst_cpu_detected() & v->needs) != v->needs)
				continue;
			struct dst_pa_plan *p;
			CU_ASSERT_EQUAL_FATAL(dst_pa_plan_create_with(n, m, s, algs[a], v->name, &p), 0);
			memset(got, 0xA5, mw * 8);
			CU_ASSERT_EQUAL(dst_pa_apply(p, x, got), 0);
			if (memcmp(want, got, mw * 8)) {
				printf("\nmismatch n=%zu m=%zu alg=%d variant=%s\n", n, m, (int)algs[a], v->name);
				CU_FAIL("differs from the definition");
			}
			dst_pa_plan_free(p);
		}
	free(s), free(x), free(want), free(got);
}

static void test_fast_equals_naive(void)
{
	static const size_t sizes[][2] = {
		{1, 1},	      {3, 2},	    {64, 1},	  {64, 64},	 {65, 1},      {127, 64},
		{128, 128},   {1000, 1},    {1000, 999},  {1000, 500},   {1024, 512},  {2049, 2049},
		{3001, 17},   {5000, 4000}, {10000, 1},   {10000, 5000}, {10007, 9999}, {12345, 6000},
		{20000, 100}, {33333, 1},   {40001, 20000}, {65536, 32768}, {70000, 69000},
	};
	for (size_t c = 0; c < sizeof(sizes) / sizeof(sizes[0]); c++)
		check_all(sizes[c][0], sizes[c][1], 1000 + c);
	/* a spread of shapes around the leaf size and odd splits */
	uint64_t r = 77;
	for (int t = 0; t < 120; t++) {
		size_t n = 1 + unit_rand(&r) % 6000, m = 1 + unit_rand(&r) % n;
		check_all(n, m, 5000 + (uint64_t)t);
	}
}

static void test_linearity(void)
{
	size_t n = 50001, m = 24999, nw = DST_PA_WORDS(n), mw = DST_PA_WORDS(m);
	uint64_t *s = rand_bits(n + m - 1, 3), *x1 = rand_bits(n, 4), *x2 = rand_bits(n, 5);
	uint64_t *x3 = malloc(nw * 8), *y1 = malloc(mw * 8), *y2 = malloc(mw * 8), *y3 = malloc(mw * 8);
	for (size_t t = 0; t < nw; t++)
		x3[t] = x1[t] ^ x2[t];
	struct dst_pa_plan *p;
	CU_ASSERT_EQUAL_FATAL(dst_pa_plan_create(n, m, s, &p), 0);
	dst_pa_apply(p, x1, y1);
	dst_pa_apply(p, x2, y2);
	dst_pa_apply(p, x3, y3);
	int nonzero = 0;
	for (size_t t = 0; t < mw; t++) {
		CU_ASSERT_EQUAL(y3[t], y1[t] ^ y2[t]);
		nonzero |= y1[t] != 0;
	}
	CU_ASSERT(nonzero);
	dst_pa_plan_free(p);
	free(s), free(x1), free(x2), free(x3), free(y1), free(y2), free(y3);
}

static void test_reseed_and_reuse(void)
{
	size_t n = 9000, m = 4001, mw = DST_PA_WORDS(m);
	uint64_t *s1 = rand_bits(n + m - 1, 8), *s2 = rand_bits(n + m - 1, 9), *x = rand_bits(n, 10);
	uint64_t *want = malloc(mw * 8), *got = malloc(mw * 8);
	static const enum dst_pa_alg algs[] = {DST_PA_ALG_KARATSUBA, DST_PA_ALG_FFT};
	for (size_t a = 0; a < 2; a++) {
		struct dst_pa_plan *p;
		CU_ASSERT_EQUAL_FATAL(dst_pa_plan_create_with(n, m, s1, algs[a], NULL, &p), 0);
		CU_ASSERT_EQUAL(dst_pa_plan_alg(p), algs[a]);
		for (int rep = 0; rep < 2; rep++) {
			dst_pa_naive(n, m, s1, x, want);
			dst_pa_apply(p, x, got);
			CU_ASSERT(memcmp(want, got, mw * 8) == 0);
		}
		CU_ASSERT_EQUAL(dst_pa_plan_reseed(p, s2), 0);
		dst_pa_naive(n, m, s2, x, want);
		dst_pa_apply(p, x, got);
		CU_ASSERT(memcmp(want, got, mw * 8) == 0);
		CU_ASSERT(dst_pa_plan_bytes(p) > 0);
		dst_pa_plan_free(p);
	}
	dst_pa_plan_free(NULL);
	free(s1), free(s2), free(x), free(want), free(got);
}

static void test_bad_arguments(void)
{
	uint64_t s[4] = {0}, x[2] = {0}, y[2];
	struct dst_pa_plan *p = (struct dst_pa_plan *)&p;
	CU_ASSERT_EQUAL(dst_pa_plan_create(0, 1, s, &p), -EINVAL);
	CU_ASSERT_PTR_NULL(p == (struct dst_pa_plan *)&p ? NULL : p);
	CU_ASSERT_EQUAL(dst_pa_plan_create(10, 0, s, &p), -EINVAL);
	CU_ASSERT_EQUAL(dst_pa_plan_create(10, 11, s, &p), -EINVAL);
	CU_ASSERT_EQUAL(dst_pa_plan_create(10, 5, NULL, &p), -EINVAL);
	CU_ASSERT_EQUAL(dst_pa_plan_create(DST_PA_MAX_BITS + 1, 5, s, &p), -EINVAL);
	CU_ASSERT_EQUAL(dst_pa_plan_create_with(10, 5, s, DST_PA_ALG_AUTO, "no-such", &p), -EINVAL);
	CU_ASSERT_EQUAL(dst_pa_naive(10, 11, s, x, y), -EINVAL);
	CU_ASSERT_EQUAL(dst_pa_apply(NULL, x, y), -EINVAL);
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Hex bytes into a word buffer of DST_PA_WORDS(bits) words; returns the byte count. */
static size_t unhex(const char *h, uint64_t *w, size_t words)
{
	memset(w, 0, words * 8);
	size_t nb = 0;
	for (; h[0] && h[1]; h += 2, nb++) {
		int a = hexval(h[0]), b = hexval(h[1]);
		if (a < 0 || b < 0 || nb >= words * 8)
			return (size_t)-1;
		((unsigned char *)w)[nb] = (unsigned char)(a << 4 | b);
	}
	return nb;
}

static void test_known_answers(void)
{
	FILE *f = fopen(unit_src_path("distill/pa_kat.txt"), "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	size_t cap = 1 << 20, vectors = 0;
	char *line = malloc(cap), *sh = malloc(cap), *xh = malloc(cap), *yh = malloc(cap);
	while (fgets(line, (int)cap, f)) {
		size_t n, m;
		if (sscanf(line, "%zu %zu %s %s %s", &n, &m, sh, xh, yh) != 5)
			continue;
		uint64_t *s = calloc(DST_PA_WORDS(n + m - 1), 8), *x = calloc(DST_PA_WORDS(n), 8);
		uint64_t *want = calloc(DST_PA_WORDS(m), 8), *got = calloc(DST_PA_WORDS(m), 8);
		CU_ASSERT_EQUAL(unhex(sh, s, DST_PA_WORDS(n + m - 1)), (n + m - 1 + 7) / 8);
		CU_ASSERT_EQUAL(unhex(xh, x, DST_PA_WORDS(n)), (n + 7) / 8);
		CU_ASSERT_EQUAL(unhex(yh, want, DST_PA_WORDS(m)), (m + 7) / 8);
		dst_pa_naive(n, m, s, x, got);
		CU_ASSERT(memcmp(want, got, DST_PA_WORDS(m) * 8) == 0);
		for (const struct dst_pa_variant *v = dst_pa_variants; v->name; v++) {
			if ((dst_cpu_detected() & v->needs) != v->needs)
				continue;
			struct dst_pa_plan *p;
			CU_ASSERT_EQUAL_FATAL(dst_pa_plan_create_with(n, m, s, DST_PA_ALG_AUTO, v->name, &p), 0);
			memset(got, 0x5A, DST_PA_WORDS(m) * 8);
			dst_pa_apply(p, x, got);
			CU_ASSERT(memcmp(want, got, DST_PA_WORDS(m) * 8) == 0);
			dst_pa_plan_free(p);
		}
		free(s), free(x), free(want), free(got);
		vectors++;
	}
	fclose(f);
	CU_ASSERT(vectors >= 20);
	free(line), free(sh), free(xh), free(yh);
}

static CU_TestInfo pa_tests[] = {
	{"naive routine is the bit-level definition", test_naive_is_definition},
	{"every algorithm and variant equals naive", test_fast_equals_naive},
	{"PA(x1 ^ x2) = PA(x1) ^ PA(x2)", test_linearity},
	{"plan reuse and reseed", test_reseed_and_reuse},
	{"bad arguments rejected", test_bad_arguments},
	{"known answers from pa_kat.py", test_known_answers},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"pa", NULL, NULL, NULL, NULL, pa_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
