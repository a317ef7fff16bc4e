/* Portable polynomial hash over GF(2^128): the reference every variant must match. */
#include "gf128.h"
#include "verify_internal.h"

/* 64 x 64 -> 128-bit carry-less product, one bit of b at a time without branches. */
static void clmul64(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
	uint64_t l = 0, h = 0;
	for (unsigned i = 0; i < 64; i++) {
		uint64_t m = 0 - ((b >> i) & 1);
		l ^= (a << i) & m;
		h ^= i ? (a >> (64 - i)) & m : 0;
	}
	*lo = l;
	*hi = h;
}

void dst_gf128_mul_base(const uint64_t a[2], const uint64_t b[2], uint64_t r[2])
{
	uint64_t l0, h0, l1, h1, lm, hm;
	clmul64(a[0], b[0], &l0, &h0);
	clmul64(a[1], b[1], &l1, &h1);
	clmul64(a[0] ^ a[1], b[0] ^ b[1], &lm, &hm); /* Karatsuba middle term */
	lm ^= l0 ^ l1;
	hm ^= h0 ^ h1;
	gf128_reduce(l0, h0 ^ lm, l1 ^ hm, h1, r);
}

void dst_verify_hash_base(const uint64_t *msg, uint64_t nbits, const uint64_t k[2], uint64_t out[2])
{
	uint64_t acc[2] = {0, 0}, blk[2];
	uint64_t blocks = (nbits + 127) / 128;
	for (uint64_t i = 0; i < blocks; i++) {
		gf128_block(msg, nbits, i, blk);
		acc[0] ^= blk[0];
		acc[1] ^= blk[1];
		dst_gf128_mul_base(acc, k, acc);
	}
	acc[0] ^= nbits; /* the length block */
	dst_gf128_mul_base(acc, k, acc);
	out[0] = acc[0];
	out[1] = acc[1];
}
