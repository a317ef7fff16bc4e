/* Symbol kernels of the sifting path: every variant the CPU has against the definitions written
 * out here (bit k of symbol i is bit i of plane k; the window nibble of slot s is nibble
 * (s - base) & mask, low nibble first), on random symbols, lengths around word boundaries and
 * slots that wrap around the window ring. */
#include <stdlib.h>
#include <string.h>

#include "dp_symbits.h"
#include "dst_cpu.h"
#include "unit.h"

static void test_planes_match_definition(void)
{
	enum { N = 1000 };
	uint8_t sym[N];
	uint64_t s = 3;
	for (int i = 0; i < N; i++)
		sym[i] = (uint8_t)unit_rand(&s); /* high nibble garbage is ignored */
	static const size_t lens[] = {0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 200, 999, 1000};
	for (const struct dp_symbits_variant *v = dp_symbits_variants; v->name; v++) {
		if (!dst_cpu_has(v->needs))
			continue;
		for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
			size_t n = lens[t], words = (n + 63) / 64;
			uint64_t p[4][16], want[4][16];
			memset(p, 0xA5, sizeof(p));
			memset(want, 0, sizeof(want));
			for (size_t i = 0; i < n; i++)
				for (int k = 0; k < 4; k++)
					want[k][i / 64] |= (uint64_t)((sym[i] >> k) & 1) << (i % 64);
			v->planes(sym, n, p[0], p[1], p[2], p[3]);
			for (int k = 0; k < 4; k++)
				CU_ASSERT_EQUAL(memcmp(p[k], want[k], words * 8), 0);
			/* Skipped planes are not written. */
			uint64_t only[16];
			memset(p, 0xA5, sizeof(p));
			v->planes(sym, n, NULL, only, NULL, NULL);
			CU_ASSERT_EQUAL(memcmp(only, want[1], words * 8), 0);
			CU_ASSERT_EQUAL(p[0][0], 0xA5A5A5A5A5A5A5A5ull);
		}
	}
}

static void test_gather_matches_definition(void)
{
	enum { LOG = 12, SLOTS = 1 << LOG, N = 3001 };
	static uint8_t win[SLOTS / 2 + DP_WIN_PAD];
	unit_fill_random(win, sizeof(win), 7);
	uint64_t slots[N], s = 11, base = 0xFFFFFFFFull * 3 + 5, pos = base + 100;
	for (int i = 0; i < N; i++) {
		pos += 1 + unit_rand(&s) % 9; /* spans several turns of the ring */
		slots[i] = pos;
	}
	for (const struct dp_symbits_variant *v = dp_symbits_variants; v->name; v++) {
		if (!dst_cpu_has(v->needs))
			continue;
		for (size_t n = 0; n < 20; n++) {
			uint8_t out[N];
			v->gather(win, SLOTS - 1, base, slots + 3, n, out);
			for (size_t i = 0; i < n; i++) {
				uint64_t x = (slots[3 + i] - base) % SLOTS;
				CU_ASSERT_EQUAL(out[i], (win[x / 2] >> (4 * (x % 2))) & 0xF);
			}
		}
		uint8_t out[N];
		v->gather(win, SLOTS - 1, base, slots, N, out);
		unsigned bad = 0;
		for (size_t i = 0; i < N; i++) {
			uint64_t x = (slots[i] - base) % SLOTS;
			bad += out[i] != ((win[x / 2] >> (4 * (x % 2))) & 0xF);
		}
		CU_ASSERT_EQUAL(bad, 0);
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
	{"symbol planes: every variant = definition", test_planes_match_definition},
	{"window gather: every variant = definition", test_gather_matches_definition},
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
