/* Block pipeline: on a simulated 25 km link, Alice's and Bob's state machines end with the same
 * key, equal to the Toeplitz definition applied to Alice's raw key with the seed she drew; every
 * corrupted message aborts with no key; abort paths yield no key on either side; the reconcile
 * interface round-trips; LDPC's default blind rounds recover failing frames with the leak their
 * messages define. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dst_block.h"
#include "dst_cpu.h"
#include "dst_cascade.h"
#include "dst_model.h"
#include "dst_pa.h"
#include "dst_reconcile.h"
#include "dst_sift.h"
#include "unit.h"

/* Deterministic randomness that remembers the last request (the PA seed on Alice's side). */
struct rnd {
	uint64_t s;
	uint8_t *last;
	size_t last_len, cap;
};
static int rnd_fill(void *ctx, void *buf, size_t len)
{
	struct rnd *r = ctx;
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(unit_rand(&r->s) >> 32);
	if (len > r->cap) {
		free(r->last);
		r->last = malloc(len);
		r->cap = len;
	}
	memcpy(r->last, buf, len);
	r->last_len = len;
	return 0;
}

static struct dst_sift_block *blk;
static struct dst_link_params link;

static int make_block(double e_mis, uint64_t slots)
{
	dst_link_params_default(&link);
	link.loss_db = 25 * 0.2;
	link.e_mis = e_mis;
	struct dst_model *m = dst_model_create(&link, 2024);
	struct dst_events *ev = dst_events_create(1 << 20);
	if (!m || !ev)
		return -ENOMEM;
	dst_sift_block_free(blk);
	blk = dst_sift_block_create(1 << 20, 1 << 18);
	dst_sift_block_reset(blk, 0);
	while (dst_model_slot(m) < slots) {
		ev->n = 0;
		dst_model_events(m, ev, slots);
		dst_sift_events(blk, ev, 0);
	}
	blk->c.slot_end = slots;
	dst_model_free(m);
	dst_events_free(ev);
	return 0;
}

static void config(struct dst_block_config *cfg, struct rnd *r)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->rec.method = DST_REC_CASCADE;
	cfg->rec.max_bits = 1 << 20;
	cfg->rec.seed = 99;
	cfg->max_test_bits = 1 << 18;
	dst_fk_config_default(&cfg->fk, &link);
	cfg->random = rnd_fill;
	cfg->random_ctx = r;
}

struct outcome {
	const uint64_t *ka, *kb;
	const struct dst_block_report *ra, *rb;
	unsigned msgs;
};

/* Runs one block; corrupt_msg >= 1 flips one bit of that message (1 = Bob's first). */
static struct outcome run(struct dst_block_alice *A, struct dst_block_bob *B, size_t cap,
			  int corrupt_msg, uint64_t flip_seed)
{
	struct dst_block_input ia = {7, blk->key_a, blk->key_bits, blk->test_a, blk->test_bits, blk->c};
	struct dst_block_input ib = {7, blk->key_b, blk->key_bits, blk->test_b, blk->test_bits, blk->c};
	memset(ib.counts.m_test, 0, sizeof(ib.counts.m_test)); /* Bob does not know them */
	memset(ib.counts.m_key, 0, sizeof(ib.counts.m_key));
	CU_ASSERT_EQUAL_FATAL(dst_block_alice_begin(A, &ia), 0);
	CU_ASSERT_EQUAL_FATAL(dst_block_bob_begin(B, &ib), 0);
	uint8_t *m1 = malloc(cap), *m2 = malloc(cap);
	size_t l1 = 0, l2 = 0;
	unsigned msgs = 0;
	int rb = dst_block_bob_step(B, NULL, 0, m1, cap, &l1), ra = DST_BLOCK_CONTINUE;
	for (;;) {
		if (l1 == 0)
			break;
		if (++msgs == (unsigned)corrupt_msg)
			m1[flip_seed % l1] ^= (uint8_t)(1u << (flip_seed % 8));
		ra = dst_block_alice_step(A, m1, l1, m2, cap, &l2);
		CU_ASSERT_FATAL(ra >= 0);
		if (rb == DST_BLOCK_DONE || l2 == 0)
			break;
		if (++msgs == (unsigned)corrupt_msg)
			m2[flip_seed % l2] ^= (uint8_t)(1u << (flip_seed % 8));
		rb = dst_block_bob_step(B, m2, l2, m1, cap, &l1);
		CU_ASSERT_FATAL(rb >= 0);
		if (ra == DST_BLOCK_DONE)
			break;
	}
	free(m1);
	free(m2);
	struct outcome o = {dst_block_alice_key(A), dst_block_bob_key(B), dst_block_alice_report(A),
			    dst_block_bob_report(B), msgs};
	return o;
}

