/* Qdist header and sift payload builders/parsers (layout in docs/protocol.md). */
#include "dp_qdist.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dp_evframe.h"
#include "le.h"

void dp_qd_write_hdr(uint8_t *p, const struct dp_qd_hdr *h)
{
	p[0] = DP_QD_VERSION;
	p[1] = h->type;
	put_le16(p + 2, h->link_id);
	p[4] = h->tag ? h->tag : DP_QD_TAG_LEN;
	p[5] = h->role;
	put_le16(p + 6, h->payload_len);
	put_le64(p + 8, h->block_seq);
	put_le64(p + 16, h->msg_seq);
	put_le32(p + 24, h->msg_len);
	put_le16(p + 28, h->frag_idx);
	put_le16(p + 30, h->frag_cnt);
}

enum dp_err dp_qd_parse(const uint8_t *p, size_t len, struct dp_qd_hdr *h)
{
	if (len < DP_QD_HDR_LEN)
		return DP_ERR_QD_SHORT;
	h->version = p[0];
	h->type = p[1];
	h->link_id = get_le16(p + 2);
	h->tag = p[4];
	h->role = p[5];
	h->payload_len = get_le16(p + 6);
	h->block_seq = get_le64(p + 8);
	h->msg_seq = get_le64(p + 16);
	h->msg_len = get_le32(p + 24);
	h->frag_idx = get_le16(p + 28);
	h->frag_cnt = get_le16(p + 30);
	if (h->version != DP_QD_VERSION)
		return DP_ERR_QD_VERSION;
	if (h->type == 0 || h->type > DP_QD_TYPE_MAX)
		return DP_ERR_QD_TYPE;
	h->channel = dp_qd_type_channel(h->type);
	unsigned t = dp_qd_tag_len(h);
	bool keyed = h->tag & DP_QD_TAG_KEYED;
	if (h->role > DP_ROLE_BOB || (h->tag & ~(DP_QD_TAG_LEN_MASK | DP_QD_TAG_KEYED)) ||
	    (t != 4 && t != 8 && t != DP_QD_TAG_LEN) || (h->type != DP_QD_BLOCK && t != DP_QD_TAG_LEN) ||
	    (keyed && h->type != DP_QD_BLOCK && h->type != DP_QD_COMMIT))
		return DP_ERR_QD_RESERVED;
	if (h->frag_cnt == 0 || h->frag_cnt > DP_QD_FRAGS_MAX || h->frag_idx >= h->frag_cnt)
		return DP_ERR_QD_FRAG;
	size_t tl = dp_qd_last_frag(h) ? t : 0;
	if (len < DP_QD_HDR_LEN + tl)
		return DP_ERR_QD_SHORT;
	if ((size_t)h->payload_len > len - DP_QD_HDR_LEN - tl ||
	    h->msg_len > DP_QD_MSG_MAX || h->payload_len > h->msg_len ||
	    (h->frag_cnt == 1 && h->payload_len != h->msg_len))
		return DP_ERR_QD_LENGTH;
	if (!tl && h->payload_len == 0) /* every fragment but the last carries payload */
		return DP_ERR_QD_FRAG;
	return DP_ERR_OK;
}

int dp_qd_asm_init(struct dp_qd_asm *a, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = malloc(cap + DP_QD_ASM_SLACK); /* malloc aligns; a hash reads the last word whole */
	if (!a->buf)
		return -ENOMEM;
	a->cap = cap;
	return 0;
}

void dp_qd_asm_free(struct dp_qd_asm *a)
{
	if (a->buf) {
		explicit_bzero(a->buf, a->cap + DP_QD_ASM_SLACK);
		free(a->buf);
	}
	memset(a, 0, sizeof(*a));
}

void dp_qd_asm_done(struct dp_qd_asm *a)
{
	/* Nothing to wipe: Qdist payloads travel in the clear (only the pads are secret). */
	a->got = 0;
	a->active = a->complete = 0;
}

static void drop(struct dp_qd_asm *a)
{
	if (a->active)
		a->dropped++;
	dp_qd_asm_done(a);
}

static int same_message(const struct dp_qd_hdr *x, const struct dp_qd_hdr *y)
{
	return x->type == y->type && x->tag == y->tag && x->link_id == y->link_id && x->role == y->role &&
	       x->block_seq == y->block_seq && x->msg_seq == y->msg_seq &&
	       x->msg_len == y->msg_len && x->frag_cnt == y->frag_cnt;
}

