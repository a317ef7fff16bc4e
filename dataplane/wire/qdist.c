/* Qdist header and sift payload builders/parsers (layout in docs/protocol.md). */
#include "dp_qdist.h"

#include <errno.h>

#include "dp_evframe.h"
#include "le.h"

void dp_qd_write_hdr(uint8_t *p, const struct dp_qd_hdr *h)
{
	p[0] = DP_QD_VERSION;
	p[1] = h->type;
	put_le16(p + 2, h->link_id);
	p[4] = h->channel;
	p[5] = h->role;
	put_le16(p + 6, h->payload_len);
	put_le64(p + 8, h->block_seq);
	put_le64(p + 16, h->msg_seq);
}

enum dp_err dp_qd_parse(const uint8_t *p, size_t len, struct dp_qd_hdr *h)
{
	if (len < DP_QD_HDR_LEN + DP_QD_TAG_LEN)
		return DP_ERR_QD_SHORT;
	h->version = p[0];
	h->type = p[1];
	h->link_id = get_le16(p + 2);
	h->channel = p[4];
	h->role = p[5];
	h->payload_len = get_le16(p + 6);
	h->block_seq = get_le64(p + 8);
	h->msg_seq = get_le64(p + 16);
	if (h->version != DP_QD_VERSION)
		return DP_ERR_QD_VERSION;
	if (h->type == 0 || h->type > DP_QD_TYPE_MAX)
		return DP_ERR_QD_TYPE;
	if (h->channel != dp_qd_type_channel(h->type) || h->role > DP_ROLE_BOB)
		return DP_ERR_QD_RESERVED;
	if ((size_t)h->payload_len > len - DP_QD_HDR_LEN - DP_QD_TAG_LEN)
		return DP_ERR_QD_LENGTH;
	return DP_ERR_OK;
}

int dp_qd_announce_build(uint8_t *p, size_t cap, uint64_t base, const uint64_t *slots,
			 const uint8_t *bases, unsigned n)
{
	if (n == 0 || n > DP_QD_ANNOUNCE_MAX || cap < DP_QD_ANNOUNCE_HDR)
		return -EINVAL;
	uint8_t syms[DP_QD_ANNOUNCE_MAX];
	for (unsigned i = 0; i < n; i++)
		syms[i] = bases[i] & 1;
	size_t cap_words = (cap - DP_QD_ANNOUNCE_HDR) / 2;
	int nw = dp_sparse_encode((uint16_t *)(void *)(p + DP_QD_ANNOUNCE_HDR), cap_words, base,
				  slots, syms, n);
	if (nw < 0)
		return nw;
	put_le64(p, base);
	put_le16(p + 8, (uint16_t)n);
	put_le16(p + 10, (uint16_t)nw);
	return DP_QD_ANNOUNCE_HDR + 2 * nw;
}

int dp_qd_announce_parse(const uint8_t *p, size_t len, uint64_t *slots, uint8_t *bases)
{
	if (len < DP_QD_ANNOUNCE_HDR)
		return -EPROTO;
	uint64_t base = get_le64(p);
	unsigned n = get_le16(p + 8), nw = get_le16(p + 10);
	if (base == 0 || n == 0 || n > DP_QD_ANNOUNCE_MAX || nw < n ||
	    len != DP_QD_ANNOUNCE_HDR + 2 * (size_t)nw)
		return -EPROTO;
	if (dp_sparse_decode(p + DP_QD_ANNOUNCE_HDR, nw, n, base, slots, bases) != DP_ERR_OK)
		return -EPROTO;
	for (unsigned i = 0; i < n; i++)
		if (bases[i] > 1) /* only the basis is announced */
			return -EPROTO;
	return (int)n;
}

/* Byte-at-a-time expansion tables for the reply's bitmap and 2-bit classes (built once). */
static uint64_t match_expand[256]; /* byte -> 8 bytes of 0/1 */
static uint32_t class_expand[256]; /* byte -> 4 bytes of 0..3 */

__attribute__((constructor)) static void reply_tables(void)
{
	for (unsigned b = 0; b < 256; b++) {
		uint64_t m = 0;
		uint32_t c = 0;
		for (unsigned i = 0; i < 8; i++)
			m |= (uint64_t)((b >> i) & 1) << (8 * i);
		for (unsigned i = 0; i < 4; i++)
			c |= (uint32_t)((b >> (2 * i)) & 3) << (8 * i);
		match_expand[b] = DP_LE64(m);
		class_expand[b] = DP_LE32(c);
	}
}

int dp_qd_reply_build(uint8_t *p, size_t cap, uint64_t announce_seq, uint32_t key_pos,
		      const uint8_t *match, const uint8_t *cls, unsigned n)
{
	if (n == 0 || n > DP_QD_ANNOUNCE_MAX)
		return -EINVAL;
	size_t len = dp_qd_reply_len(n);
	if (cap < len)
		return -ENOSPC;
	put_le64(p, announce_seq);
	put_le32(p + 8, key_pos);
	put_le16(p + 12, (uint16_t)n);
	put_le16(p + 14, 0);
	uint8_t *m = p + DP_QD_REPLY_HDR, *c = m + (n + 7) / 8;
	memset(m, 0, len - DP_QD_REPLY_HDR);
	unsigned bad = 0;
	for (unsigned i = 0; i < n; i++) {
		bad |= match[i] & (cls[i] == 3);
		m[i >> 3] |= (uint8_t)((match[i] & 1) << (i & 7));
		c[i >> 2] |= (uint8_t)((cls[i] & 3) << ((i & 3) * 2));
	}
	return bad ? -EINVAL : (int)len;
}

int dp_qd_reply_parse(const uint8_t *p, size_t len, uint64_t *announce_seq, uint32_t *key_pos,
		      uint8_t *match, uint8_t *cls)
{
	if (len < DP_QD_REPLY_HDR)
		return -EPROTO;
	unsigned n = get_le16(p + 12);
	if (n == 0 || n > DP_QD_ANNOUNCE_MAX || get_le16(p + 14) != 0 || len != dp_qd_reply_len(n))
		return -EPROTO;
	*announce_seq = get_le64(p);
	*key_pos = get_le32(p + 8);
	const uint8_t *m = p + DP_QD_REPLY_HDR, *c = m + (n + 7) / 8;
	/* Padding bits past n must be zero. */
	if ((n & 7) && (m[n >> 3] >> (n & 7)))
		return -EPROTO;
	if ((n & 3) && (c[n >> 2] >> ((n & 3) * 2)))
		return -EPROTO;
	/* Whole bytes through the tables (the output arrays have room for whole groups). */
	for (unsigned i = 0; i < n; i += 8)
		memcpy(match + i, &match_expand[m[i >> 3]], 8);
	for (unsigned i = 0; i < n; i += 4)
		memcpy(cls + i, &class_expand[c[i >> 2]], 4);
	/* A match with class 3 (slot unknown to the transmitter) is malformed. */
	unsigned bad = 0;
	for (unsigned i = 0; i < n; i++)
		bad |= match[i] & (cls[i] == 3);
	return bad ? -EPROTO : (int)n;
}
