/* Portable reference of the symbol kernels: they define the results. */
#include <string.h>

#include "../wire/le.h"
#include "symbits_internal.h"

uint64_t dp_ann_group_base(const uint8_t *words, uint64_t planes[4], uint8_t *cut)
{
	uint64_t sum = 0, p0 = 0, p1 = 0, p2 = 0, p3 = 0;
	unsigned zero = 0;
	for (unsigned i = 0; i < DP_ANN_GROUP; i++) {
		uint64_t w = get_le16(words + 2 * i);
		zero |= (w & 0xFFF) == 0;
		sum += w & 0xFFF;
		p0 |= (w >> 12 & 1) << i;
		p1 |= (w >> 13 & 1) << i;
		p2 |= (w >> 14 & 1) << i;
		p3 |= (w >> 15 & 1) << i;
		if (cut)
			put_le16(cut + 2 * i, (uint16_t)(w & 0x1FFF));
	}
	planes[0] = p0;
	planes[1] = p1;
	planes[2] = p2;
	planes[3] = p3;
	return zero ? UINT64_MAX : sum;
}

void dp_ann_gather_base(const uint8_t *words, uint64_t pos, const uint8_t *win, uint64_t mask,
			uint64_t base, uint64_t planes[4])
{
	uint64_t p0 = 0, p1 = 0, p2 = 0, p3 = 0;
	for (unsigned i = 0; i < DP_ANN_GROUP; i++) {
		pos += get_le16(words + 2 * i) & 0xFFF;
		uint64_t x = (pos - base) & mask;
		uint64_t v = (uint64_t)(win[x >> 1] >> ((x & 1) << 2));
		p0 |= (v & 1) << i;
		p1 |= (v >> 1 & 1) << i;
		p2 |= (v >> 2 & 1) << i;
		p3 |= (v >> 3 & 1) << i;
	}
	planes[0] = p0;
	planes[1] = p1;
	planes[2] = p2;
	planes[3] = p3;
}

uint64_t dp_sparse_copy_run_base(const uint8_t *words, size_t n, uint8_t *out)
{
	uint64_t sum = 0;
	unsigned zero = 0;
	for (size_t i = 0; i < n; i++) {
		uint16_t w = get_le16(words + 2 * i);
		zero |= (w & 0xFFF) == 0;
		sum += w & 0xFFF;
	}
	memcpy(out, words, 2 * n);
	return zero ? UINT64_MAX : sum;
}

int dp_sparse_decode_run_base(const uint8_t *words, size_t n, uint64_t pos, uint64_t *slots,
			      uint8_t *syms)
{
	unsigned zero = 0;
	for (size_t i = 0; i < n; i++) {
		uint16_t w = get_le16(words + 2 * i);
		uint64_t delta = w & 0xFFF;
		zero |= delta == 0;
		pos += delta;
		slots[i] = pos;
		syms[i] = (uint8_t)(w >> 12);
	}
	return zero ? -1 : 0;
}

size_t dp_sparse_encode_run_base(const uint64_t *slots, const uint8_t *syms, size_t n,
				 uint64_t prev, uint8_t sym_mask, uint16_t *words)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t gap = slots[i] - prev;
		if (gap - 1 >= 0xFFF)
			return i;
		words[i] = DP_LE16((uint16_t)(gap | (uint64_t)(syms[i] & sym_mask) << 12));
		prev = slots[i];
	}
	return n;
}