enum dp_err dp_qd_asm_add(struct dp_qd_asm *a, const uint8_t *p, const struct dp_qd_hdr *h)
{
	if (h->frag_idx == 0) {
		drop(a); /* a new message: the one in progress lost its tail */
		if (h->msg_len > a->cap)
			return DP_ERR_QD_FRAG;
		a->h = *h;
		a->active = 1;
		a->next = 0;
	} else if (!a->active || !same_message(&a->h, h) || h->frag_idx != a->next) {
		drop(a);
		return DP_ERR_QD_FRAG;
	}
	if (h->payload_len > a->h.msg_len - a->got ||
	    (dp_qd_last_frag(h) && a->got + h->payload_len != a->h.msg_len)) {
		drop(a);
		return DP_ERR_QD_FRAG;
	}
	memcpy(a->buf + a->got, p + DP_QD_HDR_LEN, h->payload_len);
	a->got += h->payload_len;
	a->next++;
	if (dp_qd_last_frag(h)) {
		memcpy(a->last_hdr, p, DP_QD_HDR_LEN);
		memcpy(a->tag, p + DP_QD_HDR_LEN + h->payload_len, dp_qd_tag_len(h));
		a->complete = 1;
	}
	return DP_ERR_OK;
}

int dp_qd_announce_build(uint8_t *p, size_t cap, uint64_t base, const uint64_t *slots,
			 const uint8_t *syms, unsigned n)
{
	if (n == 0 || n > DP_QD_ANNOUNCE_MAX || cap < DP_QD_ANNOUNCE_HDR)
		return -EINVAL;
	size_t cap_words = (cap - DP_QD_ANNOUNCE_HDR) / 2;
	/* Only the basis is announced (symbol bit 0). */
	int nw = dp_sparse_encode_masked((uint16_t *)(void *)(p + DP_QD_ANNOUNCE_HDR), cap_words,
					 base, slots, syms, n, 1);
	if (nw < 0)
		return nw;
	dp_qd_announce_hdr_put(p, base, n, (uint32_t)nw);
	return DP_QD_ANNOUNCE_HDR + 2 * nw;
}

void dp_qd_announce_hdr_put(uint8_t *p, uint64_t base, uint32_t n, uint32_t nw)
{
	put_le64(p, base);
	put_le32(p + 8, n);
	put_le32(p + 12, nw);
}

int dp_qd_announce_hdr_get(const uint8_t *p, size_t len, unsigned max, uint64_t *base,
			   uint32_t *n, uint32_t *nw)
{
	if (len < DP_QD_ANNOUNCE_HDR)
		return -EPROTO;
	*base = get_le64(p);
	*n = get_le32(p + 8);
	*nw = get_le32(p + 12);
	if (*base == 0 || *n == 0 || *n > max || *n > DP_QD_ANNOUNCE_MAX || *nw < *n ||
	    len != DP_QD_ANNOUNCE_HDR + 2 * (size_t)*nw)
		return -EPROTO;
	return 0;
}

int dp_qd_announce_parse(const uint8_t *p, size_t len, uint64_t *slots, uint8_t *bases,
			 unsigned max)
{
	uint64_t base;
	uint32_t n, nw;
	if (dp_qd_announce_hdr_get(p, len, max, &base, &n, &nw))
		return -EPROTO;
	if (dp_sparse_decode(p + DP_QD_ANNOUNCE_HDR, nw, n, base, slots, bases) != DP_ERR_OK)
		return -EPROTO;
	uint8_t any = 0;
	for (unsigned i = 0; i < n; i++)
		any |= bases[i];
	return any > 1 ? -EPROTO : (int)n; /* only the basis is announced */
}

/* The 32 low bits of x to the even bit positions of the result, and back. */
static inline uint64_t spread32(uint64_t x)
{
	x &= 0xFFFFFFFFu;
	x = (x | x << 16) & 0x0000FFFF0000FFFFull;
	x = (x | x << 8) & 0x00FF00FF00FF00FFull;
	x = (x | x << 4) & 0x0F0F0F0F0F0F0F0Full;
	x = (x | x << 2) & 0x3333333333333333ull;
	return (x | x << 1) & 0x5555555555555555ull;
}

