/* Relay XOR: every variant equals the reference for every length and alignment, in place too. */
#include <stdlib.h>
#include <string.h>

#include "dst_cpu.h"
#include "km_xor.h"
#include "unit.h"

#define MAXLEN 4200

static void test_variants_match_reference(void)
{
	static unsigned char a[MAXLEN + 64], b[MAXLEN + 64], want[MAXLEN + 64], got[MAXLEN + 64];
	unit_fill_random(a, sizeof(a), 1);
	unit_fill_random(b, sizeof(b), 2);
	for (const struct km_xor_variant *v = km_xor_variants; v->name; v++) {
		if ((dst_cpu_detected() & v->needs) != v->needs)
			continue;
		for (size_t len = 0; len <= MAXLEN; len += (len < 300 ? 1 : 97)) {
			for (size_t off = 0; off < 64; off += 13) {
				km_xor_base(want, a + off, b, len);
				memset(got, 0xA5, sizeof(got));
				v->fn(got, a + off, b, len);
				CU_ASSERT_FATAL(memcmp(want, got, len) == 0);
				CU_ASSERT_FATAL(got[len] == 0xA5); /* nothing written past the end */
			}
		}
	}
}

static void test_reference_is_xor(void)
{
	unsigned char a[37], b[37], d[37];
	unit_fill_random(a, sizeof(a), 3);
	unit_fill_random(b, sizeof(b), 4);
	km_xor_base(d, a, b, sizeof(d));
	for (size_t i = 0; i < sizeof(d); i++)
		CU_ASSERT_EQUAL(d[i], (unsigned char)(a[i] ^ b[i]));
}

static void test_in_place_round_trip(void)
{
	/* k ^ pad ^ pad == k, with dst aliasing a source, through the dispatched kernel */
	size_t len = 4096;
	unsigned char *k = aligned_alloc(32, len), *pad = aligned_alloc(32, len), *orig = malloc(len);
	unit_fill_random(k, len, 5);
	unit_fill_random(pad, len, 6);
	memcpy(orig, k, len);
	const char *levels[] = {"generic", "native"};
	for (int l = 0; l < 2; l++) {
		CU_ASSERT_EQUAL(dst_cpu_select(levels[l]), 0);
		km_xor(k, k, pad, len);
		CU_ASSERT(memcmp(k, orig, len) != 0);
		km_xor(k, pad, k, len);
		CU_ASSERT(memcmp(k, orig, len) == 0);
	}
	free(k);
	free(pad);
	free(orig);
}

static CU_TestInfo xor_tests[] = {
	{"reference computes a ^ b", test_reference_is_xor},
	{"every variant equals the reference", test_variants_match_reference},
	{"dispatched XOR round-trips in place", test_in_place_round_trip},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"relay_xor", NULL, NULL, NULL, NULL, xor_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
