/* Sifting on the RX lcore (docs/protocol.md, SIFT_ANNOUNCE / SIFT_REPLY).
 *
 * Bob's node announces its detections (slot, basis); Alice's node looks them up in its slot window
 * once her own event stream has covered them, replies with matches and her decoy classes, and both
 * append the matches to the link's current block with dst_sift_events(), in announcement order, so
 * both hold the same block boundaries and bits. A block closes when full and goes to the link's
 * worker; when no free block buffer is left, sifting pauses (messages wait, nothing is dropped). */
#include <openssl/crypto.h>
#include <rte_cycles.h>
#include <string.h>
#include <time.h>

#include "node_internal.h"

enum { MSG_DONE, MSG_BLOCKED };

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Take back blocks the worker finished with, applying their auth refills in block order. */
static void collect_free_blocks(struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	void *objs[DP_LINK_BLOCKS];
	unsigned k = rte_ring_dequeue_burst(l->blk_free, objs, DP_LINK_BLOCKS, NULL);
	for (unsigned i = 0; i < k; i++) {
		struct dp_block *b = objs[i];
		if (b->refill_len) {
			/* refill[0] feeds sift A->B, refill[1] sift B->A. */
			struct dp_auth_stream *ab = l->cfg.role == DP_ROLE_ALICE ? &rx->tx : &rx->rx;
			struct dp_auth_stream *ba = l->cfg.role == DP_ROLE_ALICE ? &rx->rx : &rx->tx;
			dp_auth_stream_append(ab, b->refill[0], b->refill_len);
			dp_auth_stream_append(ba, b->refill[1], b->refill_len);
			OPENSSL_cleanse(b->refill, sizeof(b->refill));
			b->refill_len = 0;
		}
		rx->free_blk[rx->free_n++] = b;
	}
}

static bool open_block(struct dp_link *l, uint64_t slot)
{
	struct dp_link_rx *rx = &l->rx;
	if (!rx->free_n)
		collect_free_blocks(l);
	if (!rx->free_n)
		return false;
	struct dp_block *b = rx->free_blk[--rx->free_n];
	dst_sift_block_reset(b->sb, slot);
	b->block_seq = rx->next_block_seq;
	b->broken = false;
	if (rx->skip_bits) {
		/* Realigned in the middle of Alice's block: keep the boundary, never use the block. */
		b->sb->key_bits = rx->skip_bits;
		b->broken = true;
		rx->skip_bits = 0;
	}
	rx->cur = b;
	return true;
}

static void close_block(struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	/* The full ring has room for every block of the link, so this cannot fail. */
	rte_ring_enqueue(l->blk_full, rx->cur);
	rx->cur = NULL;
	rx->next_block_seq++;
	DP_STAT_ADD(rx->st.blocks_filled, 1);
}

/* Fill the scratch event batch with announcement entries [from, from + k) as dst_sift_events
 * expects both parties' choices; the other party's bit is set equal to ours (unknown here, so
 * error counts are left to the pipeline's test-bit comparison). Planes are built a word at a
 * time. */
static void build_events(struct dp_link *l, const struct dp_announce *a, unsigned from, unsigned k)
{
	struct dst_events *ev = l->rx.ev;
	bool alice = l->cfg.role == DP_ROLE_ALICE;
	for (unsigned w = 0; w * 64 < k; w++) {
		uint64_t ab = 0, bb = 0, bit = 0, lo = 0, hi = 0;
		unsigned m = k - w * 64 < 64 ? k - w * 64 : 64;
		const uint8_t *syms = a->syms + from + w * 64, *match = a->match + from + w * 64;
		const uint8_t *cls = a->cls + from + w * 64, *mine = a->mine + from + w * 64;
		for (unsigned j = 0; j < m; j++) {
			uint64_t bbasis = syms[j] & 1;
			uint64_t b = alice ? DP_SYM_BIT(mine[j]) : DP_SYM_BIT(syms[j]);
			uint64_t c = cls[j] == 3 ? 0 : cls[j];
			bb |= bbasis << j;
			ab |= (bbasis ^ (uint64_t)(match[j] ^ 1)) << j;
			bit |= b << j;
			lo |= (c & 1) << j;
			hi |= (c >> 1) << j;
		}
		memcpy(ev->slot + w * 64, a->slots + from + w * 64, m * sizeof(uint64_t));
		ev->a_basis[w] = ab;
		ev->b_basis[w] = bb;
		ev->a_bit[w] = ev->b_bit[w] = bit;
		ev->cls_lo[w] = lo;
		ev->cls_hi[w] = hi;
	}
	ev->n = k;
}

