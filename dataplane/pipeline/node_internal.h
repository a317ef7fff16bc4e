/* qkdnode internals shared by the node's files: link state split by owning lcore, the RCU
 * snapshot, rings. Nothing here is locked: every field has exactly one writer (noted per part). */
#ifndef DP_NODE_INTERNAL_H
#define DP_NODE_INTERNAL_H

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <stdatomic.h>

#include "dp_auth.h"
#include "dp_ledger.h"
#include "dp_evframe.h"
#include "dp_node.h"
#include "dp_transcript.h"
#include "dst_model.h"
#include "dst_sift.h"
#include "engine.h"

#define DP_LINK_BLOCKS 4       /* block buffers per link (filling, queued, distilling) */
#define DP_HOLD_MAX 256        /* sift frames held per link (pad not yet refilled, no block) */
#define DP_PEND_MAX 8          /* announcements Alice holds until her event stream covers them */
#define DP_AWAIT_MAX 8         /* announcements Bob has sent and awaits replies for */
#define DP_REFILL_PART_MAX 4096 /* bytes per auth stream per finished key */
#define DP_MSG_RING 512        /* distill messages queued from the RX lcore to a worker */
#define DP_TX_RING 2048
/* BLOCK messages: u32 total, u32 offset, then bytes of an engine message. An engine message goes
 * as one Qdist message (one pad) unless it exceeds DP_QD_MSG_MAX: then in chunks of this size. */
#define DP_BLK_SUB 8
#define DP_BLK_CHUNK (DP_QD_MSG_MAX - DP_BLK_SUB)

/* Per-link counters: the RX part is written by the RX lcore, the worker part by the worker. */
struct dp_link_rx_stats {
	uint64_t frames, events, sifted_bits, test_bits, blocks_filled, auth_failures, auth_bytes;
	uint64_t first_tsc, last_tsc; /* TSC of the first and last event frame (0: none yet) */
};
struct dp_link_wk_stats {
	uint64_t blocks_done, blocks_failed, blocks_aborted, secret_bits, leak_bits;
	uint64_t qber_errors, qber_bits, auth_failures, auth_bytes, keys_dropped;
	uint64_t block_msgs, transcript_failures;
	uint64_t refill_bytes; /* key bytes the finished blocks gave the auth streams */
};

/* A block buffer travelling RX -> worker (filled) -> RX (free, with auth refill for the sift
 * streams of the key it produced). */
struct dp_block {
	struct dst_sift_block *sb;
	uint64_t block_seq;
	bool broken;        /* Bob: misaligned with Alice's block (sift message lost); abort it */
	uint32_t anns;      /* announcements whose first event went into it: sift messages each way */
	uint32_t refill_len; /* bytes per sift stream in refill[] (stream order: A->B, B->A) */
	uint8_t refill[2][DP_REFILL_PART_MAX];
};

/* Where decoding an announcement's words resumes at the first event of a group of DP_ANN_GROUP:
 * the word that event starts at (its escape words included) and the slot before it. */
struct dp_ann_ck {
	uint64_t pos;
	uint32_t word;
};

/* One announcement, kept in its wire coding (the sparse words, 2 bytes per detection): Bob builds
 * it from his event frames, Alice copies the message she received. Once indexed (dp_ann_index)
 * and decided it holds the sifting input of both nodes as the bit-planes dst_sift_events() reads
 * (one-sided: each node's own bits only). Both nodes sift it into blocks from 'pos' on, resuming
 * when a block buffer was not available. */
struct dp_announce {
	uint64_t msg_seq;
	uint64_t tsc;        /* Bob: when it was sent (a reply that never comes times out) */
	unsigned n, pos;
	bool decided;
	uint8_t *msg;        /* DP_QD_ANNOUNCE_HDR bytes of header, then the words */
	uint32_t nwords;
	unsigned indexed;    /* events dp_ann_index has walked (whole groups until final) */
	uint64_t base, last; /* slots of the first and the last event */
	struct dp_ann_ck *ck; /* ceil(n / DP_ANN_GROUP) + 1 checkpoints */
	uint64_t *ab, *abit, *lo, *hi, *bb, *match; /* planes, ceil(cap/64) words each */
};

