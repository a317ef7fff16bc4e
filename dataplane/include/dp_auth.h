/* Wegman-Carter authentication of Qdist messages (docs/protocol.md, "Authentication").
 *
 * Every message spends one-time pad bytes of its stream, at byte offset unit * msg_seq: the
 * stream's unit is 16 bytes on the sift channel and 4 on the distill channel. What a message
 * spends is given by its header's tag byte (dp_qdist.h): a keyed message first takes 16 bytes of
 * key or mask, then every message takes tag_len bytes to mask its tag.
 *  - Full tags (16 bytes; sift messages, COMMIT, ABORT): tag = Poly1305_r(header || payload) + s
 *    (mod 2^128), r the stream's secret hash key, s the pad.
 *  - Short tags (BLOCK messages, tag_len 4, 8 or 16): tag = trunc(G_k(header, payload)) xor s,
 *    G the GF(2^128) polynomial hash of dst_verify.h extended by the two header blocks
 *    (G = ((H_k(payload) + h0) k + h1) k) and k the sender's per-block key: the 16 key bytes of
 *    the block's first BLOCK message in that direction (keyed). Truncating a polynomial hash
 *    keeps its bound: a forgery succeeds with probability at most (L + 3) / 2^(8 tag_len) for a
 *    payload of L 16-byte blocks. The key changes every block, so what repeated forgery attempts
 *    teach an attacker about it dies with the block; r is only ever used for full-strength tags.
 *  - A keyed COMMIT's 16 key bytes mask the block's transcript tag (dp_transcript.h) it carries.
 * Pads are never reused: a stream only moves forward, a message with msg_seq below the next
 * expected one is a replay and is rejected.
 *
 * Each link has four streams: {sift, distill} x {Alice->Bob, Bob->Alice}. The pre-shared secret
 * (first start) and every refill taken from distilled key are split over the four in the same
 * way on both nodes (dp_auth_split), so both ends hold identical pad sequences. A stream is owned
 * by one lcore (sift: RX lcore, distill: the link's worker) and is not thread safe, except for the
 * reservation fields: a persisting owner (dp_ledger.h) reads next_seq and want and raises limit
 * from another thread (relaxed atomics), so a stream never uses a pad whose use is not yet durably
 * recorded, and a restarted node never uses one twice. */
#ifndef DP_AUTH_H
#define DP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_errors.h"
#include "dp_qdist.h"

#define DP_AUTH_R_LEN 16
#define DP_AUTH_PAD_LEN 16
#define DP_AUTH_STREAMS 4
#define DP_AUTH_PSK_MIN (DP_AUTH_STREAMS * (DP_AUTH_R_LEN + 4 * DP_AUTH_PAD_LEN))
#define DP_AUTH_KEY_LEN 16     /* key or mask at the start of a keyed message's pad */
#define DP_AUTH_UNIT_SIFT 16   /* pad bytes per msg_seq step on the sift channel */
#define DP_AUTH_UNIT_DISTILL 4 /* ... and on the distill channel (short tags) */

struct evp_mac_ctx_st;

struct dp_auth_stream {
	uint8_t r[DP_AUTH_R_LEN];
	uint8_t *pads;     /* ring of pad bytes, capacity cap (a power of two) */
	uint64_t cap;
	uint64_t head;     /* absolute stream offset one past the last pad byte held */
	uint64_t next_seq; /* next msg_seq this end sends or accepts; pads below are gone */
	uint64_t gaps;     /* messages skipped (receive side) */
	uint64_t limit;    /* msg_seq at or above is not reserved yet: seal/open wait (UINT64_MAX: off) */
	uint64_t want;     /* receive side: highest msg_seq refused for want of a reservation */
	unsigned unit;     /* pad bytes per msg_seq step (DP_AUTH_UNIT_*) */
	/* Short tags: the per-block key of this direction (set by the block's keyed BLOCK message). */
	uint64_t bkey[2];
	uint64_t bkey_block;
	bool bkey_set;
	uint8_t mask[DP_AUTH_KEY_LEN]; /* receive side: the mask of the last keyed COMMIT opened */
	struct evp_mac_ctx_st *mac;
};

/* Stream index of (channel, sender role). */
static inline unsigned dp_auth_stream_index(enum dp_qd_channel ch, enum dp_role sender)
{
	return (unsigned)ch * 2 + (unsigned)sender;
}

/* Pad bytes per msg_seq step of stream i (stream order). */
static inline unsigned dp_auth_stream_unit(unsigned i)
{
	return i / 2 == DP_QD_CH_DISTILL ? DP_AUTH_UNIT_DISTILL : DP_AUTH_UNIT_SIFT;
}

/* Pad bytes a message with this header tag byte spends (0: not a valid tag byte). */
static inline unsigned dp_auth_msg_pad(uint8_t tag_byte)
{
	unsigned t = tag_byte & DP_QD_TAG_LEN_MASK;
	if ((t != 4 && t != 8 && t != 16) || (tag_byte & ~(DP_QD_TAG_LEN_MASK | DP_QD_TAG_KEYED)))
		return 0;
	return t + (tag_byte & DP_QD_TAG_KEYED ? DP_AUTH_KEY_LEN : 0);
}