/* Alice: the class of every X-basis match, in the order sifting appended them to the test
 * bits, so the pipeline can count test errors per decoy class. */
static void note_test_classes(struct dp_block *b, const struct dp_announce *a, unsigned from,
			      size_t used, size_t t)
{
	for (size_t j = 0; j < used; j++) {
		unsigned i = from + (unsigned)j;
		if (a->match[i] && (a->syms[i] & 1) && t < b->sb->cap_test)
			b->test_cls[t++] = a->cls[i];
	}
}

/* Sift a decided announcement from a->pos on. True when all of it is in blocks. */
static bool sift_decided(struct dp_node *n, struct dp_link *l, struct dp_announce *a)
{
	struct dp_link_rx *rx = &l->rx;
	while (a->pos < a->n) {
		if (!rx->cur && !open_block(l, a->slots[a->pos]))
			return false;
		unsigned k = a->n - a->pos;
		build_events(l, a, a->pos, k);
		struct dst_sift_block *sb = rx->cur->sb;
		size_t key0 = sb->key_bits, test0 = sb->test_bits;
		size_t used = dst_sift_events(sb, rx->ev, 0);
		if (rx->cur->test_cls)
			note_test_classes(rx->cur, a, a->pos, used, test0);
		DP_STAT_ADD(rx->st.sifted_bits, sb->key_bits - key0);
		DP_STAT_ADD(rx->st.test_bits, sb->test_bits - test0);
		a->pos += (unsigned)used;
		if (dst_sift_block_full(sb))
			close_block(l);
	}
	(void)n;
	return true;
}

/* Alice: answer and sift the oldest announcement once her events cover it (or when the queue
 * is full: then the slots she lacks are answered unknown). */
static unsigned alice_service(struct dp_node *n, struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	unsigned work = 0;
	while (rx->pend_n) {
		struct dp_announce *a = &rx->pend[rx->pend_head];
		if (!a->decided) {
			if (a->slots[a->n - 1] >= rx->next_slot && rx->pend_n < DP_PEND_MAX)
				break;
			unsigned late = 0;
			for (unsigned i = 0; i < a->n; i++) {
				uint8_t m = dp_win_get(rx, a->slots[i]);
				unsigned cls = m == 0xFF ? 3 : DP_SYM_CLASS(m);
				a->mine[i] = m;
				a->cls[i] = (uint8_t)cls;
				a->match[i] = cls != 3 && DP_SYM_BASIS(m) == (a->syms[i] & 1u);
				late += cls == 3;
			}
			uint8_t buf[DP_QD_REPLY_HDR + DP_QD_ANNOUNCE_MAX];
			uint32_t key_pos = rx->cur ? (uint32_t)rx->cur->sb->key_bits : 0;
			int len = dp_qd_reply_build(buf, sizeof(buf), a->msg_seq, key_pos, a->match,
						    a->cls, a->n);
			if (len < 0 || dp_qdist_send(n, &n->rx, l, &rx->tx, DP_QD_SIFT_REPLY,
						     rx->next_block_seq, buf, (uint16_t)len) < 0)
				break;
			DP_STAT_ADD(rx->st.auth_bytes, DP_AUTH_PAD_LEN);
			n->rx.st.errors[DP_ERR_SIFT_LATE] += late;
			a->decided = true;
			a->pos = 0;
		}
		if (!sift_decided(n, l, a))
			break;
		OPENSSL_cleanse(a->mine, a->n);
		rx->pend_head = (rx->pend_head + 1) % DP_PEND_MAX;
		rx->pend_n--;
		work++;
	}
	return work;
}