/* RX-lcore-owned state of a link. */
struct dp_link_rx {
	bool seen;          /* an event frame arrived */
	uint32_t next_seq;  /* expected event frame seq */
	uint64_t next_slot; /* first slot not yet covered by event frames */
	/* Alice: Bob's announcements waiting for her events, and her slot window (window.c). */
	uint8_t *win;       /* one nibble per slot (+ DP_WIN_PAD bytes) */
	uint64_t win_mask;  /* slots - 1 */
	uint64_t win_base;  /* slot at nibble 0 */
	uint64_t win_lo;    /* slots below are gone */
	struct dp_announce *pend;
	unsigned pend_head, pend_n;
	/* Bob: a ring of DP_AWAIT_MAX + 1 announcements: await_n sent and awaiting replies from
	 * await_head on, then the one being filled with new detections. */
	struct dp_announce *await;
	unsigned await_head, await_n;
	uint64_t ann_tsc;   /* when the filling announcement got its first detection */
	uint32_t skip_bits; /* Bob realigned mid-block: the next block starts this far in (broken) */
	/* Both: the sift message being reassembled, the payload being sent. */
	struct dp_qd_asm in;
	uint8_t *out;
	size_t out_cap;
	/* Both: the block being filled, free buffers, the sift auth streams, held sift messages. */
	struct dp_block *cur;
	struct dp_block *free_blk[DP_LINK_BLOCKS];
	unsigned free_n;
	uint64_t next_block_seq; /* the block being filled (or to be filled next) */
	struct dp_auth_stream tx, rx;
	struct rte_mbuf *hold[DP_HOLD_MAX];
	unsigned hold_head, hold_n;
	struct dp_link_rx_stats st;
};

/* Worker-owned state of a link. */
struct dp_link_wk {
	struct dp_engine *eng;
	struct dp_block *blk;        /* block in progress (NULL: waiting for one) */
	uint64_t blk_seq;
	uint64_t next_seq;           /* blocks below were started (and finished or abandoned) */
	bool done_local, commit_peer;
	uint8_t key_id[KM_KEY_ID_LEN]; /* Alice's choice, sent in her COMMIT */
	uint64_t deadline_tsc;       /* abort the block when the peer is silent until then */
	uint8_t *asm_buf;            /* the peer's engine message, reassembled from BLOCK chunks */
	uint8_t *out_buf;            /* DP_BLK_SUB bytes of room, then our next engine message */
	size_t asm_len, asm_total, max_msg;
	/* The distill message being reassembled from its frames, and those frames: kept until it is
	 * complete and authenticated (then used, or held in early[] as a whole). */
	struct dp_qd_asm in;
	struct rte_mbuf *in_m[DP_QD_FRAGS_MAX];
	unsigned in_n;
	struct dp_qd_asm replay;     /* a held multi-frame message put together again */
	/* Block transcript (dp_transcript.h): the keys, the running hash, this end's final tag
	 * (kept for repeated COMMITs until the next block's) and the peer's, unmasked. */
	uint64_t tk_in[2], tk_out[2];
	struct dp_transcript tr;
	uint8_t ttag[DP_TRANSCRIPT_TAG_LEN], peer_ttag[DP_TRANSCRIPT_TAG_LEN];
	uint8_t tag_len;             /* the link's short tag length */
	uint32_t sent_blk;           /* BLOCK messages sent in this block (the first is keyed) */
	uint32_t recv_blk;           /* BLOCK messages of the peer used in this block */
	struct km_key_desc pending;  /* finished key waiting for room on the key ring */
	bool key_pending;
	struct dp_auth_stream tx, rx;
	struct rte_mbuf *early[DP_HOLD_MAX]; /* frames of whole authenticated messages for a later
					      * block (not started here), in order */
	unsigned early_n;
	unsigned corrupt_left, corrupt_bit;  /* test hook */
	unsigned forge_left, forge_bit;      /* test hook */
	uint8_t forge_type;                  /* test hook */
	unsigned drop_commit_skip, drop_commit_left; /* test hook */
	uint64_t dropped_commit;             /* test hook: 1 + block whose COMMIT was dropped */
	/* The last block's final message (COMMIT or ABORT): re-sent while idle when this end's claim
	 * grew, so claims reach the peer without a next block and a lost COMMIT is repeated. */
	uint8_t last_type;
	uint32_t last_reason;
	uint64_t claim_sent, refresh_tsc;
	struct dp_refill *fin_pending;       /* ledger: finished block waiting for room on the ring */
	struct dp_link_wk_stats st;
};

