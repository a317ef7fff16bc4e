/* qkdtool pa end to end: a committed known answer through files, and bad files or sizes give one
 * line on stderr, exit status 2 and no output file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

static char dir[64];
static char path_s[128], path_x[128], path_y[128], path_out[128];
static size_t kat_n, kat_m;

static void write_hex(const char *path, const char *hex)
{
	FILE *f = fopen(path, "wb");
	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		fputc((int)v, f);
	}
	fclose(f);
}

/* Run qkdtool with args; returns the exit status, stderr text in err. */
static int run(const char *const *args, char *err, size_t errlen)
{
	return unit_run_program(getenv("QKDTOOL"), args, NULL, 0, err, errlen);
}

static int setup(void)
{
	if (!getenv("QKDTOOL"))
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/pa_tool_XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path_s, sizeof(path_s), "%s/seed", dir);
	snprintf(path_x, sizeof(path_x), "%s/in", dir);
	snprintf(path_y, sizeof(path_y), "%s/want", dir);
	snprintf(path_out, sizeof(path_out), "%s/out", dir);
	/* the vector with n = 10000, m = 3333 */
	FILE *f = fopen(unit_src_path("distill/pa_kat.txt"), "r");
	if (!f)
		return 1;
	static char line[1 << 17], s[1 << 16], x[1 << 16], y[1 << 16];
	int found = 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%zu %zu %s %s %s", &kat_n, &kat_m, s, x, y) == 5 && kat_n == 10000)
			found = 1;
	fclose(f);
	if (!found)
		return 1;
	write_hex(path_s, s);
	write_hex(path_x, x);
	write_hex(path_y, y);
	return 0;
}

static int teardown(void)
{
	unlink(path_s), unlink(path_x), unlink(path_y), unlink(path_out);
	rmdir(dir);
	return 0;
}

static void test_known_answer_through_files(void)
{
	char err[4096], nb[32], mb[32];
	snprintf(nb, sizeof(nb), "%zu", kat_n);
	snprintf(mb, sizeof(mb), "%zu", kat_m);
	static const char *const algs[] = {"auto", "karatsuba", "fft"};
	for (int run_no = 0; run_no < 6; run_no++) {
		int cpu = run_no & 1;
		unlink(path_out);
		const char *args[] = {cpu ? "--cpu=generic" : "--cpu=native", "pa", "--seed", path_s, "--in",
				      path_x, "--in-bits", nb, "--out-bits", mb, "--out", path_out,
				      "--alg", algs[run_no / 2], NULL};
		CU_ASSERT_EQUAL(run(args, err, sizeof(err)), 0);
		CU_ASSERT_STRING_EQUAL(err, "");
		FILE *a = fopen(path_out, "rb"), *b = fopen(path_y, "rb");
		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		static unsigned char ba[8192], bb[8192];
		size_t la = fread(ba, 1, sizeof(ba), a), lb = fread(bb, 1, sizeof(bb), b);
		CU_ASSERT_EQUAL(la, (kat_m + 7) / 8);
		CU_ASSERT_EQUAL(la, lb);
		CU_ASSERT(memcmp(ba, bb, lb) == 0);
		fclose(a), fclose(b);
	}
}

static void expect_bad(const char *n, const char *m, const char *seed, const char *in, const char *extra)
{
	char err[4096];
	unlink(path_out);
	const char *args[] = {"pa", "--seed", seed, "--in", in, "--in-bits", n, "--out-bits", m, "--out",
			      path_out, extra, NULL};
	CU_ASSERT_EQUAL(run(args, err, sizeof(err)), 2);
	size_t len = strlen(err);
	CU_ASSERT(len > 10 && err[len - 1] == '\n' && strchr(err, '\n') == err + len - 1);
	CU_ASSERT(strncmp(err, "qkdtool pa: ", 12) == 0);
	CU_ASSERT(access(path_out, F_OK) != 0);
}

static void test_bad_input_exit_2(void)
{
	char truncated[160];
	snprintf(truncated, sizeof(truncated), "%s/short", dir);
	FILE *f = fopen(truncated, "wb");
	fwrite("abc", 1, 3, f);
	fclose(f);
	char padded[160];
	snprintf(padded, sizeof(padded), "%s/padded", dir);
	f = fopen(padded, "wb");
	for (int i = 0; i < 1250; i++)
		fputc(0xFF, f);
	fclose(f);
	expect_bad("9999", "3333", path_s, padded, NULL);    /* padding bit 9999 set */
	unlink(padded);
	expect_bad("10001", "3333", path_s, path_x, NULL);    /* input shorter than --in-bits */
	expect_bad("9990", "3333", path_s, path_x, NULL);     /* input longer than --in-bits */
	expect_bad("10000", "3333", truncated, path_x, NULL); /* seed too short */
	expect_bad("10000", "3333", path_s, truncated, NULL);
	expect_bad("10000", "10001", path_s, path_x, NULL);   /* m > n */
	expect_bad("10000", "0", path_s, path_x, NULL);
	expect_bad("0", "1", path_s, path_x, NULL);
	expect_bad("1e4", "3333", path_s, path_x, NULL);
	expect_bad("-5", "3333", path_s, path_x, NULL);
	expect_bad("10000", "3333", "/nonexistent/pa_seed", path_x, NULL);
	expect_bad("10000", "3333", path_s, dir, NULL);       /* a directory */
	expect_bad("10000", "3333", path_s, path_x, "--bogus");
	expect_bad("10000", "3333", path_s, path_x, "--alg"); /* option without its value */
	unlink(truncated);
}

static CU_TestInfo tool_tests[] = {
	{"known answer through files, every algorithm, both CPU levels", test_known_answer_through_files},
	{"bad files and sizes: one line, exit 2", test_bad_input_exit_2},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"qkdtool_pa", setup, teardown, NULL, NULL, tool_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
