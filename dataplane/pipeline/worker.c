/* Distill worker: owns its links' block pipelines. For the block at the head of a link's queue it
 * runs the engine, carrying each engine message as one Qdist BLOCK message (a short tag, spread
 * over MTU frames by dp_qdist_send) and folding it into the block's transcript (dp_transcript.h);
 * then both nodes exchange COMMIT (Alice's carries the key id, both their transcript tag) and only
 * when the peer's transcript tag equals this end's does the key go to the key ring: a block that
 * fails, times out, is aborted by the peer or saw a forged message never reaches it. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <rte_cycles.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../wire/le.h"
#include "dst_block.h"
#include "node_internal.h"

enum { ABORT_TIMEOUT = 1, ABORT_FAILED = 2, ABORT_SHUTDOWN = 3, ABORT_BROKEN = 4,
       ABORT_TRANSCRIPT = 5 };

/* COMMIT payload: key id, transcript tag (masked), then the claim with a ledger. */
#define COMMIT_TTAG KM_KEY_ID_LEN
#define COMMIT_CLAIM (KM_KEY_ID_LEN + DP_TRANSCRIPT_TAG_LEN)

static void send_ctl(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l, uint8_t type,
		     uint8_t tag, const uint8_t *payload, uint16_t len)
{
	/* Control messages are rare; if the TX ring is full the peer's timeout covers the loss. */
	if (dp_qdist_send_tagged(n, c, l, &l->wk.tx, type, tag, l->wk.blk_seq, payload, len) == 0)
		DP_STAT_ADD(l->wk.st.auth_bytes, dp_auth_msg_pad(tag));
}

/* Return the block buffer to the RX lcore (with the sift-stream refill when the key was kept). */
static void release_block(struct dp_link *l)
{
	struct dp_link_wk *wk = &l->wk;
	dp_engine_abort(wk->eng);
	dp_transcript_reset(&wk->tr);
	OPENSSL_cleanse(wk->peer_ttag, sizeof(wk->peer_ttag));
	rte_ring_enqueue(l->blk_free, wk->blk);
	wk->blk = NULL;
	wk->asm_len = wk->asm_total = 0;
	wk->done_local = wk->commit_peer = false;
}

/* With a ledger, COMMIT and ABORT carry this end's claim (dp_ledger.h). Returns its length. */
static uint16_t own_claim(struct dp_link *l, uint8_t *p)
{
	if (!l->managed)
		return 0;
	struct dp_claim cl;
	dp_claim_slot_read(&l->own_claim, &cl.upto, &cl.held);
	dp_claim_put(p, &cl);
	return DP_CLAIM_WIRE_LEN;
}

static void peer_claim(struct dp_link *l, const uint8_t *p)
{
	struct dp_claim cl, cur;
	dp_claim_get(p, &cl);
	dp_claim_slot_read(&l->peer_claim, &cur.upto, &cur.held);
	if (cl.upto >= cur.upto) /* claims only grow; an older one says nothing new */
		dp_claim_slot_write(&l->peer_claim, cl.upto, cl.held);
}

/* The block's final message (wk->last_type) with this end's claim: COMMIT carries the key id and
 * the transcript tag masked with the key bytes of its own (keyed) pad, ABORT the reason. */
static void send_final(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l)
{
	struct dp_link_wk *wk = &l->wk;
	uint8_t p[COMMIT_CLAIM + DP_CLAIM_WIRE_LEN];
	uint16_t len;
	uint8_t tag = DP_QD_TAG_LEN;
	if (wk->last_type == DP_QD_COMMIT) {
		uint8_t mask[DP_AUTH_KEY_LEN];
		if (dp_auth_next_key(&wk->tx, mask))
			return; /* no pad: as a lost message, the peer's timeout covers it */
		memcpy(p, wk->key_id, KM_KEY_ID_LEN);
		for (unsigned i = 0; i < DP_TRANSCRIPT_TAG_LEN; i++)
			p[COMMIT_TTAG + i] = wk->ttag[i] ^ mask[i];
		OPENSSL_cleanse(mask, sizeof(mask));
		len = COMMIT_CLAIM;
		tag |= DP_QD_TAG_KEYED;
	} else {
		put_le32(p, wk->last_reason);
		len = 4;
	}
	uint16_t cl = own_claim(l, p + len);
	if (cl) /* read by dp_node_claims_sent */
		__atomic_store_n(&wk->claim_sent, get_le64(p + len), __ATOMIC_RELEASE);
	send_ctl(n, c, l, wk->last_type, tag, p, (uint16_t)(len + cl));
}

