/* Sifting: exact counts on a hand-made case; every variant equals a per-event reference written
 * from the definition on random inputs, with odd start offsets, small blocks that fill up mid-word
 * and incremental calls; dense planes give the same blocks as the event lists. */
#include <stdlib.h>
#include <string.h>

#include "dst_cpu.h"
#include "dst_sift.h"
#include "unit.h"

static unsigned getbit(const uint64_t *p, size_t i) { return (unsigned)(p[i >> 6] >> (i & 63)) & 1; }
static void setbit(uint64_t *p, size_t i, unsigned v)
{
	p[i >> 6] = (p[i >> 6] & ~(1ULL << (i & 63))) | ((uint64_t)(v & 1) << (i & 63));
}

/* The definition, one event at a time (independent of the kernels' word logic). */
struct ref_block {
	size_t cap_key, cap_test, key_bits, test_bits;
	unsigned char *ka, *kb, *ta, *tb, *tc; /* tc: class of each test bit */
	struct dst_sift_counts c;
};

static size_t ref_sift(struct ref_block *r, const struct dst_events *ev, size_t from)
{
	for (size_t i = from; i < ev->n; i++) {
		unsigned ab = getbit(ev->a_basis, i), bb = getbit(ev->b_basis, i);
		unsigned k = getbit(ev->cls_lo, i) | getbit(ev->cls_hi, i) << 1;
		unsigned x = getbit(ev->a_bit, i), y = getbit(ev->b_bit, i);
		int match = k < 3 && ab == bb;
		if (match && ab == 0 && r->key_bits == r->cap_key)
			return i;
		if (match && ab == 1 && r->test_bits == r->cap_test)
			return i;
		r->c.events++;
		if (!match)
			continue;
		if (ab == 0) {
			r->ka[r->key_bits] = (unsigned char)x;
			r->kb[r->key_bits++] = (unsigned char)y;
			r->c.n_key[k]++;
			r->c.m_key[k] += x != y;
		} else {
			r->tc[r->test_bits] = (unsigned char)k;
			r->ta[r->test_bits] = (unsigned char)x;
			r->tb[r->test_bits++] = (unsigned char)y;
			r->c.n_test[k]++;
			r->c.m_test[k] += x != y;
		}
	}
	return ev->n;
}

static int same_counts(const struct dst_sift_counts *a, const struct dst_sift_counts *b)
{
	for (int k = 0; k < 3; k++)
		if (a->n_key[k] != b->n_key[k] || a->n_test[k] != b->n_test[k] ||
		    a->m_key[k] != b->m_key[k] || a->m_test[k] != b->m_test[k])
			return 0;
	return a->events == b->events;
}

/* Block content (from bit 'off' of the reference arrays) equals the reference. */
static int block_matches_tc(const struct dst_sift_block *b, const unsigned char *tc)
{
	for (size_t i = 0; i < b->test_bits; i++)
		if ((getbit(b->test_cls_lo, i) | getbit(b->test_cls_hi, i) << 1) != tc[i])
			return 0;
	return 1;
}

static int block_matches(const struct dst_sift_block *b, const unsigned char *ka,
			 const unsigned char *kb, const unsigned char *ta, const unsigned char *tb)
{
	for (size_t i = 0; i < b->key_bits; i++)
		if (getbit(b->key_a, i) != ka[i] || getbit(b->key_b, i) != kb[i])
			return 0;
	for (size_t i = 0; i < b->test_bits; i++)
		if (getbit(b->test_a, i) != ta[i] || getbit(b->test_b, i) != tb[i])
			return 0;
	/* nothing written past the end */
	if (b->key_bits % 64 && (b->key_a[b->key_bits / 64] >> (b->key_bits % 64)))
		return 0;
	return b->key_a[b->key_bits / 64 + 1] == 0 && b->test_a[b->test_bits / 64 + 1] == 0;
}

