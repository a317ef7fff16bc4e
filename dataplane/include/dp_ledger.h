/* The authentication ledger of one QKD link: the persistent, crash-safe owner of the link's four
 * Wegman-Carter pad streams (dp_auth.h) and of the keys they are refilled from.
 *
 * Why: the pads both nodes use must be byte-identical at the same stream offsets, and a pad must
 * never be used twice, even after kill -9. Both break if a refill is taken from a key only one
 * end kept (its last COMMIT was lost, or one end crashed before storing it), or if a restarted
 * node starts again from the pre-shared secret. So:
 *  - Layout. Every stream has the same layout: the pre-shared secret's parts first, then one
 *    segment per agreed key, appended in block order. Offsets are absolute and only grow.
 *  - Claims. A finished block's refill and key are first PENDING: written to the store (the
 *    ledger's records, not a key pool) before this end claims to hold them. A claim (upto, held)
 *    says: every block below 'upto' is final here (finished or abandoned), and bit i of 'held' is
 *    set when block upto-1-i finished and is durable. Claims travel in COMMIT and ABORT.
 *  - Decisions. With the peer's claim covering a pending block, the ledger decides: both hold it
 *    -> the refill is APPLIED (a new segment, then pushed to the lcores) and the key is CONFIRMED
 *    (handed to the key store); otherwise both are dropped. Both ends compute the same function of
 *    two durable facts, in block order, so they append the same segments at the same offsets and
 *    keep the same keys, whichever COMMIT was lost and whoever restarted.
 *  - Reservations. A sending stream may only use msg_seq below its limit; the ledger raises limits
 *    ahead of use (next_seq + DP_LEDGER_RESERVE) and persists them before publishing, and a
 *    restored sending stream starts at the persisted limit: a crash skips pads, never repeats
 *    them. A peer that restarted therefore sends msg_seq that jump forward, which the receiver
 *    accepts (dp_auth_open: only increasing msg_seq, skipped pads are wiped).
 *    Block numbers are reserved the same way (block_next), so a restarted Alice never reuses one.
 *
 * The ledger is DPDK-free; it reports every change through an I/O sink (the key store's
 * authentication records in qkdnode, memory in tests) and is driven by one thread. */
#ifndef DP_LEDGER_H
#define DP_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_auth.h"
#include "km_key.h"

#define DP_LEDGER_SEG_MAX 4096u    /* bytes per stream in one segment (a refill part) */
#define DP_LEDGER_RESERVE 1024u    /* 16-byte pads' worth reserved ahead of a stream's use */
#define DP_LEDGER_BLOCK_RESERVE 64u /* block numbers reserved ahead */
#define DP_LEDGER_PEND_MAX 64u     /* pending blocks held (older ones fall out of any claim) */
#define DP_LEDGER_WINDOW 64u       /* blocks a claim covers */

/* Record numbers in the sink (per link). */
#define DP_LEDGER_REC_HEADER 0ull
#define DP_LEDGER_REC_SEG(start) ((1ull << 62) | (start))    /* segment at byte offset start */
#define DP_LEDGER_REC_PEND(block) ((2ull << 62) | (block))   /* pending block */

struct dp_claim {
	uint64_t upto; /* blocks below are final on the claiming end (0: no claim yet) */
	uint64_t held; /* bit i: block upto-1-i finished there and is durable */
};
#define DP_CLAIM_WIRE_LEN 16
void dp_claim_put(uint8_t p[DP_CLAIM_WIRE_LEN], const struct dp_claim *c);
void dp_claim_get(const uint8_t p[DP_CLAIM_WIRE_LEN], struct dp_claim *c);
/* Does claim c say block b is held (1), not held (0), or not cover it yet (-1)? Blocks older
 * than the window count as not held. */
int dp_claim_holds(const struct dp_claim *c, uint64_t block);

/* Where the ledger writes its records; put/del return 0 or a negative errno. */
struct dp_ledger_io {
	int (*put)(void *ctx, uint64_t rec, const uint8_t *data, size_t len);
	int (*del)(void *ctx, uint64_t rec);
	void *ctx;
};

/* A finished block as the worker hands it over: the refill parts (stream order: sift A->B, sift
 * B->A, distill A->B, distill B->A, 'part' bytes each) and the key (may have no bits). */
