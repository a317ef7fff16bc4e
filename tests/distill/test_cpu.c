/* CPU dispatch: levels narrow the active set, hooks re-run, bad names change nothing. */
#include <errno.h>
#include <string.h>

#include "dst_cpu.h"
#include "unit.h"

static unsigned hook_calls, hook_flags;
static void probe_select(unsigned flags)
{
	hook_calls++;
	hook_flags = flags;
}
DST_DISPATCH("test_probe", probe_select)

static void test_generic_clears_everything(void)
{
	unsigned before = hook_calls;
	CU_ASSERT_EQUAL(dst_cpu_select("generic"), 0);
	CU_ASSERT_EQUAL(dst_cpu_active(), 0);
	CU_ASSERT_EQUAL(hook_calls, before + 1);
	CU_ASSERT_EQUAL(hook_flags, 0);
	CU_ASSERT_STRING_EQUAL(dst_cpu_level_name(dst_cpu_active()), "generic");
	CU_ASSERT_EQUAL(dst_cpu_select("native"), 0);
	CU_ASSERT_EQUAL(dst_cpu_active(), dst_cpu_detected());
	CU_ASSERT_EQUAL(hook_flags, dst_cpu_detected());
}

static void test_unknown_level_changes_nothing(void)
{
	CU_ASSERT_EQUAL(dst_cpu_select("native"), 0);
	unsigned before = dst_cpu_active(), calls = hook_calls;
	CU_ASSERT_EQUAL(dst_cpu_select("avx9000"), -EINVAL);
	CU_ASSERT_EQUAL(dst_cpu_active(), before);
	CU_ASSERT_EQUAL(hook_calls, calls);
}

static void test_avx2_level_matches_detection(void)
{
	int rc = dst_cpu_select("avx2");
	if ((dst_cpu_detected() & DST_CPU_LEVEL_AVX2) == DST_CPU_LEVEL_AVX2) {
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(dst_cpu_active(), DST_CPU_LEVEL_AVX2);
		CU_ASSERT_STRING_EQUAL(dst_cpu_level_name(dst_cpu_active()), "avx2");
	} else {
		CU_ASSERT_EQUAL(rc, -ENOTSUP);
	}
	dst_cpu_select("native");
}

static void test_parse_args_strips_flag(void)
{
	char a0[] = "tool", a1[] = "--cpu=generic", a2[] = "x", a3[] = "--cpu", a4[] = "native",
	     a5[] = "y";
	char *argv[] = {a0, a1, a2, a3, a4, a5, NULL};
	int argc = 6;
	CU_ASSERT_EQUAL(dst_cpu_parse_args(&argc, argv), 0);
	CU_ASSERT_EQUAL(argc, 3);
	CU_ASSERT_STRING_EQUAL(argv[1], "x");
	CU_ASSERT_STRING_EQUAL(argv[2], "y");
	CU_ASSERT_PTR_NULL(argv[3]);
	CU_ASSERT_EQUAL(dst_cpu_active(), dst_cpu_detected());

	char b0[] = "tool", b1[] = "--cpu";
	char *bad[] = {b0, b1, NULL};
	argc = 2;
	CU_ASSERT_EQUAL(dst_cpu_parse_args(&argc, bad), -EINVAL);
	CU_ASSERT_EQUAL(argc, 2);
}

static CU_TestInfo cpu_tests[] = {
	{"generic clears every flag and re-runs hooks", test_generic_clears_everything},
	{"unknown level changes nothing", test_unknown_level_changes_nothing},
	{"avx2 level matches CPUID", test_avx2_level_matches_detection},
	{"--cpu parsing strips the flag", test_parse_args_strips_flag},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"cpu_dispatch", NULL, NULL, NULL, NULL, cpu_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