/* Idle with a grown claim: repeat the last block's final message (at most every 20 ms). */
static void claim_refresh(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l)
{
	struct dp_link_wk *wk = &l->wk;
	uint64_t now = rte_rdtsc(), upto, held;
	if (!wk->last_type || now < wk->refresh_tsc)
		return;
	dp_claim_slot_read(&l->own_claim, &upto, &held);
	if (upto <= wk->claim_sent)
		return;
	wk->refresh_tsc = now + n->tsc_hz / 50;
	if (wk->last_type == DP_QD_COMMIT && wk->dropped_commit == wk->blk_seq + 1)
		return; /* test hook: this block's COMMIT stays lost */
	send_final(n, c, l);
}

static void abort_block(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l,
			uint32_t reason, bool tell_peer)
{
	l->wk.last_type = DP_QD_ABORT;
	l->wk.last_reason = reason;
	if (tell_peer)
		send_final(n, c, l);
	if (reason == ABORT_FAILED)
		DP_STAT_ADD(l->wk.st.blocks_failed, 1);
	else
		DP_STAT_ADD(l->wk.st.blocks_aborted, 1);
	if (reason == ABORT_TRANSCRIPT)
		DP_STAT_ADD(l->wk.st.transcript_failures, 1);
	dp_count(c, reason == ABORT_FAILED ? DP_ERR_BLOCK_FAILED :
		    reason == ABORT_TIMEOUT ? DP_ERR_BLOCK_TIMEOUT :
		    reason == ABORT_TRANSCRIPT ? DP_ERR_BLOCK_TRANSCRIPT : DP_ERR_BLOCK_ABORTED);
	release_block(l);
}

/* Test hook: flip a bit of the pipeline message body at msg and fix its CRC-32C (pipeline frame,
 * docs/distill_messages.md). Returns the byte flipped (undo: call again) or -1. */
static long forge(uint8_t *msg, size_t len, unsigned bit)
{
	if (len < 20)
		return -1;
	uint32_t body = get_le32(msg + 4);
	if (!body || (size_t)body + 20 != len)
		return -1;
	long at = 16 + (long)(bit / 8 % body);
	msg[at] ^= (uint8_t)(1u << (bit % 8));
	put_le32(msg + 16 + body, dst_crc32c(msg, 16 + (size_t)body));
	return at;
}

/* The engine message in wk->out_buf as BLOCK messages: one multi-frame Qdist message (short tag;
 * the block's first one keyed) per chunk of up to DP_BLK_CHUNK bytes, each behind its sub-header
 * and folded into the transcript. */
static int send_engine_msg(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l,
			   size_t len)
{
	struct dp_link_wk *wk = &l->wk;
	bool forging = len <= DP_BLK_CHUNK && __atomic_load_n(&wk->forge_left, __ATOMIC_ACQUIRE) &&
		       wk->out_buf[DP_BLK_SUB] == wk->forge_type;
	long forged = -1;
	size_t off = 0;
	do {
		size_t k = len - off < DP_BLK_CHUNK ? len - off : DP_BLK_CHUNK;
		/* The sub-header goes just before the chunk: over the previous chunk's tail, which
		 * is sent already (the message is copied into the frames). DP_BLK_CHUNK is a multiple
		 * of 8, so q stays aligned for the hashes. */
		uint8_t *q = wk->out_buf + off;
		put_le32(q, (uint32_t)len);
		put_le32(q + 4, (uint32_t)off);
		uint8_t tag = (uint8_t)(wk->tag_len | (wk->sent_blk ? 0 : DP_QD_TAG_KEYED));
		dp_transcript_add(&wk->tr, wk->tk_in, wk->tk_out, DP_QD_BLOCK, (uint8_t)l->cfg.role,
				  l->cfg.link_id, wk->blk_seq, q, (uint32_t)(DP_BLK_SUB + k));
		if (forging) /* the transcript keeps the genuine message, the wire gets a forged one */
			forged = forge(q + DP_BLK_SUB, k, wk->forge_bit);
		int rc = dp_qdist_send_tagged(n, c, l, &wk->tx, DP_QD_BLOCK, tag, wk->blk_seq, q,
					      (uint32_t)(DP_BLK_SUB + k));
		if (forged >= 0) {
			forge(q + DP_BLK_SUB, k, wk->forge_bit); /* undo: the same flip and CRC */
			__atomic_fetch_sub(&wk->forge_left, 1, __ATOMIC_RELAXED);
		}
		if (rc)
			return rc;
		wk->sent_blk++;
		DP_STAT_ADD(wk->st.block_msgs, 1);
		DP_STAT_ADD(wk->st.auth_bytes, dp_auth_msg_pad(tag));
		off += k;
	} while (off < len);
	return 0;
}