static void random_events(struct dst_events *ev, size_t n, uint64_t seed, int with_class3)
{
	uint64_t s = seed;
	ev->n = n;
	for (size_t i = 0; i < n; i++) {
		uint64_t r = unit_rand(&s);
		ev->slot[i] = (i ? ev->slot[i - 1] : 0) + 1 + (r >> 60);
		setbit(ev->a_basis, i, (r & 7) == 0);      /* X with probability 1/8 */
		setbit(ev->b_basis, i, ((r >> 3) & 7) == 0);
		setbit(ev->a_bit, i, (unsigned)(r >> 6));
		setbit(ev->b_bit, i, ((r >> 7) & 15) ? (unsigned)(r >> 6) : ~(unsigned)(r >> 6));
		unsigned k = (unsigned)((r >> 11) & 3);
		if (k == 3 && !with_class3)
			k = (unsigned)((r >> 13) % 3);
		setbit(ev->cls_lo, i, k & 1);
		setbit(ev->cls_hi, i, k >> 1);
	}
}

static void test_hand_made(void)
{
	/* Event: Alice basis/bit, Bob basis/bit, class. */
	static const unsigned tab[][5] = {
		{0, 1, 0, 1, 0}, /* Z match, class 0, right -> key 1 */
		{0, 0, 1, 1, 1}, /* mismatch */
		{1, 1, 1, 0, 1}, /* X match, class 1, error */
		{0, 0, 0, 1, 2}, /* Z match, class 2, error -> key a0 b1 */
		{1, 0, 1, 0, 2}, /* X match, class 2, right */
		{0, 1, 0, 1, 3}, /* class 3: invalid, dropped */
		{1, 1, 0, 1, 0}, /* mismatch */
		{0, 0, 0, 0, 1}, /* Z match, class 1, right -> key 0 */
	};
	struct dst_events *ev = dst_events_create(64);
	CU_ASSERT_FATAL(ev != NULL);
	ev->n = sizeof(tab) / sizeof(tab[0]);
	for (size_t i = 0; i < ev->n; i++) {
		ev->slot[i] = 100 + 3 * i;
		setbit(ev->a_basis, i, tab[i][0]);
		setbit(ev->a_bit, i, tab[i][1]);
		setbit(ev->b_basis, i, tab[i][2]);
		setbit(ev->b_bit, i, tab[i][3]);
		setbit(ev->cls_lo, i, tab[i][4] & 1);
		setbit(ev->cls_hi, i, tab[i][4] >> 1);
	}
	for (const struct dst_sift_variant *v = dst_sift_variants; v->name; v++) {
		if ((dst_cpu_detected() & v->needs) != v->needs)
			continue;
		struct dst_sift_block *b = dst_sift_block_create(100, 100);
		dst_sift_block_reset(b, 100);
		CU_ASSERT_EQUAL(v->events(b, ev, 0), 8);
		CU_ASSERT_EQUAL(b->key_bits, 3);
		CU_ASSERT_EQUAL(b->key_a[0], 0x1 | 0 << 1 | 0 << 2);
		CU_ASSERT_EQUAL(b->key_b[0], 0x1 | 1 << 1 | 0 << 2);
		CU_ASSERT_EQUAL(b->test_bits, 2);
		CU_ASSERT_EQUAL(b->test_a[0], 0x1);
		CU_ASSERT_EQUAL(b->test_b[0], 0x0);
		CU_ASSERT_EQUAL(b->c.n_key[0], 1);
		CU_ASSERT_EQUAL(b->c.n_key[1], 1);
		CU_ASSERT_EQUAL(b->c.n_key[2], 1);
		CU_ASSERT_EQUAL(b->c.m_key[2], 1);
		CU_ASSERT_EQUAL(b->c.m_key[0] + b->c.m_key[1], 0);
		CU_ASSERT_EQUAL(b->c.n_test[1], 1);
		CU_ASSERT_EQUAL(b->c.n_test[2], 1);
		CU_ASSERT_EQUAL(b->c.m_test[1], 1);
		CU_ASSERT_EQUAL(b->c.m_test[2], 0);
		CU_ASSERT_EQUAL(b->c.events, 8);
		CU_ASSERT_EQUAL(b->c.slot_begin, 100);
		CU_ASSERT_EQUAL(b->c.slot_end, 100 + 3 * 7 + 1);
		/* A block of 2 key bits stops before the third Z match (event 7). */
		dst_sift_block_reset(b, 100);
		b->cap_key = 2;
		CU_ASSERT_EQUAL(v->events(b, ev, 0), 7);
		CU_ASSERT_EQUAL(b->key_bits, 2);
		CU_ASSERT_EQUAL(b->c.events, 7);
		CU_ASSERT_EQUAL(b->c.slot_end, 100 + 3 * 7);
		dst_sift_block_free(b);
	}
	dst_events_free(ev);
}

