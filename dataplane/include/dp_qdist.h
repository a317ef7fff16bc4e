/* Qdist: the authenticated classical channel between the two nodes of a QKD link (sifting
 * exchange and the distillation pipeline's messages). docs/protocol.md has the byte layout.
 * A message is Ethernet + 24-byte header + payload + 16-byte Wegman-Carter tag over header and
 * payload (dp_auth.h). All multi-byte fields little-endian. */
#ifndef DP_QDIST_H
#define DP_QDIST_H

#include <stddef.h>
#include <stdint.h>

#include "dp_errors.h"

#define DP_QD_VERSION 1
#define DP_QD_HDR_LEN 24
#define DP_QD_TAG_LEN 16
#define DP_QD_MSG_SEQ_OFF 16 /* offset of msg_seq in the header (set when sealing) */

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

struct dp_qd_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t link_id;
	uint8_t channel;
	uint8_t role; /* sender's role */
	uint16_t payload_len;
	uint64_t block_seq;
	uint64_t msg_seq; /* per link, channel and direction; selects the one-time pad */
};

/* Channel a message type travels on. */
static inline enum dp_qd_channel dp_qd_type_channel(uint8_t type)
{
	return type <= DP_QD_SIFT_REPLY ? DP_QD_CH_SIFT : DP_QD_CH_DISTILL;
}

/* Write the header (msg_seq is filled in by dp_auth_seal). */
void dp_qd_write_hdr(uint8_t *p, const struct dp_qd_hdr *h);

/* Validate header fields and lengths of a message (p points past the Ethernet header; trailing
 * Ethernet padding allowed). Authentication is separate (dp_auth_open). */
enum dp_err dp_qd_parse(const uint8_t *p, size_t len, struct dp_qd_hdr *h);

/* Sift announcement payload: the receiver node's detections since the previous announcement
 * (slots and bases, sparse-coded like event frames with bit and class zero). Every message costs
 * 16 bytes of authentication pad, so announcements should be as large as the MTU allows. */
#define DP_QD_ANNOUNCE_HDR 12 /* u64 base slot, u16 count, u16 words */
#define DP_QD_ANNOUNCE_MAX 4096 /* detections per announcement (a jumbo frame's worth) */
int dp_qd_announce_build(uint8_t *p, size_t cap, uint64_t base, const uint64_t *slots,
			 const uint8_t *bases, unsigned n);
/* Decode into slots/bases (room for DP_QD_ANNOUNCE_MAX). Returns the count or -EPROTO. */
int dp_qd_announce_parse(const uint8_t *p, size_t len, uint64_t *slots, uint8_t *bases);

/* Sift reply payload: for each announced detection, whether the bases matched and the
 * transmitter's class for that slot (3 = slot unknown to the transmitter: never matched). */
#define DP_QD_REPLY_HDR 16 /* u64 answered announcement msg_seq, u32 key_pos, u16 count, u16 0 */
static inline size_t dp_qd_reply_len(unsigned n) { return DP_QD_REPLY_HDR + (n + 7) / 8 + (n + 3) / 4; }
/* key_pos: raw-key bits already in block block_seq (the header's) before this reply's bits, so the
 * receiver node can check that its block is aligned with the transmitter node's. */
int dp_qd_reply_build(uint8_t *p, size_t cap, uint64_t announce_seq, uint32_t key_pos,
		      const uint8_t *match, const uint8_t *cls, unsigned n);
/* Decode into match/cls (one byte per detection, room for DP_QD_ANNOUNCE_MAX rounded up to 8).
 * Returns the count or -EPROTO (nonzero padding, lengths, match with class 3). */
int dp_qd_reply_parse(const uint8_t *p, size_t len, uint64_t *announce_seq, uint32_t *key_pos,
		      uint8_t *match, uint8_t *cls);

#endif