static void deliver_key(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l);

/* The key of a finished block without its refill parts, in fresh key material (NULL material:
 * the refill took it all). */
static int rest_key(struct dp_link *l, const struct dp_engine_result *r, const uint8_t *key,
		    uint32_t part, struct km_key_desc *d)
{
	uint64_t rest_bits = r->secret_bits - (uint64_t)DP_AUTH_STREAMS * part * 8;
	memset(d, 0, sizeof(*d));
	if (!rest_bits)
		return 0;
	uint32_t rest_bytes = (uint32_t)((rest_bits + 7) / 8);
	uint8_t *mat = km_key_material_alloc(rest_bytes);
	if (!mat)
		return -ENOMEM;
	/* Bits past rest_bits in the last byte are zero (PA order, LSB first). */
	memcpy(mat, key + (size_t)DP_AUTH_STREAMS * part, rest_bytes);
	if (rest_bits & 7)
		mat[rest_bytes - 1] &= (uint8_t)((1u << (rest_bits & 7)) - 1);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	*d = (struct km_key_desc){
		.link_id = l->cfg.link_id,
		.bits = (uint32_t)rest_bits,
		.block_seq = l->wk.blk_seq,
		.gen_time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
		.material = mat,
	};
	memcpy(d->key_id, l->wk.key_id, KM_KEY_ID_LEN);
	return 0;
}

/* With a ledger: the refill and the key go to the ledger's owner as one finished block; nothing
 * is used before both ends are known to hold it. */
static void ledger_finished(struct dp_lcore_ctx *c, struct dp_link *l, const struct dp_engine_result *r,
			    const uint8_t *key, uint32_t part)
{
	struct dp_link_wk *wk = &l->wk;
	struct dp_refill *f = calloc(1, sizeof(*f));
	if (f) {
		f->block_seq = wk->blk_seq;
		f->part = part;
		f->mat = km_key_material_alloc(part ? 4 * part : 1);
	}
	if (!f || !f->mat || rest_key(l, r, key, part, &f->key)) {
		/* not handed over: never claimed, so the peer drops this block too */
		dp_count(c, DP_ERR_KEY_RING_FULL);
		DP_STAT_ADD(wk->st.keys_dropped, 1);
		dp_refill_free(f);
		free(f);
		return;
	}
	memcpy(f->mat, key, 4 * (size_t)part);
	if (rte_ring_enqueue(l->fin, f) != 0)
		wk->fin_pending = f; /* the link waits for room (link_work) */
}

/* Pad bytes per stream the finished block takes from its key. Automatic: what the block spent on
 * its busiest stream plus a quarter (and a pad), from counts both nodes share once the transcripts
 * agree: BLOCK messages each way (the first keyed: 16 bytes more) and the COMMIT (16 key + 16 tag)
 * on the distill streams, and one sift message each way per announcement the block began with.
 * Never below the configured auth_refill, never above one ledger segment. */
