/* Decoder variant table and the dispatch hook (see dst_cpu.h). */
#include <string.h>

#include "dst_cpu.h"
#include "ldpc_internal.h"

static const struct ldpc_variant variants[] = {
	{"avx2", DST_CPU_LEVEL_AVX2, ldpc_sweep_avx2, ldpc_check_avx2},
	{"generic", 0, ldpc_sweep_base, ldpc_check_base},
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static const struct ldpc_variant *active = &variants[NVARIANTS - 1];

static void ldpc_select(unsigned flags)
{
	for (size_t i = 0; i < NVARIANTS; i++)
		if ((flags & variants[i].needs) == variants[i].needs) {
			active = &variants[i];
			return;
		}
}
DST_DISPATCH("ldpc", ldpc_select)

const struct ldpc_variant *ldpc_variant_active(void)
{
	return active;
}

const struct ldpc_variant *ldpc_variant_named(const char *name)
{
	for (size_t i = 0; i < NVARIANTS; i++)
		if (!strcmp(variants[i].name, name))
			return dst_cpu_has(variants[i].needs) ? &variants[i] : NULL;
	return NULL;
}