/* Bob: send the pending detections as one announcement. */
static int bob_announce(struct dp_node *n, struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	struct dp_announce *a = rx->ann;
	if (!a->n)
		return 0;
	if (rx->await_n == DP_AWAIT_MAX)
		return -EAGAIN;
	uint8_t buf[DP_QD_ANNOUNCE_HDR + 6 * DP_QD_ANNOUNCE_MAX];
	int len = dp_qd_announce_build(buf, sizeof(buf), a->slots[0], a->slots, a->syms, a->n);
	if (len < 0)
		return len;
	int rc = dp_qdist_send(n, &n->rx, l, &rx->tx, DP_QD_SIFT_ANNOUNCE, rx->next_block_seq, buf,
			       (uint16_t)len);
	if (rc)
		return rc;
	DP_STAT_ADD(rx->st.auth_bytes, DP_AUTH_PAD_LEN);
	struct dp_announce *w = &rx->await[(rx->await_head + rx->await_n) % DP_AWAIT_MAX];
	w->msg_seq = rx->tx.next_seq - 1;
	w->n = a->n;
	w->pos = 0;
	w->decided = false;
	memcpy(w->slots, a->slots, a->n * sizeof(a->slots[0]));
	memcpy(w->syms, a->syms, a->n);
	OPENSSL_cleanse(a->syms, a->n);
	rx->await_n++;
	a->n = 0;
	rx->ann_words = 0;
	return 0;
}

/* Bob: sift the replied announcements in order. */
static unsigned bob_service(struct dp_node *n, struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	unsigned work = 0;
	while (rx->await_n) {
		struct dp_announce *a = &rx->await[rx->await_head];
		if (!a->decided || !sift_decided(n, l, a))
			break;
		OPENSSL_cleanse(a->syms, a->n);
		rx->await_head = (rx->await_head + 1) % DP_AWAIT_MAX;
		rx->await_n--;
		work++;
	}
	/* Flush a partial announcement after 1 ms so the tail of a stream is not stuck. */
	if (rx->ann && rx->ann->n && rte_rdtsc() - rx->ann_tsc > n->tsc_hz / 1000)
		bob_announce(n, l);
	return work;
}

