/* qkdtool simulate / sift / estimate / verify end to end through files, and malformed files
 * (truncated, wrong magic or version, sizes that do not match) give exactly one line on stderr,
 * exit status 2 and no output file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dst_estimate.h"
#include "dst_sift.h"
#include "dst_verify.h"
#include "unit.h"

static char dir[64];

static const char *path(const char *name)
{
	static char buf[8][160];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* Run qkdtool; stdout and stderr captured. Returns the exit status. */
static int run(const char *const *args, char *out, size_t outlen, char *err, size_t errlen)
{
	return unit_run_program(getenv("QKDTOOL"), args, out, outlen, err, errlen);
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static uint8_t *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(*len + 1);
	if (fread(b, 1, *len, f) != *len) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static void spit(const char *p, const uint8_t *b, size_t len)
{
	FILE *f = fopen(p, "wb");
	fwrite(b, 1, len, f);
	fclose(f);
}

static char out[1 << 16], err[4096];

static int setup(void)
{
	if (!getenv("QKDTOOL"))
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/distcore_tools_%d", (int)getpid());
	return mkdir(dir, 0700);
}

static int teardown(void)
{
	const char *names[] = {"ev", "sift", "ka", "kb", "seed", "bad", "badout", "stdout", "stderr"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path(names[i]));
	return rmdir(dir);
}

static void test_chain(void)
{
	const char *sim[] = {"simulate", "--out", path("ev"), "--slots", "400000000", "--km", "25",
			     "--seed", "7", NULL};
	CU_ASSERT_EQUAL_FATAL(run(sim, out, sizeof(out), err, sizeof(err)), 0);
	const char *sift[] = {"sift", "--in", path("ev"), "--out", path("sift"), "--key-a", path("ka"),
			      "--key-b", path("kb"), NULL};
	CU_ASSERT_EQUAL_FATAL(run(sift, out, sizeof(out), err, sizeof(err)), 0);
	/* The tool's sift file equals the library's sifting of the same event file. */
	size_t elen, slen;
	uint8_t *eb = slurp(path("ev"), &elen), *sb = slurp(path("sift"), &slen);
	CU_ASSERT_FATAL(eb && sb);
	struct dst_event_file ef;
	struct dst_link_params lp;
	struct dst_sift_block *tool_block, *b;
	CU_ASSERT_EQUAL_FATAL(dst_event_file_decode(eb, elen, &ef, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(dst_sift_file_decode(sb, slen, &lp, &tool_block, NULL), 0);
	b = dst_sift_block_create(ef.ev->n, ef.ev->n);
	dst_sift_block_reset(b, 0);
	CU_ASSERT_EQUAL(dst_sift_events(b, ef.ev, 0), ef.ev->n);
	CU_ASSERT_EQUAL(tool_block->key_bits, b->key_bits);
	CU_ASSERT_EQUAL(memcmp(&tool_block->c.n_key, &b->c.n_key, sizeof(b->c.n_key)), 0);
	CU_ASSERT_EQUAL(memcmp(&tool_block->c.m_test, &b->c.m_test, sizeof(b->c.m_test)), 0);
	CU_ASSERT_EQUAL(memcmp(tool_block->key_a, b->key_a, (b->key_bits + 7) / 8), 0);
	CU_ASSERT_EQUAL(tool_block->c.slot_end - tool_block->c.slot_begin, 400000000);
	size_t kalen;
	uint8_t *ka = slurp(path("ka"), &kalen);
	CU_ASSERT_EQUAL(kalen, (b->key_bits + 7) / 8);
	CU_ASSERT(ka && memcmp(ka, b->key_a, kalen) == 0);
	free(ka);

	const char *est[] = {"estimate", "--in", path("sift"), "--json", NULL};
	CU_ASSERT_EQUAL(run(est, out, sizeof(out), err, sizeof(err)), 0);
	struct dst_fk_config cfg;
	dst_fk_config_default(&cfg, &lp);
	struct dst_fk_stats s;
	dst_fk_stats_from_counts(&s, &b->c, 1);
	struct dst_fk_result r;
	dst_fk_estimate(&cfg, &s, 1.16 * (double)b->key_bits * dst_h2(s.m_key / (double)b->key_bits), &r);
	char want[64];
	snprintf(want, sizeof(want), "\"length\":%lld,", (long long)r.length);
	CU_ASSERT(r.length > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"status\":\"ok\""));
	/* 4e8 pulses of the default 1 GHz source: 0.4 s of acquisition. */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"pulse_rate_hz\":1000000000,\"seconds\":0.4000000000000000"));
	/* A threshold the block's QBER exceeds: the report says why and the status is 1. */
	const char *strict[] = {"estimate", "--in", path("sift"), "--qber-max", "0.001", NULL};
	CU_ASSERT_EQUAL(run(strict, out, sizeof(out), err, sizeof(err)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "QBER above"));

	/* Planning: the tool prints the library's optimised plan (paper model, 100 km, 10^7 bits). */
	const char *plan[] = {"estimate", "--plan", "--km", "100", "--n-key", "1e7", "--optimize",
			      "--kappa", "1e-15", "--qber-max", "0.5", "--phi-max", "0.5", "--json", NULL};
	CU_ASSERT_EQUAL(run(plan, out, sizeof(out), err, sizeof(err)), 0);
	struct dst_fk_channel ch;
	dst_fk_channel_paper(&ch, 100);
	struct dst_fk_config pc;
	dst_fk_config_default(&pc, NULL);
	pc.qber_max = 0.5;
	pc.phi_max = 0.5;
	struct dst_link_params dl;
	dst_link_params_default(&dl);
	struct dst_fk_plan pl = {.p_z = dl.p_z};
	memcpy(pl.mu, dl.mu, sizeof(pl.mu));
	memcpy(pl.p_mu, dl.p_mu, sizeof(pl.p_mu));
	dst_fk_optimize(&ch, &pc, 1e-15, 1e7, &pl);
	snprintf(want, sizeof(want), "\"length\":%lld,", (long long)pl.r.length);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT(pl.rate > 4e-5 && pl.rate < 6e-5);

	/* Verification: Alice's and Bob's sifted keys differ (QBER > 0), Alice's equals itself. */
	uint8_t seed[16];
	unit_fill_random(seed, 16, 5);
	spit(path("seed"), seed, 16);
	char bits[32];
	snprintf(bits, sizeof(bits), "%zu", b->key_bits);
	const char *v1[] = {"verify", "--in", path("ka"), "--bits", bits, "--seed", path("seed"),
			    "--against", path("kb"), NULL};
	CU_ASSERT_EQUAL(run(v1, out, sizeof(out), err, sizeof(err)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "mismatch"));
	const char *v2[] = {"verify", "--in", path("ka"), "--bits", bits, "--seed", path("seed"),
			    "--against", path("ka"), NULL};
	CU_ASSERT_EQUAL(run(v2, out, sizeof(out), err, sizeof(err)), 0);
	/* The printed tag is the library's. */
	struct dst_verify_tag t;
	CU_ASSERT_EQUAL(dst_verify_tag(b->key_a, b->key_bits, seed, 1e-15, &t), 0);
	char tag[80];
	snprintf(tag, sizeof(tag), "tag %016llx%016llx", (unsigned long long)t.w[1],
		 (unsigned long long)t.w[0]);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, tag));

	dst_sift_block_free(b);
	dst_sift_block_free(tool_block);
	dst_event_file_clear(&ef);
	free(eb);
	free(sb);
}

