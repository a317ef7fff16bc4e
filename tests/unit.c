#include "unit.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static void slurp(FILE *f, char *buf, size_t len)
{
	if (!buf || len == 0)
		return;
	rewind(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
}

int unit_run_program(const char *exe, const char *const *args, char *out, size_t outlen, char *err,
		     size_t errlen)
{
	FILE *fo = tmpfile(), *fe = tmpfile();
	if (!exe || !fo || !fe) {
		if (fo)
			fclose(fo);
		if (fe)
			fclose(fe);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fileno(fo), 1);
		dup2(fileno(fe), 2);
		const char *argv[64] = {exe};
		int i = 0;
		for (; args[i] && i < 62; i++)
			argv[i + 1] = args[i];
		argv[i + 1] = NULL;
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		st = -1;
	slurp(fo, out, outlen);
	slurp(fe, err, errlen);
	fclose(fo);
	fclose(fe);
	return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}
