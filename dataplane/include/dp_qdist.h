/* Qdist: the authenticated classical channel between the two nodes of a QKD link (sifting
 * exchange and the distillation pipeline's messages). docs/protocol.md has the byte layout.
 * A frame is Ethernet + 32-byte header + payload (+ the Wegman-Carter tag in the last frame of a
 * message, dp_auth.h: 16 bytes, or the link's short tag length for BLOCK messages). All
 * multi-byte fields little-endian. */
#ifndef DP_QDIST_H
#define DP_QDIST_H

#include <stddef.h>
#include <stdint.h>

#include "dp_errors.h"

#define DP_QD_VERSION 3
#define DP_QD_HDR_LEN 32
#define DP_QD_TAG_LEN 16 /* full tag; the longest a frame carries */
/* Header byte 4, the tag byte: tag length (4, 8 or 16; 16 for every type but BLOCK), and KEYED
 * (BLOCK, COMMIT only): the message's pad starts with a 16-byte key or mask (dp_auth.h). */
#define DP_QD_TAG_LEN_MASK 0x1f
#define DP_QD_TAG_KEYED 0x80
#define DP_QD_MSG_SEQ_OFF 16 /* offset of msg_seq in the header (set when sealing) */
#define DP_QD_MSG_MAX (1u << 20) /* largest message payload (all fragments together) */
#define DP_QD_FRAGS_MAX 1024     /* fragments per message */

enum dp_qd_type {
	DP_QD_SIFT_ANNOUNCE = 1, /* receiver node -> transmitter node: detected slots and bases */
	DP_QD_SIFT_REPLY = 2,    /* transmitter node -> receiver node: basis matches, decoy classes */
	DP_QD_BLOCK = 3,         /* a block pipeline message (opaque to the dataplane) */
	DP_QD_ABORT = 4,         /* abandon block block_seq (payload: u32 reason) */
	DP_QD_COMMIT = 5,        /* the sender holds block block_seq's key (payload: key digest) */
	DP_QD_TYPE_MAX = DP_QD_COMMIT,
};

enum dp_qd_channel {
	DP_QD_CH_SIFT = 0,    /* handled by the RX lcore */
	DP_QD_CH_DISTILL = 1, /* handled by the link's distill worker */
	DP_QD_CHANNELS = 2,
};

/* Which node of the link sent a message: the one attached to the transmitter (Alice) module or
 * to the receiver (Bob) module. */
enum dp_role { DP_ROLE_ALICE = 0, DP_ROLE_BOB = 1 };

/* One frame's header. A message is carried in frag_cnt frames (fragments) that share every field
 * but payload_len and frag_idx; only the last fragment carries the tag (tag & TAG_LEN_MASK
 * bytes), computed over that fragment's header followed by the whole message payload (msg_len
 * bytes). */
struct dp_qd_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t link_id;
	uint8_t channel; /* implied by type (not on the wire since version 3) */
	uint8_t tag;     /* the tag byte (0 when writing: a full tag, not keyed) */
	uint8_t role; /* sender's role */
	uint16_t payload_len; /* payload bytes in this frame */
	uint64_t block_seq;
	uint64_t msg_seq; /* per link, channel and direction; selects the one-time pad */
	uint32_t msg_len; /* payload bytes of the whole message */
	uint16_t frag_idx, frag_cnt;
};

/* Channel a message type travels on. */
static inline enum dp_qd_channel dp_qd_type_channel(uint8_t type)
{
	return type <= DP_QD_SIFT_REPLY ? DP_QD_CH_SIFT : DP_QD_CH_DISTILL;
}

static inline int dp_qd_last_frag(const struct dp_qd_hdr *h)
{
	return h->frag_idx + 1 == h->frag_cnt;
}

static inline unsigned dp_qd_tag_len(const struct dp_qd_hdr *h)
{
	return h->tag & DP_QD_TAG_LEN_MASK;
}

/* Write the header (msg_seq is filled in by dp_auth_seal). */
void dp_qd_write_hdr(uint8_t *p, const struct dp_qd_hdr *h);

/* Validate header fields and lengths of one frame (p points past the Ethernet header; trailing
 * Ethernet padding allowed): the payload and, in the last fragment, the tag fit the frame.
 * Authentication is separate (dp_auth_open). */
enum dp_err dp_qd_parse(const uint8_t *p, size_t len, struct dp_qd_hdr *h);

/* Reassembly of a multi-frame message (one per receive stream). Fragments must arrive complete, in
 * order and once: any gap, duplicate, reordering or inconsistent header drops the message in
 * progress (counted in 'dropped'), so nothing of it is ever used. */