/* Sift ev with variant v in blocks of cap_key bits, starting at 'from', against the reference. */
static void run_against_reference(const struct dst_sift_variant *v, const struct dst_events *ev,
				  size_t from, size_t cap_key, size_t cap_test, size_t chunk)
{
	struct ref_block r;
	memset(&r, 0, sizeof(r));
	r.cap_key = cap_key;
	r.cap_test = cap_test;
	r.ka = malloc(cap_key);
	r.kb = malloc(cap_key);
	r.ta = malloc(cap_test);
	r.tb = malloc(cap_test);
	r.tc = malloc(cap_test);
	struct dst_sift_block *b = dst_sift_block_create(cap_key, cap_test);
	CU_ASSERT_FATAL(b && r.ka && r.kb && r.ta && r.tb);
	dst_sift_block_reset(b, 0);
	size_t pos = from, rpos = from;
	int blocks = 0, ok = 1;
	/* Feed the events as frames of 'chunk' events (a view on the same planes). */
	struct dst_events view = *ev;
	size_t frame_end = from;
	while (pos < ev->n && blocks < 1000) {
		if (pos >= frame_end)
			frame_end = pos + chunk < ev->n ? pos + chunk : ev->n;
		view.n = frame_end;
		size_t next = v->events(b, &view, pos);
		size_t rnext = ref_sift(&r, &view, rpos);
		ok &= next == rnext;
		pos = next;
		rpos = rnext;
		if (next < frame_end || dst_sift_block_full(b)) {
			ok &= same_counts(&b->c, &r.c) && b->key_bits == r.key_bits &&
			      b->test_bits == r.test_bits && block_matches(b, r.ka, r.kb, r.ta, r.tb) &&
			      block_matches_tc(b, r.tc);
			dst_sift_block_reset(b, 0);
			memset(&r.c, 0, sizeof(r.c));
			r.key_bits = r.test_bits = 0;
			blocks++;
		}
	}
	ok &= same_counts(&b->c, &r.c) && block_matches(b, r.ka, r.kb, r.ta, r.tb);
	CU_ASSERT(ok);
	CU_ASSERT(pos == ev->n);
	dst_sift_block_free(b);
	free(r.ka);
	free(r.kb);
	free(r.ta);
	free(r.tb);
	free(r.tc);
}

static void test_variants_vs_reference(void)
{
	struct dst_events *ev = dst_events_create(20000);
	CU_ASSERT_FATAL(ev != NULL);
	static const size_t caps[][4] = {
		{1 << 20, 1 << 20, 0, 20000}, {1000, 1 << 20, 3, 20000}, {777, 61, 17, 333},
		{64, 64, 64, 64},            {5000, 700, 1, 1},         {12345, 999, 100, 4097}};
	for (int round = 0; round < 6; round++) {
		random_events(ev, 20000 - 37 * round, 1000 + round, round & 1);
		for (const struct dst_sift_variant *v = dst_sift_variants; v->name; v++) {
			if ((dst_cpu_detected() & v->needs) != v->needs)
				continue;
			run_against_reference(v, ev, caps[round][2], caps[round][0], caps[round][1],
					      caps[round][3]);
		}
	}
	dst_events_free(ev);
}

