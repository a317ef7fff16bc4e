/* Sifting on the RX lcore (docs/protocol.md, SIFT_ANNOUNCE / SIFT_REPLY).
 *
 * Bob's node decodes its detections straight into the announcement being filled and sends it as
 * one multi-frame message (one authentication pad); Alice's node gathers her symbols for the
 * announced slots from her slot window once her own event stream has covered them, replies with
 * matches and her decoy classes, and both append the matches to the link's current block with
 * dst_sift_events() on bit-planes (one-sided: each node passes its own bits only), in announcement
 * order, so both hold the same block boundaries and bits. A block closes when full and goes to the
 * link's worker; when no free block buffer is left, sifting pauses (messages wait, nothing is
 * dropped). */
#include <errno.h>
#include <openssl/crypto.h>
#include <rte_cycles.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../wire/le.h"
#include "dp_symbits.h"
#include "node_internal.h"

enum { MSG_DONE, MSG_BLOCKED };

#define AWAIT_RING (DP_AWAIT_MAX + 1)
#define FRAME_EVENTS_MAX 65536 /* an event frame's count is 16 bits */
#define PLANE_WORDS(n) (((size_t)(n) + 63) / 64)

static uint64_t tail_mask(unsigned n, size_t w)
{
	size_t left = n - w * 64;
	return left >= 64 ? ~0ull : (1ull << left) - 1;
}

/* ---- buffers ---- */

static int announce_alloc(struct dp_announce *a, unsigned cap)
{
	/* As large as a reassembly buffer: Alice swaps hers with the one a message arrived in. */
	size_t w = PLANE_WORDS(cap), msg = DP_QD_ANNOUNCE_CAP(cap) + DP_QD_ASM_SLACK;
	size_t ck = (cap + DP_ANN_GROUP - 1) / DP_ANN_GROUP + 1;
	a->msg = malloc(msg);
	a->ck = malloc(ck * sizeof(*a->ck));
	uint64_t *pl = calloc(6 * w, sizeof(uint64_t));
	a->ab = pl;
	if (pl) {
		a->abit = pl + w;
		a->lo = pl + 2 * w;
		a->hi = pl + 3 * w;
		a->bb = pl + 4 * w;
		a->match = pl + 5 * w;
	}
	if (!a->msg || !a->ck || !pl)
		return -ENOMEM;
	/* Touch every page now: no page faults on the RX lcore later. */
	memset(a->msg, 0, msg);
	memset(a->ck, 0, ck * sizeof(*a->ck));
	memset(pl, 0, 6 * w * sizeof(uint64_t));
	return 0;
}

static int announce_ring_alloc(struct dp_announce *ring, unsigned entries, unsigned cap)
{
	for (unsigned i = 0; i < entries; i++)
		if (announce_alloc(&ring[i], cap))
			return -ENOMEM;
	return 0;
}

/* Raw bits are wiped before reuse and freeing: the bit planes, and Bob's own words (they carry
 * his bits until cut to the basis for sending). */
static void announce_wipe(struct dp_announce *a, bool own)
{
	if (a->abit)
		explicit_bzero(a->abit, PLANE_WORDS(a->n) * sizeof(uint64_t));
	if (own && a->msg)
		explicit_bzero(dp_ann_words(a), 2 * (size_t)a->nwords);
}

static void announce_free(struct dp_announce *a, unsigned cap)
{
	if (a->msg)
		OPENSSL_cleanse(a->msg, DP_QD_ANNOUNCE_CAP(cap) + DP_QD_ASM_SLACK);
	a->n = cap;
	a->nwords = 0;
	announce_wipe(a, false);
	free(a->msg);
	free(a->ck);
	free(a->ab);
	memset(a, 0, sizeof(*a));
}