static void test_keys_identical_and_definition(void)
{
	CU_ASSERT_EQUAL_FATAL(make_block(0.005, 120000000), 0);
	struct rnd ra = {1, NULL, 0, 0}, rb = {2, NULL, 0, 0};
	struct dst_block_config ca, cb;
	config(&ca, &ra);
	config(&cb, &rb);
	struct dst_block_alice *A = dst_block_alice_create(&ca);
	struct dst_block_bob *B = dst_block_bob_create(&cb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(A);
	CU_ASSERT_PTR_NOT_NULL_FATAL(B);
	size_t cap = dst_block_max_msg(&ca);
	struct outcome o = run(A, B, cap, 0, 0);
	CU_ASSERT_EQUAL(o.ra->status, DST_BLOCK_OK);
	CU_ASSERT_EQUAL(o.rb->status, DST_BLOCK_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o.ka);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o.kb);
	uint64_t l = o.ra->secret_bits;
	CU_ASSERT(l > 1000);
	CU_ASSERT_EQUAL(o.rb->secret_bits, l);
	CU_ASSERT(memcmp(o.ka, o.kb, (l + 7) / 8) == 0);
	/* The sifter counted the true key errors: Cascade corrected exactly those. */
	uint64_t m_key = blk->c.m_key[0] + blk->c.m_key[1] + blk->c.m_key[2];
	CU_ASSERT(m_key > 0);
	CU_ASSERT_DOUBLE_EQUAL(o.ra->qber_key, (double)m_key / (double)blk->key_bits, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(o.rb->qber_key, (double)m_key / (double)blk->key_bits, 1e-12);
	CU_ASSERT_EQUAL(o.ra->leak_bits, o.rb->leak_bits);
	CU_ASSERT_EQUAL(o.ra->sifted_bits, blk->key_bits);
	CU_ASSERT(o.ra->efficiency > 1.0 && o.ra->efficiency < 1.2);
	/* Alice's key is the Toeplitz definition applied to her raw key with the seed she drew. */
	uint64_t n = blk->key_bits;
	CU_ASSERT_EQUAL_FATAL(ra.last_len, (n + l - 1 + 7) / 8);
	uint64_t *seed = calloc(DST_PA_WORDS(n + l - 1), 8), *y = calloc(DST_PA_WORDS(l), 8);
	memcpy(seed, ra.last, ra.last_len);
	CU_ASSERT_EQUAL(dst_pa_naive(n, l, seed, blk->key_a, y), 0);
	CU_ASSERT(memcmp(y, o.ka, (l + 7) / 8) == 0);
	/* The length is the finite-key formula with the exact leak and the true key errors. */
	struct dst_fk_stats s;
	struct dst_fk_result r;
	dst_fk_stats_from_counts(&s, &blk->c, 1);
	dst_fk_estimate(&ca.fk, &s, (double)o.ra->leak_bits, &r);
	CU_ASSERT_EQUAL(r.length, (int64_t)l);
	free(seed);
	free(y);

	/* Same objects, next block: still identical keys (nothing left over). */
	o = run(A, B, cap, 0, 0);
	CU_ASSERT_EQUAL(o.ra->status, DST_BLOCK_OK);
	CU_ASSERT(o.ka && o.kb && memcmp(o.ka, o.kb, (o.ra->secret_bits + 7) / 8) == 0);
	dst_block_alice_free(A);
	dst_block_bob_free(B);

	/* The same block through the LDPC method. */
	if (dst_rec_method_available(DST_REC_LDPC)) {
		ca.rec.method = cb.rec.method = DST_REC_LDPC;
		A = dst_block_alice_create(&ca);
		B = dst_block_bob_create(&cb);
		CU_ASSERT_PTR_NOT_NULL_FATAL(A);
		CU_ASSERT_PTR_NOT_NULL_FATAL(B);
		o = run(A, B, dst_block_max_msg(&ca), 0, 0);
		CU_ASSERT_EQUAL(o.ra->status, DST_BLOCK_OK);
		CU_ASSERT_EQUAL(o.rb->status, DST_BLOCK_OK);
		CU_ASSERT(o.ra->secret_bits > 1000);
		CU_ASSERT(o.ka && o.kb && memcmp(o.ka, o.kb, (o.ra->secret_bits + 7) / 8) == 0);
		CU_ASSERT_DOUBLE_EQUAL(o.rb->qber_key, (double)m_key / (double)o.rb->reconciled_bits, 1e-3);
		dst_block_alice_free(A);
		dst_block_bob_free(B);
	}
	free(ra.last);
	free(rb.last);
}

static void test_corrupted_message_aborts(void)
{
	CU_ASSERT_EQUAL_FATAL(make_block(0.005, 80000000), 0);
	struct rnd ra = {1, NULL, 0, 0}, rb = {2, NULL, 0, 0};
	struct dst_block_config ca, cb;
	config(&ca, &ra);
	config(&cb, &rb);
	struct dst_block_alice *A = dst_block_alice_create(&ca);
	struct dst_block_bob *B = dst_block_bob_create(&cb);
	size_t cap = dst_block_max_msg(&ca);
	struct outcome clean = run(A, B, cap, 0, 0);
	unsigned total = clean.msgs;
	CU_ASSERT_EQUAL(clean.ra->status, DST_BLOCK_OK);
	CU_ASSERT_FATAL(total >= 8);
	uint64_t s = 77;
	/* Every message type: PE request/answer, the first and some middle reconciliation messages,
	 * VERIFY, PA and CONFIRM at the end; two different bits each. */
	unsigned pick[] = {1, 2, 3, 4, 5, 6, total / 2, total / 2 + 1, total - 3, total - 2, total - 1, total};
	for (unsigned i = 0; i < 2 * sizeof(pick) / sizeof(pick[0]); i++) {
		unsigned k = pick[i % (sizeof(pick) / sizeof(pick[0]))];
		struct outcome o = run(A, B, cap, (int)k, unit_rand(&s));
		CU_ASSERT(o.msgs >= k);
		/* Alice never keeps a key once any message was corrupted. */
		CU_ASSERT_PTR_NULL(o.ka);
		CU_ASSERT_NOT_EQUAL(o.ra->status, DST_BLOCK_OK);
		CU_ASSERT_EQUAL(o.ra->secret_bits, 0);
		/* Bob has none either, except when the corrupted one is his CONFIRM (the last). */
		if (k < total) {
			CU_ASSERT_PTR_NULL(o.kb);
			CU_ASSERT_NOT_EQUAL(o.rb->status, DST_BLOCK_OK);
		}
	}
	dst_block_alice_free(A);
	dst_block_bob_free(B);
	free(ra.last);
	free(rb.last);
}

static void test_abort_paths_give_no_key(void)
{
	/* 9% misalignment: the test-basis QBER bound sends the block to abort at estimation. */
	CU_ASSERT_EQUAL_FATAL(make_block(0.12, 30000000), 0);
	struct rnd ra = {1, NULL, 0, 0}, rb = {2, NULL, 0, 0};
	struct dst_block_config ca, cb;
	config(&ca, &ra);
	config(&cb, &rb);
	struct dst_block_alice *A = dst_block_alice_create(&ca);
	struct dst_block_bob *B = dst_block_bob_create(&cb);
	size_t cap = dst_block_max_msg(&ca);
	struct outcome o = run(A, B, cap, 0, 0);
	CU_ASSERT_EQUAL(o.ra->status, DST_BLOCK_ABORT_ESTIMATE);
	CU_ASSERT_EQUAL(o.rb->status, DST_BLOCK_ABORT_ESTIMATE);
	CU_ASSERT_EQUAL(o.rb->peer_abort, 1);
	CU_ASSERT_PTR_NULL(o.ka);
	CU_ASSERT_PTR_NULL(o.kb);

	/* Counts that disagree between the sides. */
	CU_ASSERT_EQUAL_FATAL(make_block(0.005, 30000000), 0);
	struct dst_block_input ia = {3, blk->key_a, blk->key_bits, blk->test_a, blk->test_bits, blk->c};
	struct dst_block_input ib = ia;
	ib.key = blk->key_b;
	ib.test = blk->test_b;
	ib.counts.n_key[1]++;
	CU_ASSERT_EQUAL(dst_block_alice_begin(A, &ia), 0);
	CU_ASSERT_EQUAL(dst_block_bob_begin(B, &ib), 0);
	uint8_t *m1 = malloc(cap), *m2 = malloc(cap);
	size_t l1, l2;
	CU_ASSERT_EQUAL(dst_block_bob_step(B, NULL, 0, m1, cap, &l1), DST_BLOCK_CONTINUE);
	CU_ASSERT_EQUAL(dst_block_alice_step(A, m1, l1, m2, cap, &l2), DST_BLOCK_DONE);
	CU_ASSERT_EQUAL(dst_block_alice_report(A)->status, DST_BLOCK_ABORT_MISMATCH);
	CU_ASSERT_EQUAL(dst_block_bob_step(B, m2, l2, m1, cap, &l1), DST_BLOCK_DONE);
	CU_ASSERT_EQUAL(dst_block_bob_report(B)->status, DST_BLOCK_ABORT_MISMATCH);
	CU_ASSERT_PTR_NULL(dst_block_alice_key(A));
	CU_ASSERT_PTR_NULL(dst_block_bob_key(B));
	/* A message for another block number is refused. */
	ib = ia;
	ib.key = blk->key_b;
	ib.test = blk->test_b;
	ib.seq = 4;
	CU_ASSERT_EQUAL(dst_block_alice_begin(A, &ia), 0);
	CU_ASSERT_EQUAL(dst_block_bob_begin(B, &ib), 0);
	CU_ASSERT_EQUAL(dst_block_bob_step(B, NULL, 0, m1, cap, &l1), DST_BLOCK_CONTINUE);
	CU_ASSERT_EQUAL(dst_block_alice_step(A, m1, l1, m2, cap, &l2), DST_BLOCK_DONE);
	CU_ASSERT_EQUAL(dst_block_alice_report(A)->status, DST_BLOCK_ABORT_PROTOCOL);
	/* Bad arguments. */
	ia.key_bits = (1u << 20) + 1;
	CU_ASSERT_EQUAL(dst_block_alice_begin(A, &ia), -EINVAL);
	free(m1);
	free(m2);
	dst_block_alice_free(A);
	dst_block_bob_free(B);
	free(ra.last);
	free(rb.last);
}

/* dst_reconcile.h round trip for every method this build has. */
static void test_reconcile_interface_round_trip(void)
{
	const uint64_t n = 300001, nw = (n + 63) / 64;
	uint64_t *ka = calloc(nw, 8), *kb = calloc(nw, 8), *oa = calloc(nw, 8), *ob = calloc(nw, 8);
	unit_fill_random(ka, nw * 8, 5);
	ka[nw - 1] &= ~0ULL >> (64 - (n & 63));
	memcpy(kb, ka, nw * 8);
	uint64_t s = 6, errors = 0;
	for (uint64_t i = 0; i < n; i++)
		if (unit_rand(&s) % 1000 < 30) {
			kb[i >> 6] ^= 1ULL << (i & 63);
			errors++;
		}
	enum dst_rec_method methods[] = {DST_REC_CASCADE, DST_REC_LDPC};
	for (unsigned k = 0; k < 2; k++) {
		if (!dst_rec_method_available(methods[k]))
			continue;
		struct dst_rec_config cfg = {.method = methods[k], .max_bits = n, .seed = 3};
		struct dst_rec_alice *A = dst_rec_alice_create(&cfg);
		struct dst_rec_bob *B = dst_rec_bob_create(&cfg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(A);
		CU_ASSERT_PTR_NOT_NULL_FATAL(B);
		size_t cap = dst_rec_max_msg(&cfg), l1, l2;
		uint8_t *m1 = malloc(cap), *m2 = malloc(cap);
		CU_ASSERT_EQUAL(dst_rec_alice_begin(A, ka, n), 0);
		CU_ASSERT_EQUAL(dst_rec_bob_begin(B, kb, n, 0.03), 0);
		int rb = dst_rec_bob_step(B, NULL, 0, m1, cap, &l1), ra;
		if (methods[k] == DST_REC_LDPC) {
			/* At 3% the plan is the blind start revealing sixteenths (ldpc_family.c table):
			 * flag at body offset 72, step at 76. A plan Alice cannot reproduce is refused:
			 * step 0, step above 16, fixed rate with a blind step, another start f. */
			CU_ASSERT_EQUAL(m1[12 + 72], 1);
			CU_ASSERT_EQUAL(m1[12 + 76], 16);
			/* With ldpc_fixed the plan is the fixed-rate one revealing quarters. */
			struct dst_rec_config fixed = cfg;
			fixed.ldpc_fixed = true;
			struct dst_rec_bob *F = dst_rec_bob_create(&fixed);
			CU_ASSERT_PTR_NOT_NULL_FATAL(F);
			CU_ASSERT_EQUAL(dst_rec_bob_begin(F, kb, n, 0.03), 0);
			CU_ASSERT_EQUAL(dst_rec_bob_step(F, NULL, 0, m2, cap, &l2), DST_REC_CONTINUE);
			CU_ASSERT_EQUAL(m2[12 + 72], 0);
			CU_ASSERT_EQUAL(m2[12 + 76], 4);
			dst_rec_bob_free(F);
			double f_other = 1.5;
			for (int t = 0; t < 4; t++) {
				memcpy(m2, m1, l1);
				if (t == 0)
					m2[12 + 76] = 0;
				else if (t == 1)
					m2[12 + 76] = 17;
				else if (t == 2)
					m2[12 + 72] = 0;
				else
					memcpy(m2 + 12 + 16, &f_other, 8);
				struct dst_rec_alice *X = dst_rec_alice_create(&cfg);
				CU_ASSERT_EQUAL(dst_rec_alice_begin(X, ka, n), 0);
				CU_ASSERT_EQUAL(dst_rec_alice_step(X, m2, l1, m1 + l1, cap - l1, &l2), -EPROTO);
				dst_rec_alice_free(X);
			}
		}
		unsigned rounds = 0;
		for (;;) {
			ra = dst_rec_alice_step(A, m1, l1, m2, cap, &l2);
			CU_ASSERT_FATAL(ra >= 0);
			if (rb == DST_REC_DONE)
				break;
			rounds++;
			rb = dst_rec_bob_step(B, m2, l2, m1, cap, &l1);
			CU_ASSERT_FATAL(rb >= 0);
		}
		CU_ASSERT_EQUAL(ra, DST_REC_DONE);
		uint64_t ba = 0, bb = 0;
		CU_ASSERT_EQUAL(dst_rec_alice_result(A, oa, &ba), 0);
		CU_ASSERT_EQUAL(dst_rec_bob_result(B, ob, &bb), 0);
		CU_ASSERT_EQUAL(ba, bb);
		CU_ASSERT(memcmp(oa, ob, (bb + 7) / 8) == 0);
		struct dst_rec_stats sa, sb;
		dst_rec_alice_stats(A, &sa);
		dst_rec_bob_stats(B, &sb);
		CU_ASSERT_EQUAL(sa.leak_bits, sb.leak_bits);
		CU_ASSERT_EQUAL(sb.rounds, rounds);
		CU_ASSERT_EQUAL(sb.frames_failed, 0);
		CU_ASSERT_EQUAL(sb.bits_corrected, errors);
		CU_ASSERT_EQUAL(sa.bits_corrected, errors);
		free(m1);
		free(m2);
		dst_rec_alice_free(A);
		dst_rec_bob_free(B);
	}
	enum dst_rec_method m;
	CU_ASSERT_EQUAL(dst_rec_method_parse("cascade", &m), 0);
	CU_ASSERT_EQUAL(m, DST_REC_CASCADE);
	CU_ASSERT_EQUAL(dst_rec_method_parse("turbo", &m), -EINVAL);
	free(ka);
	free(kb);
	free(oa);
	free(ob);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* The default LDPC plan is blind: with more errors than the estimate, frames fail at the start
 * rate, Bob asks for filler in rounds and the frames still decode. Leak follows its definition
 * from the messages themselves (docs/distill_messages.md): per kept frame syndrome_bits -
 * punctured (INIT) + the filler bits the last REVEAL listing it asked for. Returns the frames. */
static uint32_t blind_rounds(uint64_t n, unsigned per10000, double qber_est, unsigned min_reveals)
{
	const uint64_t nw = n / 64;
	uint64_t *ka = calloc(nw, 8), *kb = calloc(nw, 8), *oa = calloc(nw, 8), *ob = calloc(nw, 8);
	unit_fill_random(ka, nw * 8, 11);
	memcpy(kb, ka, nw * 8);
	uint64_t s = 12, errors = 0;
	for (uint64_t i = 0; i < n; i++)
		if (unit_rand(&s) % 10000 < per10000) {
			kb[i >> 6] ^= 1ULL << (i & 63);
			errors++;
		}
	struct dst_rec_config cfg = {.method = DST_REC_LDPC, .max_bits = n};
	struct dst_rec_alice *A = dst_rec_alice_create(&cfg);
	struct dst_rec_bob *B = dst_rec_bob_create(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(A);
	CU_ASSERT_PTR_NOT_NULL_FATAL(B);
	size_t cap = dst_rec_max_msg(&cfg), l1, l2;
	uint8_t *m1 = malloc(cap), *m2 = malloc(cap);
	CU_ASSERT_EQUAL(dst_rec_alice_begin(A, ka, n), 0);
	CU_ASSERT_EQUAL(dst_rec_bob_begin(B, kb, n, qber_est), 0);
	int rb = dst_rec_bob_step(B, NULL, 0, m1, cap, &l1), ra;
	CU_ASSERT_EQUAL_FATAL(m1[0], 0x31);
	CU_ASSERT_EQUAL(m1[12 + 72], 1); /* blind without asking for it */
	uint32_t frames = rd32(m1 + 8), synd = rd32(m1 + 12 + 28), punct = rd32(m1 + 12 + 32);
	CU_ASSERT_FATAL(frames > 1 && frames <= 64 && punct > 0);
	uint32_t revealed[64] = {0};
	unsigned reveals = 0;
	for (;;) {
		if (m1[0] == 0x33) { /* REVEAL: u32 R, then the frames it is for */
			reveals++;
			for (uint32_t i = 0; i < rd32(m1 + 8); i++)
				revealed[rd32(m1 + 16 + 4 * i)] = rd32(m1 + 12);
		}
		ra = dst_rec_alice_step(A, m1, l1, m2, cap, &l2);
		CU_ASSERT_FATAL(ra >= 0);
		if (rb == DST_REC_DONE)
			break;
		rb = dst_rec_bob_step(B, m2, l2, m1, cap, &l1);
		CU_ASSERT_FATAL(rb >= 0);
	}
	CU_ASSERT_EQUAL(ra, DST_REC_DONE);
	CU_ASSERT(reveals >= min_reveals);
	/* DONE: u64 leak, u64 corrected, bitmap of kept frames */
	const uint8_t *bm = m1 + 12 + 16;
	uint64_t leak = 0, kept = 0;
	for (uint32_t f = 0; f < frames; f++)
		if (bm[f / 8] >> (f % 8) & 1) {
			leak += synd - punct + revealed[f];
			kept++;
		}
	CU_ASSERT_EQUAL(kept, frames); /* every frame recovered by the reveals */
	struct dst_rec_stats sa, sb;
	dst_rec_alice_stats(A, &sa);
	dst_rec_bob_stats(B, &sb);
	CU_ASSERT_EQUAL(rd64(m1 + 12), leak);
	CU_ASSERT_EQUAL(sb.leak_bits, leak);
	CU_ASSERT_EQUAL(sa.leak_bits, leak);
	CU_ASSERT_EQUAL(sb.frames_failed, 0);
	CU_ASSERT_EQUAL(sb.bits_corrected, errors);
	uint64_t ba = 0, bb = 0;
	CU_ASSERT_EQUAL(dst_rec_alice_result(A, oa, &ba), 0);
	CU_ASSERT_EQUAL(dst_rec_bob_result(B, ob, &bb), 0);
	CU_ASSERT_EQUAL(ba, n);
	CU_ASSERT_EQUAL(bb, n);
	CU_ASSERT(memcmp(oa, ka, n / 8) == 0);
	CU_ASSERT(memcmp(ob, ka, n / 8) == 0);
	free(m1);
	free(m2);
	dst_rec_alice_free(A);
	dst_rec_bob_free(B);
	free(ka);
	free(kb);
	free(oa);
	free(ob);
	return frames;
}

static void test_ldpc_blind_rounds_leak(void)
{
	if (!dst_rec_method_available(DST_REC_LDPC))
		return;
	/* 3.15% errors against an estimate of 3%: most frames need reveals */
	blind_rounds(1u << 20, 315, 0.03, 2);
	/* more frames than Bob keeps decoders for (32): the rest decode from the channel each round */
	CU_ASSERT(blind_rounds(35u << 17, 210, 0.02, 1) > 32);
}

static void test_crc32c_known_answer(void)
{
	/* The CRC-32C check value (RFC 3720 B.4 / the catalogue's "123456789" -> 0xE3069283), with
	 * the portable and the SSE4.2 paths. */
	CU_ASSERT_EQUAL(dst_crc32c("123456789", 9), 0xE3069283u);
	uint8_t zeros[32] = {0};
	CU_ASSERT_EQUAL(dst_crc32c(zeros, 32), 0x8A9136AAu);
	CU_ASSERT_EQUAL(dst_cpu_select("generic"), 0);
	CU_ASSERT_EQUAL(dst_crc32c("123456789", 9), 0xE3069283u);
	CU_ASSERT_EQUAL(dst_crc32c(zeros, 32), 0x8A9136AAu);
	CU_ASSERT_EQUAL(dst_cpu_select("native"), 0);
}

static CU_TestInfo block_tests[] = {
	{"Alice and Bob end with the same key, equal to the definition", test_keys_identical_and_definition},
	{"a corrupted message aborts with no key", test_corrupted_message_aborts},
	{"abort paths yield no key on either side", test_abort_paths_give_no_key},
	{"reconcile interface round trip", test_reconcile_interface_round_trip},
	{"LDPC blind rounds: every frame recovered, leak by definition", test_ldpc_blind_rounds_leak},
	{"CRC-32C known answers", test_crc32c_known_answer},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"block", NULL, NULL, NULL, NULL, block_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	int rc = unit_run(suites);
	dst_sift_block_free(blk);
	return rc;
}