struct dp_link {
	struct dp_link_cfg cfg;
	uint8_t *psk_copy;
	uint16_t module_port_id, peer_port_id;
	struct rte_ether_addr src_mac;
	uint32_t refill_part;    /* bytes per auth stream taken from every finished key */
	struct rte_ring *blk_full, *blk_free, *msg_in;
	/* With a ledger (cfg.ledger): finished blocks out, agreed pads back in (ledger_port.c). */
	bool managed;
	struct rte_ring *fin, *apply_sift, *apply_distill;
	struct dp_claim_slot own_claim __rte_cache_aligned; /* written by the ledger's owner */
	struct dp_claim_slot peer_claim __rte_cache_aligned; /* written by the worker */
	struct dp_block blocks[DP_LINK_BLOCKS];
	struct dp_link_rx rx __rte_cache_aligned;
	struct dp_link_wk wk __rte_cache_aligned;
};

/* Published with rcu_xchg_pointer; immutable once published. */
struct dp_snap {
	unsigned n;
	struct dp_link *links[DP_MAX_LINKS];
	struct {
		uint16_t id;
		struct dp_link *l;
	} hash[2 * DP_MAX_LINKS];
};

static inline struct dp_link *dp_snap_find(const struct dp_snap *s, uint16_t id)
{
	unsigned i = id & (2 * DP_MAX_LINKS - 1);
	for (;; i = (i + 1) & (2 * DP_MAX_LINKS - 1)) {
		if (!s->hash[i].l)
			return NULL;
		if (s->hash[i].id == id)
			return s->hash[i].l;
	}
}

struct dp_lcore_ctx {
	struct dp_lcore_stats st;
	struct rte_ring *tx;   /* this lcore's mbufs for the TX lcore (RX lcore and workers) */
	struct rte_ring *cmd, *resp;
	unsigned idle;
	uint64_t now; /* TSC at the start of the lcore's iteration (RX: frame time stamps) */
} __rte_cache_aligned;

/* TX lcore's pending burst per port. */
struct dp_tx_buf {
	uint16_t n;
	struct rte_mbuf *pkts[DP_BURST];
	uint64_t since; /* TSC of the oldest packet waiting */
};

struct dp_node {
	struct dp_node_cfg cfg;
	struct rte_mempool *pool;
	struct dp_snap *snap; /* RCU-protected */
	atomic_bool stop;
	bool started, stopped;
	uint64_t tsc_hz, drain_tsc;
	uint64_t anchor_tsc, anchor_ns; /* one instant on both clocks: TSC stamps to CLOCK_MONOTONIC */
	struct dp_lcore_ctx rx, txc;
	struct dp_lcore_ctx wk[DP_MAX_WORKERS];
	struct rte_ring *key_ring[DP_MAX_WORKERS];
	struct dp_tx_buf txb[DP_MAX_PORTS];
	struct rte_ether_addr port_mac[DP_MAX_PORTS];
	unsigned ring_serial;
	uint64_t (*test_clock)(void *ctx); /* dp_node_test_clock; NULL: the TSC */
	void *test_clock_ctx;
};

/* The clock of block and awaited-reply timeouts, in TSC ticks. */
static inline uint64_t dp_node_timeout_now(const struct dp_node *n)
{
	return likely(!n->test_clock) ? rte_rdtsc() : n->test_clock(n->test_clock_ctx);
}

/* link.c */
struct dp_link *dp_link_create(struct dp_node *n, const struct dp_link_cfg *lc, const char **why);
void dp_link_free(struct dp_link *l);