int dp_sift_init(struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	if (l->cfg.role == DP_ROLE_ALICE) {
		size_t slots = (size_t)1 << l->cfg.window_log2;
		rx->win = malloc(slots / 2 + DP_WIN_PAD);
		rx->pend = calloc(DP_PEND_MAX, sizeof(*rx->pend));
		if (!rx->win || !rx->pend)
			return -ENOMEM;
		memset(rx->win, 0xFF, slots / 2 + DP_WIN_PAD);
		rx->win_mask = slots - 1;
		/* Alice takes announcements of any size the protocol allows. */
		if (announce_ring_alloc(rx->pend, DP_PEND_MAX, DP_QD_ANNOUNCE_MAX))
			return -ENOMEM;
		rx->out_cap = dp_qd_reply_len(DP_QD_ANNOUNCE_MAX);
		if (dp_qd_asm_init(&rx->in, DP_QD_ANNOUNCE_CAP(DP_QD_ANNOUNCE_MAX)))
			return -ENOMEM;
	} else {
		unsigned cap = l->cfg.announce_max;
		rx->await = calloc(AWAIT_RING, sizeof(*rx->await));
		if (!rx->await)
			return -ENOMEM;
		if (announce_ring_alloc(rx->await, AWAIT_RING, cap))
			return -ENOMEM;
		rx->out_cap = DP_QD_ANNOUNCE_CAP(cap);
		if (dp_qd_asm_init(&rx->in, dp_qd_reply_len(cap)))
			return -ENOMEM;
	}
	rx->out = malloc(rx->out_cap);
	if (!rx->out)
		return -ENOMEM;
	memset(rx->out, 0, rx->out_cap);
	memset(rx->in.buf, 0, rx->in.cap);
	return 0;
}

void dp_sift_free(struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	if (rx->win) {
		OPENSSL_cleanse(rx->win, ((size_t)rx->win_mask + 1) / 2);
		free(rx->win);
	}
	for (unsigned i = 0; rx->pend && i < DP_PEND_MAX; i++)
		announce_free(&rx->pend[i], DP_QD_ANNOUNCE_MAX);
	for (unsigned i = 0; rx->await && i < AWAIT_RING; i++)
		announce_free(&rx->await[i], l->cfg.announce_max);
	free(rx->pend);
	free(rx->await);
	dp_qd_asm_free(&rx->in);
	free(rx->out);
	rx->win = NULL;
	rx->pend = rx->await = NULL;
	rx->out = NULL;
}

/* ---- blocks ---- */

