/* Wegman-Carter authentication of Qdist messages.
 *
 * tag = Poly1305_r(header || payload) + s_n (mod 2^128), the Poly1305 construction with r the
 * stream's secret hash key and s_n a one-time pad: the 16 bytes at offset 16*n of the stream's
 * pad material, n the message's msg_seq. Pads are never reused: a stream only moves forward, a
 * message with msg_seq below the next expected one is a replay and is rejected.
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

#include <stddef.h>
#include <stdint.h>

#include "dp_errors.h"
#include "dp_qdist.h"

#define DP_AUTH_R_LEN 16
#define DP_AUTH_PAD_LEN 16
#define DP_AUTH_STREAMS 4
#define DP_AUTH_PSK_MIN (DP_AUTH_STREAMS * (DP_AUTH_R_LEN + 4 * DP_AUTH_PAD_LEN))

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
	struct evp_mac_ctx_st *mac;
};

/* Stream index of (channel, sender role). */
static inline unsigned dp_auth_stream_index(enum dp_qd_channel ch, enum dp_role sender)
{
	return (unsigned)ch * 2 + (unsigned)sender;
}

/* Initialise with hash key r and a pad ring of 'cap' bytes (rounded up to a power of two). */
int dp_auth_stream_init(struct dp_auth_stream *s, const uint8_t r[DP_AUTH_R_LEN], size_t cap);
/* Initialise as a stream whose next pad byte to append sits at absolute offset 'head' and whose
 * messages below next_seq are gone (a persisted stream being restored; head <= 16 * next_seq is
 * allowed: appended bytes below 16 * next_seq are skipped). The reservation starts at next_seq. */
int dp_auth_stream_restore(struct dp_auth_stream *s, const uint8_t r[DP_AUTH_R_LEN], size_t cap,
			   uint64_t head, uint64_t next_seq);
/* Zeroize and release. Accepts a zeroed or already freed stream. */
void dp_auth_stream_free(struct dp_auth_stream *s);
/* Append pad material. Returns 0 or -ENOSPC (nothing appended). */
int dp_auth_stream_append(struct dp_auth_stream *s, const uint8_t *bytes, size_t n);
/* Messages that can still be sent/received with the pads held. */
uint64_t dp_auth_stream_msgs_left(const struct dp_auth_stream *s);

/* Seal a message of 'len' bytes (header + payload) at p: set msg_seq, append the tag. Returns the
 * total length (len + 16) or -EAGAIN when the stream has no pad left or none reserved. */
int dp_auth_seal(struct dp_auth_stream *s, uint8_t *p, size_t len);

/* Verify a parsed message (header + payload of 'len' bytes, tag following) against the receive
 * stream. DP_ERR_OK consumes the pads up to and including msg_seq (a skipped range counts in
 * s->gaps); any error leaves the stream unchanged: QD_REPLAY (msg_seq already passed), QD_NO_PAD
 * (pad not yet held or not yet reserved: retry after a refill; s->want notes the need), QD_AUTH
 * (tag mismatch). */
enum dp_err dp_auth_open(struct dp_auth_stream *s, const uint8_t *p, size_t len, uint64_t msg_seq);

/* The same for a message authenticated in two parts: tag over hdr || body (a multi-frame Qdist
 * message: its last fragment's header, then the whole payload). seal sets msg_seq in hdr and
 * writes the tag; 0 or -EAGAIN. open returns as dp_auth_open. */
int dp_auth_seal_msg(struct dp_auth_stream *s, uint8_t *hdr, size_t hdr_len, const uint8_t *body,
		     size_t body_len, uint8_t tag[DP_QD_TAG_LEN]);
enum dp_err dp_auth_open_msg(struct dp_auth_stream *s, const uint8_t *hdr, size_t hdr_len,
			     const uint8_t *body, size_t body_len, uint64_t msg_seq,
			     const uint8_t tag[DP_QD_TAG_LEN]);

/* Split material (pre-shared secret or a refill) over the four streams: the pre-shared secret
 * starts with the four r keys (stream order), the rest (and every refill) is cut into four equal
 * parts of whole pads, part i to stream i. 'streams' is indexed by dp_auth_stream_index. For the
 * pre-shared secret pass with_r = 1 and zeroed streams (they are initialised with cap each).
 * NULL entries are skipped, so each owning lcore can append its own parts of a refill. */
int dp_auth_split(struct dp_auth_stream *streams[DP_AUTH_STREAMS], const uint8_t *material,
		  size_t len, int with_r, size_t cap);

#endif
