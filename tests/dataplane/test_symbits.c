/* Symbol kernels of the sifting path: every variant the CPU has against the definitions written
 * out here (bit k of event i's symbol is bit i of plane k; event i of a group sits at slot pos +
 * the first i + 1 deltas; the window nibble of slot s is nibble (s - base) & mask, low nibble
 * first), on random words, escapes, lengths around vector boundaries and slots that wrap around
 * the window ring. */
#include <stdlib.h>
#include <string.h>

#include "dp_symbits.h"
#include "dst_cpu.h"
#include "unit.h"

/* Random one-word events: deltas 1..dmax, random symbol nibbles. */
static void random_words(uint16_t *words, size_t n, unsigned dmax, uint64_t *s)
{
	for (size_t i = 0; i < n; i++)
		words[i] = (uint16_t)((1 + unit_rand(s) % dmax) | (unit_rand(s) & 0xF) << 12);
}

static void test_group_matches_definition(void)
{
	uint64_t s = 3;
	for (const struct dp_symbits_variant *v = dp_symbits_variants; v->name; v++) {
		if (!dst_cpu_has(v->needs))
			continue;
		for (int trial = 0; trial < 200; trial++) {
			uint16_t words[DP_ANN_GROUP];
			random_words(words, DP_ANN_GROUP, trial % 2 ? 4095 : 37, &s);
			if (trial % 5 == 4) /* an escape somewhere */
				words[unit_rand(&s) % DP_ANN_GROUP] &= 0xF000;
			uint64_t want[4] = {0}, sum = 0, got[4];
			unsigned zero = 0;
			for (int i = 0; i < DP_ANN_GROUP; i++) {
				sum += words[i] & 0xFFF;
				zero |= (words[i] & 0xFFF) == 0;
				for (int k = 0; k < 4; k++)
					want[k] |= (uint64_t)(words[i] >> (12 + k) & 1) << i;
			}
			uint16_t cut[DP_ANN_GROUP], want_cut[DP_ANN_GROUP];
			for (int i = 0; i < DP_ANN_GROUP; i++)
				want_cut[i] = words[i] & 0x1FFF; /* delta and basis */
			uint64_t r = v->group((const uint8_t *)words, got, (uint8_t *)cut);
			if (zero) {
				CU_ASSERT_EQUAL(r, UINT64_MAX);
				continue;
			}
			CU_ASSERT_EQUAL(r, sum);
			CU_ASSERT_EQUAL(memcmp(got, want, sizeof(want)), 0);
			CU_ASSERT_EQUAL(memcmp(cut, want_cut, sizeof(cut)), 0);
			/* Without a cut copy: the same planes and sum. */
			memset(got, 0, sizeof(got));
			CU_ASSERT_EQUAL(v->group((const uint8_t *)words, got, NULL), sum);
			CU_ASSERT_EQUAL(memcmp(got, want, sizeof(want)), 0);
		}
	}
}

/* The window nibble of slot s by its definition: nibble (s - base) & mask, low nibble first. */
static unsigned win_nibble(const uint8_t *win, uint64_t mask, uint64_t base, uint64_t s)
{
	uint64_t x = (s - base) & mask;
	return (win[x / 2] >> (4 * (x % 2))) & 0xF;
}

static void test_gather_matches_definition(void)
{
	enum { LOG = 12, SLOTS = 1 << LOG };
	static uint8_t win[SLOTS / 2 + DP_WIN_PAD];
	unit_fill_random(win, sizeof(win), 7);
	uint64_t s = 11;
	for (const struct dp_symbits_variant *v = dp_symbits_variants; v->name; v++) {
		if (!dst_cpu_has(v->needs))
			continue;
		unsigned bad = 0;
		for (int trial = 0; trial < 300; trial++) {
			/* Bases and positions far apart and near 2^32 multiples: indices wrap the ring. */
			uint64_t base = 0xFFFFFFFFull * (unit_rand(&s) % 5) + unit_rand(&s) % 7000;
			uint64_t pos = base + (unit_rand(&s) >> 20), p = pos;
			uint16_t words[DP_ANN_GROUP];
			random_words(words, DP_ANN_GROUP, trial % 3 ? 40 : 4095, &s);
			uint64_t want[4] = {0}, got[4];
			for (int i = 0; i < DP_ANN_GROUP; i++) {
				p += words[i] & 0xFFF;
				unsigned nib = win_nibble(win, SLOTS - 1, base, p);
				for (int k = 0; k < 4; k++)
					want[k] |= (uint64_t)(nib >> k & 1) << i;
			}
			v->gather((const uint8_t *)words, pos, win, SLOTS - 1, base, got);
			bad += memcmp(got, want, sizeof(want)) != 0;
		}
		CU_ASSERT_EQUAL(bad, 0);
	}
}

