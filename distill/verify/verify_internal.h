/* Variant entry points of the verification hash. */
#ifndef DST_VERIFY_INTERNAL_H
#define DST_VERIFY_INTERNAL_H

#include <stdint.h>

void dst_gf128_mul_base(const uint64_t a[2], const uint64_t b[2], uint64_t r[2]);
void dst_gf128_mul_pclmul(const uint64_t a[2], const uint64_t b[2], uint64_t r[2]);
void dst_verify_hash_base(const uint64_t *msg, uint64_t nbits, const uint64_t k[2], uint64_t out[2]);
void dst_verify_hash_pclmul(const uint64_t *msg, uint64_t nbits, const uint64_t k[2],
			    uint64_t out[2]);
void dst_verify_hash_vpclmul(const uint64_t *msg, uint64_t nbits, const uint64_t k[2],
			     uint64_t out[2]);

#endif