static void test_planes_equal_events(void)
{
	struct dst_link_params p;
	dst_link_params_default(&p);
	p.loss_db = 0; /* many clicks per word */
	p.p_ap = 0.1;
	struct dst_model *ml = dst_model_create(&p, 77), *md = dst_model_create(&p, 77);
	struct dst_planes *pl = dst_planes_create(1 << 18);
	struct dst_events *ev = dst_events_create(1 << 18);
	CU_ASSERT_FATAL(ml && md && pl && ev);
	for (const struct dst_sift_variant *v = dst_sift_variants; v->name; v++) {
		if ((dst_cpu_detected() & v->needs) != v->needs)
			continue;
		for (const struct dst_sift_variant *u = dst_sift_variants; u->name; u++) {
			if ((dst_cpu_detected() & u->needs) != u->needs)
				continue;
			struct dst_model *a = dst_model_create(&p, 77), *d = dst_model_create(&p, 77);
			struct dst_sift_block *bl = dst_sift_block_create(1001, 301),
					      *bd = dst_sift_block_create(1001, 301);
			dst_sift_block_reset(bl, 0);
			dst_sift_block_reset(bd, 0);
			int ok = 1, blocks = 0;
			for (int w = 0; w < 3; w++) {
				dst_model_planes(d, pl);
				ev->n = 0;
				dst_model_events(a, ev, pl->slot0 + pl->nslots);
				size_t pe = 0, pp = 0;
				while (pe < ev->n || pp < pl->nslots) {
					pe = v->events(bl, ev, pe);
					pp = u->planes(bd, pl, pp);
					/* both stop at the same event */
					ok &= (pe < ev->n) == (pp < pl->nslots);
					if (pe < ev->n)
						ok &= ev->slot[pe] == pl->slot0 + pp;
					ok &= same_counts(&bl->c, &bd->c) && bl->key_bits == bd->key_bits;
					ok &= !memcmp(bl->key_a, bd->key_a, 8 * (bl->key_bits / 64 + 1));
					ok &= !memcmp(bl->key_b, bd->key_b, 8 * (bl->key_bits / 64 + 1));
					ok &= !memcmp(bl->test_b, bd->test_b, 8 * (bl->test_bits / 64 + 1));
					if (pe < ev->n) {
						ok &= bd->c.slot_end == ev->slot[pe];
						dst_sift_block_reset(bl, ev->slot[pe]);
						dst_sift_block_reset(bd, ev->slot[pe]);
						blocks++;
					}
				}
			}
			CU_ASSERT(ok);
			CU_ASSERT(blocks > 10);
			dst_sift_block_free(bl);
			dst_sift_block_free(bd);
			dst_model_free(a);
			dst_model_free(d);
		}
	}
	dst_planes_free(pl);
	dst_events_free(ev);
	dst_model_free(ml);
	dst_model_free(md);
}

/* Random dense planes with an odd window, sparse and dense clicks, resumed at every stop: every
 * variant's planes kernel equals the per-event reference on the clicked slots. */
