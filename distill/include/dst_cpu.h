/* CPU-feature dispatch, done once for every kernel family (ISA-L / dav1d pattern).
 *
 * Every kernel has a portable C reference (<family>_base.c) and optional per-ISA variants in their
 * own files built with their own flags (<family>_avx2.c ...). A family registers a select hook with
 * DST_DISPATCH(); the hook fills the family's function pointers from the active feature mask. The
 * mask is CPUID at start-up, narrowed by the QKD_CPU environment variable or dst_cpu_select()
 * (command-line flag --cpu=NAME in every tool), so tests can run every variant on the same inputs. */
#ifndef DST_CPU_H
#define DST_CPU_H

#include <stdbool.h>

enum dst_cpu_flag {
	DST_CPU_SSE42 = 1u << 0,
	DST_CPU_PCLMUL = 1u << 1,
	DST_CPU_AVX2 = 1u << 2,
	DST_CPU_BMI2 = 1u << 3,
	DST_CPU_VPCLMUL = 1u << 4, /* VPCLMULQDQ on 256-bit lanes */
	DST_CPU_AVX512 = 1u << 5,  /* F + BW + VL */
};

/* What a kernel built with avx2_cflags may use. */
#define DST_CPU_LEVEL_AVX2 (DST_CPU_SSE42 | DST_CPU_PCLMUL | DST_CPU_AVX2 | DST_CPU_BMI2)
#define DST_CPU_LEVEL_VPCLMUL (DST_CPU_LEVEL_AVX2 | DST_CPU_VPCLMUL)

/* Features this CPU and OS support (CPUID + XGETBV). */
unsigned dst_cpu_detected(void);
/* Features the dispatch uses now: detected, narrowed by QKD_CPU or dst_cpu_select(). */
unsigned dst_cpu_active(void);
/* True when every flag in 'needs' is active. */
static inline bool dst_cpu_has(unsigned needs) { return (dst_cpu_active() & needs) == needs; }

/* Narrow the active set to a named level: "generic", "avx2", "vpclmul" or "native" (all detected)
 * and re-run every registered select hook. Returns 0, -EINVAL for an unknown name, -ENOTSUP when
 * the CPU lacks the level (the active set is then left unchanged). */
int dst_cpu_select(const char *name);
/* Name of the highest level contained in a mask ("vpclmul", "avx2", "generic"). */
const char *dst_cpu_level_name(unsigned flags);

/* Remove a "--cpu=NAME" or "--cpu NAME" argument from argv and apply it. Returns 0 or a negative
 * errno (and prints one line to stderr); *argc is updated. */
int dst_cpu_parse_args(int *argc, char **argv);

struct dst_dispatch {
	const char *family;
	void (*select)(unsigned active_flags);
	struct dst_dispatch *next;
};
void dst_cpu_register(struct dst_dispatch *d);

/* Register a family's select hook; it runs before main() and again on every dst_cpu_select(). */
#define DST_DISPATCH(family_name, select_fn)                                                     \
	static struct dst_dispatch select_fn##_dispatch = {family_name, select_fn, 0};            \
	__attribute__((constructor)) static void select_fn##_register(void)                       \
	{                                                                                         \
		dst_cpu_register(&select_fn##_dispatch);                                          \
	}

#endif
