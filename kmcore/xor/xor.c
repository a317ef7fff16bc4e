/* Dispatch for the relay XOR kernel. */
#include "km_xor.h"

#include "dst_cpu.h"

const struct km_xor_variant km_xor_variants[] = {
	{"generic", 0, km_xor_base},
	{"avx2", DST_CPU_AVX2, km_xor_avx2},
	{"isal", 0, km_xor_isal},
	{NULL, 0, NULL},
};

static km_xor_fn xor_impl = km_xor_base;

static void xor_select(unsigned flags)
{
	xor_impl = (flags & DST_CPU_AVX2) ? km_xor_avx2 : km_xor_base;
}
DST_DISPATCH("km_xor", xor_select)

void km_xor(void *dst, const void *a, const void *b, size_t len)
{
	xor_impl(dst, a, b, len);
}