/* Write a corrupted copy of 'src' and check that the command rejects it cleanly. */
static void expect_bad(const uint8_t *src, size_t len, const char *cmd, const char *hint)
{
	spit(path("bad"), src, len);
	unlink(path("badout"));
	int rc;
	if (!strcmp(cmd, "sift")) {
		const char *a[] = {"sift", "--in", path("bad"), "--out", path("badout"), NULL};
		rc = run(a, out, sizeof(out), err, sizeof(err));
	} else {
		const char *a[] = {"estimate", "--in", path("bad"), NULL};
		rc = run(a, out, sizeof(out), err, sizeof(err));
	}
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT_EQUAL(lines(err), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, hint));
	CU_ASSERT(!exists(path("badout")));
	if (rc != 2 || !strstr(err, hint))
		printf("\n  %s %s: rc %d: %s", cmd, hint, rc, err);
}

static void test_bad_files(void)
{
	size_t elen, slen;
	uint8_t *e = slurp(path("ev"), &elen), *s = slurp(path("sift"), &slen);
	CU_ASSERT_FATAL(e && s && elen > 2000 && slen > 2000);
	expect_bad(e, 100, "sift", "truncated");
	expect_bad(e, elen - 1, "sift", "size");
	expect_bad(e, elen / 2, "sift", "size");
	e[0] ^= 0xff;
	expect_bad(e, elen, "sift", "magic");
	e[0] ^= 0xff;
	e[8] = 9;
	expect_bad(e, elen, "sift", "version");
	e[8] = 1;
	uint64_t huge = 1ULL << 39;
	memcpy(e + 40, &huge, 8); /* event count that does not match the size */
	expect_bad(e, elen, "sift", "size");
	expect_bad(s, 0, "estimate", "truncated");
	expect_bad(s, 200, "estimate", "truncated");
	expect_bad(s, slen - 8, "estimate", "size");
	s[3] ^= 1;
	expect_bad(s, slen, "estimate", "magic");
	s[3] ^= 1;
	s[8] = 2;
	expect_bad(s, slen, "estimate", "version");
	s[8] = 1;
	s[64] ^= 4; /* n_key[0] no longer adds up */
	expect_bad(s, slen, "estimate", "add up");
	s[64] ^= 4;
	uint64_t K, T;
	memcpy(&K, s + 16, 8);
	memcpy(&T, s + 24, 8);
	size_t lo_at = 264 + 16 * ((K + 63) / 64) + 16 * ((T + 63) / 64);
	s[lo_at] ^= 1; /* the first test bit changes class */
	expect_bad(s, slen, "estimate", "classes");
	s[lo_at] ^= 1;
	expect_bad(e, elen, "estimate", "magic"); /* an event file is not a sift file */
	free(e);
	free(s);

	/* verify: wrong size, dirty padding, short seed, missing file */
	const char *v[] = {"verify", "--in", path("ka"), "--bits", "12345", "--seed", path("seed"), NULL};
	CU_ASSERT_EQUAL(run(v, out, sizeof(out), err, sizeof(err)), 2);
	CU_ASSERT_EQUAL(lines(err), 1);
	uint8_t pad[2] = {0, 0x80};
	spit(path("bad"), pad, 2);
	const char *vp[] = {"verify", "--in", path("bad"), "--bits", "12", "--seed", path("seed"), NULL};
	CU_ASSERT_EQUAL(run(vp, out, sizeof(out), err, sizeof(err)), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "padding"));
	spit(path("bad"), pad, 2);
	const char *vs[] = {"verify", "--in", path("ka"), "--bits", "8", "--seed", path("bad"), NULL};
	CU_ASSERT_EQUAL(run(vs, out, sizeof(out), err, sizeof(err)), 2);
	CU_ASSERT_EQUAL(lines(err), 1);
	const char *vm[] = {"verify", "--in", path("nonexistent"), "--bits", "8", "--seed",
			    path("seed"), NULL};
	CU_ASSERT_EQUAL(run(vm, out, sizeof(out), err, sizeof(err)), 2);
	/* usage errors */
	const char *u1[] = {"simulate", "--out", path("badout"), "--p-z", "1.5", NULL};
	CU_ASSERT_EQUAL(run(u1, out, sizeof(out), err, sizeof(err)), 2);
	CU_ASSERT_EQUAL(lines(err), 1);
	const char *u2[] = {"simulate", "--out", path("badout"), "--mu", "0.5,0.1", "--p-mu", "1", NULL};
	CU_ASSERT_EQUAL(run(u2, out, sizeof(out), err, sizeof(err)), 2);
	CU_ASSERT(!exists(path("badout")));
	const char *u3[] = {"estimate", "--in", path("sift"), "--eps-cor", "0", NULL};
	CU_ASSERT_EQUAL(run(u3, out, sizeof(out), err, sizeof(err)), 2);
	const char *u4[] = {"sift", "--in", path("ev"), NULL};
	CU_ASSERT_EQUAL(run(u4, out, sizeof(out), err, sizeof(err)), 2);
}

static CU_TestInfo tool_tests[] = {
	{"simulate -> sift -> estimate -> verify", test_chain},
	{"malformed files and arguments: one line, exit 2", test_bad_files},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"qkdtool_distcore", setup, teardown, NULL, NULL, tool_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