static void test_random_planes(void)
{
	const size_t nslots = 100003;
	struct dst_planes *pl = dst_planes_create(nslots);
	struct dst_events *ev = dst_events_create(nslots);
	CU_ASSERT_FATAL(pl && ev);
	for (int round = 0; round < 4; round++) {
		uint64_t seed = 500 + round;
		size_t words = (nslots + 63) / 64;
		uint64_t *planes[] = {pl->a_basis, pl->a_bit, pl->cls_lo, pl->cls_hi, pl->b_basis, pl->b_bit};
		for (int k = 0; k < 6; k++)
			unit_fill_random(planes[k], words * 8, seed * 10 + k);
		for (size_t w = 0; w < words; w++) { /* density 1/2^(round+1) per slot, some empty runs */
			uint64_t d = ~0ULL;
			for (int r = 0; r <= round; r++)
				d &= unit_rand(&seed);
			pl->det[w] = (w / 300) % 3 == 1 ? 0 : d;
			pl->cls_hi[w] &= ~pl->cls_lo[w] | (round == 3 ? ~0ULL : 0); /* class 3 in round 3 */
		}
		pl->slot0 = 1000;
		pl->nslots = nslots - round;
		/* The clicked slots as an event list, fed to the reference. */
		ev->n = 0;
		for (size_t i = 0; i < pl->nslots; i++) {
			if (!getbit(pl->det, i))
				continue;
			size_t j = ev->n++;
			ev->slot[j] = pl->slot0 + i;
			setbit(ev->a_basis, j, getbit(pl->a_basis, i));
			setbit(ev->a_bit, j, getbit(pl->a_bit, i));
			setbit(ev->cls_lo, j, getbit(pl->cls_lo, i));
			setbit(ev->cls_hi, j, getbit(pl->cls_hi, i));
			setbit(ev->b_basis, j, getbit(pl->b_basis, i));
			setbit(ev->b_bit, j, getbit(pl->b_bit, i));
		}
		for (const struct dst_sift_variant *v = dst_sift_variants; v->name; v++) {
			if ((dst_cpu_detected() & v->needs) != v->needs)
				continue;
			size_t cap = 299 + 50 * (size_t)round;
			struct ref_block r;
			memset(&r, 0, sizeof(r));
			r.cap_key = cap;
			r.cap_test = cap;
			r.ka = malloc(cap);
			r.kb = malloc(cap);
			r.ta = malloc(cap);
			r.tb = malloc(cap);
			r.tc = malloc(cap);
			struct dst_sift_block *b = dst_sift_block_create(cap, cap);
			dst_sift_block_reset(b, pl->slot0);
			size_t pos = 0, rpos = 0;
			int ok = 1, blocks = 0;
			while (pos < pl->nslots) {
				pos = v->planes(b, pl, pos);
				rpos = ref_sift(&r, ev, rpos);
				ok &= pos == pl->nslots ? rpos == ev->n : (rpos < ev->n && ev->slot[rpos] == pl->slot0 + pos);
				ok &= same_counts(&b->c, &r.c) && b->key_bits == r.key_bits &&
				      b->test_bits == r.test_bits && block_matches(b, r.ka, r.kb, r.ta, r.tb) &&
				      block_matches_tc(b, r.tc);
				if (pos < pl->nslots) {
					dst_sift_block_reset(b, pl->slot0 + pos);
					memset(&r.c, 0, sizeof(r.c));
					r.key_bits = r.test_bits = 0;
					blocks++;
				}
			}
			CU_ASSERT(ok);
			CU_ASSERT(blocks >= 1);
			CU_ASSERT_EQUAL(b->c.slot_end, pl->slot0 + pl->nslots);
			dst_sift_block_free(b);
			free(r.ka);
			free(r.kb);
			free(r.ta);
			free(r.tb);
			free(r.tc);
		}
	}
	dst_planes_free(pl);
	dst_events_free(ev);
}

/* One party's bits only (b_bit NULL): the same key and test bits for that party, key_b = key_a,
 * no errors; dst_sift_test_errors() with the peer's test bits restores the per-class test errors. */
static void test_one_sided(void)
{
	struct dst_events *ev = dst_events_create(30000);
	CU_ASSERT_FATAL(ev != NULL);
	random_events(ev, 30000, 77, 1);
	for (const struct dst_sift_variant *v = dst_sift_variants; v->name; v++) {
		if ((dst_cpu_detected() & v->needs) != v->needs)
			continue;
		struct dst_sift_block *both = dst_sift_block_create(1 << 15, 1 << 15),
				      *one = dst_sift_block_create(1 << 15, 1 << 15);
		dst_sift_block_reset(both, 0);
		dst_sift_block_reset(one, 0);
		CU_ASSERT_EQUAL(v->events(both, ev, 0), ev->n);
		struct dst_events alone = *ev;
		alone.b_bit = NULL;
		CU_ASSERT_EQUAL(v->events(one, &alone, 0), ev->n);
		CU_ASSERT_EQUAL(one->key_bits, both->key_bits);
		CU_ASSERT_EQUAL(one->test_bits, both->test_bits);
		size_t kw = (both->key_bits + 63) / 64 * 8, tw = (both->test_bits + 63) / 64 * 8;
		CU_ASSERT_EQUAL(memcmp(one->key_a, both->key_a, kw), 0);
		CU_ASSERT_EQUAL(memcmp(one->key_b, both->key_a, kw), 0);
		CU_ASSERT_EQUAL(memcmp(one->test_a, both->test_a, tw), 0);
		CU_ASSERT_EQUAL(memcmp(one->test_cls_lo, both->test_cls_lo, tw), 0);
		uint64_t errs = 0;
		for (int k = 0; k < 3; k++) {
			CU_ASSERT_EQUAL(one->c.n_key[k], both->c.n_key[k]);
			CU_ASSERT_EQUAL(one->c.n_test[k], both->c.n_test[k]);
			CU_ASSERT_EQUAL(one->c.m_key[k] + one->c.m_test[k], 0);
			errs += both->c.m_test[k];
		}
		CU_ASSERT(errs > 10);
		CU_ASSERT_EQUAL(dst_sift_test_errors(one, both->test_b), errs);
		CU_ASSERT_EQUAL(memcmp(one->c.m_test, both->c.m_test, sizeof(one->c.m_test)), 0);
		dst_sift_block_free(both);
		dst_sift_block_free(one);
	}
	dst_events_free(ev);
}