/* Initialise with hash key r and a pad ring of 'cap' bytes (rounded up to a power of two); the
 * unit is DP_AUTH_UNIT_SIFT until dp_auth_stream_set_unit. */
int dp_auth_stream_init(struct dp_auth_stream *s, const uint8_t r[DP_AUTH_R_LEN], size_t cap);
/* Set the unit (4 or 16) of a stream not used yet. 0 or -EINVAL. */
int dp_auth_stream_set_unit(struct dp_auth_stream *s, unsigned unit);
/* Initialise as a stream whose next pad byte to append sits at absolute offset 'head' and whose
 * messages below next_seq are gone (a persisted stream being restored; head <= unit * next_seq is
 * allowed: appended bytes below unit * next_seq are skipped). The reservation starts at next_seq. */
int dp_auth_stream_restore(struct dp_auth_stream *s, const uint8_t r[DP_AUTH_R_LEN], size_t cap,
			   unsigned unit, uint64_t head, uint64_t next_seq);
/* Zeroize and release. Accepts a zeroed or already freed stream. */
void dp_auth_stream_free(struct dp_auth_stream *s);
/* Append pad material. Returns 0 or -ENOSPC (nothing appended). */
int dp_auth_stream_append(struct dp_auth_stream *s, const uint8_t *bytes, size_t n);
/* Pad bytes held past the next message's offset. */
uint64_t dp_auth_stream_bytes_left(const struct dp_auth_stream *s);
/* Full-tag (16-byte) messages that can still be sent/received with the pads held. */
uint64_t dp_auth_stream_msgs_left(const struct dp_auth_stream *s);
/* The key bytes the next keyed message sealed on s will take (a COMMIT's transcript mask, so the
 * sender can put the masked tag into the payload before sealing). 0 or -EAGAIN (not held). */
int dp_auth_next_key(const struct dp_auth_stream *s, uint8_t key[DP_AUTH_KEY_LEN]);

/* Seal a message of 'len' bytes (header + payload) at p: set msg_seq, append the tag (the
 * header's tag_len bytes). Returns the total length or -EAGAIN when the stream has no pad left or
 * none reserved, -EINVAL for a header the stream cannot seal (a short tag without the block's key;
 * a short-tagged payload must be 8-byte aligned and readable up to the next multiple of 8). */
int dp_auth_seal(struct dp_auth_stream *s, uint8_t *p, size_t len);

/* Verify a parsed message (header + payload of 'len' bytes, tag following) against the receive
 * stream. DP_ERR_OK consumes the pads up to and including the message's (a skipped range counts
 * in s->gaps; a keyed BLOCK sets the block key, a keyed COMMIT leaves its mask in s->mask); any
 * error leaves the stream unchanged: QD_REPLAY (msg_seq already passed), QD_NO_PAD (pad not yet
 * held or not yet reserved: retry after a refill; s->want notes the need), QD_AUTH (tag mismatch),
 * QD_NO_KEY (a short tag for a block whose key this end does not hold: its keyed message was lost
 * or never sent). */
enum dp_err dp_auth_open(struct dp_auth_stream *s, const uint8_t *p, size_t len, uint64_t msg_seq);

/* The same for a message authenticated in two parts: tag over hdr || body (a multi-frame Qdist
 * message: its last fragment's header, then the whole payload). seal sets msg_seq in hdr and
 * writes the tag; 0, -EAGAIN or -EINVAL. open returns as dp_auth_open. */
int dp_auth_seal_msg(struct dp_auth_stream *s, uint8_t *hdr, size_t hdr_len, const uint8_t *body,
		     size_t body_len, uint8_t *tag);
enum dp_err dp_auth_open_msg(struct dp_auth_stream *s, const uint8_t *hdr, size_t hdr_len,
			     const uint8_t *body, size_t body_len, uint64_t msg_seq,
			     const uint8_t *tag);

/* G_k(hdr, body) of a short tag (full 128 bits; the tag is its low tag_len bytes xor the pad).
 * body as for dp_auth_seal. Exposed for tests and the forging test hook. */
void dp_auth_short_hash(const uint64_t k[2], const uint8_t hdr[DP_QD_HDR_LEN], const uint8_t *body,
			size_t body_len, uint64_t out[2]);

/* Split material (pre-shared secret or a refill) over the four streams: the pre-shared secret
 * starts with the four r keys (stream order), the rest (and every refill) is cut into four equal
 * parts of whole pads, part i to stream i. 'streams' is indexed by dp_auth_stream_index. For the
 * pre-shared secret pass with_r = 1 and zeroed streams (they are initialised with cap each and
 * the unit of their index).
 * NULL entries are skipped, so each owning lcore can append its own parts of a refill. */
int dp_auth_split(struct dp_auth_stream *streams[DP_AUTH_STREAMS], const uint8_t *material,
		  size_t len, int with_r, size_t cap);

#endif
