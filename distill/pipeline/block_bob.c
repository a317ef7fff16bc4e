/* Block pipeline, Bob's side: discloses his test bits, drives reconciliation, sends the tag,
 * applies Alice's Toeplitz seed. */
#include <errno.h>
#include <stdlib.h>

#include "block_internal.h"

enum { B_IDLE, B_START, B_WAIT_PE, B_RECONCILE, B_WAIT_PA, B_DONE };

struct dst_block_bob {
	struct dst_block_config cfg;
	int state;
	struct dst_block_input in;
	struct dst_block_report rep;
	struct dst_rec_bob *rec;
	uint8_t *rec_buf; /* Bob's last reconciliation message, wrapped into VERIFY */
	size_t rec_cap;
	uint64_t *rkey, *key, *seed;
	struct blk_pa pa;
	int have_key;
};

struct dst_block_bob *dst_block_bob_create(const struct dst_block_config *cfg)
{
	if (!cfg || !cfg->rec.max_bits || !dst_block_max_msg(cfg))
		return NULL;
	struct dst_block_bob *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->cfg = *cfg;
	if (!b->cfg.rec.random) { /* one source of randomness for the whole block */
		b->cfg.rec.random = cfg->random;
		b->cfg.rec.random_ctx = cfg->random_ctx;
	}
	uint64_t n = cfg->rec.max_bits, w = DST_PA_WORDS(n);
	b->rec = dst_rec_bob_create(&b->cfg.rec);
	b->rec_cap = dst_rec_max_msg(&cfg->rec);
	b->rec_buf = malloc(b->rec_cap);
	b->rkey = calloc(w, 8);
	b->key = calloc(w, 8);
	b->seed = calloc(blk_seed_words(n), 8);
	b->pa.y = calloc(w, 8);
	if (!b->rec || !b->rec_buf || !b->rkey || !b->key || !b->seed || !b->pa.y) {
		dst_block_bob_free(b);
		return NULL;
	}
	return b;
}

static void wipe(struct dst_block_bob *b)
{
	uint64_t w = DST_PA_WORDS(b->cfg.rec.max_bits);
	explicit_bzero(b->rkey, w * 8);
	explicit_bzero(b->key, w * 8);
	b->have_key = 0;
}

void dst_block_bob_free(struct dst_block_bob *b)
{
	if (!b)
		return;
	if (b->rkey && b->key)
		wipe(b);
	dst_rec_bob_free(b->rec);
	blk_pa_free(&b->pa, b->cfg.rec.max_bits);
	free(b->rec_buf);
	free(b->rkey);
	free(b->key);
	free(b->seed);
	free(b);
}

int dst_block_bob_begin(struct dst_block_bob *b, const struct dst_block_input *in)
{
	if (!b || !in || !in->key || !in->key_bits || in->key_bits > b->cfg.rec.max_bits ||
	    in->test_bits > b->cfg.max_test_bits || (in->test_bits && !in->test))
		return -EINVAL;
	wipe(b);
	b->in = *in;
	memset(&b->rep, 0, sizeof(b->rep));
	b->rep.seq = in->seq;
	b->rep.sifted_bits = in->key_bits;
	b->rep.test_bits = in->test_bits;
	b->rep.pulses = in->counts.slot_end - in->counts.slot_begin;
	b->state = B_START;
	return 0;
}

static int finish_abort(struct dst_block_bob *b, enum dst_block_status st, uint8_t *out, size_t cap,
			size_t *out_len)
{
	wipe(b);
	b->rep.status = st;
	b->rep.secret_bits = 0;
	b->state = B_DONE;
	if (cap >= BLK_HDR + BLK_ABORT_BODY + BLK_TRAILER) {
		blk_open(out, BLK_ABORT, b->in.seq, BLK_ABORT_BODY);
		blk_put32(out + BLK_HDR, st);
		blk_put32(out + BLK_HDR + 4, 0);
		*out_len = blk_seal(out);
		b->rep.msg_bytes += *out_len;
	}
	return DST_BLOCK_DONE;
}

static int send_pe(struct dst_block_bob *b, uint8_t *out, size_t cap, size_t *out_len)
{
	uint64_t tb = b->in.test_bits, nbytes = (tb + 7) / 8;
	if (cap < BLK_HDR + BLK_PE_REQ_FIXED + nbytes + BLK_TRAILER)
		return -ENOSPC;
	blk_open(out, BLK_PE_REQ, b->in.seq, (uint32_t)(BLK_PE_REQ_FIXED + nbytes));
	uint8_t *p = out + BLK_HDR;
	const struct dst_sift_counts *c = &b->in.counts;
	blk_put64(p, b->in.key_bits);
	blk_put64(p + 8, tb);
	for (int k = 0; k < DST_MAX_CLASSES; k++) {
		blk_put64(p + 16 + 8 * k, c->n_key[k]);
		blk_put64(p + 40 + 8 * k, c->n_test[k]);
	}
	blk_put64(p + 64, c->slot_begin);
	blk_put64(p + 72, c->slot_end);
	if (nbytes) {
		memcpy(p + BLK_PE_REQ_FIXED, b->in.test, nbytes);
		if (tb & 7)
			p[BLK_PE_REQ_FIXED + nbytes - 1] &= (uint8_t)((1u << (tb & 7)) - 1);
	}
	*out_len = blk_seal(out);
	b->state = B_WAIT_PE;
	return DST_BLOCK_CONTINUE;
}