static void test_copy_run_matches_definition(void)
{
	enum { N = 300 };
	uint64_t s = 5;
	for (const struct dp_symbits_variant *v = dp_symbits_variants; v->name; v++) {
		if (!dst_cpu_has(v->needs))
			continue;
		for (int trial = 0; trial < 100; trial++) {
			size_t n = (size_t)(unit_rand(&s) % N);
			uint16_t words[N], out[N];
			random_words(words, n, 4095, &s);
			if (trial % 4 == 3 && n)
				words[unit_rand(&s) % n] &= 0xF000;
			uint64_t sum = 0;
			unsigned zero = 0;
			for (size_t i = 0; i < n; i++) {
				sum += words[i] & 0xFFF;
				zero |= (words[i] & 0xFFF) == 0;
			}
			uint64_t r = v->copy_run((const uint8_t *)words, n, (uint8_t *)out);
			CU_ASSERT_EQUAL(r, zero ? UINT64_MAX : sum);
			if (!zero)
				CU_ASSERT_EQUAL(memcmp(out, words, 2 * n), 0);
		}
	}
}

/* Sparse-word runs: decode is a prefix sum of the 12-bit deltas (a zero delta is refused), encode
 * writes gap | symbol << 12 and stops before the first gap outside 1 .. 4095. */
static void test_sparse_runs_match_definition(void)
{
	enum { N = 700 };
	uint64_t s = 17, slots[N], want[N], got[N];
	uint8_t syms[N], wsym[N], gsym[N];
	uint16_t words[N], wwords[N];
	for (const struct dp_symbits_variant *v = dp_symbits_variants; v->name; v++) {
		if (!dst_cpu_has(v->needs))
			continue;
		for (int trial = 0; trial < 40; trial++) {
			size_t n = (size_t)(unit_rand(&s) % N);
			uint64_t pos = unit_rand(&s) >> 2, p = pos;
			for (size_t i = 0; i < n; i++) {
				uint16_t d = (uint16_t)(1 + unit_rand(&s) % 4095);
				if (trial % 4 == 1 && i == n / 2)
					d = 0; /* an escape */
				words[i] = (uint16_t)(d | (unit_rand(&s) & 0xF) << 12);
				p += d;
				want[i] = p;
				wsym[i] = (uint8_t)(words[i] >> 12);
			}
			int rc = v->decode_run((const uint8_t *)words, n, pos, got, gsym);
			if (trial % 4 == 1 && n) {
				CU_ASSERT_EQUAL(rc, -1);
				continue;
			}
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_EQUAL(memcmp(got, want, n * 8), 0);
			CU_ASSERT_EQUAL(memcmp(gsym, wsym, n), 0);
			/* Encode back, with a gap out of range somewhere in some trials. */
			memcpy(slots, want, n * 8);
			size_t stop = n;
			if (trial % 4 == 2 && n > 2) {
				stop = (size_t)(unit_rand(&s) % n);
				for (size_t i = stop; i < n; i++)
					slots[i] += trial % 8 == 2 ? 4096 : 0;
				if (trial % 8 != 2 && stop > 0)
					slots[stop] = slots[stop - 1]; /* gap 0 */
				else if (trial % 8 != 2)
					slots[0] = pos;
			}
			for (size_t i = 0; i < n; i++)
				syms[i] = (uint8_t)unit_rand(&s);
			uint8_t mask = trial & 1 ? 1 : 0xF;
			size_t k = v->encode_run(slots, syms, n, pos, mask, words);
			size_t wk = 0;
			for (uint64_t q = pos; wk < n; wk++) {
				uint64_t gap = slots[wk] - q;
				if (gap < 1 || gap > 4095)
					break;
				wwords[wk] = (uint16_t)(gap | (syms[wk] & mask) << 12);
				q = slots[wk];
			}
			CU_ASSERT_EQUAL(k, wk);
			CU_ASSERT_EQUAL(memcmp(words, wwords, k * 2), 0);
			(void)stop;
		}
	}
}

static CU_TestInfo tests[] = {
	{"announcement group planes and sum: every variant = definition", test_group_matches_definition},
	{"window gather of a group: every variant = definition", test_gather_matches_definition},
	{"sparse copy run: every variant = definition", test_copy_run_matches_definition},
	{"sparse-word runs: every variant = definition", test_sparse_runs_match_definition},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"symbits", NULL, NULL, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