/* rx.c / sift.c (RX lcore) */
unsigned dp_rx_iteration(struct dp_node *n, const struct dp_snap *s);
void dp_sift_event_frame(struct dp_node *n, struct dp_link *l, const struct dp_evf_hdr *h,
			 const uint8_t *payload);
void dp_sift_qdist(struct dp_node *n, struct dp_link *l, struct rte_mbuf *m);
unsigned dp_sift_service(struct dp_node *n, struct dp_link *l);
/* Allocate/free the link's sifting buffers (announcements, reassembly, slot window). */
int dp_sift_init(struct dp_link *l);
void dp_sift_free(struct dp_link *l);

/* window.c (RX lcore, Alice) */
void dp_win_unknown(struct dp_link_rx *rx, uint64_t from, uint64_t to);
void dp_win_dense(struct dp_link_rx *rx, uint64_t first, const uint8_t *payload, unsigned count);
void dp_win_put(struct dp_link_rx *rx, uint64_t slot, uint8_t sym);
/* Alice's planes of an indexed announcement (ab, abit, lo, hi): her symbols at its slots, class 3
 * (unknown, nibble 0xF) outside [win_lo, next_slot). */
void dp_win_announce(const struct dp_link_rx *rx, struct dp_announce *a);

/* announce.c (RX lcore): an announcement's words. */
static inline uint8_t *dp_ann_words(const struct dp_announce *a)
{
	return a->msg + DP_QD_ANNOUNCE_HDR;
}
/* Walk the n events of a->nwords words from a->base on, group by group from a->indexed on (whole
 * groups only unless final): checkpoints, the symbol planes, bit 0 (basis) to bb, and when final
 * the last slot. Bob's own words (out not NULL): bit 1 (his bit) to abit, and the words cut to
 * what is announced (delta and basis) written to out at the same offsets; he indexes as frames
 * come (the words still in cache). Alice's received words must announce the basis only. Returns
 * 0 or -EPROTO (malformed: bad escape, count, slot overflow, extra bits). */
int dp_ann_index(struct dp_announce *a, uint8_t *out, bool final);
/* Slot of event i < n of an indexed announcement. */
uint64_t dp_ann_slot(const struct dp_announce *a, unsigned i);

/* worker.c */
unsigned dp_worker_iteration(struct dp_node *n, unsigned w, const struct dp_snap *s);

/* ledger_port.c: append the agreed pads waiting on an apply ring to the owning lcore's two
 * streams (stream order pair: a gets the first part, b the second). */
void dp_ledger_port_apply(struct rte_ring *r, struct dp_auth_stream *a, struct dp_auth_stream *b);
/* Wipe and free what an apply ring still holds (link teardown). Accepts NULL. */
void dp_ledger_port_drain(struct rte_ring *r);

/* tx.c */
unsigned dp_tx_iteration(struct dp_node *n);
void dp_tx_discard(struct dp_node *n);

/* Build and seal a Qdist message in fresh mbufs (one frame per MTU-sized fragment, one tag) and
 * queue them on ctx's TX ring. Returns 0, -EAGAIN (no pad / ring full / no mbufs: retry later,
 * nothing consumed), -EMSGSIZE. */
int dp_qdist_send(struct dp_node *n, struct dp_lcore_ctx *ctx, struct dp_link *l,
		  struct dp_auth_stream *stream, uint8_t type, uint64_t block_seq,
		  const uint8_t *payload, uint32_t len);
/* The same with the header's tag byte (dp_qdist.h): a short or keyed tag. A short-tagged
 * payload must be 8-byte aligned and readable to the next multiple of 8 bytes (dp_auth.h). */
int dp_qdist_send_tagged(struct dp_node *n, struct dp_lcore_ctx *ctx, struct dp_link *l,
			 struct dp_auth_stream *stream, uint8_t type, uint8_t tag, uint64_t block_seq,
			 const uint8_t *payload, uint32_t len);

static inline void dp_count(struct dp_lcore_ctx *c, enum dp_err e)
{
	c->st.errors[e]++;
}

/* Relaxed single-writer counter update readable from other threads. */
#define DP_STAT_ADD(field, v) __atomic_store_n(&(field), (field) + (v), __ATOMIC_RELAXED)

#endif
