/* CPUID detection and the one place that (re)fills every kernel family's function pointers. */
#include "dst_cpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned detected_flags;
static unsigned active_flags;
static bool initialised;
static struct dst_dispatch *families;

static unsigned detect(void)
{
	unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	/* libgcc checks XGETBV, so AVX flags are only set when the OS saves YMM/ZMM state. */
	if (__builtin_cpu_supports("sse4.2"))
		f |= DST_CPU_SSE42;
	if (__builtin_cpu_supports("pclmul"))
		f |= DST_CPU_PCLMUL;
	if (__builtin_cpu_supports("avx2"))
		f |= DST_CPU_AVX2;
	if (__builtin_cpu_supports("bmi2"))
		f |= DST_CPU_BMI2;
	if (__builtin_cpu_supports("vpclmulqdq") && (f & DST_CPU_AVX2))
		f |= DST_CPU_VPCLMUL;
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl"))
		f |= DST_CPU_AVX512;
#endif
	return f;
}

static const struct {
	const char *name;
	unsigned mask; /* flags kept from the detected set; ~0u keeps all */
} levels[] = {
	{"generic", 0},
	{"avx2", DST_CPU_LEVEL_AVX2},
	{"vpclmul", DST_CPU_LEVEL_VPCLMUL},
	{"native", ~0u},
};

static void init_once(void)
{
	if (initialised)
		return;
	initialised = true;
	detected_flags = detect();
	active_flags = detected_flags;
	const char *env = getenv("QKD_CPU");
	if (env && *env) {
		size_t i;
		for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (!strcmp(env, levels[i].name))
				break;
		if (i == sizeof(levels) / sizeof(levels[0]))
			fprintf(stderr, "qkd: QKD_CPU=%s unknown (generic|avx2|vpclmul|native), using native\n", env);
		else
			active_flags = detected_flags & levels[i].mask;
	}
}

unsigned dst_cpu_detected(void)
{
	init_once();
	return detected_flags;
}

unsigned dst_cpu_active(void)
{
	init_once();
	return active_flags;
}

void dst_cpu_register(struct dst_dispatch *d)
{
	init_once();
	d->next = families;
	families = d;
	d->select(active_flags);
}

int dst_cpu_select(const char *name)
{
	init_once();
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(name, levels[i].name))
			continue;
		unsigned want = levels[i].mask;
		if (want != ~0u && (detected_flags & want) != want)
			return -ENOTSUP;
		active_flags = detected_flags & want;
		for (struct dst_dispatch *d = families; d; d = d->next)
			d->select(active_flags);
		return 0;
	}
	return -EINVAL;
}

const char *dst_cpu_level_name(unsigned flags)
{
	if ((flags & DST_CPU_LEVEL_VPCLMUL) == DST_CPU_LEVEL_VPCLMUL)
		return "vpclmul";
	if ((flags & DST_CPU_LEVEL_AVX2) == DST_CPU_LEVEL_AVX2)
		return "avx2";
	return "generic";
}

int dst_cpu_parse_args(int *argc, char **argv)
{
	for (int i = 1; i < *argc; i++) {
		const char *val = NULL;
		int used = 1;
		if (!strncmp(argv[i], "--cpu=", 6)) {
			val = argv[i] + 6;
		} else if (!strcmp(argv[i], "--cpu")) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "--cpu needs a value: generic|avx2|vpclmul|native\n");
				return -EINVAL;
			}
			val = argv[i + 1];
			used = 2;
		} else {
			continue;
		}
		int rc = dst_cpu_select(val);
		if (rc == -EINVAL)
			fprintf(stderr, "--cpu=%s: unknown level (generic|avx2|vpclmul|native)\n", val);
		else if (rc == -ENOTSUP)
			fprintf(stderr, "--cpu=%s: this CPU does not support it\n", val);
		if (rc)
			return rc;
		memmove(&argv[i], &argv[i + used], (size_t)(*argc - i - used + 1) * sizeof(char *));
		*argc -= used;
		i--;
	}
	return 0;
}