/* Wrap the reconciliation's next message: REC while it continues, VERIFY (with the tag of the
 * reconciled key under a fresh seed) once it is done. */
static int rec_next(struct dst_block_bob *b, int rc, size_t rl, uint8_t *out, size_t cap,
		    size_t *out_len)
{
	if (rc == -ENOSPC)
		return rc;
	if (rc < 0)
		return finish_abort(b, DST_BLOCK_ABORT_RECONCILE, out, cap, out_len);
	if (rc == DST_REC_CONTINUE) {
		blk_open(out, BLK_REC, b->in.seq, (uint32_t)rl);
		*out_len = blk_seal(out);
		return DST_BLOCK_CONTINUE;
	}
	uint64_t n = 0;
	struct dst_rec_stats rs;
	dst_rec_bob_result(b->rec, b->rkey, &n);
	dst_rec_bob_stats(b->rec, &rs);
	b->rep.reconciled_bits = n;
	b->rep.leak_bits = rs.leak_bits;
	b->rep.rounds = rs.rounds;
	b->rep.qber_key = n ? (double)rs.bits_corrected / (double)n : 0;
	b->rep.efficiency = blk_efficiency(rs.leak_bits, n, rs.bits_corrected);
	if (cap < BLK_HDR + BLK_VERIFY_FIXED + rl + BLK_TRAILER)
		return -ENOSPC;
	uint8_t seed[DST_VERIFY_SEED_BYTES];
	struct dst_verify_tag tag;
	if (blk_random(&b->cfg, seed, sizeof(seed)) ||
	    dst_verify_tag(b->rkey, n, seed, b->cfg.fk.eps_cor, &tag))
		return finish_abort(b, DST_BLOCK_ABORT_LOCAL, out, cap, out_len);
	b->rep.tag_bits = tag.bits;
	/* The final reconciliation message sits in rec_buf (it was produced there). */
	blk_open(out, BLK_VERIFY, b->in.seq, (uint32_t)(BLK_VERIFY_FIXED + rl));
	uint8_t *p = out + BLK_HDR;
	blk_put32(p, (uint32_t)rl);
	memcpy(p + 4, b->rec_buf, rl);
	uint8_t *v = p + 4 + rl;
	memcpy(v, seed, 16);
	blk_put32(v + 16, tag.bits);
	blk_put32(v + 20, 0);
	blk_put64(v + 24, tag.w[0]);
	blk_put64(v + 32, tag.w[1]);
	*out_len = blk_seal(out);
	b->state = B_WAIT_PA;
	return DST_BLOCK_CONTINUE;
}

static int on_pe(struct dst_block_bob *b, const uint8_t *p, uint32_t len, uint8_t *out, size_t cap,
		 size_t *out_len)
{
	if (len != BLK_PE_ANS_BODY || blk_get32(p) || blk_get32(p + 4))
		return finish_abort(b, DST_BLOCK_ABORT_PROTOCOL, out, cap, out_len);
	uint64_t m = 0;
	for (int k = 0; k < DST_MAX_CLASSES; k++)
		m += blk_get64(p + 8 + 8 * k);
	double q = blk_getf(p + 32);
	if (!(q >= 0 && q < 0.5) || m > b->in.test_bits)
		return finish_abort(b, DST_BLOCK_ABORT_PROTOCOL, out, cap, out_len);
	b->rep.qber_test = q;
	if (cap < BLK_HDR + BLK_TRAILER)
		return -ENOSPC;
	if (dst_rec_bob_begin(b->rec, b->in.key, b->in.key_bits, q < 0.001 ? 0.001 : q))
		return finish_abort(b, DST_BLOCK_ABORT_LOCAL, out, cap, out_len);
	b->state = B_RECONCILE;
	size_t rl = 0;
	int rc = dst_rec_bob_step(b->rec, NULL, 0, out + BLK_HDR, cap - BLK_HDR - BLK_TRAILER, &rl);
	if (rc == DST_REC_DONE)
		memcpy(b->rec_buf, out + BLK_HDR, rl);
	return rec_next(b, rc, rl, out, cap, out_len);
}

