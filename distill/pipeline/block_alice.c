/* Block pipeline, Alice's side: estimates, answers reconciliation, checks the tag, picks the
 * key length and the Toeplitz seed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "block_internal.h"

enum { A_IDLE, A_WAIT_PE, A_RECONCILE, A_WAIT_CONFIRM, A_DONE };

struct dst_block_alice {
	struct dst_block_config cfg;
	int state;
	struct dst_block_input in;
	struct dst_block_report rep;
	struct dst_rec_alice *rec;
	uint64_t *rkey;  /* reconciled bits */
	uint64_t *key;   /* final key */
	uint64_t *seed;  /* Toeplitz seed */
	struct blk_pa pa;
	int have_key;
};

struct dst_block_alice *dst_block_alice_create(const struct dst_block_config *cfg)
{
	if (!cfg || !cfg->rec.max_bits || !dst_block_max_msg(cfg))
		return NULL;
	struct dst_block_alice *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cfg = *cfg;
	if (!a->cfg.rec.random) { /* one source of randomness for the whole block */
		a->cfg.rec.random = cfg->random;
		a->cfg.rec.random_ctx = cfg->random_ctx;
	}
	uint64_t n = cfg->rec.max_bits, w = DST_PA_WORDS(n);
	a->rec = dst_rec_alice_create(&a->cfg.rec);
	a->rkey = calloc(w, 8);
	a->key = calloc(w, 8);
	a->seed = calloc(blk_seed_words(n), 8);
	a->pa.y = calloc(w, 8);
	if (!a->rec || !a->rkey || !a->key || !a->seed || !a->pa.y) {
		dst_block_alice_free(a);
		return NULL;
	}
	return a;
}

static void wipe(struct dst_block_alice *a)
{
	uint64_t w = DST_PA_WORDS(a->cfg.rec.max_bits);
	explicit_bzero(a->rkey, w * 8);
	explicit_bzero(a->key, w * 8);
	a->have_key = 0;
}

void dst_block_alice_free(struct dst_block_alice *a)
{
	if (!a)
		return;
	if (a->rkey && a->key)
		wipe(a);
	dst_rec_alice_free(a->rec);
	blk_pa_free(&a->pa, a->cfg.rec.max_bits);
	free(a->rkey);
	free(a->key);
	free(a->seed);
	free(a);
}

int dst_block_alice_begin(struct dst_block_alice *a, const struct dst_block_input *in)
{
	if (!a || !in || !in->key || !in->key_bits || in->key_bits > a->cfg.rec.max_bits ||
	    in->test_bits > a->cfg.max_test_bits || (in->test_bits && !in->test))
		return -EINVAL;
	wipe(a);
	a->in = *in;
	memset(&a->rep, 0, sizeof(a->rep));
	a->rep.seq = in->seq;
	a->rep.sifted_bits = in->key_bits;
	a->rep.test_bits = in->test_bits;
	a->rep.pulses = in->counts.slot_end - in->counts.slot_begin;
	a->state = A_WAIT_PE;
	return 0;
}

/* End the block with a reason; tell Bob unless he told us. */
static int finish_abort(struct dst_block_alice *a, enum dst_block_status st, uint8_t *out,
			size_t cap, size_t *out_len)
{
	wipe(a);
	a->rep.status = st;
	a->rep.secret_bits = 0;
	a->state = A_DONE;
	if (cap >= BLK_HDR + BLK_ABORT_BODY + BLK_TRAILER) {
		blk_open(out, BLK_ABORT, a->in.seq, BLK_ABORT_BODY);
		blk_put32(out + BLK_HDR, st);
		blk_put32(out + BLK_HDR + 4, a->rep.fk.status);
		*out_len = blk_seal(out);
		a->rep.msg_bytes += *out_len;
	}
	return DST_BLOCK_DONE;
}

