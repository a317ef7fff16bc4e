/* Every reason the dataplane drops or flags input, as one X-macro: the enum, the counter array
 * and the names used by reports all come from this list (VPP error-counter style). Parsers return
 * a dp_err; the caller increments its own lcore's counter for it. */
#ifndef DP_ERRORS_H
#define DP_ERRORS_H

#include <stdint.h>

#define DP_ERRORS(X)                                                                             \
	X(OK, "no error")                                                                         \
	X(ETH_SHORT, "frame shorter than an Ethernet header")                                   \
	X(ETH_TYPE, "EtherType is not a qkdnode protocol")                                       \
	X(EVF_SHORT, "event frame shorter than its header")                                      \
	X(EVF_VERSION, "unsupported event frame version")                                        \
	X(EVF_FLAGS, "reserved event frame flag bits set")                                       \
	X(EVF_LENGTH, "event payload length disagrees with the frame length")                    \
	X(EVF_COUNT, "event count disagrees with the payload")                                   \
	X(EVF_PADDING, "nonzero padding in event payload")                                       \
	X(EVF_ESCAPE, "zero or truncated slot escape")                                           \
	X(EVF_SLOT_OVERFLOW, "slot index overflows 64 bits")                                     \
	X(EVF_LINK, "event frame for an unknown link")                                           \
	X(EVF_SIDE, "event frame from the wrong module side for this node")                      \
	X(EVF_SEQ_GAP, "event frame sequence gap (frames lost)")                                 \
	X(EVF_SEQ_OLD, "event frame replayed or reordered")                                      \
	X(EVF_SLOT_REGRESS, "event frame slots overlap earlier frames")                          \
	X(EVF_WINDOW, "event frame too large for the slot window")                               \
	X(QD_SHORT, "Qdist message shorter than header and tag")                                 \
	X(QD_VERSION, "unsupported Qdist version")                                               \
	X(QD_TYPE, "unknown Qdist message type")                                                 \
	X(QD_LENGTH, "Qdist payload length disagrees with the frame length")                     \
	X(QD_RESERVED, "Qdist reserved field or bad channel/role")                               \
	X(QD_LINK, "Qdist message for an unknown link")                                          \
	X(QD_NO_PAD, "authentication pad not available yet")                                     \
	X(QD_AUTH, "Qdist authentication failed")                                                \
	X(QD_REPLAY, "Qdist message replayed or reordered")                                      \
	X(QD_GAP, "Qdist message sequence gap (messages lost)")                                  \
	X(QD_PAYLOAD, "malformed Qdist payload")                                                 \
	X(QD_BLOCK, "Qdist message for a block that is not in progress")                         \
	X(QD_HOLD_FULL, "no room to hold an early Qdist message")                                \
	X(QD_FRAG, "Qdist fragment out of order, duplicated or inconsistent (message dropped)")   \
	X(QD_MSG_DROPPED, "multi-frame Qdist message dropped incomplete")                        \
	X(SIFT_LATE, "announced slots already left the slot window")                             \
	X(SIFT_OVERFLOW, "detections dropped: announce buffer full")                             \
	X(BLOCK_ABORTED, "block aborted")                                                        \
	X(BLOCK_FAILED, "block failed (reconciliation or verification)")                         \
	X(BLOCK_TIMEOUT, "block aborted: peer silent")                                           \
	X(NO_BLOCK, "sifted bits dropped: no free block buffer")                                 \
	X(KEY_RING_FULL, "key dropped (zeroized): key ring full")                                \
	X(AUTH_EMPTY, "authentication pads exhausted: sending waits for a refill")                 \
	X(NO_MBUF, "mbuf pool exhausted")                                                        \
	X(TX_DROP, "TX queue full, frame dropped")                                               \
	X(BLOCK_TRANSCRIPT, "block aborted: the peer's transcript tag differs (a message was forged)") \
	X(QD_NO_KEY, "short-tagged message of a block whose keyed first message was lost")

enum dp_err {
#define DP_ERR_ENUM(name, text) DP_ERR_##name,
	DP_ERRORS(DP_ERR_ENUM)
#undef DP_ERR_ENUM
	DP_ERR__COUNT
};

/* Counter name as in the list ("EVF_SHORT") and its one-line description. */
const char *dp_err_name(enum dp_err e);
const char *dp_err_text(enum dp_err e);

#endif
