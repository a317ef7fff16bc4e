/* Announcements in their wire coding (dataplane/pipeline/announce.c, window.c): the index walk,
 * the slot of every event and Alice's window planes against the wire decoder
 * (dp_qd_announce_parse) and the window's definition, on random announcements with escapes,
 * corrupted ones, and slots partly outside the window. No EAL needed. */
#include <stdlib.h>
#include <string.h>

#include "../../dataplane/pipeline/node_internal.h"
#include "../../dataplane/wire/le.h"
#include "dp_qdist.h"
#include "dp_symbits.h"
#include "unit.h"

enum { N_MAX = 3000 };

struct ann_buf {
	struct dp_announce a;
	uint64_t planes[6][(N_MAX + 63) / 64];
	struct dp_ann_ck ck[N_MAX / DP_ANN_GROUP + 2];
	uint8_t msg[DP_QD_ANNOUNCE_CAP(N_MAX)];
};

static void ann_init(struct ann_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->a.msg = b->msg;
	b->a.ck = b->ck;
	b->a.ab = b->planes[0];
	b->a.abit = b->planes[1];
	b->a.lo = b->planes[2];
	b->a.hi = b->planes[3];
	b->a.bb = b->planes[4];
	b->a.match = b->planes[5];
}

/* n events at increasing slots from 'base' on: mostly short gaps, some beyond 4095 (escapes). */
static void random_events(uint64_t *slots, uint8_t *syms, unsigned n, uint64_t base, uint64_t *s)
{
	uint64_t pos = base;
	for (unsigned i = 0; i < n; i++) {
		uint64_t r = unit_rand(s);
		pos += i == 0 ? 0 : r % 16 == 0 ? 4096 + r % 300000 : 1 + r % 40;
		slots[i] = pos;
		syms[i] = (uint8_t)(unit_rand(s) & 0xF);
	}
}

static unsigned bit(const uint64_t *p, unsigned i)
{
	return (unsigned)(p[i / 64] >> (i % 64)) & 1;
}

/* Index a received payload as Alice does; 0 or -EPROTO. */
static int take(struct ann_buf *b, const uint8_t *p, size_t len)
{
	uint32_t n, nw;
	if (dp_qd_announce_hdr_get(p, len, N_MAX, &b->a.base, &n, &nw))
		return -EPROTO;
	memcpy(b->msg, p, len);
	b->a.n = n;
	b->a.nwords = nw;
	b->a.indexed = 0;
	return dp_ann_index(&b->a, NULL, true);
}