void dp_sift_event_frame(struct dp_node *n, struct dp_link *l, const struct dp_evf_hdr *h,
			 const uint8_t *payload)
{
	struct dp_link_rx *rx = &l->rx;
	bool alice = l->cfg.role == DP_ROLE_ALICE;
	if (alice == !!(h->flags & DP_EVF_FLAG_RX_SIDE) || (!alice && (h->flags & DP_EVF_FLAG_DENSE))) {
		dp_count(&n->rx, DP_ERR_EVF_SIDE);
		return;
	}
	if (rx->seen && h->seq != rx->next_seq) {
		if ((int32_t)(h->seq - rx->next_seq) < 0) {
			dp_count(&n->rx, DP_ERR_EVF_SEQ_OLD);
			return;
		}
		dp_count(&n->rx, DP_ERR_EVF_SEQ_GAP);
	}
	static __thread uint64_t slots[32768];
	static __thread uint8_t syms[32768];
	uint64_t first = h->first_slot, last;
	unsigned count = h->count;
	if (h->flags & DP_EVF_FLAG_DENSE) {
		last = first + count - 1;
	} else {
		if (count > 32768) {
			dp_count(&n->rx, DP_ERR_EVF_COUNT);
			return;
		}
		enum dp_err e = dp_evf_decode_sparse(h, payload, slots, syms);
		if (e) {
			dp_count(&n->rx, e);
			return;
		}
		first = slots[0];
		last = slots[count - 1];
	}
	if (rx->seen && first < rx->next_slot) {
		dp_count(&n->rx, DP_ERR_EVF_SLOT_REGRESS);
		return;
	}
	uint64_t t = now_ns();
	if (!rx->seen) {
		rx->st.first_ns = t;
		rx->win_lo = rx->win_base = first;
	}
	__atomic_store_n(&rx->st.last_ns, t, __ATOMIC_RELAXED);
	rx->seen = true;
	rx->next_seq = h->seq + 1;
	DP_STAT_ADD(rx->st.frames, 1);
	DP_STAT_ADD(rx->st.events, count);

	if (alice) {
		/* Slots the module did not report are unknown. */
		dp_win_unknown(rx, rx->next_slot > rx->win_lo ? rx->next_slot : first, first);
		if (h->flags & DP_EVF_FLAG_DENSE) {
			dp_win_dense(rx, first, payload, count);
		} else {
			for (unsigned i = 0; i < count; i++) {
				if (i)
					dp_win_unknown(rx, slots[i - 1] + 1, slots[i]);
				dp_win_put(rx, slots[i], syms[i]);
			}
		}
		rx->next_slot = last + 1;
		if (rx->next_slot - rx->win_lo > rx->win_mask + 1)
			rx->win_lo = rx->next_slot - (rx->win_mask + 1);
		return;
	}
	/* Bob: queue the detections for announcement. */
	rx->next_slot = last + 1;
	struct dp_announce *a = rx->ann;
	/* An announcement must fit one frame: count its sparse words as they are added. */
	unsigned max_words = (n->cfg.mtu - DP_QD_HDR_LEN - DP_QD_TAG_LEN - DP_QD_ANNOUNCE_HDR) / 2;
	for (unsigned i = 0; i < count; i++) {
		uint64_t gap = a->n ? slots[i] - a->slots[a->n - 1] : 1;
		unsigned words = 1;
		if (gap > DP_EVF_DELTA_MAX) {
			uint64_t units = (gap - 1) / DP_EVF_DELTA_MAX;
			words += 2 * (unsigned)((units + DP_EVF_ESCAPE_MAX - 1) / DP_EVF_ESCAPE_MAX);
		}
		if ((a->n == l->cfg.announce_max || rx->ann_words + words > max_words) &&
		    bob_announce(n, l) < 0) {
			n->rx.st.errors[DP_ERR_SIFT_OVERFLOW] += count - i;
			break;
		}
		if (a->n == 0) {
			rx->ann_tsc = rte_rdtsc();
			words = 1;
		}
		a->slots[a->n] = slots[i];
		a->syms[a->n] = syms[i];
		a->n++;
		rx->ann_words += words;
	}
	if (a->n == l->cfg.announce_max)
		bob_announce(n, l);
}

