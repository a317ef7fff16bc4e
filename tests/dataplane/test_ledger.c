/* The link authentication ledger (dp_ledger.h).
 *  - A ledger made from the pre-shared secret restores streams whose pads equal the reference
 *    layout (dp_auth_split): a message sealed by one verifies on the other.
 *  - Two ends where one lost the last COMMIT of a block (or crashed before storing it) agree, by
 *    claims alone, on the same set of kept keys (the intersection of the blocks both finished) and
 *    on byte-identical pad segments at the same offsets.
 *  - Persistence: the records reload into the same state; after a simulated kill -9 (records as of
 *    the last commit) a restored sending stream's msg_seq are all above every msg_seq used before,
 *    a receiving stream resumes at its recorded position. Reservations count in each stream's
 *    unit (16 bytes sift, 4 distill); a version 1 header (16-byte units everywhere) converts.
 *  - Truncated, corrupt or foreign records, and a different pre-shared secret, are refused with a
 *    clear reason. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_ledger.h"
#include "unit.h"

/* ---- an in-memory record store (the sink) ---- */
#define MAXREC 512
struct mem {
	unsigned n;
	uint64_t rec[MAXREC];
	size_t len[MAXREC];
	uint8_t *data[MAXREC];
};

static int mem_put(void *ctx, uint64_t rec, const uint8_t *d, size_t len)
{
	struct mem *m = ctx;
	unsigned i = 0;
	while (i < m->n && m->rec[i] != rec)
		i++;
	if (i == m->n) {
		if (m->n == MAXREC)
			return -ENOSPC;
		m->n++;
	} else {
		free(m->data[i]);
	}
	m->rec[i] = rec;
	m->len[i] = len;
	m->data[i] = malloc(len ? len : 1);
	memcpy(m->data[i], d, len);
	return 0;
}

static int mem_del(void *ctx, uint64_t rec)
{
	struct mem *m = ctx;
	for (unsigned i = 0; i < m->n; i++) {
		if (m->rec[i] == rec) {
			free(m->data[i]);
			m->n--;
			m->rec[i] = m->rec[m->n];
			m->len[i] = m->len[m->n];
			m->data[i] = m->data[m->n];
			return 0;
		}
	}
	return -ENOENT;
}

static void mem_copy(struct mem *dst, const struct mem *src)
{
	dst->n = 0;
	for (unsigned i = 0; i < src->n; i++)
		mem_put(dst, src->rec[i], src->data[i], src->len[i]);
}

static void mem_clear(struct mem *m)
{
	for (unsigned i = 0; i < m->n; i++)
		free(m->data[i]);
	m->n = 0;
}

static struct dp_ledger *mem_load(struct mem *m, uint32_t link, const uint8_t *psk, size_t len,
				  struct dp_ledger_io *io, const char **why, int *rc)
{
	struct dp_ledger *l = dp_ledger_load_begin(link, io);
	*rc = 0;
	/* records in reverse order: the loader must not depend on it */
	for (unsigned i = m->n; i-- > 0 && !*rc;)
		*rc = dp_ledger_load_rec(l, m->rec[i], m->data[i], m->len[i], why);
	if (!*rc)
		*rc = dp_ledger_load_end(l, psk, len, why);
	if (*rc) {
		dp_ledger_free(l);
		return NULL;
	}
	return l;
}

/* ---- helpers ---- */
static uint8_t psk[DP_AUTH_PSK_MIN + 4 * 9000];

static void streams_of(struct dp_auth_stream s[4], struct dp_auth_stream *p[4])
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = &s[i];
}

/* Seal a fixed message on stream a, open it on b at the same msg_seq: 1 when it verifies. */
static int same_pad(struct dp_auth_stream *a, struct dp_auth_stream *b)
{
	uint8_t msg[DP_QD_HDR_LEN + 8 + DP_QD_TAG_LEN] = {1, 2, 3, 0, DP_QD_TAG_LEN};
	int n = dp_auth_seal(a, msg, DP_QD_HDR_LEN + 8);
	if (n < 0)
		return 0;
	uint64_t seq = a->next_seq - DP_QD_TAG_LEN / a->unit; /* a full tag spends 16 bytes */
	return dp_auth_open(b, msg, DP_QD_HDR_LEN + 8, seq) == DP_ERR_OK;
}