static int on_pe(struct dst_block_alice *a, const uint8_t *b, uint32_t len, uint8_t *out,
		 size_t cap, size_t *out_len)
{
	const struct dst_sift_counts *c = &a->in.counts;
	if (len < BLK_PE_REQ_FIXED)
		return finish_abort(a, DST_BLOCK_ABORT_PROTOCOL, out, cap, out_len);
	uint64_t kb = blk_get64(b), tb = blk_get64(b + 8);
	if (len != BLK_PE_REQ_FIXED + (tb + 7) / 8 || tb > a->cfg.max_test_bits)
		return finish_abort(a, DST_BLOCK_ABORT_PROTOCOL, out, cap, out_len);
	bool same = kb == a->in.key_bits && tb == a->in.test_bits;
	for (int k = 0; k < DST_MAX_CLASSES; k++)
		same = same && blk_get64(b + 16 + 8 * k) == c->n_key[k] &&
		       blk_get64(b + 40 + 8 * k) == c->n_test[k];
	if (!same)
		return finish_abort(a, DST_BLOCK_ABORT_MISMATCH, out, cap, out_len);
	/* Errors in the disclosed test bits (byte view of the packed words, PA order). */
	const uint8_t *bt = b + BLK_PE_REQ_FIXED, *at = (const uint8_t *)a->in.test;
	uint64_t errors = 0, nbytes = (tb + 7) / 8;
	for (uint64_t i = 0; i < nbytes; i++) {
		uint8_t x = at[i] ^ bt[i];
		if (i == nbytes - 1 && (tb & 7))
			x &= (uint8_t)((1u << (tb & 7)) - 1);
		errors += (uint64_t)__builtin_popcount(x);
	}
	uint64_t sum = 0;
	for (int k = 0; k < DST_MAX_CLASSES; k++)
		sum += c->m_test[k];
	if (sum != errors)
		return finish_abort(a, DST_BLOCK_ABORT_MISMATCH, out, cap, out_len);
	a->rep.qber_test = tb ? (double)errors / (double)tb : 0;
	struct dst_fk_stats s;
	dst_fk_stats_from_counts(&s, c, 0);
	dst_fk_estimate(&a->cfg.fk, &s, 0, &a->rep.fk);
	if (a->rep.fk.status != DST_FK_OK)
		return finish_abort(a, DST_BLOCK_ABORT_ESTIMATE, out, cap, out_len);
	if (dst_rec_alice_begin(a->rec, a->in.key, a->in.key_bits))
		return finish_abort(a, DST_BLOCK_ABORT_LOCAL, out, cap, out_len);
	if (cap < BLK_HDR + BLK_PE_ANS_BODY + BLK_TRAILER)
		return -ENOSPC;
	blk_open(out, BLK_PE_ANS, a->in.seq, BLK_PE_ANS_BODY);
	uint8_t *p = out + BLK_HDR;
	blk_put32(p, 0);
	blk_put32(p + 4, 0);
	for (int k = 0; k < DST_MAX_CLASSES; k++)
		blk_put64(p + 8 + 8 * k, c->m_test[k]);
	blk_putf(p + 32, a->rep.qber_test);
	*out_len = blk_seal(out);
	a->state = A_RECONCILE;
	return DST_BLOCK_CONTINUE;
}

static int on_rec(struct dst_block_alice *a, const uint8_t *b, uint32_t len, uint8_t *out,
		  size_t cap, size_t *out_len)
{
	if (cap < BLK_HDR + BLK_TRAILER)
		return -ENOSPC;
	size_t rl = 0;
	int rc = dst_rec_alice_step(a->rec, b, len, out + BLK_HDR, cap - BLK_HDR - BLK_TRAILER, &rl);
	if (rc == -ENOSPC)
		return rc;
	if (rc != DST_REC_CONTINUE)
		return finish_abort(a, DST_BLOCK_ABORT_RECONCILE, out, cap, out_len);
	blk_open(out, BLK_REC, a->in.seq, (uint32_t)rl);
	*out_len = blk_seal(out);
	return DST_BLOCK_CONTINUE;
}

