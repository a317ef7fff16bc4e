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

int dp_sparse_decode_run_base(const uint8_t *words, size_t n, uint64_t pos, uint64_t *slots,
			      uint8_t *syms);
size_t dp_sparse_encode_run_base(const uint64_t *slots, const uint8_t *syms, size_t n,
				 uint64_t prev, uint8_t sym_mask, uint16_t *words);
int dp_sparse_decode_run_avx2(const uint8_t *words, size_t n, uint64_t pos, uint64_t *slots,
			      uint8_t *syms);
size_t dp_sparse_encode_run_avx2(const uint64_t *slots, const uint8_t *syms, size_t n,
				 uint64_t prev, uint8_t sym_mask, uint16_t *words);

#endif
