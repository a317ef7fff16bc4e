#include "unit.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int unit_run(CU_SuiteInfo *suites)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_suites_failed();
	unsigned ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	printf("\n");
	return (failed == 0 && ran > 0) ? 0 : 1;
}

void unit_fill_random(void *buf, size_t len, uint64_t seed)
{
	uint64_t s = seed ? seed : 0x9E3779B97F4A7C15ULL;
	unsigned char *p = buf;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t v = unit_rand(&s);
		memcpy(p + i, &v, 8);
	}
	uint64_t v = unit_rand(&s);
	for (; i < len; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

const char *unit_src_path(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("TESTS_SRC_DIR");
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests", rel);
	return path;
}
