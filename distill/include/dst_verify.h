/* Verification (error confirmation) of a reconciled block: both sides hash their key with a
 * polynomial hash over GF(2^128) keyed by a per-block seed shared after reconciliation and compare
 * tags; a mismatch aborts the block.
 *
 * The message (nbits bits, PA order) is cut into L = ceil(nbits/128) blocks m_1..m_L (128-bit
 * little-endian integers, zero-padded), followed by a length block m_{L+1} = nbits. With k the
 * seed as a field element and polynomial x^128 + x^7 + x^2 + x + 1 (bit i = coefficient of x^i),
 *     H_k(m) = sum_{i=1}^{L+1} m_i k^(L+2-i)     (Horner: a = (a + m_i) k)
 * Two different messages of at most L blocks collide on a t-bit truncation (the low t bits) with
 * probability at most (L+1) / 2^t over a uniform k, so t = ceil(log2((L+1)/eps_cor)). */
#ifndef DST_VERIFY_H
#define DST_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DST_VERIFY_SEED_BYTES 16

struct dst_verify_tag {
	uint64_t w[2];  /* low 'bits' bits of H_k(m); the rest zero */
	unsigned bits;  /* tag length */
};

/* Tag length for a message of nbits bits and correctness eps_cor; 0 when more than 128 bits would
 * be needed (eps_cor too small) or the arguments are out of range. */
unsigned dst_verify_tag_bits(uint64_t nbits, double eps_cor);

/* Tag of msg (nbits bits; bits past nbits in the last word are ignored). 0 or -EINVAL. */
int dst_verify_tag(const uint64_t *msg, uint64_t nbits, const uint8_t seed[DST_VERIFY_SEED_BYTES],
		   double eps_cor, struct dst_verify_tag *tag);
/* Constant-time comparison of two tags (length included). */
bool dst_verify_equal(const struct dst_verify_tag *a, const struct dst_verify_tag *b);

/* The full 128-bit hash with key k = {low word, high word}: the dispatched kernel. */
void dst_verify_hash(const uint64_t *msg, uint64_t nbits, const uint64_t k[2], uint64_t out[2]);

/* r = a * b in the same field and bit order (dispatched: PCLMULQDQ where the CPU has it). Lets
 * callers extend a hash by a few blocks (Horner steps) without rehashing. */
void dst_gf128_mul(const uint64_t a[2], const uint64_t b[2], uint64_t r[2]);

typedef void (*dst_verify_hash_fn)(const uint64_t *msg, uint64_t nbits, const uint64_t k[2],
				   uint64_t out[2]);
struct dst_verify_variant {
	const char *name;
	unsigned needs; /* DST_CPU_* flags */
	dst_verify_hash_fn fn;
};
/* Portable reference first, NULL-terminated. */
extern const struct dst_verify_variant dst_verify_variants[];

#endif
