/* One-time-pad XOR used by key relay: dst = a ^ b over len bytes (dst may alias a or b). */
#ifndef KM_XOR_H
#define KM_XOR_H

#include <stddef.h>

typedef void (*km_xor_fn)(void *dst, const void *a, const void *b, size_t len);

/* The dispatched kernel (best active variant). */
void km_xor(void *dst, const void *a, const void *b, size_t len);

struct km_xor_variant {
	const char *name;
	unsigned needs; /* DST_CPU_* flags */
	km_xor_fn fn;
};
/* Every variant, the portable reference first; terminated by a NULL name. */
extern const struct km_xor_variant km_xor_variants[];

void km_xor_base(void *dst, const void *a, const void *b, size_t len);
void km_xor_avx2(void *dst, const void *a, const void *b, size_t len);
/* ISA-L xor_gen for the 32-byte aligned multiple-of-32 body, portable tail. */
void km_xor_isal(void *dst, const void *a, const void *b, size_t len);

#endif