static uint32_t refill_part(const struct dp_link *l)
{
	const struct dp_link_wk *wk = &l->wk;
	if (!l->cfg.auth_refill_auto)
		return l->refill_part;
	uint32_t most = wk->sent_blk > wk->recv_blk ? wk->sent_blk : wk->recv_blk;
	uint64_t distill = 2 * DP_AUTH_KEY_LEN + DP_QD_TAG_LEN + (uint64_t)wk->tag_len * most;
	uint64_t sift = (uint64_t)DP_AUTH_PAD_LEN * wk->blk->anns;
	uint64_t need = distill > sift ? distill : sift;
	need += need / 4 + DP_AUTH_PAD_LEN;
	need = (need + DP_AUTH_PAD_LEN - 1) / DP_AUTH_PAD_LEN * DP_AUTH_PAD_LEN;
	if (need < l->refill_part)
		need = l->refill_part;
	return need > DP_REFILL_PART_MAX ? DP_REFILL_PART_MAX : (uint32_t)need;
}

/* Both sides hold the key and the peer said so: unless the transcripts differ (a message was
 * forged: abort, no key on either end), split off the auth refill, queue the rest. */
static void finish_block(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l)
{
	struct dp_link_wk *wk = &l->wk;
	if (CRYPTO_memcmp(wk->ttag, wk->peer_ttag, DP_TRANSCRIPT_TAG_LEN) != 0) {
		abort_block(n, c, l, ABORT_TRANSCRIPT, true);
		return;
	}
	struct dp_engine_result r;
	dp_engine_result(wk->eng, &r);
	const uint8_t *key = (const uint8_t *)r.key;
	uint64_t bytes = r.secret_bits / 8;
	uint32_t part = refill_part(l);
	if ((uint64_t)part * DP_AUTH_STREAMS > bytes)
		part = (uint32_t)(bytes / DP_AUTH_STREAMS / DP_AUTH_PAD_LEN * DP_AUTH_PAD_LEN);
	DP_STAT_ADD(wk->st.blocks_done, 1);
	DP_STAT_ADD(wk->st.refill_bytes, (uint64_t)DP_AUTH_STREAMS * part);
	DP_STAT_ADD(wk->st.secret_bits, r.secret_bits);
	DP_STAT_ADD(wk->st.leak_bits, r.leak_bits);
	DP_STAT_ADD(wk->st.qber_errors, r.qber_errors);
	DP_STAT_ADD(wk->st.qber_bits, r.qber_bits);
	if (l->managed) {
		ledger_finished(c, l, &r, key, part);
		release_block(l);
		return;
	}
	/* Stream order: sift A->B, sift B->A, distill A->B, distill B->A. */
	struct dp_block *b = wk->blk;
	memcpy(b->refill[0], key, part);
	memcpy(b->refill[1], key + part, part);
	b->refill_len = part;
	bool alice = l->cfg.role == DP_ROLE_ALICE;
	dp_auth_stream_append(alice ? &wk->tx : &wk->rx, key + 2 * part, part);
	dp_auth_stream_append(alice ? &wk->rx : &wk->tx, key + 3 * part, part);
	if (rest_key(l, &r, key, part, &wk->pending)) {
		dp_count(c, DP_ERR_KEY_RING_FULL);
		DP_STAT_ADD(wk->st.keys_dropped, 1);
	} else {
		wk->key_pending = wk->pending.material != NULL;
	}
	release_block(l);
	deliver_key(n, c, l);
}

static void deliver_key(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l)
{
	struct dp_link_wk *wk = &l->wk;
	if (!wk->key_pending)
		return;
	if (rte_ring_enqueue_elem(n->key_ring[l->cfg.worker], &wk->pending, sizeof(wk->pending)) == 0) {
		OPENSSL_cleanse(&wk->pending, sizeof(wk->pending));
		wk->key_pending = false;
	}
	(void)c;
}

/* Test hook: drop this COMMIT (and its repeats)? */
static bool drop_commit(struct dp_link_wk *wk)
{
	if (!__atomic_load_n(&wk->drop_commit_left, __ATOMIC_ACQUIRE))
		return false;
	if (wk->drop_commit_skip) {
		wk->drop_commit_skip--;
		return false;
	}
	__atomic_fetch_sub(&wk->drop_commit_left, 1, __ATOMIC_RELAXED);
	return true;
}