/* Handle one authenticated-channel sift message; MSG_BLOCKED keeps it for later (in order). */
static int sift_msg(struct dp_node *n, struct dp_link *l, struct rte_mbuf *m)
{
	struct dp_link_rx *rx = &l->rx;
	const uint8_t *p = rte_pktmbuf_mtod_offset(m, const uint8_t *, DP_ETH_HDR_LEN);
	size_t len = rte_pktmbuf_data_len(m) - DP_ETH_HDR_LEN;
	struct dp_qd_hdr h;
	enum dp_err e = dp_qd_parse(p, len, &h);
	if (e) { /* validated on arrival; a held copy cannot change */
		dp_count(&n->rx, e);
		return MSG_DONE;
	}
	bool alice = l->cfg.role == DP_ROLE_ALICE;
	if (h.type != (alice ? DP_QD_SIFT_ANNOUNCE : DP_QD_SIFT_REPLY)) {
		dp_count(&n->rx, DP_ERR_QD_TYPE);
		return MSG_DONE;
	}
	/* Room to take it in? Checked before authentication so a held message keeps its pad. */
	if (alice && rx->pend_n == DP_PEND_MAX)
		return MSG_BLOCKED;
	if (!alice && rx->await_n && rx->await[rx->await_head].decided)
		return MSG_BLOCKED;
	uint64_t skipped = h.msg_seq > rx->rx.next_seq ? h.msg_seq - rx->rx.next_seq : 0;
	e = dp_auth_open(&rx->rx, p, DP_QD_HDR_LEN + h.payload_len, h.msg_seq);
	if (e == DP_ERR_QD_NO_PAD)
		return MSG_BLOCKED;
	if (e) {
		dp_count(&n->rx, e);
		if (e == DP_ERR_QD_AUTH)
			DP_STAT_ADD(rx->st.auth_failures, 1);
		return MSG_DONE;
	}
	n->rx.st.errors[DP_ERR_QD_GAP] += skipped;
	DP_STAT_ADD(rx->st.auth_bytes, DP_AUTH_PAD_LEN);
	const uint8_t *pl = p + DP_QD_HDR_LEN;
	if (alice) {
		struct dp_announce *a = &rx->pend[(rx->pend_head + rx->pend_n) % DP_PEND_MAX];
		int k = dp_qd_announce_parse(pl, h.payload_len, a->slots, a->syms);
		if (k < 0) {
			dp_count(&n->rx, DP_ERR_QD_PAYLOAD);
			return MSG_DONE;
		}
		a->n = (unsigned)k;
		a->msg_seq = h.msg_seq;
		a->decided = false;
		a->pos = 0;
		rx->pend_n++;
		return MSG_DONE;
	}
	/* Bob: the reply must answer the oldest outstanding announcement; older ones whose replies
	 * were lost are dropped (their detections never reach a block). */
	static __thread uint8_t match[DP_QD_ANNOUNCE_MAX], cls[DP_QD_ANNOUNCE_MAX];
	uint64_t aseq;
	uint32_t key_pos;
	int k = dp_qd_reply_parse(pl, h.payload_len, &aseq, &key_pos, match, cls);
	if (k < 0) {
		dp_count(&n->rx, DP_ERR_QD_PAYLOAD);
		return MSG_DONE;
	}
	while (rx->await_n && rx->await[rx->await_head].msg_seq < aseq) {
		dp_count(&n->rx, DP_ERR_QD_GAP);
		struct dp_announce *old = &rx->await[rx->await_head];
		OPENSSL_cleanse(old->syms, old->n);
		rx->await_head = (rx->await_head + 1) % DP_AWAIT_MAX;
		rx->await_n--;
	}
	struct dp_announce *a = &rx->await[rx->await_head];
	if (!rx->await_n || a->msg_seq != aseq || a->n != (unsigned)k) {
		dp_count(&n->rx, DP_ERR_QD_PAYLOAD);
		return MSG_DONE;
	}
	/* Alignment with Alice's blocks: same block and the same bit position. */
	uint32_t mine = rx->cur ? (uint32_t)rx->cur->sb->key_bits : 0;
	if (h.block_seq != rx->next_block_seq || key_pos != mine) {
		dp_count(&n->rx, DP_ERR_QD_BLOCK);
		if (rx->cur) {
			rx->cur->broken = true;
			close_block(l);
		}
		rx->next_block_seq = h.block_seq;
		rx->skip_bits = key_pos;
	}
	memcpy(a->match, match, (size_t)k);
	memcpy(a->cls, cls, (size_t)k);
	a->decided = true;
	a->pos = 0;
	return MSG_DONE;
}

void dp_sift_qdist(struct dp_node *n, struct dp_link *l, struct rte_mbuf *m)
{
	struct dp_link_rx *rx = &l->rx;
	if (rx->hold_n == 0 && sift_msg(n, l, m) == MSG_DONE) {
		rte_pktmbuf_free(m);
		return;
	}
	if (rx->hold_n == DP_HOLD_MAX) {
		dp_count(&n->rx, DP_ERR_QD_HOLD_FULL);
		rte_pktmbuf_free(m);
		return;
	}
	rx->hold[(rx->hold_head + rx->hold_n++) % DP_HOLD_MAX] = m;
}

unsigned dp_sift_service(struct dp_node *n, struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	unsigned work = 0;
	collect_free_blocks(l);
	for (;;) {
		work += l->cfg.role == DP_ROLE_ALICE ? alice_service(n, l) : bob_service(n, l);
		if (!rx->hold_n || sift_msg(n, l, rx->hold[rx->hold_head]) == MSG_BLOCKED)
			break;
		rte_pktmbuf_free(rx->hold[rx->hold_head]);
		rx->hold_head = (rx->hold_head + 1) % DP_HOLD_MAX;
		rx->hold_n--;
		work++;
	}
	return work;
}
