/* qkdtool reconcile and distill through the built tool: Bob's corrected file equals Alice's, the
 * JSON report carries the documented fields, the full chain produces key on a simulated 25 km
 * link, and bad input (missing files, unequal lengths, bad options, malformed event files) exits 2
 * with exactly one line on stderr and writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

static char dir[64];

static const char *at(const char *name)
{
	static char buf[8][160];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* Run qkdtool with args; stdout/stderr into out/err. Returns the exit status. */
static int tool(const char *const *args, char *out, size_t olen, char *err, size_t elen)
{
	return unit_run_program(getenv("QKDTOOL"), args, out, olen, err, elen);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void write_file(const char *p, const void *d, size_t n)
{
	FILE *f = fopen(p, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(d, 1, n, f), n);
	fclose(f);
}

static uint8_t *read_all(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(*n + 1);
	if (fread(b, 1, *n, f) != *n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/cascade_tools_XXXXXX");
	return mkdtemp(dir) ? 0 : 1;
}

static int teardown(void)
{
	const char *names[] = {"a.bin", "b.bin", "o.bin", "short.bin", "ev.bin", "bad.bin",
			       "out.txt", "err.txt", "none.bin"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(at(names[i]));
	rmdir(dir);
	return 0;
}

static void test_reconcile_files(void)
{
	const size_t bytes = 40000;
	uint8_t *a = malloc(bytes), *b = malloc(bytes);
	unit_fill_random(a, bytes, 4);
	memcpy(b, a, bytes);
	uint64_t s = 9;
	unsigned errors = 0;
	for (size_t i = 0; i < 8 * bytes; i++)
		if (unit_rand(&s) % 100 < 3) {
			b[i / 8] ^= (uint8_t)(1u << (i % 8));
			errors++;
		}
	write_file(at("a.bin"), a, bytes);
	write_file(at("b.bin"), b, bytes);
	char out[4096], err[4096];
	const char *args[] = {"reconcile", "--method", "cascade", "--qber-est", "0.03", "--alice",
			      at("a.bin"), "--bob", at("b.bin"), "--out", at("o.bin"), "--json", NULL};
	CU_ASSERT_EQUAL(tool(args, out, sizeof(out), err, sizeof(err)), 0);
	size_t n = 0;
	uint8_t *o = read_all(at("o.bin"), &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(n, bytes);
	CU_ASSERT(memcmp(o, a, bytes) == 0);
	char want[64];
	snprintf(want, sizeof(want), "\"bits_corrected\": %u", errors);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"bits\": 320000"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"frames_failed\": 0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"residual_errors\": 0"));
	const char *keys[] = {"\"frames\"", "\"leak_bits\"", "\"qber_measured\"", "\"efficiency\""};
	for (int k = 0; k < 4; k++)
		CU_ASSERT_PTR_NOT_NULL(strstr(out, keys[k]));
	free(o);
	free(a);
	free(b);
}

static void test_reconcile_bad_input(void)
{
	char out[4096], err[4096];
	uint8_t shortf[100] = {0};
	write_file(at("short.bin"), shortf, sizeof(shortf));
	unlink(at("o.bin"));
	const char *cases[][14] = {
		{"reconcile", "--method", "turbo", "--qber-est", "0.03", "--alice", at("a.bin"), "--bob",
		 at("b.bin"), "--out", at("o.bin"), NULL},
		{"reconcile", "--method", "cascade", "--qber-est", "0.9", "--alice", at("a.bin"), "--bob",
		 at("b.bin"), "--out", at("o.bin"), NULL},
		{"reconcile", "--method", "cascade", "--qber-est", "0.03", "--alice", at("a.bin"),
		 "--bob", at("short.bin"), "--out", at("o.bin"), NULL},
		{"reconcile", "--method", "cascade", "--qber-est", "0.03", "--alice", at("none.bin"),
		 "--bob", at("b.bin"), "--out", at("o.bin"), NULL},
		{"reconcile", "--method", "cascade", "--alice", at("a.bin"), "--bob", at("b.bin"), NULL},
		{"reconcile", "--bogus", NULL},
		{"distill", "--in", at("none.bin"), NULL},
		{"distill", "--in", at("short.bin"), NULL},
		{"distill", "--in", at("a.bin"), "--block-bits", "12", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tool(cases[i], out, sizeof(out), err, sizeof(err));
		CU_ASSERT_EQUAL(rc, 2);
		CU_ASSERT_EQUAL(count_lines(err), 1);
		CU_ASSERT_EQUAL(access(at("o.bin"), F_OK), -1);
	}
}

static void test_distill_chain(void)
{
	char out[16384], err[4096];
	const char *sim[] = {"simulate", "--out", at("ev.bin"), "--km", "25", "--slots", "150000000",
			     "--seed", "3", NULL};
	CU_ASSERT_EQUAL_FATAL(tool(sim, out, sizeof(out), err, sizeof(err)), 0);
	const char *dist[] = {"distill", "--in", at("ev.bin"), "--block-bits", "524288", "--json", NULL};
	CU_ASSERT_EQUAL(tool(dist, out, sizeof(out), err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"status\":\"ok\""));
	CU_ASSERT_PTR_NULL(strstr(out, "\"keys_match\":false"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"secret\":"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"block_count\":"));
	/* A truncated event file. */
	size_t n = 0;
	uint8_t *ev = read_all(at("ev.bin"), &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	write_file(at("bad.bin"), ev, n / 2);
	const char *bad[] = {"distill", "--in", at("bad.bin"), NULL};
	CU_ASSERT_EQUAL(tool(bad, out, sizeof(out), err, sizeof(err)), 2);
	CU_ASSERT_EQUAL(count_lines(err), 1);
	free(ev);
}

static CU_TestInfo tool_tests[] = {
	{"reconcile: Bob's output equals Alice's key, JSON report", test_reconcile_files},
	{"reconcile/distill: bad input exits 2 with one line", test_reconcile_bad_input},
	{"distill: simulated 25 km link gives identical keys", test_distill_chain},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"distill_tools", setup, teardown, NULL, NULL, tool_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
