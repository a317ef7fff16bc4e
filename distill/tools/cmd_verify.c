/* qkdtool verify: the verification tag of a raw bit file, or whether two files' tags match. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dst_verify.h"
#include "qkdtool.h"

static const char *NAME = "verify";

/* Read a raw packed bit file of exactly ceil(bits/8) bytes with zero padding into words. */
static int load_bits(const char *path, uint64_t bits, uint64_t **words)
{
	uint8_t *raw;
	size_t len;
	int rc = qkdtool_read_file(path, &raw, &len);
	if (rc)
		return qkdtool_bad(NAME, "%s: %s", path, strerror(-rc));
	if (len != (bits + 7) / 8) {
		explicit_bzero(raw, len);
		free(raw);
		return qkdtool_bad(NAME, "%s: %zu bytes, expected %llu for %llu bits", path, len,
				   (unsigned long long)((bits + 7) / 8), (unsigned long long)bits);
	}
	if ((bits & 7) && (raw[len - 1] >> (bits & 7))) {
		explicit_bzero(raw, len);
		free(raw);
		return qkdtool_bad(NAME, "%s: padding bits above bit %llu are not zero", path,
				   (unsigned long long)(bits - 1));
	}
	*words = calloc(bits / 64 + 1, 8);
	if (*words)
		memcpy(*words, raw, len);
	explicit_bzero(raw, len);
	free(raw);
	if (!*words) {
		fprintf(stderr, "qkdtool %s: out of memory\n", NAME);
		return QKDTOOL_FAILED;
	}
	return 0;
}

static void free_bits(uint64_t *w, uint64_t bits)
{
	if (w)
		explicit_bzero(w, (bits / 64 + 1) * 8);
	free(w);
}

static void print_tag(const char *label, const struct dst_verify_tag *t)
{
	printf("%stag_bits %u tag %016llx%016llx\n", label, t->bits, (unsigned long long)t->w[1],
	       (unsigned long long)t->w[0]);
}

static int run_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"in", required_argument, 0, 'i'},      {"bits", required_argument, 0, 'n'},
		{"seed", required_argument, 0, 's'},    {"eps-cor", required_argument, 0, 'e'},
		{"against", required_argument, 0, 'a'}, {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	const char *in = NULL, *seed_path = NULL, *against = NULL;
	uint64_t bits = 0;
	double eps = 1e-15;
	int c, li = 0, have_bits = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		int rc = 0;
		switch (c) {
		case 'i': in = optarg; break;
		case 's': seed_path = optarg; break;
		case 'a': against = optarg; break;
		case 'n': rc = qkdtool_parse_u64(optarg, 1, (uint64_t)1 << 40, &bits); have_bits = 1; break;
		case 'e': rc = qkdtool_parse_double(optarg, 1e-300, 0.5, &eps); break;
		case 'h':
			printf("usage: qkdtool verify --in FILE --bits N --seed FILE [--eps-cor E]"
			       " [--against FILE]\n");
			return QKDTOOL_OK;
		default:
			return qkdtool_bad(NAME, "unknown option or missing value (qkdtool verify --help)");
		}
		if (rc)
			return qkdtool_bad(NAME, "bad value '%s' for --%s", optarg, opts[li].name);
	}
	if (optind != argc)
		return qkdtool_bad(NAME, "unexpected argument '%s'", argv[optind]);
	if (!in || !have_bits || !seed_path)
		return qkdtool_bad(NAME, "--in FILE, --bits N and --seed FILE are required");
	if (!dst_verify_tag_bits(bits, eps))
		return qkdtool_bad(NAME, "eps_cor %g needs a tag longer than 128 bits", eps);
	uint8_t *seed;
	size_t seed_len;
	int rc = qkdtool_read_file(seed_path, &seed, &seed_len);
	if (rc)
		return qkdtool_bad(NAME, "%s: %s", seed_path, strerror(-rc));
	if (seed_len < DST_VERIFY_SEED_BYTES) {
		explicit_bzero(seed, seed_len);
		free(seed);
		return qkdtool_bad(NAME, "%s: %zu bytes, the seed needs %d", seed_path, seed_len,
				   DST_VERIFY_SEED_BYTES);
	}
	uint64_t *a = NULL, *b = NULL;
	int status = load_bits(in, bits, &a);
	if (!status && against)
		status = load_bits(against, bits, &b);
	if (!status) {
		struct dst_verify_tag ta, tb;
		dst_verify_tag(a, bits, seed, eps, &ta);
		if (b) {
			dst_verify_tag(b, bits, seed, eps, &tb);
			int same = dst_verify_equal(&ta, &tb);
			print_tag("in      ", &ta);
			print_tag("against ", &tb);
			printf("%s\n", same ? "match" : "mismatch");
			status = same ? QKDTOOL_OK : QKDTOOL_FAILED;
		} else {
			print_tag("", &ta);
		}
	}
	free_bits(a, bits);
	free_bits(b, bits);
	explicit_bzero(seed, seed_len);
	free(seed);
	return status;
}
QKDTOOL_CMD("verify", "--in FILE --bits N --seed FILE [--eps-cor E] [--against FILE]", run_verify)