static void test_psk_layout(void)
{
	struct mem m = {0};
	struct dp_ledger_io io = {mem_put, mem_del, &m};
	const char *why = NULL;
	struct dp_ledger *l = dp_ledger_create(3, psk, sizeof(psk), &io, &why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	/* header + ceil(9000 / 4096) segments */
	CU_ASSERT_EQUAL(m.n, 1 + 3);
	CU_ASSERT_EQUAL(dp_ledger_head(l), (sizeof(psk) - 64) / 4 / 16 * 16);
	struct dp_auth_stream led[4], ref[4];
	struct dp_auth_stream *pl[4], *pr[4];
	streams_of(led, pl);
	streams_of(ref, pr);
	memset(ref, 0, sizeof(ref));
	CU_ASSERT_EQUAL_FATAL(dp_ledger_restore(l, pl, 0xF), 0);
	CU_ASSERT_EQUAL_FATAL(dp_auth_split(pr, psk, sizeof(psk), 1, sizeof(psk)), 0);
	for (unsigned i = 0; i < 4; i++) {
		/* nothing is usable before a reservation */
		uint8_t msg[DP_QD_HDR_LEN + DP_QD_TAG_LEN] = {[4] = DP_QD_TAG_LEN};
		CU_ASSERT_EQUAL(dp_auth_seal(&led[i], msg, DP_QD_HDR_LEN), -EAGAIN);
		led[i].limit = UINT64_MAX;
		/* messages 0, 1 and one deep into the third segment verify across */
		CU_ASSERT(same_pad(&led[i], &ref[i]));
		CU_ASSERT(same_pad(&ref[i], &led[i]));
		led[i].next_seq = ref[i].next_seq = 8192 / dp_auth_stream_unit(i);
		CU_ASSERT(same_pad(&led[i], &ref[i]));
		dp_auth_stream_free(&led[i]);
		dp_auth_stream_free(&ref[i]);
	}
	/* reservations: limits move ahead of use and the block number ahead of the one in use */
	uint64_t next[4] = {0, 5, 0, 0}, want[4] = {0, 0, 0, 2000};
	CU_ASSERT_EQUAL(dp_ledger_reserve(l, next, want, 7), 1);
	CU_ASSERT_EQUAL(dp_ledger_reserved(l, 0), DP_LEDGER_RESERVE);
	CU_ASSERT_EQUAL(dp_ledger_reserved(l, 1), 5 + DP_LEDGER_RESERVE);
	CU_ASSERT_EQUAL(dp_ledger_reserved(l, 3), 2001 + 4 * DP_LEDGER_RESERVE); /* 4-byte unit */
	CU_ASSERT_EQUAL(dp_ledger_block_next(l), 7 + DP_LEDGER_BLOCK_RESERVE);
	CU_ASSERT_EQUAL(dp_ledger_reserve(l, next, want, 7), 0);
	/* a segment every stream passed is deleted */
	uint64_t past[4] = {300, 300, 1200, 1200}; /* byte offset 4800 on every stream */
	CU_ASSERT_EQUAL(dp_ledger_reserve(l, past, want, 7), 0); /* limits unchanged */
	CU_ASSERT_EQUAL(m.n, 1 + 2);
	/* a receiving distill stream resumes at a msg_seq inside a 16-byte pad (4-byte unit) */
	uint64_t odd[4] = {300, 300, 1203, 1200};
	CU_ASSERT(dp_ledger_reserve(l, odd, want, 7) >= 0);
	CU_ASSERT_EQUAL_FATAL(dp_ledger_restore(l, pl, 0), 0);
	CU_ASSERT_EQUAL(led[2].next_seq, 1203);
	memset(ref, 0, sizeof(ref));
	CU_ASSERT_EQUAL_FATAL(dp_auth_split(pr, psk, sizeof(psk), 1, sizeof(psk)), 0);
	ref[2].next_seq = 1203;
	CU_ASSERT(same_pad(&ref[2], &led[2]));
	for (unsigned i = 0; i < 4; i++) {
		dp_auth_stream_free(&led[i]);
		dp_auth_stream_free(&ref[i]);
	}
	dp_ledger_free(l);
	mem_clear(&m);
}

/* ---- two ends ---- */
struct end {
	struct mem m;
	struct dp_ledger *l;
	unsigned n_kept, n_dropped, n_applied;
	uint64_t kept[64], dropped[64];
	uint64_t applied_block[64];
	uint64_t applied_at[64];
};

static void on_apply(void *ctx, uint64_t block, uint32_t part, const uint8_t *mat)
{
	struct end *e = ctx;
	(void)mat;
	e->applied_block[e->n_applied] = block;
	e->applied_at[e->n_applied++] = dp_ledger_head(e->l) - part;
}

static void on_key(void *ctx, struct km_key_desc *k)
{
	struct end *e = ctx;
	e->kept[e->n_kept++] = k->block_seq;
	km_key_material_free(k->material, (k->bits + 7) / 8);
	k->material = NULL;
}

static void on_drop(void *ctx, const struct km_key_desc *k)
{
	struct end *e = ctx;
	e->dropped[e->n_dropped++] = k->block_seq;
}

/* Block b's refill and key as both ends derive them (same bytes on both: the distilled key). */
static struct dp_refill block(uint64_t b)
{
	struct dp_refill r = {.block_seq = b, .part = 64};
	r.mat = km_key_material_alloc(4 * 64);
	unit_fill_random(r.mat, 4 * 64, 100 + b);
	r.key.material = km_key_material_alloc(32);
	unit_fill_random(r.key.material, 32, 200 + b);
	r.key.bits = 256;
	r.key.block_seq = b;
	r.key.key_id[0] = (uint8_t)b;
	return r;
}

static void finish(struct end *e, uint64_t b)
{
	struct dp_refill r = block(b);
	CU_ASSERT_EQUAL(dp_ledger_finished(e->l, &r), 0);
	CU_ASSERT_PTR_NULL(r.mat);
}

static int decide(struct end *e, const struct end *peer)
{
	struct dp_ledger_sink s = {on_apply, on_key, on_drop, e};
	struct dp_claim c = dp_ledger_claim(peer->l);
	return dp_ledger_decide(e->l, &c, UINT64_MAX, &s);
}

static void end_init(struct end *e)
{
	memset(e, 0, sizeof(*e));
	struct dp_ledger_io io = {mem_put, mem_del, &e->m};
	e->l = dp_ledger_create(1, psk, sizeof(psk), &io, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->l);
}

static void test_lost_commit(void)
{
	struct end a, b;
	end_init(&a);
	end_init(&b);
	/* both finish 0 and 1; A lost block 2 (its last COMMIT went missing) but B kept it; A never
	 * stored block 4 (crashed before the commit) while B did; both finish 3 and 5 */
	uint64_t fa[] = {0, 1, 3, 5}, fb[] = {0, 1, 2, 3, 4, 5};
	for (unsigned i = 0; i < 4; i++)
		finish(&a, fa[i]);
	/* claims cover only final blocks: B decides nothing beyond what A's claim covers */
	finish(&b, 0);
	finish(&b, 1);
	CU_ASSERT_EQUAL(decide(&b, &a), 2);
	for (unsigned i = 2; i < 6; i++)
		finish(&b, fb[i]);
	CU_ASSERT_EQUAL(decide(&a, &b), 4);
	CU_ASSERT_EQUAL(decide(&b, &a), 4);
	CU_ASSERT_EQUAL(dp_ledger_pending(a.l), 0);
	CU_ASSERT_EQUAL(dp_ledger_pending(b.l), 0);
	/* definition: kept = blocks both finished, in block order; dropped = the rest */
	uint64_t both[] = {0, 1, 3, 5};
	CU_ASSERT_EQUAL_FATAL(a.n_kept, 4);
	CU_ASSERT_EQUAL_FATAL(b.n_kept, 4);
	for (unsigned i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(a.kept[i], both[i]);
		CU_ASSERT_EQUAL(b.kept[i], both[i]);
		CU_ASSERT_EQUAL(a.applied_at[i], b.applied_at[i]);
	}
	CU_ASSERT_EQUAL(a.n_dropped, 0);
	CU_ASSERT_EQUAL(b.n_dropped, 2);
	CU_ASSERT_EQUAL(b.dropped[0], 2);
	CU_ASSERT_EQUAL(b.dropped[1], 4);
	CU_ASSERT_EQUAL(dp_ledger_head(a.l), dp_ledger_head(b.l));
	/* the pads at the same offsets agree: A's sending stream 0 against B's receiving stream 0,
	 * deep inside the last applied segment */
	struct dp_auth_stream sa[4], sb[4];
	struct dp_auth_stream *pa[4], *pb[4];
	streams_of(sa, pa);
	streams_of(sb, pb);
	CU_ASSERT_EQUAL_FATAL(dp_ledger_restore(a.l, pa, 0xF), 0);
	CU_ASSERT_EQUAL_FATAL(dp_ledger_restore(b.l, pb, 0xF), 0);
	for (unsigned i = 0; i < 4; i++) {
		sa[i].limit = sb[i].limit = UINT64_MAX;
		sa[i].next_seq = sb[i].next_seq = (dp_ledger_head(a.l) - 32) / sa[i].unit;
		CU_ASSERT(same_pad(&sa[i], &sb[i]));
		dp_auth_stream_free(&sa[i]);
		dp_auth_stream_free(&sb[i]);
	}
	dp_ledger_free(a.l);
	dp_ledger_free(b.l);
	mem_clear(&a.m);
	mem_clear(&b.m);
}

static void test_persist_crash(void)
{
	struct end a;
	end_init(&a);
	struct dp_ledger_io io = {mem_put, mem_del, &a.m};
	uint64_t next[4] = {0}, want[4] = {0};
	CU_ASSERT_EQUAL(dp_ledger_reserve(a.l, next, want, 0), 1);
	finish(&a, 0);
	finish(&a, 1);
	struct mem committed = {0};
	mem_copy(&committed, &a.m); /* the last commit before the crash */

	/* reload: same head, claim, reservations, pending */
	const char *why = NULL;
	int rc;
	struct dp_ledger *r = mem_load(&a.m, 1, psk, sizeof(psk), &io, &why, &rc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(dp_ledger_head(r), dp_ledger_head(a.l));
	CU_ASSERT_EQUAL(dp_ledger_pending(r), 2);
	CU_ASSERT_EQUAL(dp_ledger_claim(r).upto, 2);
	CU_ASSERT_EQUAL(dp_ledger_claim(r).held, 3);
	CU_ASSERT_EQUAL(dp_ledger_reserved(r, 2), 4 * DP_LEDGER_RESERVE);
	dp_ledger_free(r);

	/* a version 1 header (every stream counted in 16-byte pads) loads with the same byte
	 * offsets: the distill streams' numbers times four */
	struct mem v1 = {0};
	mem_copy(&v1, &a.m);
	for (unsigned i = 0; i < v1.n; i++) {
		if (v1.rec[i] != DP_LEDGER_REC_HEADER)
			continue;
		v1.data[i][4] = 1;
		for (unsigned k = 2; k < 4; k++) {
			uint8_t *f = v1.data[i] + 120 + 8 * k;
			uint64_t x = 0;
			memcpy(&x, f, 8);
			x /= 4;
			memcpy(f, &x, 8);
		}
	}
	r = mem_load(&v1, 1, psk, sizeof(psk), &io, &why, &rc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(dp_ledger_reserved(r, 0), DP_LEDGER_RESERVE);
	CU_ASSERT_EQUAL(dp_ledger_reserved(r, 2), 4 * DP_LEDGER_RESERVE);
	dp_ledger_free(r);
	mem_clear(&v1);

	/* the node used pads up to its reservation, then was killed: the restored streams start at
	 * the persisted reservation, above every msg_seq used */
	struct dp_auth_stream s[4];
	struct dp_auth_stream *p[4];
	streams_of(s, p);
	CU_ASSERT_EQUAL_FATAL(dp_ledger_restore(a.l, p, 0xF), 0);
	uint64_t used[4];
	for (unsigned i = 0; i < 4; i++) {
		uint8_t msg[DP_QD_HDR_LEN + DP_QD_TAG_LEN] = {[4] = DP_QD_TAG_LEN};
		s[i].limit = dp_ledger_reserved(a.l, i);
		while (dp_auth_seal(&s[i], msg, DP_QD_HDR_LEN) > 0)
			;
		used[i] = s[i].next_seq; /* stopped by the reservation, not by the pads */
		CU_ASSERT_EQUAL(used[i], DP_LEDGER_RESERVE * 16 / dp_auth_stream_unit(i));
		dp_auth_stream_free(&s[i]);
	}
	dp_ledger_free(a.l);
	struct mem after = {0};
	mem_copy(&after, &committed);
	r = mem_load(&after, 1, psk, sizeof(psk), &io, &why, &rc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	/* this end sends on streams 0 and 2 and receives on 1 and 3 */
	CU_ASSERT_EQUAL_FATAL(dp_ledger_restore(r, p, 0x5), 0);
	for (unsigned i = 0; i < 4; i++) {
		if (i % 2 == 0) {
			CU_ASSERT(s[i].next_seq >= used[i]);
			uint8_t msg[DP_QD_HDR_LEN + DP_QD_TAG_LEN] = {[4] = DP_QD_TAG_LEN};
			CU_ASSERT_EQUAL(dp_auth_seal(&s[i], msg, DP_QD_HDR_LEN), -EAGAIN); /* until reserved */
		} else {
			/* a receiver resumes where it was recorded (0 here) and follows the sender */
			CU_ASSERT_EQUAL(s[i].next_seq, 0);
			CU_ASSERT_EQUAL(s[i].limit, UINT64_MAX);
		}
		dp_auth_stream_free(&s[i]);
	}
	dp_ledger_free(r);
	mem_clear(&after);
	mem_clear(&committed);
	mem_clear(&a.m);
}

static void expect_refused(struct mem *m, const uint8_t *key, size_t klen, uint32_t link,
			   const char *reason, int err)
{
	const char *why = NULL;
	int rc;
	struct dp_ledger *l = mem_load(m, link, key, klen, NULL, &why, &rc);
	CU_ASSERT_PTR_NULL(l);
	CU_ASSERT_EQUAL(rc, err);
	CU_ASSERT(why && strcmp(why, reason) == 0);
	if (why && strcmp(why, reason))
		fprintf(stderr, "got '%s', expected '%s'\n", why, reason);
	dp_ledger_free(l);
}

static int find(const struct mem *m, uint64_t rec)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->rec[i] == rec)
			return (int)i;
	return -1;
}

static void test_refused(void)
{
	struct end a;
	end_init(&a);
	finish(&a, 0);
	struct mem m = {0};
	int h = find(&a.m, DP_LEDGER_REC_HEADER), s1 = find(&a.m, DP_LEDGER_REC_SEG(4096)),
	    pd = find(&a.m, DP_LEDGER_REC_PEND(0));
	CU_ASSERT_FATAL(h >= 0 && s1 >= 0 && pd >= 0);

	mem_copy(&m, &a.m);
	m.len[find(&m, DP_LEDGER_REC_HEADER)] -= 1;
	expect_refused(&m, psk, sizeof(psk), 1, "authentication state header truncated or malformed", -EPROTO);
	mem_clear(&m);

	mem_copy(&m, &a.m);
	m.data[find(&m, DP_LEDGER_REC_HEADER)][0] ^= 0xFF;
	expect_refused(&m, psk, sizeof(psk), 1, "authentication state header has a bad magic", -EPROTO);
	mem_clear(&m);

	mem_copy(&m, &a.m);
	expect_refused(&m, psk, sizeof(psk), 2, "authentication state belongs to another link", -EPROTO);
	mem_clear(&m);

	mem_copy(&m, &a.m);
	m.len[find(&m, DP_LEDGER_REC_SEG(4096))] -= 16;
	expect_refused(&m, psk, sizeof(psk), 1, "authentication segment record truncated or malformed",
		       -EPROTO);
	mem_clear(&m);

	mem_copy(&m, &a.m);
	mem_del(&m, DP_LEDGER_REC_SEG(4096)); /* a hole in the middle */
	expect_refused(&m, psk, sizeof(psk), 1, "authentication segments are not contiguous", -EPROTO);
	mem_clear(&m);

	mem_copy(&m, &a.m);
	m.len[find(&m, DP_LEDGER_REC_PEND(0))] -= 1;
	expect_refused(&m, psk, sizeof(psk), 1, "authentication pending record truncated or malformed",
		       -EPROTO);
	mem_clear(&m);

	mem_copy(&m, &a.m);
	mem_del(&m, DP_LEDGER_REC_HEADER);
	expect_refused(&m, psk, sizeof(psk), 1, "authentication state has no header record", -ENOENT);
	mem_clear(&m);

	uint8_t other[sizeof(psk)];
	memcpy(other, psk, sizeof(psk));
	other[100] ^= 1;
	mem_copy(&m, &a.m);
	expect_refused(&m, other, sizeof(other), 1,
		       "the pre-shared secret differs from the one this authentication state was "
		       "created from", -EKEYREJECTED);
	mem_clear(&m);

	/* a record number nobody writes */
	mem_copy(&m, &a.m);
	mem_put(&m, 5, (const uint8_t *)"x", 1);
	expect_refused(&m, psk, sizeof(psk), 1, "unknown authentication state record", -EPROTO);
	mem_clear(&m);

	/* and the intact records load */
	const char *why = NULL;
	int rc;
	struct dp_ledger *l = mem_load(&a.m, 1, psk, sizeof(psk), NULL, &why, &rc);
	CU_ASSERT_PTR_NOT_NULL(l);
	dp_ledger_free(l);
	dp_ledger_free(a.l);
	mem_clear(&a.m);
}

static void test_claims(void)
{
	struct dp_claim c = {.upto = 10, .held = 0x5}; /* blocks 9 and 7 held */
	CU_ASSERT_EQUAL(dp_claim_holds(&c, 9), 1);
	CU_ASSERT_EQUAL(dp_claim_holds(&c, 8), 0);
	CU_ASSERT_EQUAL(dp_claim_holds(&c, 7), 1);
	CU_ASSERT_EQUAL(dp_claim_holds(&c, 10), -1);
	struct dp_claim far = {.upto = 100, .held = ~0ull};
	CU_ASSERT_EQUAL(dp_claim_holds(&far, 36), 1);
	CU_ASSERT_EQUAL(dp_claim_holds(&far, 35), 0); /* outside the window */
	uint8_t w[DP_CLAIM_WIRE_LEN];
	dp_claim_put(w, &c);
	CU_ASSERT_EQUAL(w[0], 10);
	CU_ASSERT_EQUAL(w[8], 5);
	struct dp_claim d;
	dp_claim_get(w, &d);
	CU_ASSERT_EQUAL(d.upto, 10);
	CU_ASSERT_EQUAL(d.held, 5);
}

int main(void)
{
	unit_fill_random(psk, sizeof(psk), 42);
	CU_TestInfo tests[] = {{"claims: window and wire form", test_claims},
			       {"pre-shared secret layout equals dp_auth_split; reservations", test_psk_layout},
			       {"lost COMMIT / unstored block: both ends keep the same keys and pads", test_lost_commit},
			       {"reload, and restart after kill -9 never repeats a msg_seq", test_persist_crash},
			       {"truncated, corrupt, foreign records and another secret refused", test_refused},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"ledger", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
	return unit_run(suites);
}
