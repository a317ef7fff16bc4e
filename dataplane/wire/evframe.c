/* Detector-event frame builder and parser (layout in docs/protocol.md). */
#include "dp_evframe.h"

#include <errno.h>

#include "dp_symbits.h"
#include "le.h"

void dp_eth_write(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t ethertype)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = (uint8_t)(ethertype >> 8);
	p[13] = (uint8_t)ethertype;
}

enum dp_err dp_eth_type(const uint8_t *p, size_t len, uint16_t *ethertype)
{
	if (len < DP_ETH_HDR_LEN)
		return DP_ERR_ETH_SHORT;
	*ethertype = (uint16_t)(p[12] << 8 | p[13]);
	return DP_ERR_OK;
}

static void write_hdr(uint8_t *p, const struct dp_evf_hdr *h)
{
	p[0] = h->version;
	p[1] = h->flags;
	put_le16(p + 2, h->link_id);
	put_le32(p + 4, h->seq);
	put_le64(p + 8, h->first_slot);
	put_le16(p + 16, h->count);
	put_le16(p + 18, h->payload_len);
}

int dp_evf_build_dense(uint8_t *p, size_t cap, struct dp_evf_hdr *h, const uint8_t *syms)
{
	if (h->count == 0 || (h->flags & ~DP_EVF_FLAGS_KNOWN) || !(h->flags & DP_EVF_FLAG_DENSE) ||
	    h->first_slot + h->count - 1 < h->first_slot)
		return -EINVAL;
	size_t plen = dp_evf_dense_payload(h->count);
	if (cap < DP_EVF_HDR_LEN + plen)
		return -ENOSPC;
	h->version = DP_EVF_VERSION;
	h->payload_len = (uint16_t)plen;
	write_hdr(p, h);
	uint8_t *o = p + DP_EVF_HDR_LEN;
	unsigned i = 0;
	for (; i + 1 < h->count; i += 2)
		o[i >> 1] = (uint8_t)((syms[i] & 0xF) | (syms[i + 1] & 0xF) << 4);
	if (i < h->count)
		o[i >> 1] = syms[i] & 0xF;
	return (int)(DP_EVF_HDR_LEN + plen);
}

int dp_sparse_encode_masked(uint16_t *words, size_t cap_words, uint64_t base,
			    const uint64_t *slots, const uint8_t *syms, unsigned n, uint8_t sym_mask)
{
	if (base == 0 || (n && slots[0] < base))
		return -EINVAL;
	uint64_t pos = base - 1; /* the first delta is counted from the slot before 'base' */
	size_t w = 0;
	for (unsigned i = 0; i < n; i++) {
		/* Runs of one-word events (dp_symbits.h), then one event at a time with escapes. */
		size_t run = n - i < cap_words - w ? n - i : cap_words - w;
		size_t k = dp_sparse_encode_run(slots + i, syms + i, run, pos, sym_mask, words + w);
		if (k) {
			i += (unsigned)k;
			w += k;
			pos = slots[i - 1];
			if (i == n)
				break;
		}
		uint64_t gap = slots[i] - pos;
		if (slots[i] <= pos)
			return -EINVAL;
		while (gap > DP_EVF_DELTA_MAX) {
			uint64_t e = (gap - 1) / DP_EVF_DELTA_MAX;
			if (e > DP_EVF_ESCAPE_MAX)
				e = DP_EVF_ESCAPE_MAX;
			if (w + 2 > cap_words)
				return -ENOSPC;
			words[w++] = DP_LE16((uint16_t)((e >> 16) << 12));
			words[w++] = DP_LE16((uint16_t)e);
			gap -= e * DP_EVF_DELTA_MAX;
		}
		if (w + 1 > cap_words)
			return -ENOSPC;
		words[w++] = DP_LE16((uint16_t)(gap | (uint64_t)(syms[i] & sym_mask) << 12));
		pos = slots[i];
	}
	return (int)w;
}

int dp_sparse_encode(uint16_t *words, size_t cap_words, uint64_t base, const uint64_t *slots,
		     const uint8_t *syms, unsigned n)
{
	return dp_sparse_encode_masked(words, cap_words, base, slots, syms, n, 0xF);
}