static inline uint64_t compact32(uint64_t x)
{
	x &= 0x5555555555555555ull;
	x = (x | x >> 1) & 0x3333333333333333ull;
	x = (x | x >> 2) & 0x0F0F0F0F0F0F0F0Full;
	x = (x | x >> 4) & 0x00FF00FF00FF00FFull;
	x = (x | x >> 8) & 0x0000FFFF0000FFFFull;
	return (x | x >> 16) & 0xFFFFFFFFull;
}

static inline uint64_t tail_mask(unsigned n, size_t w)
{
	size_t left = n - w * 64;
	return left >= 64 ? ~0ull : (1ull << left) - 1;
}

/* Bytes [8w, 8w + 8) of a little-endian bit string of 'bytes' bytes, as a word. */
static inline uint64_t load_part(const uint8_t *s, size_t bytes, size_t at)
{
	if (bytes - at >= 8) /* whole words: one load, not a variable-length copy */
		return get_le64(s + at);
	uint64_t v = 0;
	memcpy(&v, s + at, bytes - at);
	return DP_LE64(v);
}

static inline void store_part(uint8_t *d, size_t bytes, size_t at, uint64_t v)
{
	if (bytes - at >= 8) {
		put_le64(d + at, v);
		return;
	}
	v = DP_LE64(v);
	memcpy(d + at, &v, bytes - at);
}

int dp_qd_reply_build(uint8_t *p, size_t cap, uint64_t announce_seq, uint32_t key_pos,
		      const uint64_t *match, const uint64_t *cls_lo, const uint64_t *cls_hi,
		      unsigned n)
{
	if (n == 0 || n > DP_QD_ANNOUNCE_MAX)
		return -EINVAL;
	size_t len = dp_qd_reply_len(n), mb = (n + 7) / 8, cb = (n + 3) / 4;
	if (cap < len)
		return -ENOSPC;
	put_le64(p, announce_seq);
	put_le32(p + 8, key_pos);
	put_le32(p + 12, n);
	uint8_t *m = p + DP_QD_REPLY_HDR, *c = m + mb;
	uint64_t bad = 0;
	for (size_t w = 0; w * 64 < n; w++) {
		uint64_t k = tail_mask(n, w), mw = match[w] & k, lo = cls_lo[w] & k,
			 hi = cls_hi[w] & k;
		bad |= mw & lo & hi;
		store_part(m, mb, 8 * w, mw);
		store_part(c, cb, 16 * w, spread32(lo) | spread32(hi) << 1);
		if (16 * w + 8 < cb)
			store_part(c, cb, 16 * w + 8, spread32(lo >> 32) | spread32(hi >> 32) << 1);
	}
	return bad ? -EINVAL : (int)len;
}

int dp_qd_reply_parse(const uint8_t *p, size_t len, uint64_t *announce_seq, uint32_t *key_pos,
		      uint64_t *match, uint64_t *cls_lo, uint64_t *cls_hi, unsigned max)
{
	if (len < DP_QD_REPLY_HDR)
		return -EPROTO;
	uint32_t n = get_le32(p + 12);
	if (n == 0 || n > max || n > DP_QD_ANNOUNCE_MAX || len != dp_qd_reply_len(n))
		return -EPROTO;
	size_t mb = (n + 7) / 8, cb = (n + 3) / 4;
	const uint8_t *m = p + DP_QD_REPLY_HDR, *c = m + mb;
	uint64_t bad = 0;
	for (size_t w = 0; w * 64 < n; w++) {
		uint64_t k = tail_mask(n, w), mw = load_part(m, mb, 8 * w);
		uint64_t c0 = load_part(c, cb, 16 * w);
		uint64_t c1 = 16 * w + 8 < cb ? load_part(c, cb, 16 * w + 8) : 0;
		uint64_t lo = compact32(c0) | compact32(c1) << 32;
		uint64_t hi = compact32(c0 >> 1) | compact32(c1 >> 1) << 32;
		/* Padding bits past n are zero; a match with class 3 is malformed. */
		bad |= ((mw | lo | hi) & ~k) | (mw & lo & hi);
		match[w] = mw;
		cls_lo[w] = lo;
		cls_hi[w] = hi;
	}
	if (bad)
		return -EPROTO;
	*announce_seq = get_le64(p);
	*key_pos = get_le32(p + 8);
	return (int)n;
}