static int on_verify(struct dst_block_alice *a, const uint8_t *b, uint32_t len, uint8_t *out,
		     size_t cap, size_t *out_len)
{
	if (len < BLK_VERIFY_FIXED)
		return finish_abort(a, DST_BLOCK_ABORT_PROTOCOL, out, cap, out_len);
	uint32_t rl = blk_get32(b);
	if ((uint64_t)rl + BLK_VERIFY_FIXED != len)
		return finish_abort(a, DST_BLOCK_ABORT_PROTOCOL, out, cap, out_len);
	size_t none = 0;
	if (dst_rec_alice_step(a->rec, b + 4, rl, out, cap, &none) != DST_REC_DONE)
		return finish_abort(a, DST_BLOCK_ABORT_RECONCILE, out, cap, out_len);
	uint64_t n = 0;
	struct dst_rec_stats rs;
	dst_rec_alice_result(a->rec, a->rkey, &n);
	dst_rec_alice_stats(a->rec, &rs);
	a->rep.reconciled_bits = n;
	a->rep.leak_bits = rs.leak_bits;
	a->rep.rounds = rs.rounds;
	a->rep.qber_key = n ? (double)rs.bits_corrected / (double)n : 0;
	a->rep.efficiency = blk_efficiency(rs.leak_bits, n, rs.bits_corrected);
	const uint8_t *v = b + 4 + rl;
	struct dst_verify_tag mine, bobs = {{blk_get64(v + 24), blk_get64(v + 32)}, blk_get32(v + 16)};
	if (blk_get32(v + 20) || dst_verify_tag(a->rkey, n, v, a->cfg.fk.eps_cor, &mine))
		return finish_abort(a, DST_BLOCK_ABORT_PROTOCOL, out, cap, out_len);
	a->rep.tag_bits = mine.bits;
	if (!dst_verify_equal(&mine, &bobs))
		return finish_abort(a, DST_BLOCK_ABORT_VERIFY, out, cap, out_len);
	/* Key length with the exact leak and the key-basis errors now known. */
	struct dst_fk_stats s;
	dst_fk_stats_from_counts(&s, &a->in.counts, 0);
	s.m_key = (double)rs.bits_corrected;
	dst_fk_estimate(&a->cfg.fk, &s, (double)rs.leak_bits, &a->rep.fk);
	/* Frames reconciliation dropped take their bits away: each carried at most one bit of
	 * min-entropy, so the bound for the kept bits is l minus the dropped bits. */
	if (a->rep.fk.status == DST_FK_OK && n < a->in.key_bits)
		a->rep.fk.length -= (int64_t)(a->in.key_bits - n);
	if (a->rep.fk.status != DST_FK_OK || a->rep.fk.length <= 0)
		return finish_abort(a, a->rep.fk.status == DST_FK_ABORT_LENGTH || a->rep.fk.length <= 0
					       ? DST_BLOCK_ABORT_LENGTH : DST_BLOCK_ABORT_ESTIMATE,
				    out, cap, out_len);
	uint64_t l = (uint64_t)a->rep.fk.length;
	if (l > n)
		l = n;
	uint64_t seed_bits = n + l - 1;
	if (cap < BLK_HDR + BLK_PA_FIXED + (seed_bits + 7) / 8 + BLK_TRAILER)
		return -ENOSPC;
	if (blk_random(&a->cfg, a->seed, (seed_bits + 7) / 8) ||
	    blk_pa_run(&a->pa, a->rkey, n, l, a->seed, a->key))
		return finish_abort(a, DST_BLOCK_ABORT_LOCAL, out, cap, out_len);
	blk_open(out, BLK_PA, a->in.seq, (uint32_t)(BLK_PA_FIXED + (seed_bits + 7) / 8));
	uint8_t *p = out + BLK_HDR;
	blk_put64(p, n);
	blk_put64(p + 8, l);
	blk_put64(p + 16, seed_bits);
	blk_putf(p + 24, a->rep.fk.s0);
	blk_putf(p + 32, a->rep.fk.s1);
	blk_putf(p + 40, a->rep.fk.phi);
	memcpy(p + BLK_PA_FIXED, a->seed, (seed_bits + 7) / 8);
	*out_len = blk_seal(out);
	explicit_bzero(a->rkey, DST_PA_WORDS(n) * 8);
	a->rep.secret_bits = l;
	a->state = A_WAIT_CONFIRM;
	return DST_BLOCK_CONTINUE;
}

int dst_block_alice_step(struct dst_block_alice *a, const uint8_t *in, size_t in_len, uint8_t *out,
			 size_t out_cap, size_t *out_len)
{
	if (!a || !out || !out_len || a->state == A_IDLE || a->state == A_DONE)
		return -EINVAL;
	*out_len = 0;
	const uint8_t *b;
	uint32_t len;
	int type = blk_check(in, in_len, a->in.seq, &b, &len);
	if (type > 0)
		a->rep.msg_bytes += in_len;
	if (type == BLK_ABORT && len == BLK_ABORT_BODY) {
		uint32_t st = blk_get32(b);
		wipe(a);
		a->rep.status = st > DST_BLOCK_ABORT_LOCAL || st == 0 ? DST_BLOCK_ABORT_PROTOCOL : st;
		a->rep.peer_abort = 1;
		a->rep.secret_bits = 0;
		a->state = A_DONE;
		return DST_BLOCK_DONE;
	}
	int rc;
	if (a->state == A_WAIT_PE && type == BLK_PE_REQ)
		rc = on_pe(a, b, len, out, out_cap, out_len);
	else if (a->state == A_RECONCILE && type == BLK_REC)
		rc = on_rec(a, b, len, out, out_cap, out_len);
	else if (a->state == A_RECONCILE && type == BLK_VERIFY)
		rc = on_verify(a, b, len, out, out_cap, out_len);
	else if (a->state == A_WAIT_CONFIRM && type == BLK_CONFIRM && len == 0) {
		a->have_key = 1;
		a->rep.status = DST_BLOCK_OK;
		a->state = A_DONE;
		return DST_BLOCK_DONE;
	} else
		rc = finish_abort(a, DST_BLOCK_ABORT_PROTOCOL, out, out_cap, out_len);
	if (rc == DST_BLOCK_CONTINUE)
		a->rep.msg_bytes += *out_len;
	return rc;
}

const struct dst_block_report *dst_block_alice_report(const struct dst_block_alice *a)
{
	return &a->rep;
}

const uint64_t *dst_block_alice_key(const struct dst_block_alice *a)
{
	return a->have_key && a->state == A_DONE ? a->key : NULL;
}
