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

#include "dp_symbits.h"
#include "node_internal.h"

enum { MSG_DONE, MSG_BLOCKED };

#define AWAIT_RING (DP_AWAIT_MAX + 1)
#define FRAME_EVENTS_MAX 65536 /* an event frame's count is 16 bits */
#define PLANE_WORDS(n) (((size_t)(n) + 63) / 64)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t tail_mask(unsigned n, size_t w)
{
	size_t left = n - w * 64;
	return left >= 64 ? ~0ull : (1ull << left) - 1;
}

/* ---- buffers ---- */

static int announce_alloc(struct dp_announce *a, unsigned cap, bool alice)
{
	size_t w = PLANE_WORDS(cap);
	a->slots = malloc(cap * sizeof(uint64_t));
	a->syms = malloc(cap);
	a->mine = alice ? malloc(cap) : NULL;
	uint64_t *pl = calloc(6 * w, sizeof(uint64_t));
	a->ab = pl;
	if (pl) {
		a->abit = pl + w;
		a->lo = pl + 2 * w;
		a->hi = pl + 3 * w;
		a->bb = pl + 4 * w;
		a->match = pl + 5 * w;
	}
	if (!a->slots || !a->syms || (alice && !a->mine) || !pl)
		return -ENOMEM;
	/* Touch every page now: no page faults on the RX lcore later. */
	memset(a->slots, 0, cap * sizeof(uint64_t));
	memset(a->syms, 0, cap);
	memset(pl, 0, 6 * w * sizeof(uint64_t));
	if (a->mine)
		memset(a->mine, 0, cap);
	return 0;
}

static int announce_ring_alloc(struct dp_announce *ring, unsigned entries, unsigned cap, bool alice)
{
	for (unsigned i = 0; i < entries; i++)
		if (announce_alloc(&ring[i], cap, alice))
			return -ENOMEM;
	return 0;
}

/* Raw bits (Bob's symbols, Alice's symbols and bit plane) are wiped before reuse and freeing. */
static void announce_wipe(struct dp_announce *a)
{
	if (a->syms)
		explicit_bzero(a->syms, a->n);
	if (a->mine)
		explicit_bzero(a->mine, a->n);
	if (a->abit)
		explicit_bzero(a->abit, PLANE_WORDS(a->n) * sizeof(uint64_t));
}

static void announce_free(struct dp_announce *a, unsigned cap)
{
	a->n = cap;
	announce_wipe(a);
	free(a->slots);
	free(a->syms);
	free(a->mine);
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
		if (announce_ring_alloc(rx->pend, DP_PEND_MAX, DP_QD_ANNOUNCE_MAX, true))
			return -ENOMEM;
		rx->out_cap = dp_qd_reply_len(DP_QD_ANNOUNCE_MAX);
		if (dp_qd_asm_init(&rx->in, DP_QD_ANNOUNCE_CAP(DP_QD_ANNOUNCE_MAX)))
			return -ENOMEM;
	} else {
		unsigned cap = l->cfg.announce_max;
		rx->await = calloc(AWAIT_RING, sizeof(*rx->await));
		if (!rx->await)
			return -ENOMEM;
		if (announce_ring_alloc(rx->await, AWAIT_RING, cap, false))
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
	struct dst_events ev = {
		.n = a->n, .cap = PLANE_WORDS(a->n) * 64, .slot = a->slots, .a_basis = a->ab,
		.a_bit = a->abit, .cls_lo = a->lo, .cls_hi = a->hi, .b_basis = a->bb, .b_bit = NULL,
	};
	while (a->pos < a->n) {
		if (!rx->cur && !open_block(l, a->slots[a->pos]))
			return false;
		struct dst_sift_block *sb = rx->cur->sb;
		size_t key0 = sb->key_bits, test0 = sb->test_bits;
		a->pos = (unsigned)dst_sift_events(sb, &ev, a->pos);
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
	dp_win_lookup(rx, a->slots, k, a->mine);
	dp_sym_planes(a->mine, k, a->ab, a->abit, a->lo, a->hi);
	dp_sym_planes(a->syms, k, a->bb, NULL, NULL, NULL);
	explicit_bzero(a->mine, k);
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
			if (a->slots[a->n - 1] >= rx->next_slot && rx->pend_n < DP_PEND_MAX)
				break;
			if (!alice_decide(n, l, a))
				break;
		}
		if (!sift_decided(l, a))
			break;
		announce_wipe(a);
		rx->pend_head = (rx->pend_head + 1) % DP_PEND_MAX;
		rx->pend_n--;
		work++;
	}
	return work;
}

/* ---- Bob ---- */

static struct dp_announce *filling(struct dp_link_rx *rx)
{
	return &rx->await[(rx->await_head + rx->await_n) % AWAIT_RING];
}