int dp_evf_build_sparse(uint8_t *p, size_t cap, struct dp_evf_hdr *h, const uint64_t *slots,
			const uint8_t *syms, unsigned n)
{
	if (n > 65535 || (h->flags & ~DP_EVF_FLAGS_KNOWN) || (h->flags & DP_EVF_FLAG_DENSE) ||
	    h->first_slot == 0)
		return -EINVAL;
	if (cap < DP_EVF_HDR_LEN)
		return -ENOSPC;
	size_t cap_words = (cap - DP_EVF_HDR_LEN) / 2;
	if (cap_words > 32767)
		cap_words = 32767; /* payload_len is 16 bits */
	uint16_t *words = (uint16_t *)(void *)(p + DP_EVF_HDR_LEN);
	int nw = dp_sparse_encode(words, cap_words, h->first_slot, slots, syms, n);
	if (nw < 0)
		return nw;
	h->version = DP_EVF_VERSION;
	h->count = (uint16_t)n;
	h->payload_len = (uint16_t)(2 * nw);
	write_hdr(p, h);
	return DP_EVF_HDR_LEN + 2 * nw;
}

enum dp_err dp_evf_parse(const uint8_t *p, size_t len, struct dp_evf_hdr *h)
{
	if (len < DP_EVF_HDR_LEN)
		return DP_ERR_EVF_SHORT;
	h->version = p[0];
	h->flags = p[1];
	h->link_id = get_le16(p + 2);
	h->seq = get_le32(p + 4);
	h->first_slot = get_le64(p + 8);
	h->count = get_le16(p + 16);
	h->payload_len = get_le16(p + 18);
	if (h->version != DP_EVF_VERSION)
		return DP_ERR_EVF_VERSION;
	if (h->flags & ~DP_EVF_FLAGS_KNOWN)
		return DP_ERR_EVF_FLAGS;
	if (h->payload_len > len - DP_EVF_HDR_LEN)
		return DP_ERR_EVF_LENGTH;
	if (h->count == 0)
		return DP_ERR_EVF_COUNT;
	if (h->flags & DP_EVF_FLAG_DENSE) {
		if (h->payload_len != dp_evf_dense_payload(h->count))
			return DP_ERR_EVF_COUNT;
		if ((h->count & 1) && (p[DP_EVF_HDR_LEN + h->payload_len - 1] & 0xF0))
			return DP_ERR_EVF_PADDING;
		if (h->first_slot + h->count - 1 < h->first_slot)
			return DP_ERR_EVF_SLOT_OVERFLOW;
	} else {
		/* Sparse: whole words, at least one per event; the slots must start above 0. */
		if ((h->payload_len & 1) || h->payload_len / 2 < h->count)
			return DP_ERR_EVF_COUNT;
		if (h->first_slot == 0)
			return DP_ERR_EVF_SLOT_OVERFLOW;
	}
	return DP_ERR_OK;
}

enum dp_err dp_sparse_decode(const uint8_t *words, unsigned nwords, unsigned count, uint64_t base,
			     uint64_t *slots, uint8_t *syms)
{
	/* Fast path: one word per event (no escapes) and no possible overflow, so the words are a
	 * plain prefix sum (dp_symbits.h); a zero delta (an escape) sends the payload to the full
	 * decoder below. */
	if (nwords == count && base - 1 <= UINT64_MAX - (uint64_t)DP_EVF_DELTA_MAX * count &&
	    dp_sparse_decode_run(words, count, base - 1, slots, syms) == 0)
		return DP_ERR_OK;
	uint64_t pos = base - 1;
	unsigned n = 0;
	int escaped = 0; /* an escape must be followed by an event */
	for (unsigned i = 0; i < nwords; i++) {
		uint16_t w = get_le16(words + 2 * i);
		uint64_t delta = w & 0xFFF;
		if (delta == 0) {
			/* Escape: 4 high bits here, 16 low bits in the next word, never zero. */
			if (i + 1 >= nwords)
				return DP_ERR_EVF_ESCAPE;
			uint64_t e = (uint64_t)(w >> 12) << 16 | get_le16(words + 2 * ++i);
			if (e == 0)
				return DP_ERR_EVF_ESCAPE;
			delta = e * DP_EVF_DELTA_MAX;
			if (pos + delta < pos)
				return DP_ERR_EVF_SLOT_OVERFLOW;
			pos += delta;
			escaped = 1;
			continue;
		}
		if (pos + delta < pos)
			return DP_ERR_EVF_SLOT_OVERFLOW;
		pos += delta;
		if (n == count)
			return DP_ERR_EVF_COUNT;
		slots[n] = pos;
		syms[n] = (uint8_t)(w >> 12);
		n++;
		escaped = 0;
	}
	if (escaped)
		return DP_ERR_EVF_ESCAPE;
	return n == count ? DP_ERR_OK : DP_ERR_EVF_COUNT;
}

enum dp_err dp_evf_decode_sparse(const struct dp_evf_hdr *h, const uint8_t *payload,
				 uint64_t *slots, uint8_t *syms)
{
	return dp_sparse_decode(payload, h->payload_len / 2u, h->count, h->first_slot, slots, syms);
}
