/* Dispatch of the symbol kernels (dst_cpu.h): the best variant the active CPU level allows. */
#include "dst_cpu.h"
#include "symbits_internal.h"

const struct dp_symbits_variant dp_symbits_variants[] = {
	{"generic", 0, dp_ann_group_base, dp_ann_gather_base, dp_sparse_copy_run_base,
	 dp_sparse_decode_run_base, dp_sparse_encode_run_base},
	{"avx2", DST_CPU_AVX2 | DST_CPU_BMI2, dp_ann_group_avx2, dp_ann_gather_avx2,
	 dp_sparse_copy_run_avx2, dp_sparse_decode_run_avx2, dp_sparse_encode_run_avx2},
	{0},
};

static const struct dp_symbits_variant *active = &dp_symbits_variants[0];

static void select_symbits(unsigned flags)
{
	active = &dp_symbits_variants[0];
	for (const struct dp_symbits_variant *v = dp_symbits_variants; v->name; v++)
		if ((flags & v->needs) == v->needs)
			active = v;
}
DST_DISPATCH("dp_symbits", select_symbits)

uint64_t dp_ann_group(const uint8_t *words, uint64_t planes[4], uint8_t *cut)
{
	return active->group(words, planes, cut);
}

void dp_ann_gather(const uint8_t *words, uint64_t pos, const uint8_t *win, uint64_t mask,
		   uint64_t base, uint64_t planes[4])
{
	active->gather(words, pos, win, mask, base, planes);
}

uint64_t dp_sparse_copy_run(const uint8_t *words, size_t n, uint8_t *out)
{
	return active->copy_run(words, n, out);
}

int dp_sparse_decode_run(const uint8_t *words, size_t n, uint64_t pos, uint64_t *slots,
			 uint8_t *syms)
{
	return active->decode_run(words, n, pos, slots, syms);
}

size_t dp_sparse_encode_run(const uint64_t *slots, const uint8_t *syms, size_t n, uint64_t prev,
			    uint8_t sym_mask, uint16_t *words)
{
	return active->encode_run(slots, syms, n, prev, sym_mask, words);
}
