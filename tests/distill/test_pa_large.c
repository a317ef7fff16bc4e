/* Privacy amplification on large blocks, where the O(n·m) definition is too slow to run in full:
 * the FFT (every kernel variant) must equal the Karatsuba product, and sampled output bits must
 * equal the definition. The sizes include transforms that use the folded (half-size) product:
 * n ~ 10^6 (2^16 points, X^N = X) and n ~ 4·10^6 (2^18 points, folding onto 2^16 + overflow),
 * and x split into two to four column blocks (n ~ 1.1-3·10^6). */
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
	unit_fill_random(p, w * sizeof(uint64_t), seed);
	return p;
}

static int bit(const uint64_t *s, size_t k)
{
	return (int)(s[k >> 6] >> (k & 63) & 1);
}

/* y_i straight from the definition. */
static int definition_bit(size_t n, const uint64_t *s, const uint64_t *x, size_t i)
{
	int acc = 0;
	for (size_t j = 0; j < n; j++)
		acc ^= bit(s, i + n - 1 - j) & bit(x, j);
	return acc;
}

static const char *best_variant(void)
{
	const char *best = "generic";
	for (const struct dst_pa_variant *v = dst_pa_variants; v->name; v++)
		if ((dst_cpu_detected() & v->needs) == v->needs)
			best = v->name;
	return best;
}

static void check_large(size_t n, size_t m, uint64_t seed)
{
	uint64_t *s = rand_bits(n + m - 1, seed), *x = rand_bits(n, seed + 1);
	size_t mw = DST_PA_WORDS(m);
	uint64_t *want = malloc(mw * 8), *got = malloc(mw * 8);
	struct dst_pa_plan *p;
	CU_ASSERT_EQUAL_FATAL(dst_pa_plan_create_with(n, m, s, DST_PA_ALG_KARATSUBA, best_variant(), &p), 0);
	dst_pa_apply(p, x, want);
	dst_pa_plan_free(p);
	/* sampled bits: both ends, word edges and a spread in between */
	uint64_t r = seed;
	for (int t = 0; t < 40; t++) {
		size_t i = (t < 4 ? (size_t[]){0, 1, m - 1, m / 2}[t] : unit_rand(&r)) % m;
		int d = definition_bit(n, s, x, i);
		if (bit(want, i) != d)
			printf("\nbit %zu of n=%zu m=%zu: got %d, definition %d\n", i, n, m, bit(want, i), d);
		CU_ASSERT_EQUAL(bit(want, i), d);
	}
	for (const struct dst_pa_variant *v = dst_pa_variants; v->name; v++) {
		if ((dst_cpu_detected() & v->needs) != v->needs)
			continue;
		CU_ASSERT_EQUAL_FATAL(dst_pa_plan_create_with(n, m, s, DST_PA_ALG_FFT, v->name, &p), 0);
		memset(got, 0x3C, mw * 8);
		dst_pa_apply(p, x, got);
		if (memcmp(want, got, mw * 8)) {
			printf("\nFFT/%s differs from Karatsuba at n=%zu m=%zu\n", v->name, n, m);
			CU_FAIL("FFT differs");
		}
		dst_pa_plan_free(p);
	}
	free(s), free(x), free(want), free(got);
}

static void test_half_size_transform(void)
{
	check_large(1000013, 499998, 41); /* 2^16 points: chunks wrap by X^N = X */
	check_large(1000000, 1000000, 42); /* m = n: full product */
	check_large(1000000, 1, 43);
}

static void test_folded_transform(void)
{
	check_large(4000037, 2000000, 44); /* 2^18 points, folding lands below 2^16 + overflow */
}

static void test_column_blocks(void)
{
	/* x in two column blocks, products summed before one inverse transform; the second block
	 * is shorter than the first */
	check_large(1500007, 749997, 45);
	check_large(1100000, 1100000, 46);
	check_large(3000000, 1500000, 47); /* three blocks */
	check_large(1200000, 1, 48);	   /* four blocks */
}

static CU_TestInfo large_tests[] = {
	{"n ~ 10^6: FFT = Karatsuba = sampled definition", test_half_size_transform},
	{"n ~ 4·10^6 folded product", test_folded_transform},
	{"two to four column blocks (n ~ 1.1-3·10^6)", test_column_blocks},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"pa_large", NULL, NULL, NULL, NULL, large_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