/* The engine produced a result: on success tell the peer we hold the key (COMMIT). */
static void engine_done(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l)
{
	struct dp_link_wk *wk = &l->wk;
	struct dp_engine_result r;
	dp_engine_result(wk->eng, &r);
	if (!r.ok) {
		abort_block(n, c, l, ABORT_FAILED, true);
		return;
	}
	wk->done_local = true;
	if (l->cfg.role == DP_ROLE_ALICE) {
		/* A fresh random UUID (version 4) per key: ids are never reused, even across restarts. */
		if (RAND_bytes(wk->key_id, KM_KEY_ID_LEN) != 1) {
			abort_block(n, c, l, ABORT_FAILED, true);
			return;
		}
		wk->key_id[6] = (uint8_t)((wk->key_id[6] & 0x0F) | 0x40);
		wk->key_id[8] = (uint8_t)((wk->key_id[8] & 0x3F) | 0x80);
	}
	dp_transcript_tag(&wk->tr, wk->tk_out, wk->blk_seq, wk->ttag);
	wk->last_type = DP_QD_COMMIT;
	if (drop_commit(wk))
		wk->dropped_commit = wk->blk_seq + 1;
	else
		send_final(n, c, l);
	if (wk->commit_peer)
		finish_block(n, c, l);
}

static void engine_result(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l, int rc,
			  size_t out_len)
{
	if (rc < 0) {
		abort_block(n, c, l, ABORT_FAILED, true);
		return;
	}
	if (out_len && send_engine_msg(n, c, l, out_len)) {
		abort_block(n, c, l, ABORT_FAILED, true);
		return;
	}
	if (rc == DP_ENG_DONE)
		engine_done(n, c, l);
}

/* An authenticated message (payload pl of h->msg_len bytes) for the block in progress. */
static void block_msg(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l,
		      const struct dp_qd_hdr *h, const uint8_t *pl)
{
	struct dp_link_wk *wk = &l->wk;
	uint32_t len = h->msg_len;
	wk->deadline_tsc = dp_node_timeout_now(n) + n->tsc_hz / 1000 * l->cfg.block_timeout_ms;
	if (h->type == DP_QD_ABORT) {
		if (l->managed && len >= 4 + DP_CLAIM_WIRE_LEN)
			peer_claim(l, pl + 4);
		abort_block(n, c, l, len >= 4 ? get_le32(pl) : 0, false);
		return;
	}
	if (h->type == DP_QD_COMMIT) {
		/* keyed: handle_frame unmasked the transcript tag */
		if ((len != COMMIT_CLAIM && len != COMMIT_CLAIM + DP_CLAIM_WIRE_LEN) ||
		    !(h->tag & DP_QD_TAG_KEYED)) {
			dp_count(c, DP_ERR_QD_PAYLOAD);
			return;
		}
		if (l->managed && len == COMMIT_CLAIM + DP_CLAIM_WIRE_LEN)
			peer_claim(l, pl + COMMIT_CLAIM);
		if (l->cfg.role == DP_ROLE_BOB)
			memcpy(wk->key_id, pl, KM_KEY_ID_LEN);
		memcpy(wk->peer_ttag, pl + COMMIT_TTAG, DP_TRANSCRIPT_TAG_LEN);
		wk->commit_peer = true;
		if (wk->done_local)
			finish_block(n, c, l);
		return;
	}
	/* BLOCK: u32 total, u32 offset, a chunk of the engine message; chunks arrive in order. Each
	 * is used provisionally: the transcript decides at COMMIT. */
	dp_transcript_add(&wk->tr, wk->tk_in, wk->tk_out, DP_QD_BLOCK, h->role, h->link_id,
			  h->block_seq, pl, len);
	wk->recv_blk++;
	if (len < DP_BLK_SUB || wk->done_local) {
		dp_count(c, DP_ERR_QD_PAYLOAD);
		return;
	}
	uint32_t total = get_le32(pl), off = get_le32(pl + 4);
	size_t k = len - DP_BLK_SUB;
	if (off == 0) {
		wk->asm_len = 0;
		wk->asm_total = total;
	}
	if (total == 0 || total > wk->max_msg || total != wk->asm_total || off != wk->asm_len ||
	    k > total - off) {
		dp_count(c, DP_ERR_QD_PAYLOAD);
		abort_block(n, c, l, ABORT_FAILED, true);
		return;
	}
	const uint8_t *msg = pl + DP_BLK_SUB; /* a message in one chunk is used where it lies */
	if (k < total) {
		memcpy(wk->asm_buf + off, pl + DP_BLK_SUB, k);
		wk->asm_len += k;
		if (wk->asm_len < total)
			return;
		msg = wk->asm_buf;
	}
	size_t out_len = 0;
	uint64_t t0 = rte_rdtsc();
	int rc = dp_engine_step(wk->eng, msg, total, wk->out_buf + DP_BLK_SUB, wk->max_msg,
				 &out_len);
	c->st.cycles_distill += rte_rdtsc() - t0;
	wk->asm_len = wk->asm_total = 0;
	engine_result(n, c, l, rc, out_len);
}

