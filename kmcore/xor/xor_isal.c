/* ISA-L xor_gen needs 32-byte aligned pointers and a length multiple of 32: use it for the body
 * when the buffers allow, and the portable kernel otherwise and for the tail. */
#include "km_xor.h"

#include <isa-l/raid.h>
#include <limits.h>
#include <stdint.h>

void km_xor_isal(void *dst, const void *a, const void *b, size_t len)
{
	uintptr_t mis = ((uintptr_t)dst | (uintptr_t)a | (uintptr_t)b) & 31;
	size_t body = len & ~(size_t)31;
	if (mis || body == 0 || body > (size_t)INT_MAX) {
		km_xor_base(dst, a, b, len);
		return;
	}
	void *vec[3] = {(void *)a, (void *)b, dst};
	xor_gen(3, (int)body, vec);
	if (body < len)
		km_xor_base((char *)dst + body, (const char *)a + body, (const char *)b + body, len - body);
}