/* Send the first k detections of the filling announcement; the rest start the next one. */
static int bob_announce(struct dp_node *n, struct dp_link *l, unsigned k)
{
	struct dp_link_rx *rx = &l->rx;
	struct dp_announce *a = filling(rx);
	if (!k)
		return 0;
	if (rx->await_n == DP_AWAIT_MAX)
		return -EAGAIN;
	int len = dp_qd_announce_build(rx->out, rx->out_cap, a->slots[0], a->slots, a->syms, k);
	if (len >= 0) {
		int rc = dp_qdist_send(n, &n->rx, l, &rx->tx, DP_QD_SIFT_ANNOUNCE,
				       rx->next_block_seq, rx->out, (uint32_t)len);
		if (rc)
			return rc;
		DP_STAT_ADD(rx->st.auth_bytes, DP_AUTH_PAD_LEN);
		a->msg_seq = rx->tx.next_seq - 1;
		a->tsc = rte_rdtsc();
		a->pos = 0;
		a->decided = false;
		rx->await_n++;
	} else {
		/* Slot gaps too wide to code (a stream that stalled for seconds): never sifted. */
		n->rx.st.errors[DP_ERR_SIFT_OVERFLOW] += k;
		explicit_bzero(a->syms, k);
	}
	struct dp_announce *f = filling(rx);
	unsigned rest = a->n - k;
	memmove(f->slots, a->slots + k, rest * sizeof(uint64_t));
	memmove(f->syms, a->syms + k, rest);
	if (f != a) {
		explicit_bzero(a->syms + k, rest);
		a->n = k;
	}
	f->n = rest;
	if (rest)
		rx->ann_tsc = rte_rdtsc();
	return 0;
}

/* Where a sparse frame of 'count' events is decoded: into the filling announcement when it has
 * room (sending it first if needed), else into a scratch buffer. */
static void bob_decode_target(struct dp_node *n, struct dp_link *l, unsigned count,
			      uint64_t **slots, uint8_t **syms, uint64_t *scratch_slots,
			      uint8_t *scratch_syms)
{
	struct dp_announce *a = filling(&l->rx);
	if (a->n && a->n + count > l->cfg.announce_max)
		bob_announce(n, l, a->n);
	a = filling(&l->rx);
	if (a->n + count <= l->cfg.announce_max) {
		*slots = a->slots + a->n;
		*syms = a->syms + a->n;
	} else {
		*slots = scratch_slots;
		*syms = scratch_syms;
	}
}

/* Bob: take a decoded frame's detections into announcements. */
static void bob_take(struct dp_node *n, struct dp_link *l, const uint64_t *slots,
		     uint8_t *syms, unsigned count)
{
	struct dp_link_rx *rx = &l->rx;
	struct dp_announce *a = filling(rx);
	unsigned cap = l->cfg.announce_max;
	if (slots == a->slots + a->n) { /* decoded in place */
		unsigned k0 = a->n;
		if (!k0)
			rx->ann_tsc = rte_rdtsc();
		a->n += count;
		/* An announcement spans at most half of Alice's slot window, or its first slots
		 * would leave her window before it arrives. */
		if (k0 && a->slots[a->n - 1] - a->slots[0] >= (1ull << l->cfg.window_log2) / 2)
			bob_announce(n, l, k0);
	} else {
		for (unsigned i = 0; i < count;) {
			a = filling(rx);
			if (a->n == cap && bob_announce(n, l, a->n) < 0) {
				n->rx.st.errors[DP_ERR_SIFT_OVERFLOW] += count - i;
				break;
			}
			a = filling(rx);
			unsigned k = count - i < cap - a->n ? count - i : cap - a->n;
			if (!a->n)
				rx->ann_tsc = rte_rdtsc();
			memcpy(a->slots + a->n, slots + i, k * sizeof(uint64_t));
			memcpy(a->syms + a->n, syms + i, k);
			a->n += k;
			i += k;
		}
		explicit_bzero(syms, count);
	}
	a = filling(rx);
	if (a->n >= cap)
		bob_announce(n, l, a->n);
}

/* Give up the oldest announcement awaiting its reply: its detections never reach a block. */
static void drop_oldest_awaited(struct dp_node *n, struct dp_link_rx *rx)
{
	dp_count(&n->rx, DP_ERR_QD_GAP);
	struct dp_announce *old = &rx->await[rx->await_head];
	announce_wipe(old);
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
	       rte_rdtsc() - rx->await[rx->await_head].tsc > n->tsc_hz / 1000 * l->cfg.block_timeout_ms) {
		drop_oldest_awaited(n, rx);
		if (rx->cur)
			rx->cur->broken = true;
	}
	while (rx->await_n) {
		struct dp_announce *a = &rx->await[rx->await_head];
		if (!a->decided || !sift_decided(l, a))
			break;
		announce_wipe(a);
		a->n = 0;
		rx->await_head = (rx->await_head + 1) % AWAIT_RING;
		rx->await_n--;
		work++;
	}
	/* Flush a partial announcement after 1 ms so the tail of a stream is not stuck. */
	struct dp_announce *f = filling(rx);
	if (f->n && rte_rdtsc() - rx->ann_tsc > n->tsc_hz / 1000)
		bob_announce(n, l, f->n);
	return work;
}

/* ---- event frames ---- */

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
	static __thread uint64_t scratch_slots[FRAME_EVENTS_MAX];
	static __thread uint8_t scratch_syms[FRAME_EVENTS_MAX];
	uint64_t *slots = scratch_slots;
	uint8_t *syms = scratch_syms;
	uint64_t first = h->first_slot, last;
	unsigned count = h->count;
	if (h->flags & DP_EVF_FLAG_DENSE) {
		last = first + count - 1;
	} else {
		if (!alice)
			bob_decode_target(n, l, count, &slots, &syms, scratch_slots, scratch_syms);
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
	/* One-sided planes: Bob's own basis and bits; Alice's basis is his where they matched. */
	dp_sym_planes(a->syms, a->n, a->bb, a->abit, NULL, NULL);
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
		int k = dp_qd_announce_parse(in->buf, h->msg_len, a->slots, a->syms,
					     DP_QD_ANNOUNCE_MAX);
		if (k < 0) {
			dp_count(&n->rx, DP_ERR_QD_PAYLOAD);
		} else {
			a->n = (unsigned)k;
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