struct dp_refill {
	uint64_t block_seq;
	uint32_t part;
	uint8_t *mat;          /* 4 * part bytes, km_key_material_alloc */
	struct km_key_desc key; /* key.material NULL when the block left no key */
};
void dp_refill_free(struct dp_refill *r); /* zeroizes; accepts NULL */

struct dp_ledger;

/* A new ledger from the pre-shared secret (layout as dp_auth_split): writes every record. */
struct dp_ledger *dp_ledger_create(uint32_t link_id, const uint8_t *psk, size_t psk_len,
				   const struct dp_ledger_io *io, const char **why);
/* Rebuild from records (header, segments, pending) fed in any order with dp_ledger_load_rec, then
 * dp_ledger_load_end checks them. psk (may be NULL) must be the secret the ledger came from. */
struct dp_ledger *dp_ledger_load_begin(uint32_t link_id, const struct dp_ledger_io *io);
int dp_ledger_load_rec(struct dp_ledger *l, uint64_t rec, const uint8_t *data, size_t len,
		       const char **why);
int dp_ledger_load_end(struct dp_ledger *l, const uint8_t *psk, size_t psk_len, const char **why);
void dp_ledger_free(struct dp_ledger *l); /* zeroizes; accepts NULL */

/* The streams as a restarted link must start: stream i (stream order) gets r and the unused pad
 * material; a stream this end sends on (bit i of send_mask) starts at next_seq = limit = the
 * persisted reservation (a crash skips pads, never repeats them), a stream it receives on at the
 * last recorded position, without a limit (the sender's numbers only grow; a restarted sender's
 * jump forward is accepted). 'streams' as in dp_auth_split. */
int dp_ledger_restore(const struct dp_ledger *l, struct dp_auth_stream *streams[DP_AUTH_STREAMS],
		      unsigned send_mask);
/* Stream capacity a restored stream gets (unused material + room for refills). */
size_t dp_ledger_stream_cap(const struct dp_ledger *l);
uint64_t dp_ledger_block_next(const struct dp_ledger *l);
uint64_t dp_ledger_head(const struct dp_ledger *l);
uint64_t dp_ledger_reserved(const struct dp_ledger *l, unsigned stream);
struct dp_claim dp_ledger_claim(const struct dp_ledger *l);
unsigned dp_ledger_pending(const struct dp_ledger *l);

/* A finished block: kept as pending (written), and the claim grows once the records are durable
 * (the caller publishes dp_ledger_claim after its commit). Takes r's material and key (r is
 * emptied). -EINVAL out of order, -ENOSPC too many pending (the block is dropped: not claimed). */
int dp_ledger_finished(struct dp_ledger *l, struct dp_refill *r);

/* Decide the pending blocks the peer's claim covers, in block order, while the applied material
 * stays within max_head (bytes, all streams: what the lcores' rings can take). For each: both
 * hold it -> a segment is written, apply(ctx, block, part, mat) gets its parts (copy them: push
 * them to the lcores after the commit) and key(ctx, &desc) gets the key, taking its material (set
 * desc->material NULL); otherwise drop(ctx, &desc) is told and the ledger wipes the key. Returns
 * the number decided or a negative errno (a record could not be written). */
struct dp_ledger_sink {
	void (*apply)(void *ctx, uint64_t block_seq, uint32_t part, const uint8_t *mat);
	void (*key)(void *ctx, struct km_key_desc *key);
	void (*drop)(void *ctx, const struct km_key_desc *key);
	void *ctx;
};
int dp_ledger_decide(struct dp_ledger *l, const struct dp_claim *peer, uint64_t max_head,
		     const struct dp_ledger_sink *sink);

/* Raise reservations to cover next_seq/want (per stream) and the block number in use; drop
 * segments every stream has passed. Writes the header when it changed. Returns 1 when the limits
 * or block reservation moved (publish after the commit), 0 when not, or a negative errno. */
int dp_ledger_reserve(struct dp_ledger *l, const uint64_t next_seq[DP_AUTH_STREAMS],
		      const uint64_t want[DP_AUTH_STREAMS], uint64_t block_in_use);

#endif