struct dp_qd_asm {
	uint8_t *buf;
	size_t cap;
	struct dp_qd_hdr h;               /* the message's fields (first fragment) */
	uint8_t last_hdr[DP_QD_HDR_LEN];  /* the last fragment's header: authenticated */
	uint8_t tag[DP_QD_TAG_LEN];
	uint32_t got;
	uint16_t next;                    /* fragment index expected next */
	int active, complete;
	uint64_t dropped;                 /* messages dropped incomplete */
};
/* Bytes a reassembly buffer has past its capacity (room to the next multiple of 8). */
#define DP_QD_ASM_SLACK 8
/* Buffer for messages of up to 'cap' payload bytes (8-byte aligned with room to the next
 * multiple of 8, as short tags need). 0 or -ENOMEM. */
int dp_qd_asm_init(struct dp_qd_asm *a, size_t cap);
/* Zeroize and release (accepts a zeroed struct). */
void dp_qd_asm_free(struct dp_qd_asm *a);
/* Add a parsed frame (p, h as from dp_qd_parse). DP_ERR_OK: taken (a->complete is set when it was
 * the last fragment; the message then stays until dp_qd_asm_done). QD_FRAG: the frame is not
 * usable (out of order, duplicate, no message in progress, too large); a message in progress is
 * dropped with it. Must not be called while a->complete. */
enum dp_err dp_qd_asm_add(struct dp_qd_asm *a, const uint8_t *p, const struct dp_qd_hdr *h);
/* The complete message was used or rejected: ready for the next. */
void dp_qd_asm_done(struct dp_qd_asm *a);

/* Sift announcement payload: the receiver node's detections since the previous announcement
 * (slots and bases, sparse-coded like event frames with bit and class zero). Every message costs
 * one 16-byte authentication pad whatever its length, so announcements are large and span frames. */
#define DP_QD_ANNOUNCE_HDR 16 /* u64 base slot, u32 count, u32 words */
#define DP_QD_ANNOUNCE_MAX 65536 /* detections per announcement */
/* Payload bytes an announcement of n detections may need (slot gaps below 2^32 each). */
#define DP_QD_ANNOUNCE_CAP(n) (DP_QD_ANNOUNCE_HDR + 6 * (size_t)(n))
/* Encode n detections (strictly increasing slots >= base, basis = bit 0 of syms). */
int dp_qd_announce_build(uint8_t *p, size_t cap, uint64_t base, const uint64_t *slots,
			 const uint8_t *syms, unsigned n);
/* The header alone: put writes it; get checks that a payload of len bytes has exactly the
 * header's words, 1 <= count <= max (and DP_QD_ANNOUNCE_MAX), words >= count and base above 0,
 * and returns 0 with the fields, or -EPROTO. */
void dp_qd_announce_hdr_put(uint8_t *p, uint64_t base, uint32_t n, uint32_t nw);
int dp_qd_announce_hdr_get(const uint8_t *p, size_t len, unsigned max, uint64_t *base,
			   uint32_t *n, uint32_t *nw);
/* Decode into slots/bases (one byte 0/1 per detection; room for 'max' entries). Returns the
 * count or -EPROTO (also when the count exceeds max). */
int dp_qd_announce_parse(const uint8_t *p, size_t len, uint64_t *slots, uint8_t *bases,
			 unsigned max);

/* Sift reply payload: for each announced detection, whether the bases matched and the
 * transmitter's class for that slot (3 = slot unknown to the transmitter: never matched). Both ends
 * hold them as bit-planes (bit i of word i/64 is detection i). */
#define DP_QD_REPLY_HDR 16 /* u64 answered announcement msg_seq, u32 key_pos, u32 count */
static inline size_t dp_qd_reply_len(unsigned n) { return DP_QD_REPLY_HDR + (n + 7) / 8 + (n + 3) / 4; }
/* key_pos: raw-key bits already in block block_seq (the header's) before this reply's bits, so the
 * receiver node can check that its block is aligned with the transmitter node's. match, cls_lo and
 * cls_hi are planes of n bits (bits past n ignored). -EINVAL for a match with class 3. */
int dp_qd_reply_build(uint8_t *p, size_t cap, uint64_t announce_seq, uint32_t key_pos,
		      const uint64_t *match, const uint64_t *cls_lo, const uint64_t *cls_hi,
		      unsigned n);
/* Decode into planes of ceil(n/64) words each, bits past n zero (room for 'max' detections).
 * Returns the count or -EPROTO (nonzero padding, lengths, a match with class 3, n > max). */
int dp_qd_reply_parse(const uint8_t *p, size_t len, uint64_t *announce_seq, uint32_t *key_pos,
		      uint64_t *match, uint64_t *cls_lo, uint64_t *cls_hi, unsigned max);

#endif
