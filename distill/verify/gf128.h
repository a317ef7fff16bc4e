/* GF(2^128) with x^128 + x^7 + x^2 + x + 1, bit i of (lo, hi) = coefficient of x^i, and the
 * message-block reader shared by the verification hash variants. Private header. */
#ifndef DST_GF128_H
#define DST_GF128_H

#include <stdint.h>

/* Fold a 256-bit product (p0 lowest word) to 128 bits: x^128 = x^7 + x^2 + x + 1. */
static inline void gf128_reduce(uint64_t p0, uint64_t p1, uint64_t p2, uint64_t p3, uint64_t r[2])
{
	/* H x^128 with H = (p2, p3): H + Hx + Hx^2 + Hx^7, whose bits past x^127 (t) fold once more. */
	uint64_t t = (p3 >> 63) ^ (p3 >> 62) ^ (p3 >> 57);
	uint64_t lo = p2 ^ (p2 << 1) ^ (p2 << 2) ^ (p2 << 7);
	uint64_t hi = p3 ^ (p3 << 1 | p2 >> 63) ^ (p3 << 2 | p2 >> 62) ^ (p3 << 7 | p2 >> 57);
	lo ^= t ^ (t << 1) ^ (t << 2) ^ (t << 7);
	r[0] = p0 ^ lo;
	r[1] = p1 ^ hi;
}

/* Message block i of msg (nbits bits): 128 bits, zero past nbits. */
static inline void gf128_block(const uint64_t *msg, uint64_t nbits, uint64_t i, uint64_t b[2])
{
	uint64_t bit = i * 128;
	for (int w = 0; w < 2; w++, bit += 64) {
		if (bit >= nbits) {
			b[w] = 0;
		} else {
			uint64_t v = msg[bit / 64];
			uint64_t left = nbits - bit;
			b[w] = left >= 64 ? v : v & ((1ULL << left) - 1);
		}
	}
}

#endif
