/* Portable reference of the symbol kernels: they define the results. */
#include <string.h>

#include "../wire/le.h"
#include "symbits_internal.h"

void dp_sym_planes_base(const uint8_t *sym, size_t n, uint64_t *p0, uint64_t *p1, uint64_t *p2,
			uint64_t *p3)
{
	for (size_t w = 0; w * 64 < n; w++) {
		uint64_t b0 = 0, b1 = 0, b2 = 0, b3 = 0;
		size_t m = n - w * 64 < 64 ? n - w * 64 : 64;
		const uint8_t *s = sym + w * 64;
		for (size_t j = 0; j < m; j++) {
			uint64_t v = s[j];
			b0 |= (v & 1) << j;
			b1 |= (v >> 1 & 1) << j;
			b2 |= (v >> 2 & 1) << j;
			b3 |= (v >> 3 & 1) << j;
		}
		if (p0)
			p0[w] = b0;
		if (p1)
			p1[w] = b1;
		if (p2)
			p2[w] = b2;
		if (p3)
			p3[w] = b3;
	}
}

void dp_win_gather_base(const uint8_t *win, uint64_t mask, uint64_t base, const uint64_t *slots,
			size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t x = (slots[i] - base) & mask;
		out[i] = (uint8_t)((win[x >> 1] >> ((x & 1) << 2)) & 0xF);
	}
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