static int on_rec(struct dst_block_bob *b, const uint8_t *p, uint32_t len, uint8_t *out, size_t cap,
		  size_t *out_len)
{
	if (cap < BLK_HDR + BLK_TRAILER)
		return -ENOSPC;
	size_t rl = 0;
	int rc = dst_rec_bob_step(b->rec, p, len, out + BLK_HDR, cap - BLK_HDR - BLK_TRAILER, &rl);
	if (rc == DST_REC_DONE) {
		if (rl > b->rec_cap)
			return finish_abort(b, DST_BLOCK_ABORT_LOCAL, out, cap, out_len);
		memcpy(b->rec_buf, out + BLK_HDR, rl);
	}
	return rec_next(b, rc, rl, out, cap, out_len);
}

static int on_pa(struct dst_block_bob *b, const uint8_t *p, uint32_t len, uint8_t *out, size_t cap,
		 size_t *out_len)
{
	if (len < BLK_PA_FIXED)
		return finish_abort(b, DST_BLOCK_ABORT_PROTOCOL, out, cap, out_len);
	uint64_t n = blk_get64(p), l = blk_get64(p + 8), sb = blk_get64(p + 16);
	if (n != b->rep.reconciled_bits || l == 0 || l > n || sb != n + l - 1 ||
	    len != BLK_PA_FIXED + (sb + 7) / 8)
		return finish_abort(b, DST_BLOCK_ABORT_PROTOCOL, out, cap, out_len);
	memcpy(b->seed, p + BLK_PA_FIXED, (sb + 7) / 8);
	if (blk_pa_run(&b->pa, b->rkey, n, l, b->seed, b->key))
		return finish_abort(b, DST_BLOCK_ABORT_LOCAL, out, cap, out_len);
	explicit_bzero(b->rkey, DST_PA_WORDS(n) * 8);
	b->rep.fk.status = DST_FK_OK;
	b->rep.fk.length = (int64_t)l;
	b->rep.fk.s0 = blk_getf(p + 24);
	b->rep.fk.s1 = blk_getf(p + 32);
	b->rep.fk.phi = blk_getf(p + 40);
	b->rep.fk.leak_ec = (double)b->rep.leak_bits;
	b->rep.secret_bits = l;
	b->rep.status = DST_BLOCK_OK;
	b->have_key = 1;
	b->state = B_DONE;
	blk_open(out, BLK_CONFIRM, b->in.seq, 0);
	*out_len = blk_seal(out);
	b->rep.msg_bytes += *out_len;
	return DST_BLOCK_DONE;
}

int dst_block_bob_step(struct dst_block_bob *b, const uint8_t *in, size_t in_len, uint8_t *out,
		       size_t out_cap, size_t *out_len)
{
	if (!b || !out || !out_len || b->state == B_IDLE || b->state == B_DONE)
		return -EINVAL;
	*out_len = 0;
	int rc;
	if (b->state == B_START) {
		if (in)
			return -EINVAL;
		rc = send_pe(b, out, out_cap, out_len);
	} else {
		const uint8_t *p;
		uint32_t len;
		int type = blk_check(in, in_len, b->in.seq, &p, &len);
		if (type > 0)
			b->rep.msg_bytes += in_len;
		if (type == BLK_ABORT && len == BLK_ABORT_BODY) {
			uint32_t st = blk_get32(p);
			wipe(b);
			b->rep.status = st > DST_BLOCK_ABORT_LOCAL || st == 0 ? DST_BLOCK_ABORT_PROTOCOL : st;
			b->rep.fk.status = blk_get32(p + 4) <= DST_FK_ABORT_LENGTH ? blk_get32(p + 4) : 0;
			b->rep.peer_abort = 1;
			b->state = B_DONE;
			return DST_BLOCK_DONE;
		}
		if (b->state == B_WAIT_PE && type == BLK_PE_ANS)
			rc = on_pe(b, p, len, out, out_cap, out_len);
		else if (b->state == B_RECONCILE && type == BLK_REC)
			rc = on_rec(b, p, len, out, out_cap, out_len);
		else if (b->state == B_WAIT_PA && type == BLK_PA)
			rc = on_pa(b, p, len, out, out_cap, out_len);
		else
			rc = finish_abort(b, DST_BLOCK_ABORT_PROTOCOL, out, out_cap, out_len);
	}
	if (rc == DST_BLOCK_CONTINUE)
		b->rep.msg_bytes += *out_len;
	return rc;
}

const struct dst_block_report *dst_block_bob_report(const struct dst_block_bob *b)
{
	return &b->rep;
}

const uint64_t *dst_block_bob_key(const struct dst_block_bob *b)
{
	return b->have_key && b->state == B_DONE ? b->key : NULL;
}
