/* Variant table and dispatch hook of the Cascade kernels. */
#include "dst_cpu.h"

#include "cascade_kernels.h"

const struct dst_cascade_kernels dst_cascade_kernel_variants[] = {
	{"generic", 0, cas_fold_base, cas_fold_and_base, cas_gather_base},
	{"avx2", DST_CPU_LEVEL_AVX2, cas_fold_avx2, cas_fold_and_avx2, cas_gather_avx2},
	{0, 0, 0, 0, 0},
};

const struct dst_cascade_kernels *cas_k = &dst_cascade_kernel_variants[0];

const struct dst_cascade_kernels *dst_cascade_kernels_active(void)
{
	return cas_k;
}

static void cascade_select(unsigned active)
{
	const struct dst_cascade_kernels *best = &dst_cascade_kernel_variants[0];
	for (const struct dst_cascade_kernels *v = dst_cascade_kernel_variants; v->name; v++)
		if ((active & v->needs) == v->needs)
			best = v;
	cas_k = best;
}
DST_DISPATCH("cascade", cascade_select)