/* Take back blocks the worker finished with, applying their auth refills in block order. */
static void collect_free_blocks(struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	if (l->managed) /* with a ledger, agreed pads come from its owner (sift A->B, B->A) */
		dp_ledger_port_apply(l->apply_sift, l->cfg.role == DP_ROLE_ALICE ? &rx->tx : &rx->rx,
				     l->cfg.role == DP_ROLE_ALICE ? &rx->rx : &rx->tx);
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
	b->anns = 0;
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

/* Sift a decided announcement from a->pos on, straight from its planes. True when all of it is
 * in blocks. */
static bool sift_decided(struct dp_link *l, struct dp_announce *a)
{
	struct dp_link_rx *rx = &l->rx;
	/* No slot per event: the block's window is set here from the announcement's checkpoints. */
	struct dst_events ev = {
		.n = a->n, .cap = PLANE_WORDS(a->n) * 64, .slot = NULL, .a_basis = a->ab,
		.a_bit = a->abit, .cls_lo = a->lo, .cls_hi = a->hi, .b_basis = a->bb, .b_bit = NULL,
	};
	while (a->pos < a->n) {
		if (!rx->cur && !open_block(l, dp_ann_slot(a, a->pos)))
			return false;
		struct dst_sift_block *sb = rx->cur->sb;
		size_t key0 = sb->key_bits, test0 = sb->test_bits;
		rx->cur->anns += a->pos == 0; /* both nodes cut blocks alike: the same count */
		a->pos = (unsigned)dst_sift_events(sb, &ev, a->pos);
		/* It ends at the event that did not fit, else past the last one. */
		uint64_t end = a->pos < a->n ? dp_ann_slot(a, a->pos) : a->last + 1;
		if (end > sb->c.slot_end)
			sb->c.slot_end = end;
		DP_STAT_ADD(rx->st.sifted_bits, sb->key_bits - key0);
		DP_STAT_ADD(rx->st.test_bits, sb->test_bits - test0);
		if (dst_sift_block_full(sb))
			close_block(l);
	}
	return true;
}

/* ---- Alice ---- */

/* Look up Bob's announced slots in the window, build both parties' planes and send the reply. */
static bool alice_decide(struct dp_node *n, struct dp_link *l, struct dp_announce *a)
{
	struct dp_link_rx *rx = &l->rx;
	unsigned k = a->n;
	dp_win_announce(rx, a);
	uint64_t late = 0;
	for (size_t w = 0; w < PLANE_WORDS(k); w++) {
		uint64_t unknown = a->lo[w] & a->hi[w]; /* class 3: slot not in the window */
		late += (uint64_t)__builtin_popcountll(unknown);
		a->match[w] = ~(a->ab[w] ^ a->bb[w]) & ~unknown & tail_mask(k, w);
	}
	uint32_t key_pos = rx->cur ? (uint32_t)rx->cur->sb->key_bits : 0;
	int len = dp_qd_reply_build(rx->out, rx->out_cap, a->msg_seq, key_pos, a->match, a->lo,
				    a->hi, k);
	if (len < 0 || dp_qdist_send(n, &n->rx, l, &rx->tx, DP_QD_SIFT_REPLY, rx->next_block_seq,
				     rx->out, (uint32_t)len) < 0)
		return false;
	DP_STAT_ADD(rx->st.auth_bytes, DP_AUTH_PAD_LEN);
	n->rx.st.errors[DP_ERR_SIFT_LATE] += late;
	a->decided = true;
	a->pos = 0;
	return true;
}

/* Answer and sift the oldest announcement once her events cover it (or when the queue is full:
 * then the slots she lacks are answered unknown). */
static unsigned alice_service(struct dp_node *n, struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	unsigned work = 0;
	while (rx->pend_n) {
		struct dp_announce *a = &rx->pend[rx->pend_head];
		if (!a->decided) {
			if (a->last >= rx->next_slot && rx->pend_n < DP_PEND_MAX)
				break;
			if (!alice_decide(n, l, a))
				break;
		}
		if (!sift_decided(l, a))
			break;
		announce_wipe(a, false);
		rx->pend_head = (rx->pend_head + 1) % DP_PEND_MAX;
		rx->pend_n--;
		work++;
	}
	return work;
}

/* ---- Bob ---- */

/* Gaps below this take at most one escape (three words per event in all). */
#define GAP_MAX ((uint64_t)DP_EVF_DELTA_MAX << 20)

static struct dp_announce *filling(struct dp_link_rx *rx)
{
	return &rx->await[(rx->await_head + rx->await_n) % AWAIT_RING];
}

/* An announcement spans less than half of Alice's slot window, or its first slots would leave her
 * window before it arrives. */
static uint64_t half_window(const struct dp_link *l)
{
	return (1ull << l->cfg.window_log2) / 2;
}

/* Send the filling announcement (its words cut to the basis, in rx->out); the next one starts
 * empty. */
static int bob_announce(struct dp_node *n, struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	struct dp_announce *a = filling(rx);
	if (!a->n)
		return 0;
	if (rx->await_n == DP_AWAIT_MAX)
		return -EAGAIN;
	if (dp_ann_index(a, rx->out + DP_QD_ANNOUNCE_HDR, true) == 0) {
		dp_qd_announce_hdr_put(rx->out, a->base, a->n, a->nwords);
		int rc = dp_qdist_send(n, &n->rx, l, &rx->tx, DP_QD_SIFT_ANNOUNCE, rx->next_block_seq,
				       rx->out, DP_QD_ANNOUNCE_HDR + 2 * a->nwords);
		if (rc)
			return rc;
		DP_STAT_ADD(rx->st.auth_bytes, DP_AUTH_PAD_LEN);
		a->msg_seq = rx->tx.next_seq - 1;
		a->tsc = dp_node_timeout_now(n);
		a->pos = 0;
		a->decided = false;
		rx->await_n++;
	} else {
		/* Words this node coded itself are well formed; were they not, never sift them. */
		n->rx.st.errors[DP_ERR_SIFT_OVERFLOW] += a->n;
		announce_wipe(a, true);
	}
	a = filling(rx);
	a->n = 0;
	a->nwords = 0;
	return 0;
}

/* Append an event at 'slot' (gap from the previous one below GAP_MAX) with symbol 'sym'. */
static void ann_put(struct dp_announce *a, uint64_t slot, unsigned sym)
{
	uint64_t gap = slot - a->last;
	if (!a->n) {
		a->base = slot;
		a->nwords = 0;
		a->indexed = 0;
		gap = 1;
	}
	uint8_t *w = dp_ann_words(a) + 2 * (size_t)a->nwords;
	if (gap > DP_EVF_DELTA_MAX) { /* escape: 4 high bits of E here, 16 low bits next */
		uint64_t e = (gap - 1) / DP_EVF_DELTA_MAX;
		put_le16(w, (uint16_t)((e >> 16) << 12));
		put_le16(w + 2, (uint16_t)e);
		w += 4;
		a->nwords += 2;
		gap -= e * DP_EVF_DELTA_MAX;
	}
	put_le16(w, (uint16_t)(gap | (sym & 0xFu) << 12));
	a->nwords++;
	a->n++;
	a->last = slot;
}

/* Copy a frame's events after its first (at 'first') into a's words, behind the room ann_put
 * takes for the first. Returns the slot of the frame's last event, or UINT64_MAX when a delta is
 * zero (an escape: not a frame of one-word events). */
static uint64_t frame_copy(struct dp_announce *a, uint64_t first, const uint8_t *payload,
			   unsigned count)
{
	size_t at = !a->n ? 1 : a->nwords + (first - a->last > DP_EVF_DELTA_MAX ? 3 : 1);
	uint64_t sum = dp_sparse_copy_run(payload + 2, count - 1, dp_ann_words(a) + 2 * at);
	return sum == UINT64_MAX ? UINT64_MAX : first + sum;
}

/* Index the filling announcement's new whole groups while their words are in cache; send it
 * when full. */
static void bob_index(struct dp_node *n, struct dp_link *l)
{
	struct dp_announce *a = filling(&l->rx);
	dp_ann_index(a, l->rx.out + DP_QD_ANNOUNCE_HDR, false); /* own words: well formed */
	if (a->n >= l->cfg.announce_max)
		bob_announce(n, l);
}

/* Bob, general path: decoded events one by one into announcements. */
static void bob_take(struct dp_node *n, struct dp_link *l, const uint64_t *slots, uint8_t *syms,
		     unsigned count)
{
	struct dp_link_rx *rx = &l->rx;
	unsigned cap = l->cfg.announce_max;
	for (unsigned i = 0; i < count; i++) {
		struct dp_announce *a = filling(rx);
		if (a->n && (a->n == cap || slots[i] - a->base >= half_window(l))) {
			bob_announce(n, l);
			a = filling(rx);
			if (a->n && (a->n == cap || slots[i] - a->last >= GAP_MAX)) {
				/* not sent (no pad, replies outstanding): no room for it */
				n->rx.st.errors[DP_ERR_SIFT_OVERFLOW]++;
				continue;
			}
		}
		if (!a->n)
			rx->ann_tsc = n->rx.now;
		ann_put(a, slots[i], syms[i]);
	}
	explicit_bzero(syms, count);
	bob_index(n, l);
}

/* Give up the oldest announcement awaiting its reply: its detections never reach a block. */
static void drop_oldest_awaited(struct dp_node *n, struct dp_link_rx *rx)
{
	dp_count(&n->rx, DP_ERR_QD_GAP);
	struct dp_announce *old = &rx->await[rx->await_head];
	announce_wipe(old, true);
	old->n = 0;
	rx->await_head = (rx->await_head + 1) % AWAIT_RING;
	rx->await_n--;
}

/* Sift the replied announcements in order. */
static unsigned bob_service(struct dp_node *n, struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	unsigned work = 0;
	/* Alice's node left (restart, link down): replies older than the block timeout never come.
	 * Give them up so announcing resumes; the block they would have fed is broken. */
	while (rx->await_n && !rx->await[rx->await_head].decided &&
	       dp_node_timeout_now(n) - rx->await[rx->await_head].tsc > n->tsc_hz / 1000 * l->cfg.block_timeout_ms) {
		drop_oldest_awaited(n, rx);
		if (rx->cur)
			rx->cur->broken = true;
	}
	while (rx->await_n) {
		struct dp_announce *a = &rx->await[rx->await_head];
		if (!a->decided || !sift_decided(l, a))
			break;
		announce_wipe(a, true);
		a->n = 0;
		rx->await_head = (rx->await_head + 1) % AWAIT_RING;
		rx->await_n--;
		work++;
	}
	/* Flush a partial announcement after 1 ms so the tail of a stream is not stuck. */
	struct dp_announce *f = filling(rx);
	if (f->n && rte_rdtsc() - rx->ann_tsc > n->tsc_hz / 1000)
		bob_announce(n, l);
	return work;
}

/* ---- event frames ---- */

/* A frame's events were taken: the stream's counters and position. */
static void frame_taken(struct dp_node *n, struct dp_link_rx *rx, const struct dp_evf_hdr *h,
			uint64_t first)
{
	uint64_t t = n->rx.now; /* the burst's TSC: no clock read per frame */
	if (!rx->seen) {
		rx->st.first_tsc = t;
		rx->win_lo = rx->win_base = first;
	}
	__atomic_store_n(&rx->st.last_tsc, t, __ATOMIC_RELAXED);
	rx->seen = true;
	rx->next_seq = h->seq + 1;
	DP_STAT_ADD(rx->st.frames, 1);
	DP_STAT_ADD(rx->st.events, h->count);
}

/* Bob, fast path: a frame of one-word events goes into the filling announcement as it is, only
 * its first delta counted again from the announcement's last event. False when the frame needs
 * the general path (escapes, no room, slot regress, malformed: that path counts why); nothing
 * was taken then. */
static bool bob_frame_fast(struct dp_node *n, struct dp_link *l, const struct dp_evf_hdr *h,
			   const uint8_t *payload)
{
	struct dp_link_rx *rx = &l->rx;
	unsigned count = h->count, cap = l->cfg.announce_max;
	uint64_t half = half_window(l);
	uint16_t w0 = get_le16(payload);
	if (h->payload_len / 2u != count || count > cap || !(w0 & 0xFFF) ||
	    h->first_slot > UINT64_MAX - (uint64_t)DP_EVF_DELTA_MAX * count)
		return false;
	uint64_t first = h->first_slot - 1 + (w0 & 0xFFF);
	if (rx->seen && first < rx->next_slot)
		return false;
	struct dp_announce *a = filling(rx);
	if (a->n && (a->n + count > cap || first - a->base >= half)) {
		bob_announce(n, l);
		a = filling(rx);
		if (a->n && (a->n + count > cap || first - a->last >= GAP_MAX))
			return false;
	}
	uint64_t last = frame_copy(a, first, payload, count);
	if (last == UINT64_MAX)
		return false;
	/* A frame never stretches an announcement past half the window: it starts the next one. */
	if (a->n && last - a->base >= half && bob_announce(n, l) == 0) {
		a = filling(rx);
		frame_copy(a, first, payload, count);
	}
	if (!a->n)
		rx->ann_tsc = n->rx.now;
	ann_put(a, first, w0 >> 12);
	a->nwords += count - 1;
	a->n += count - 1;
	a->last = last;
	frame_taken(n, rx, h, first);
	rx->next_slot = last + 1;
	bob_index(n, l);
	return true;
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
	if (!alice && bob_frame_fast(n, l, h, payload))
		return;
	static __thread uint64_t slots[FRAME_EVENTS_MAX];
	static __thread uint8_t syms[FRAME_EVENTS_MAX];
	uint64_t first = h->first_slot, last;
	unsigned count = h->count;
	if (h->flags & DP_EVF_FLAG_DENSE) {
		last = first + count - 1;
	} else {
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
	frame_taken(n, rx, h, first);
	if (!alice) {
		rx->next_slot = last + 1;
		bob_take(n, l, slots, syms, count);
		return;
	}
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
		explicit_bzero(syms, count);
	}
	rx->next_slot = last + 1;
	if (rx->next_slot - rx->win_lo > rx->win_mask + 1)
		rx->win_lo = rx->next_slot - (rx->win_mask + 1);
}

/* ---- sift messages ---- */

/* Bob: a reply for the oldest outstanding announcement; older ones whose replies were lost are
 * dropped (their detections never reach a block). */
static void bob_reply(struct dp_node *n, struct dp_link *l, const struct dp_qd_hdr *h,
		      const uint8_t *pl)
{
	struct dp_link_rx *rx = &l->rx;
	static __thread uint64_t m[PLANE_WORDS(DP_QD_ANNOUNCE_MAX)], lo[PLANE_WORDS(DP_QD_ANNOUNCE_MAX)],
		hi[PLANE_WORDS(DP_QD_ANNOUNCE_MAX)];
	uint64_t aseq;
	uint32_t key_pos;
	int k = dp_qd_reply_parse(pl, h->msg_len, &aseq, &key_pos, m, lo, hi, l->cfg.announce_max);
	if (k < 0) {
		dp_count(&n->rx, DP_ERR_QD_PAYLOAD);
		return;
	}
	while (rx->await_n && rx->await[rx->await_head].msg_seq < aseq) {
		drop_oldest_awaited(n, rx);
	}
	struct dp_announce *a = &rx->await[rx->await_head];
	if (!rx->await_n || a->msg_seq != aseq || a->n != (unsigned)k) {
		dp_count(&n->rx, DP_ERR_QD_PAYLOAD);
		return;
	}
	/* Alignment with Alice's blocks: same block and the same bit position. */
	uint32_t mine = rx->cur ? (uint32_t)rx->cur->sb->key_bits : 0;
	if (h->block_seq != rx->next_block_seq || key_pos != mine) {
		dp_count(&n->rx, DP_ERR_QD_BLOCK);
		if (rx->cur) {
			rx->cur->broken = true;
			close_block(l);
		}
		rx->next_block_seq = h->block_seq;
		rx->skip_bits = key_pos;
	}
	/* One-sided planes: Bob's own basis and bits (from sending it); Alice's basis is his where
	 * they matched. */
	for (size_t w = 0; w < PLANE_WORDS(a->n); w++) {
		a->ab[w] = (a->bb[w] ^ ~m[w]) & tail_mask(a->n, w);
		a->lo[w] = lo[w];
		a->hi[w] = hi[w];
	}
	a->decided = true;
	a->pos = 0;
}

/* The message reassembled in rx->in: authenticate and take it; MSG_BLOCKED keeps it for later. */
static int sift_message(struct dp_node *n, struct dp_link *l)
{
	struct dp_link_rx *rx = &l->rx;
	struct dp_qd_asm *in = &rx->in;
	const struct dp_qd_hdr *h = &in->h;
	bool alice = l->cfg.role == DP_ROLE_ALICE;
	/* Room to take it in? Checked before authentication so a held message keeps its pad. */
	if (alice && rx->pend_n == DP_PEND_MAX)
		return MSG_BLOCKED;
	if (!alice && rx->await_n && rx->await[rx->await_head].decided)
		return MSG_BLOCKED;
	uint64_t skipped = h->msg_seq > rx->rx.next_seq ? h->msg_seq - rx->rx.next_seq : 0;
	/* Tag over the last fragment's header and the whole payload (docs/protocol.md). */
	enum dp_err e = dp_auth_open_msg(&rx->rx, in->last_hdr, DP_QD_HDR_LEN, in->buf, h->msg_len,
					 h->msg_seq, in->tag);
	if (e == DP_ERR_QD_NO_PAD)
		return MSG_BLOCKED;
	if (e) {
		dp_count(&n->rx, e);
		if (e == DP_ERR_QD_AUTH)
			DP_STAT_ADD(rx->st.auth_failures, 1);
		dp_qd_asm_done(in);
		return MSG_DONE;
	}
	n->rx.st.errors[DP_ERR_QD_GAP] += skipped;
	DP_STAT_ADD(rx->st.auth_bytes, DP_AUTH_PAD_LEN);
	if (alice) {
		struct dp_announce *a = &rx->pend[(rx->pend_head + rx->pend_n) % DP_PEND_MAX];
		uint32_t k, nw;
		bool ok = dp_qd_announce_hdr_get(in->buf, h->msg_len, DP_QD_ANNOUNCE_MAX, &a->base, &k,
						 &nw) == 0;
		if (ok) {
			/* The entry takes the reassembly buffer (both hold the largest announcement). */
			uint8_t *t = a->msg;
			a->msg = in->buf;
			in->buf = t;
			a->n = k;
			a->nwords = nw;
		}
		if (ok)
			a->indexed = 0;
		if (!ok || dp_ann_index(a, NULL, true)) {
			dp_count(&n->rx, DP_ERR_QD_PAYLOAD);
		} else {
			a->msg_seq = h->msg_seq;
			a->decided = false;
			a->pos = 0;
			rx->pend_n++;
		}
	} else {
		bob_reply(n, l, h, in->buf);
	}
	dp_qd_asm_done(in);
	return MSG_DONE;
}

/* One sift-channel frame into the reassembly; MSG_BLOCKED when a complete message ahead of it
 * cannot be taken yet (the frame is then held, in order). */
static int sift_frame(struct dp_node *n, struct dp_link *l, struct rte_mbuf *m)
{
	struct dp_link_rx *rx = &l->rx;
	if (rx->in.complete && sift_message(n, l) == MSG_BLOCKED)
		return MSG_BLOCKED;
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
	uint64_t dropped = rx->in.dropped;
	e = dp_qd_asm_add(&rx->in, p, &h);
	n->rx.st.errors[DP_ERR_QD_MSG_DROPPED] += rx->in.dropped - dropped;
	if (e) {
		dp_count(&n->rx, e);
		return MSG_DONE;
	}
	if (rx->in.complete)
		sift_message(n, l); /* if blocked, it waits in rx->in for the service loop */
	return MSG_DONE;
}

void dp_sift_qdist(struct dp_node *n, struct dp_link *l, struct rte_mbuf *m)
{
	struct dp_link_rx *rx = &l->rx;
	if (rx->hold_n == 0 && sift_frame(n, l, m) == MSG_DONE) {
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
		if (rx->in.complete) {
			if (sift_message(n, l) == MSG_BLOCKED)
				break;
			work++;
			continue;
		}
		if (!rx->hold_n || sift_frame(n, l, rx->hold[rx->hold_head]) == MSG_BLOCKED)
			break;
		rte_pktmbuf_free(rx->hold[rx->hold_head]);
		rx->hold_head = (rx->hold_head + 1) % DP_HOLD_MAX;
		rx->hold_n--;
		work++;
	}
	return work;
}
