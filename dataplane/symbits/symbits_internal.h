/* Variant entry points (symbits_base.c, symbits_avx2.c). */
#ifndef DP_SYMBITS_INTERNAL_H
#define DP_SYMBITS_INTERNAL_H

#include "dp_symbits.h"

uint64_t dp_ann_group_base(const uint8_t *words, uint64_t planes[4], uint8_t *cut);
void dp_ann_gather_base(const uint8_t *words, uint64_t pos, const uint8_t *win, uint64_t mask,
			uint64_t base, uint64_t planes[4]);
uint64_t dp_sparse_copy_run_base(const uint8_t *words, size_t n, uint8_t *out);
uint64_t dp_ann_group_avx2(const uint8_t *words, uint64_t planes[4], uint8_t *cut);
void dp_ann_gather_avx2(const uint8_t *words, uint64_t pos, const uint8_t *win, uint64_t mask,
			uint64_t base, uint64_t planes[4]);
uint64_t dp_sparse_copy_run_avx2(const uint8_t *words, size_t n, uint8_t *out);

int dp_sparse_decode_run_base(const uint8_t *words, size_t n, uint64_t pos, uint64_t *slots,
			      uint8_t *syms);
size_t dp_sparse_encode_run_base(const uint64_t *slots, const uint8_t *syms, size_t n,
				 uint64_t prev, uint8_t sym_mask, uint16_t *words);
int dp_sparse_decode_run_avx2(const uint8_t *words, size_t n, uint64_t pos, uint64_t *slots,
			      uint8_t *syms);
size_t dp_sparse_encode_run_avx2(const uint64_t *slots, const uint8_t *syms, size_t n,
				 uint64_t prev, uint8_t sym_mask, uint16_t *words);

#endif
