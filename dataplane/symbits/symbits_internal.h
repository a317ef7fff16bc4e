/* Variant entry points (symbits_base.c, symbits_avx2.c). */
#ifndef DP_SYMBITS_INTERNAL_H
#define DP_SYMBITS_INTERNAL_H

#include "dp_symbits.h"

void dp_sym_planes_base(const uint8_t *sym, size_t n, uint64_t *p0, uint64_t *p1, uint64_t *p2,
			uint64_t *p3);
void dp_win_gather_base(const uint8_t *win, uint64_t mask, uint64_t base, const uint64_t *slots,
			size_t n, uint8_t *out);
void dp_sym_planes_avx2(const uint8_t *sym, size_t n, uint64_t *p0, uint64_t *p1, uint64_t *p2,
			uint64_t *p3);
void dp_win_gather_avx2(const uint8_t *win, uint64_t mask, uint64_t base, const uint64_t *slots,
			size_t n, uint8_t *out);

#endif