static void test_index_matches_wire_decoder(void)
{
	static struct ann_buf b;
	static uint64_t slots[N_MAX], got[N_MAX];
	static uint8_t syms[N_MAX], bases[N_MAX], p[DP_QD_ANNOUNCE_CAP(N_MAX)];
	uint64_t s = 21;
	unsigned bad = 0, accepted = 0, refused = 0;
	for (int trial = 0; trial < 300; trial++) {
		unsigned n = 1 + (unsigned)(unit_rand(&s) % N_MAX);
		random_events(slots, syms, n, 1 + unit_rand(&s) % 100000, &s);
		for (unsigned i = 0; i < n; i++)
			syms[i] &= 1; /* an announcement carries the basis */
		int len = dp_qd_announce_build(p, sizeof(p), slots[0], slots, syms, n);
		CU_ASSERT_FATAL(len > 0);
		if (trial % 3) { /* corrupt: a byte of the words, or the length */
			size_t at = DP_QD_ANNOUNCE_HDR + unit_rand(&s) % (size_t)(len - DP_QD_ANNOUNCE_HDR);
			if (trial % 3 == 1)
				p[at] ^= (uint8_t)(1 + unit_rand(&s) % 255);
			else
				len -= 2;
			put_le32(p + 12, (uint32_t)(len - DP_QD_ANNOUNCE_HDR) / 2);
		}
		ann_init(&b);
		int want = dp_qd_announce_parse(p, (size_t)len, got, bases, N_MAX);
		int rc = take(&b, p, (size_t)len);
		if ((want < 0) != (rc < 0)) {
			bad++;
			continue;
		}
		if (rc < 0) {
			refused++;
			continue;
		}
		accepted++;
		unsigned k = (unsigned)want;
		CU_ASSERT_EQUAL(b.a.n, k);
		CU_ASSERT_EQUAL(b.a.last, got[k - 1]);
		for (unsigned i = 0; i < k; i++)
			bad += dp_ann_slot(&b.a, i) != got[i] || bit(b.a.bb, i) != bases[i];
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(accepted > 100 && refused > 50); /* both sides of the line were tried */
}

/* Bob's own words (full symbols), indexed as they come in groups and then finally: the words cut
 * to delta and basis are the announcement the wire encoder makes, his bits are symbol bit 1. */
static void test_own_words_cut_and_bits(void)
{
	static struct ann_buf b;
	static uint64_t slots[N_MAX];
	static uint8_t syms[N_MAX], want[DP_QD_ANNOUNCE_CAP(N_MAX)], out[DP_QD_ANNOUNCE_CAP(N_MAX)];
	uint64_t s = 5;
	unsigned bad = 0;
	for (int trial = 0; trial < 100; trial++) {
		unsigned n = 1 + (unsigned)(unit_rand(&s) % N_MAX);
		random_events(slots, syms, n, 1 + unit_rand(&s) % 100000, &s);
		int len = dp_qd_announce_build(want, sizeof(want), slots[0], slots, syms, n);
		CU_ASSERT_FATAL(len > 0);
		ann_init(&b);
		int nw = dp_sparse_encode((uint16_t *)(void *)dp_ann_words(&b.a), N_MAX * 3, slots[0],
					  slots, syms, n);
		CU_ASSERT_FATAL(nw > 0);
		b.a.base = slots[0];
		b.a.nwords = (uint32_t)nw;
		/* Frames arrive: whole groups are indexed as the count grows, the rest at the end. */
		for (unsigned m = 0; m < n; m += 1 + (unsigned)(unit_rand(&s) % 200)) {
			b.a.n = m;
			CU_ASSERT_EQUAL(dp_ann_index(&b.a, out + DP_QD_ANNOUNCE_HDR, false), 0);
		}
		b.a.n = n;
		CU_ASSERT_EQUAL(dp_ann_index(&b.a, out + DP_QD_ANNOUNCE_HDR, true), 0);
		bad += memcmp(out + DP_QD_ANNOUNCE_HDR, want + DP_QD_ANNOUNCE_HDR,
			      (size_t)len - DP_QD_ANNOUNCE_HDR) != 0;
		for (unsigned i = 0; i < n; i++)
			bad += bit(b.a.abit, i) != (syms[i] >> 1 & 1u) || bit(b.a.bb, i) != (syms[i] & 1u) ||
			       dp_ann_slot(&b.a, i) != slots[i];
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* Alice's planes: the window nibble of every announced slot inside [win_lo, next_slot), 0xF
 * (class 3, unknown) outside; the ring wraps. */
static void test_window_planes_match_definition(void)
{
	enum { LOG = 16, SLOTS = 1 << LOG };
	static struct ann_buf b;
	static uint64_t slots[N_MAX];
	static uint8_t syms[N_MAX], p[DP_QD_ANNOUNCE_CAP(N_MAX)], win[SLOTS / 2 + DP_WIN_PAD];
	unit_fill_random(win, sizeof(win), 3);
	uint64_t s = 9;
	unsigned bad = 0;
	for (int trial = 0; trial < 200; trial++) {
		unsigned n = 1 + (unsigned)(unit_rand(&s) % N_MAX);
		random_events(slots, syms, n, 1000 + unit_rand(&s) % 100000, &s);
		for (unsigned i = 0; i < n; i++)
			syms[i] &= 1;
		int len = dp_qd_announce_build(p, sizeof(p), slots[0], slots, syms, n);
		CU_ASSERT_FATAL(len > 0);
		ann_init(&b);
		CU_ASSERT_FATAL(take(&b, p, (size_t)len) == 0);
		struct dp_link_rx rx = {.win = win, .win_mask = SLOTS - 1};
		rx.win_base = unit_rand(&s) % 5000;
		/* A window of at most SLOTS slots somewhere around the announcement. */
		uint64_t span = slots[n - 1] - slots[0] + 1;
		rx.win_lo = slots[0] - 500 + unit_rand(&s) % (span / 2 + 1000);
		rx.next_slot = rx.win_lo + SLOTS / 2 + unit_rand(&s) % (SLOTS / 2);
		if (trial % 4 == 0) { /* all inside */
			rx.win_lo = slots[0];
			rx.next_slot = slots[n - 1] + 1;
		} else if (trial % 4 == 1) { /* both ends on announced slots */
			unsigned i = (unsigned)(unit_rand(&s) % n), j = (unsigned)(unit_rand(&s) % n);
			rx.win_lo = slots[i < j ? i : j];
			rx.next_slot = slots[i < j ? j : i];
		}
		if (rx.next_slot - rx.win_lo > SLOTS)
			continue;
		dp_win_announce(&rx, &b.a);
		for (unsigned i = 0; i < n; i++) {
			unsigned nib = 0xF;
			if (slots[i] >= rx.win_lo && slots[i] < rx.next_slot) {
				uint64_t x = (slots[i] - rx.win_base) & (SLOTS - 1);
				nib = (win[x / 2] >> (4 * (x % 2))) & 0xF;
			}
			bad += bit(b.a.ab, i) != (nib & 1) || bit(b.a.abit, i) != (nib >> 1 & 1) ||
			       bit(b.a.lo, i) != (nib >> 2 & 1) || bit(b.a.hi, i) != (nib >> 3);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static CU_TestInfo tests[] = {
	{"index and slots = the wire decoder, malformed refused alike", test_index_matches_wire_decoder},
	{"own words: cut = the wire encoder, bits and slots, indexed in steps", test_own_words_cut_and_bits},
	{"window planes = definition, unknown outside the window", test_window_planes_match_definition},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"announce", NULL, NULL, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