/* Without slots (ev->slot NULL) every variant appends the same bits and counts and stops at the
 * same event; only the block's slot window is left to the caller. */
static void test_no_slots(void)
{
	struct dst_events *ev = dst_events_create(5000);
	CU_ASSERT_FATAL(ev != NULL);
	random_events(ev, 5000, 77, 1);
	for (const struct dst_sift_variant *v = dst_sift_variants; v->name; v++) {
		if ((dst_cpu_detected() & v->needs) != v->needs)
			continue;
		struct dst_sift_block *a = dst_sift_block_create(1000, 1000);
		struct dst_sift_block *b = dst_sift_block_create(1000, 1000);
		CU_ASSERT_FATAL(a && b);
		dst_sift_block_reset(a, 5);
		dst_sift_block_reset(b, 5);
		size_t ia = v->events(a, ev, 3);
		uint64_t *slot = ev->slot;
		ev->slot = NULL;
		size_t ib = v->events(b, ev, 3);
		ev->slot = slot;
		CU_ASSERT(ia < ev->n); /* the block filled: a stop inside the list */
		CU_ASSERT_EQUAL(ia, ib);
		CU_ASSERT_EQUAL(a->key_bits, b->key_bits);
		CU_ASSERT_EQUAL(a->test_bits, b->test_bits);
		CU_ASSERT_EQUAL(memcmp(a->key_a, b->key_a, (a->key_bits + 7) / 8), 0);
		CU_ASSERT_EQUAL(memcmp(a->test_a, b->test_a, (a->test_bits + 7) / 8), 0);
		CU_ASSERT(same_counts(&a->c, &b->c));
		CU_ASSERT_EQUAL(a->c.slot_end, slot[ia]);
		CU_ASSERT_EQUAL(b->c.slot_end, 5);
		dst_sift_block_free(a);
		dst_sift_block_free(b);
	}
	dst_events_free(ev);
}

static void test_dispatch_follows_cpu_level(void)
{
	/* The dispatched entry point gives the reference's result under every level. */
	struct dst_events *ev = dst_events_create(5000);
	random_events(ev, 5000, 9, 0);
	struct dst_sift_block *ref = dst_sift_block_create(4000, 4000), *b = dst_sift_block_create(4000, 4000);
	dst_sift_block_reset(ref, 0);
	dst_sift_variants[0].events(ref, ev, 0);
	const char *levels[] = {"generic", "avx2", "native"};
	for (int i = 0; i < 3; i++) {
		if (dst_cpu_select(levels[i]))
			continue;
		dst_sift_block_reset(b, 0);
		CU_ASSERT_EQUAL(dst_sift_events(b, ev, 0), 5000);
		CU_ASSERT(same_counts(&b->c, &ref->c));
		CU_ASSERT_EQUAL(memcmp(b->key_a, ref->key_a, 8 * (4000 / 64 + 2)), 0);
	}
	dst_cpu_select("native");
	dst_sift_block_free(ref);
	dst_sift_block_free(b);
	dst_events_free(ev);
}

static CU_TestInfo sift_tests[] = {
	{"hand-made events: exact counts and bits", test_hand_made},
	{"every variant equals the per-event definition", test_variants_vs_reference},
	{"dense planes give the same blocks as event lists", test_planes_equal_events},
	{"random dense planes equal the per-event definition", test_random_planes},
	{"one party's bits only, test errors from the peer's bits", test_one_sided},
	{"without slots: same bits, counts and stop, slot window left alone", test_no_slots},
	{"dispatch under every CPU level", test_dispatch_follows_cpu_level},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"sift", NULL, NULL, NULL, NULL, sift_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
