/* Link state: allocated by the control thread when a link is added, freed after a grace period
 * when it is removed (no lcore can reach it any more). */
#include <errno.h>
#include <openssl/crypto.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "../wire/le.h"
#include "node_internal.h"

static struct rte_ring *link_ring(struct dp_node *n, const char *what, unsigned size)
{
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "dp%p%s%u", (void *)n, what, n->ring_serial++);
	/* Names only need to be unique inside this process. */
	return rte_ring_create(name, size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

static int check_cfg(const struct dp_node *n, const struct dp_link_cfg *lc, const char **why)
{
	if (lc->role != DP_ROLE_ALICE && lc->role != DP_ROLE_BOB)
		return *why = "role must be alice or bob", -EINVAL;
	if (lc->module_port >= n->cfg.n_ports || lc->peer_port >= n->cfg.n_ports)
		return *why = "port index out of range", -EINVAL;
	if (lc->worker >= n->cfg.n_workers)
		return *why = "worker index out of range", -EINVAL;
	if (lc->block_bits < 1024 || lc->block_bits > (1u << 26))
		return *why = "block_bits must be 1024 .. 2^26", -EINVAL;
	if (lc->window_log2 && (lc->window_log2 < 12 || lc->window_log2 > 30))
		return *why = "window_log2 must be 12 .. 30", -EINVAL;
	if (lc->announce_max > DP_QD_ANNOUNCE_MAX)
		return *why = "announce_max above 65536", -EINVAL;
	if (lc->auth_refill > DP_AUTH_STREAMS * DP_REFILL_PART_MAX)
		return *why = "auth_refill above 16384 bytes", -EINVAL;
	if (lc->auth_tag_len && lc->auth_tag_len != 4 && lc->auth_tag_len != 8 && lc->auth_tag_len != 16)
		return *why = "auth_tag_len must be 4, 8 or 16", -EINVAL;
	if (!lc->ledger && (!lc->psk || lc->psk_len < DP_AUTH_PSK_MIN))
		return *why = "pre-shared authentication secret too short", -EINVAL;
	return 0;
}

struct dp_link *dp_link_create(struct dp_node *n, const struct dp_link_cfg *lc, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (check_cfg(n, lc, why))
		return NULL;
	struct dp_link *l = rte_zmalloc("dp_link", sizeof(*l), RTE_CACHE_LINE_SIZE);
	if (!l)
		return *why = "out of memory", NULL;
	l->cfg = *lc;
	if (!l->cfg.test_bits)
		l->cfg.test_bits = l->cfg.block_bits;
	if (!l->cfg.window_log2)
		l->cfg.window_log2 = 22;
	if (!l->cfg.announce_max)
		l->cfg.announce_max = DP_QD_ANNOUNCE_MAX;
	if (!l->cfg.block_timeout_ms)
		l->cfg.block_timeout_ms = 10000;
	if (l->cfg.qber_max <= 0)
		l->cfg.qber_max = 0.11;
	l->module_port_id = n->cfg.port_ids[lc->module_port];
	l->peer_port_id = n->cfg.port_ids[lc->peer_port];
	l->src_mac = n->port_mac[lc->peer_port];
	l->cfg.psk = NULL;
	l->cfg.ledger = NULL; /* owned by the caller: not kept */
	l->psk_copy = NULL;
	l->refill_part = lc->auth_refill / DP_AUTH_STREAMS / DP_AUTH_PAD_LEN * DP_AUTH_PAD_LEN;

	struct dp_link_rx *rx = &l->rx;
	struct dp_link_wk *wk = &l->wk;
	/* Auth streams: the sift pair belongs to the RX lcore, the distill pair to the worker. */
	struct dp_auth_stream *st[DP_AUTH_STREAMS];
	enum dp_role peer = lc->role == DP_ROLE_ALICE ? DP_ROLE_BOB : DP_ROLE_ALICE;
	st[dp_auth_stream_index(DP_QD_CH_SIFT, lc->role)] = &rx->tx;
	st[dp_auth_stream_index(DP_QD_CH_SIFT, peer)] = &rx->rx;
	st[dp_auth_stream_index(DP_QD_CH_DISTILL, lc->role)] = &wk->tx;
	st[dp_auth_stream_index(DP_QD_CH_DISTILL, peer)] = &wk->rx;
	if (lc->ledger) {
		/* restored at the persisted reservation; usable once the owner raises the limits */
		l->managed = true;
		unsigned send = 1u << dp_auth_stream_index(DP_QD_CH_SIFT, lc->role) |
				1u << dp_auth_stream_index(DP_QD_CH_DISTILL, lc->role);
		if (dp_ledger_restore(lc->ledger, st, send)) {
			*why = "cannot restore the authentication streams from the ledger";
			goto fail;
		}
		rx->next_block_seq = dp_ledger_block_next(lc->ledger);
		struct dp_claim c = dp_ledger_claim(lc->ledger);
		dp_claim_slot_write(&l->own_claim, c.upto, c.held);
		l->fin = link_ring(n, "lf", DP_LEDGER_PEND_MAX);
		l->apply_sift = link_ring(n, "ls", 2 * DP_LEDGER_PEND_MAX);
		l->apply_distill = link_ring(n, "ld", 2 * DP_LEDGER_PEND_MAX);
		if (!l->fin || !l->apply_sift || !l->apply_distill) {
			*why = "out of memory (rings)";
			goto fail;
		}
	} else if (dp_auth_split(st, lc->psk, lc->psk_len, 1, (size_t)lc->psk_len + (1u << 16))) {
		*why = "cannot set up authentication streams";
		goto fail;
	}

	/* Transcript keys: the distill streams' r, A->B hashes payloads, B->A chains them. */
	bool alice = lc->role == DP_ROLE_ALICE;
	const uint8_t *ki = alice ? wk->tx.r : wk->rx.r, *ko = alice ? wk->rx.r : wk->tx.r;
	for (int i = 0; i < 2; i++) {
		wk->tk_in[i] = get_le64(ki + 8 * i);
		wk->tk_out[i] = get_le64(ko + 8 * i);
	}
	wk->tag_len = lc->auth_tag_len ? lc->auth_tag_len : 4;

	l->blk_full = link_ring(n, "bf", DP_LINK_BLOCKS * 2);
	l->blk_free = link_ring(n, "bx", DP_LINK_BLOCKS * 2);
	l->msg_in = link_ring(n, "mi", DP_MSG_RING);
	if (!l->blk_full || !l->blk_free || !l->msg_in) {
		*why = "out of memory (rings)";
		goto fail;
	}
	for (unsigned i = 0; i < DP_LINK_BLOCKS; i++) {
		l->blocks[i].sb = dst_sift_block_create(l->cfg.block_bits, l->cfg.test_bits);
		if (!l->blocks[i].sb) {
			*why = "out of memory (blocks)";
			goto fail;
		}
		rte_ring_enqueue(l->blk_free, &l->blocks[i]);
	}
	if (dp_sift_init(l)) {
		*why = "out of memory (sift buffers)";
		goto fail;
	}
	wk->eng = dp_engine_create(&l->cfg, why);
	if (!wk->eng)
		goto fail;
	wk->max_msg = dp_engine_max_msg(wk->eng);
	wk->asm_buf = malloc(wk->max_msg);
	/* 8 spare bytes: short tags and transcripts hash whole 64-bit words */
	wk->out_buf = malloc(DP_BLK_SUB + wk->max_msg + 8);
	/* A Qdist message carries at most one chunk of an engine message. */
	size_t in_cap = DP_BLK_SUB + (wk->max_msg < DP_BLK_CHUNK ? wk->max_msg : DP_BLK_CHUNK);
	if (!wk->asm_buf || !wk->out_buf || dp_qd_asm_init(&wk->in, in_cap) ||
	    dp_qd_asm_init(&wk->replay, in_cap)) {
		*why = "out of memory (message buffers)";
		goto fail;
	}
	return l;
fail:
	dp_link_free(l);
	return NULL;
}

static void drain_mbufs(struct rte_ring *r)
{
	void *m;
	while (r && rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
}

void dp_link_free(struct dp_link *l)
{
	if (!l)
		return;
	struct dp_link_rx *rx = &l->rx;
	struct dp_link_wk *wk = &l->wk;
	dp_engine_free(wk->eng);
	if (wk->key_pending)
		km_key_material_free(wk->pending.material, (wk->pending.bits + 7) / 8);
	if (wk->asm_buf)
		OPENSSL_cleanse(wk->asm_buf, wk->max_msg);
	if (wk->out_buf)
		OPENSSL_cleanse(wk->out_buf, DP_BLK_SUB + wk->max_msg + 8);
	free(wk->asm_buf);
	free(wk->out_buf);
	dp_qd_asm_free(&wk->in);
	dp_qd_asm_free(&wk->replay);
	for (unsigned i = 0; i < wk->in_n; i++)
		rte_pktmbuf_free(wk->in_m[i]);
	drain_mbufs(l->msg_in);
	for (unsigned i = 0; i < rx->hold_n; i++)
		rte_pktmbuf_free(rx->hold[(rx->hold_head + i) % DP_HOLD_MAX]);
	for (unsigned i = 0; i < wk->early_n; i++)
		rte_pktmbuf_free(wk->early[i]);
	void *obj;
	while (l->fin && rte_ring_dequeue(l->fin, &obj) == 0) {
		dp_refill_free(obj);
		free(obj);
	}
	if (wk->fin_pending) {
		dp_refill_free(wk->fin_pending);
		free(wk->fin_pending);
	}
	dp_ledger_port_drain(l->apply_sift);
	dp_ledger_port_drain(l->apply_distill);
	rte_ring_free(l->fin);
	rte_ring_free(l->apply_sift);
	rte_ring_free(l->apply_distill);
	rte_ring_free(l->blk_full);
	rte_ring_free(l->blk_free);
	rte_ring_free(l->msg_in);
	for (unsigned i = 0; i < DP_LINK_BLOCKS; i++) {
		/* Sifted bits are key material: wipe before freeing. */
		if (l->blocks[i].sb)
			dst_sift_block_reset(l->blocks[i].sb, 0);
		dst_sift_block_free(l->blocks[i].sb);
		OPENSSL_cleanse(l->blocks[i].refill, sizeof(l->blocks[i].refill));
	}
	dp_sift_free(l);
	dp_auth_stream_free(&rx->tx);
	dp_auth_stream_free(&rx->rx);
	dp_auth_stream_free(&wk->tx);
	dp_auth_stream_free(&wk->rx);
	OPENSSL_cleanse(wk->tk_in, sizeof(wk->tk_in));
	OPENSSL_cleanse(wk->tk_out, sizeof(wk->tk_out));
	OPENSSL_cleanse(&wk->tr, sizeof(wk->tr));
	OPENSSL_cleanse(wk->ttag, sizeof(wk->ttag));
	OPENSSL_cleanse(wk->peer_ttag, sizeof(wk->peer_ttag));
	rte_free(l);
}
