/* Portable sifting kernels: the reference every other variant must match bit for bit. */
#include "sift_internal.h"

/* Bits of x selected by mask, packed to the bottom (what BMI2 PEXT does). */
static inline uint64_t soft_pext(uint64_t x, uint64_t mask)
{
	uint64_t r = 0;
	for (uint64_t bit = 1; mask; bit <<= 1) {
		if (x & mask & (0 - mask))
			r |= bit;
		mask &= mask - 1;
	}
	return r;
}

static inline unsigned list_nonzero(const uint64_t *det, size_t k0, size_t k1, uint32_t *idx)
{
	unsigned n = 0;
	for (size_t k = k0; k < k1; k++) {
		idx[n] = (uint32_t)(k - k0);
		n += det[k] != 0;
	}
	return n;
}

#define SIFT_PEXT soft_pext
#define SIFT_LIST list_nonzero
#define SIFT_POPCNT __builtin_popcountll
#define SIFT_FN(name) sift_base_##name
#include "sift_kernel.h"

size_t dst_sift_events_base(struct dst_sift_block *b, const struct dst_events *ev, size_t from)
{
	return sift_base_events(b, ev, from);
}

size_t dst_sift_planes_base(struct dst_sift_block *b, const struct dst_planes *pl, size_t from)
{
	return sift_base_planes(b, pl, from);
}