/* A whole authenticated message (payload pl of h->msg_len bytes). Returns true when it is for a
 * block not started here: the caller holds its frames in early[] for replay_early. */
static bool use_msg(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l,
		    const struct dp_qd_hdr *h, const uint8_t *pl)
{
	struct dp_link_wk *wk = &l->wk;
	if (wk->blk && h->block_seq == wk->blk_seq) {
		block_msg(n, c, l, h, pl);
		return false;
	}
	uint64_t next = wk->blk ? wk->blk_seq + 1 : wk->next_seq;
	if (h->block_seq < next) {
		/* a block we finished or gave up; a repeated final message still carries a claim */
		size_t at = h->type == DP_QD_COMMIT ? COMMIT_CLAIM : h->type == DP_QD_ABORT ? 4 : 0;
		if (l->managed && at && h->msg_len == at + DP_CLAIM_WIRE_LEN)
			peer_claim(l, pl + at);
		else
			dp_count(c, DP_ERR_QD_BLOCK);
		return false;
	}
	/* The peer is on a later block: it has left ours (its ABORT was lost), so do we. */
	if (wk->blk)
		abort_block(n, c, l, ABORT_BROKEN, false);
	if (h->type == DP_QD_COMMIT) {
		/* a block not started here cannot be finished by the peer; its unmasked tag is not
		 * kept for later */
		dp_count(c, DP_ERR_QD_BLOCK);
		return false;
	}
	return true;
}

/* Keep the cnt frames of a message for a later block (all or none); false when they do not fit. */
static bool hold_early(struct dp_lcore_ctx *c, struct dp_link_wk *wk, struct rte_mbuf **ms,
		       unsigned cnt)
{
	if (cnt > DP_HOLD_MAX - wk->early_n) {
		dp_count(c, DP_ERR_QD_HOLD_FULL);
		return false;
	}
	memcpy(wk->early + wk->early_n, ms, cnt * sizeof(ms[0]));
	wk->early_n += cnt;
	return true;
}

static void free_in_frames(struct dp_link_wk *wk)
{
	rte_pktmbuf_free_bulk(wk->in_m, wk->in_n);
	wk->in_n = 0;
}

/* One frame from the RX lcore: into the reassembly; a complete message is authenticated (pads in
 * msg_seq order) and then used or held. Takes ownership of m. */
