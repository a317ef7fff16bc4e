/* qkdtool sift: event file -> sift file (counts + raw key + test bits), optionally the raw keys as
 * raw packed bit files. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dst_sift.h"
#include "qkdtool.h"

static const char *NAME = "sift";

static int write_bits(const char *path, const uint64_t *bits, size_t n)
{
	return qkdtool_write_file(path, bits, (n + 7) / 8);
}

static int run_sift(int argc, char **argv)
{
	static const struct option opts[] = {
		{"in", required_argument, 0, 'i'},       {"out", required_argument, 0, 'o'},
		{"block-bits", required_argument, 0, 'b'}, {"key-a", required_argument, 0, 'a'},
		{"key-b", required_argument, 0, 'B'},    {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	const char *in = NULL, *out = NULL, *ka = NULL, *kb = NULL;
	uint64_t block = 0;
	int c, li = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'a': ka = optarg; break;
		case 'B': kb = optarg; break;
		case 'b':
			if (qkdtool_parse_u64(optarg, 1, (uint64_t)1 << 40, &block))
				return qkdtool_bad(NAME, "bad value '%s' for --block-bits", optarg);
			break;
		case 'h':
			printf("usage: qkdtool sift --in EVENTS --out SIFTFILE [--block-bits N]"
			       " [--key-a FILE] [--key-b FILE]\n");
			return QKDTOOL_OK;
		default:
			return qkdtool_bad(NAME, "unknown option or missing value (qkdtool sift --help)");
		}
	}
	if (optind != argc)
		return qkdtool_bad(NAME, "unexpected argument '%s'", argv[optind]);
	if (!in || !out)
		return qkdtool_bad(NAME, "--in EVENTS and --out SIFTFILE are required");
	struct dst_event_file f;
	int rc = qkdtool_load_events(NAME, in, &f);
	if (rc)
		return rc;
	size_t n = f.ev->n;
	struct dst_sift_block *b = dst_sift_block_create(block ? block : (n ? n : 1), n ? n : 1);
	if (!b) {
		dst_event_file_clear(&f);
		fprintf(stderr, "qkdtool %s: out of memory\n", NAME);
		return QKDTOOL_FAILED;
	}
	dst_sift_block_reset(b, f.slot_begin);
	size_t next = dst_sift_events(b, f.ev, 0);
	if (next == n)
		b->c.slot_end = f.slot_end; /* every pulse of the window went into this block */
	uint8_t *buf = NULL;
	size_t len;
	rc = dst_sift_file_encode(&f.params, b, &buf, &len);
	if (!rc)
		rc = qkdtool_write_file(out, buf, len);
	if (!rc && ka)
		rc = write_bits(ka, b->key_a, b->key_bits);
	if (!rc && kb)
		rc = write_bits(kb, b->key_b, b->key_bits);
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
	if (rc) {
		fprintf(stderr, "qkdtool %s: writing output: %s\n", NAME, strerror(-rc));
	} else {
		printf("events %zu of %zu, slots %llu..%llu, raw key %zu bits, test %zu bits\n", next, n,
		       (unsigned long long)b->c.slot_begin, (unsigned long long)b->c.slot_end,
		       b->key_bits, b->test_bits);
	}
	dst_sift_block_free(b);
	dst_event_file_clear(&f);
	return rc ? QKDTOOL_FAILED : QKDTOOL_OK;
}
QKDTOOL_CMD("sift", "--in EVENTS --out SIFTFILE [--block-bits N] [--key-a FILE] [--key-b FILE]",
	    run_sift)
