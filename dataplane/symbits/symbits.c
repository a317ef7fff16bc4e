/* Dispatch of the symbol kernels (dst_cpu.h): the best variant the active CPU level allows. */
#include "dst_cpu.h"
#include "symbits_internal.h"

const struct dp_symbits_variant dp_symbits_variants[] = {
	{"generic", 0, dp_sym_planes_base, dp_win_gather_base, dp_sparse_decode_run_base,
	 dp_sparse_encode_run_base},
	{"avx2", DST_CPU_AVX2 | DST_CPU_BMI2, dp_sym_planes_avx2, dp_win_gather_avx2,
	 dp_sparse_decode_run_avx2, dp_sparse_encode_run_avx2},
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

void dp_sym_planes(const uint8_t *sym, size_t n, uint64_t *p0, uint64_t *p1, uint64_t *p2,
		   uint64_t *p3)
{
	active->planes(sym, n, p0, p1, p2, p3);
}

void dp_win_gather(const uint8_t *win, uint64_t mask, uint64_t base, const uint64_t *slots,
		   size_t n, uint8_t *out)
{
	active->gather(win, mask, base, slots, n, out);
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