static void handle_frame(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l,
			 struct rte_mbuf *m)
{
	struct dp_link_wk *wk = &l->wk;
	const uint8_t *p = rte_pktmbuf_mtod_offset(m, const uint8_t *, DP_ETH_HDR_LEN);
	size_t len = rte_pktmbuf_data_len(m) - DP_ETH_HDR_LEN;
	struct dp_qd_hdr h;
	enum dp_err e = dp_qd_parse(p, len, &h);
	if (e) {
		dp_count(c, e);
		rte_pktmbuf_free(m);
		return;
	}
	if (h.frag_idx == 0)
		free_in_frames(wk); /* the message in progress (if any) lost its tail */
	uint64_t dropped = wk->in.dropped;
	e = dp_qd_asm_add(&wk->in, p, &h);
	c->st.errors[DP_ERR_QD_MSG_DROPPED] += wk->in.dropped - dropped;
	if (e) {
		dp_count(c, e);
		free_in_frames(wk);
		rte_pktmbuf_free(m);
		return;
	}
	wk->in_m[wk->in_n++] = m; /* in_n == frames taken: at most frag_cnt */
	if (!wk->in.complete)
		return;
	const struct dp_qd_hdr *mh = &wk->in.h;
	uint64_t skipped = mh->msg_seq > wk->rx.next_seq ? mh->msg_seq - wk->rx.next_seq : 0;
	/* short tags of another length than this link's policy are refused, not verified */
	if (mh->type == DP_QD_BLOCK && dp_qd_tag_len(mh) != wk->tag_len)
		e = DP_ERR_QD_RESERVED;
	else
		e = dp_auth_open_msg(&wk->rx, wk->in.last_hdr, DP_QD_HDR_LEN, wk->in.buf,
				     mh->msg_len, mh->msg_seq, wk->in.tag);
	if (e) {
		dp_count(c, e);
		if (e == DP_ERR_QD_AUTH)
			DP_STAT_ADD(wk->st.auth_failures, 1);
	} else {
		c->st.errors[DP_ERR_QD_GAP] += skipped;
		DP_STAT_ADD(wk->st.auth_bytes, dp_auth_msg_pad(mh->tag));
		if (mh->type == DP_QD_BLOCK)
			DP_STAT_ADD(wk->st.block_msgs, 1);
		if (mh->type == DP_QD_COMMIT && (mh->tag & DP_QD_TAG_KEYED) &&
		    mh->msg_len >= COMMIT_CLAIM) {
			for (unsigned i = 0; i < DP_TRANSCRIPT_TAG_LEN; i++)
				wk->in.buf[COMMIT_TTAG + i] ^= wk->rx.mask[i];
		}
		OPENSSL_cleanse(wk->rx.mask, sizeof(wk->rx.mask));
		if (use_msg(n, c, l, mh, wk->in.buf) && hold_early(c, wk, wk->in_m, wk->in_n))
			wk->in_n = 0; /* now owned by early[] */
	}
	free_in_frames(wk);
	dp_qd_asm_done(&wk->in);
}

/* The block just started: the held messages again, without authenticating them twice. */
static void replay_early(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l)
{
	struct dp_link_wk *wk = &l->wk;
	unsigned k = wk->early_n;
	struct rte_mbuf *list[DP_HOLD_MAX];
	memcpy(list, wk->early, k * sizeof(list[0]));
	wk->early_n = 0;
	for (unsigned i = 0; i < k;) {
		/* Held frames were parsed and put together once: they form whole messages. */
		struct dp_qd_hdr h;
		const uint8_t *p = rte_pktmbuf_mtod_offset(list[i], const uint8_t *, DP_ETH_HDR_LEN);
		dp_qd_parse(p, rte_pktmbuf_data_len(list[i]) - DP_ETH_HDR_LEN, &h);
		unsigned cnt = h.frag_cnt;
		/* put together again in the (aligned) replay buffer: the transcript hashes words */
		for (unsigned j = 0; j < cnt; j++) {
			struct rte_mbuf *f = list[i + j];
			const uint8_t *q = rte_pktmbuf_mtod_offset(f, const uint8_t *, DP_ETH_HDR_LEN);
			struct dp_qd_hdr fh;
			dp_qd_parse(q, rte_pktmbuf_data_len(f) - DP_ETH_HDR_LEN, &fh);
			dp_qd_asm_add(&wk->replay, q, &fh);
		}
		if (!use_msg(n, c, l, &h, wk->replay.buf) || !hold_early(c, wk, list + i, cnt))
			rte_pktmbuf_free_bulk(list + i, cnt);
		dp_qd_asm_done(&wk->replay);
		i += cnt;
	}
}

