/* Detector-event frames (module port, Kq-1): what a QKD module sends its node. docs/protocol.md
 * has the byte-level layout; all multi-byte fields are little-endian except the EtherType.
 *
 * An event symbol is one nibble: bit 0 basis, bit 1 bit value, bits 2-3 class (decoy intensity
 * class on the transmitter side, click class on the receiver side). A frame is either dense (one
 * symbol per consecutive slot, two per byte: the transmitter module) or sparse (16-bit words with
 * a 12-bit slot delta: the receiver module's detections). */
#ifndef DP_EVFRAME_H
#define DP_EVFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "dp_errors.h"

#define DP_ETHERTYPE_EVENTS 0x88B5 /* IEEE 802 local experimental EtherType 1 */
#define DP_ETHERTYPE_QDIST 0x88B6  /* IEEE 802 local experimental EtherType 2 */
#define DP_ETH_HDR_LEN 14

#define DP_EVF_VERSION 1
#define DP_EVF_HDR_LEN 20
#define DP_EVF_FLAG_RX_SIDE 0x01 /* sent by the receiver (Bob) module; else transmitter (Alice) */
#define DP_EVF_FLAG_DENSE 0x02   /* dense nibble coding; else sparse delta words */
#define DP_EVF_FLAGS_KNOWN (DP_EVF_FLAG_RX_SIDE | DP_EVF_FLAG_DENSE)

#define DP_EVF_DELTA_MAX 4095u     /* largest slot delta one sparse word carries */
#define DP_EVF_ESCAPE_MAX 0xFFFFFu /* an escape advances by E * 4095 slots, 1 <= E <= this */

/* Symbol nibble fields. */
#define DP_SYM(basis, bit, cls) ((uint8_t)(((basis) & 1) | (((bit) & 1) << 1) | (((cls) & 3) << 2)))
#define DP_SYM_BASIS(s) ((s) & 1)
#define DP_SYM_BIT(s) (((s) >> 1) & 1)
#define DP_SYM_CLASS(s) (((s) >> 2) & 3)

struct dp_evf_hdr {
	uint8_t version;
	uint8_t flags;
	uint16_t link_id;
	uint32_t seq;        /* per link and side, +1 per frame */
	uint64_t first_slot; /* dense: slot of the first symbol; sparse: base of the first delta */
	uint16_t count;      /* events (symbols) in the frame */
	uint16_t payload_len;
};

/* Ethernet header helpers (no VLAN: module ports are point to point). */
void dp_eth_write(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t ethertype);
/* EtherType of a frame, or DP_ERR_ETH_SHORT. */
enum dp_err dp_eth_type(const uint8_t *p, size_t len, uint16_t *ethertype);

/* Bytes the payload of a dense frame with 'count' symbols takes. */
static inline size_t dp_evf_dense_payload(unsigned count) { return (count + 1) / 2; }

/* Write header + dense payload (symbols one per byte in 'syms', low nibble used) at p. Returns the
 * bytes written or -EINVAL (count 0 or > 65535, bad flags) / -ENOSPC. h->payload_len is set. */
int dp_evf_build_dense(uint8_t *p, size_t cap, struct dp_evf_hdr *h, const uint8_t *syms);

/* Write header + sparse payload for events at strictly increasing 'slots' (all > h->first_slot - 1,
 * i.e. >= first_slot) with symbols 'syms'. h->count and h->payload_len are set. Returns bytes
 * written, -EINVAL (slots not increasing or below first_slot, n > 65535) or -ENOSPC. */
int dp_evf_build_sparse(uint8_t *p, size_t cap, struct dp_evf_hdr *h, const uint64_t *slots,
			const uint8_t *syms, unsigned n);

/* Validate the header and payload size of an event frame (p points past the Ethernet header,
 * len bytes follow; trailing Ethernet padding is allowed). Dense payloads are fully checked here. */
enum dp_err dp_evf_parse(const uint8_t *p, size_t len, struct dp_evf_hdr *h);

/* Decode a parsed sparse payload into slots/syms (room for h->count each). Returns DP_ERR_OK or
 * the reason the payload is malformed (nothing is to be used then). */
enum dp_err dp_evf_decode_sparse(const struct dp_evf_hdr *h, const uint8_t *payload,
				 uint64_t *slots, uint8_t *syms);

/* Symbol i of a dense payload. */
static inline uint8_t dp_evf_dense_sym(const uint8_t *payload, unsigned i)
{
	return (payload[i >> 1] >> ((i & 1) * 4)) & 0xF;
}

/* Sparse word coding shared by event frames and Qdist sift announcements: encode events at
 * strictly increasing slots (>= base) into words; returns the word count or -EINVAL/-ENOSPC. */
int dp_sparse_encode(uint16_t *words, size_t cap_words, uint64_t base, const uint64_t *slots,
		     const uint8_t *syms, unsigned n);
/* The same with each symbol ANDed with sym_mask (announcements carry the basis only). */
int dp_sparse_encode_masked(uint16_t *words, size_t cap_words, uint64_t base,
			    const uint64_t *slots, const uint8_t *syms, unsigned n, uint8_t sym_mask);
/* Decode 'nwords' words into exactly 'count' events. */
enum dp_err dp_sparse_decode(const uint8_t *words, unsigned nwords, unsigned count, uint64_t base,
			     uint64_t *slots, uint8_t *syms);

#endif