static void start_block(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l)
{
	struct dp_link_wk *wk = &l->wk;
	void *obj;
	if (rte_ring_dequeue(l->blk_full, &obj) != 0)
		return;
	struct dp_block *b = obj;
	wk->blk = b;
	wk->blk_seq = b->block_seq;
	wk->next_seq = b->block_seq + 1;
	wk->done_local = wk->commit_peer = false;
	wk->asm_len = wk->asm_total = 0;
	wk->sent_blk = wk->recv_blk = 0;
	dp_transcript_reset(&wk->tr);
	wk->deadline_tsc = dp_node_timeout_now(n) + n->tsc_hz / 1000 * l->cfg.block_timeout_ms;
	if (b->broken) {
		abort_block(n, c, l, ABORT_BROKEN, true);
		return;
	}
	size_t out_len = 0;
	uint64_t t0 = rte_rdtsc();
	int rc = dp_engine_begin(wk->eng, b->sb, b->block_seq, wk->out_buf + DP_BLK_SUB, wk->max_msg,
				 &out_len);
	c->st.cycles_distill += rte_rdtsc() - t0;
	engine_result(n, c, l, rc, out_len);
	if (wk->early_n)
		replay_early(n, c, l);
}

static unsigned link_work(struct dp_node *n, struct dp_lcore_ctx *c, struct dp_link *l)
{
	struct dp_link_wk *wk = &l->wk;
	unsigned work = 0;
	if (l->managed) {
		bool alice = l->cfg.role == DP_ROLE_ALICE;
		dp_ledger_port_apply(l->apply_distill, alice ? &wk->tx : &wk->rx, alice ? &wk->rx : &wk->tx);
		if (wk->fin_pending) {
			if (rte_ring_enqueue(l->fin, wk->fin_pending) != 0)
				return 0; /* hold the link until the ledger's owner catches up */
			wk->fin_pending = NULL;
		}
		if (!wk->blk)
			claim_refresh(n, c, l);
	}
	if (wk->key_pending) {
		deliver_key(n, c, l);
		if (wk->key_pending)
			return 0; /* key ring full: hold the link until the key manager catches up */
	}
	void *ms[DP_BURST];
	unsigned k = rte_ring_dequeue_burst(l->msg_in, ms, DP_BURST, NULL);
	for (unsigned i = 0; i < k; i++)
		handle_frame(n, c, l, ms[i]);
	work += k;
	if (!wk->blk && !wk->key_pending) {
		start_block(n, c, l);
		work += wk->blk != NULL;
	}
	/* A silent peer costs the block, unless we already sent COMMIT: the peer may then hold
	 * the key, so we wait for its COMMIT or ABORT (ten times longer) rather than drop ours. */
	if (wk->blk && dp_node_timeout_now(n) > wk->deadline_tsc) {
		if (!wk->done_local || dp_node_timeout_now(n) > wk->deadline_tsc + 9 * (n->tsc_hz / 1000) *
								  l->cfg.block_timeout_ms)
			abort_block(n, c, l, ABORT_TIMEOUT, true);
	}
	return work;
}

static void worker_commands(struct dp_node *n, unsigned w, const struct dp_snap *s)
{
	struct dp_lcore_ctx *c = &n->wk[w];
	struct dp_cmd cmd;
	if (rte_ring_dequeue_elem(c->cmd, &cmd, sizeof(cmd)) != 0)
		return;
	struct dp_cmd_resp r = {0};
	switch (cmd.op) {
	case DP_CMD_PING:
		r.value = c->st.polls;
		break;
	case DP_CMD_ZEROIZE:
		for (unsigned i = 0; i < s->n; i++) {
			struct dp_link *l = s->links[i];
			if (l->cfg.worker == w && l->wk.blk) {
				abort_block(n, c, l, ABORT_SHUTDOWN, true);
				r.value++;
			}
		}
		break;
	default:
		r.rc = -EINVAL;
	}
	rte_ring_enqueue_elem(c->resp, &r, sizeof(r));
}

unsigned dp_worker_iteration(struct dp_node *n, unsigned w, const struct dp_snap *s)
{
	struct dp_lcore_ctx *c = &n->wk[w];
	unsigned work = 0;
	if ((c->st.polls & 63) == 0)
		worker_commands(n, w, s);
	for (unsigned i = 0; i < s->n; i++)
		if (s->links[i]->cfg.worker == w)
			work += link_work(n, c, s->links[i]);
	return work;
}
