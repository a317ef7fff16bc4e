/* qkdtool reconcile: run both sides of a reconciliation method in-process on two raw key files
 * (Alice's and Bob's, packed bits in PA order), write Bob's corrected key, report leak and f. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dst_estimate.h"
#include "dst_ldpc.h"
#include "dst_reconcile.h"
#include "qkdtool.h"

static const char *NAME = "reconcile";

static int run_reconcile(int argc, char **argv)
{
	static const struct option opts[] = {
		{"method", required_argument, 0, 'm'}, {"qber-est", required_argument, 0, 'q'},
		{"alice", required_argument, 0, 'a'},  {"bob", required_argument, 0, 'b'},
		{"out", required_argument, 0, 'o'},    {"json", no_argument, 0, 'j'},
		{"frame-bits", required_argument, 0, 'f'}, {"seed", required_argument, 0, 's'},
		{"schedule", required_argument, 0, 'S'}, {"fixed", no_argument, 0, 'F'},
		{"codes", required_argument, 0, 'C'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	struct dst_rec_config cfg = {.method = DST_REC_CASCADE, .seed = 1};
	const char *alice = NULL, *bob = NULL, *out = NULL;
	double qber = -1;
	int json = 0, c, li = 0;
	uint64_t v;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		switch (c) {
		case 'm':
			if (dst_rec_method_parse(optarg, &cfg.method))
				return qkdtool_bad(NAME, "--method %s: expected ldpc or cascade", optarg);
			break;
		case 'q':
			if (qkdtool_parse_double(optarg, 0.0, 0.25, &qber))
				return qkdtool_bad(NAME, "--qber-est %s: expected a number in [0, 0.25]", optarg);
			break;
		case 'a': alice = optarg; break;
		case 'b': bob = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = 1; break;
		case 'F': cfg.ldpc_fixed = true; break;
		case 'C': cfg.ldpc_dir = optarg; break;
		case 'f':
			if (qkdtool_parse_u64(optarg, 64, 1u << 22, &v))
				return qkdtool_bad(NAME, "--frame-bits %s: expected 64 .. 4194304", optarg);
			cfg.frame_bits = (uint32_t)v;
			break;
		case 's':
			if (qkdtool_parse_u64(optarg, 0, UINT64_MAX, &cfg.seed))
				return qkdtool_bad(NAME, "--seed %s: expected an unsigned integer", optarg);
			break;
		case 'S':
			if (!strcmp(optarg, "waves"))
				cfg.schedule = 0;
			else if (!strcmp(optarg, "concurrent"))
				cfg.schedule = 1;
			else
				return qkdtool_bad(NAME, "--schedule %s: expected waves or concurrent", optarg);
			break;
		case 'h':
			printf("usage: qkdtool reconcile --method ldpc|cascade --qber-est Q --alice FILE "
			       "--bob FILE --out FILE [--json] [--frame-bits N] [--seed S] "
			       "[--schedule waves|concurrent] [--fixed] [--codes DIR]\n");
			return QKDTOOL_OK;
		default:
			return qkdtool_bad(NAME, "unknown or incomplete option '%s' (see --help)",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return qkdtool_bad(NAME, "unexpected argument '%s'", argv[optind]);
	if (!alice || !bob || !out || qber < 0)
		return qkdtool_bad(NAME, "--alice, --bob, --out and --qber-est are required");
	if (!dst_rec_method_available(cfg.method))
		return qkdtool_bad(NAME, "--method %s: not available in this build",
				   dst_rec_method_name(cfg.method));
	if (cfg.method == DST_REC_LDPC) { /* the code family, read here to say what is wrong with it */
		struct dst_ldpc_family *fam;
		char err[DST_LDPC_ERRLEN];
		if (dst_ldpc_family_load(cfg.ldpc_dir, &fam, err))
			return qkdtool_bad(NAME, "LDPC codes: %s", err);
		dst_ldpc_family_free(fam);
	}

	uint8_t *da = NULL, *db = NULL;
	size_t la = 0, lb = 0;
	int rc = qkdtool_read_file(alice, &da, &la);
	if (rc)
		return qkdtool_bad(NAME, "%s: %s", alice, strerror(-rc));
	rc = qkdtool_read_file(bob, &db, &lb);
	if (rc) {
		free(da);
		return qkdtool_bad(NAME, "%s: %s", bob, strerror(-rc));
	}
	if (la != lb || la == 0 || la < 8) {
		free(da);
		free(db);
		return qkdtool_bad(NAME, "%s and %s: need two key files of the same length, at least 8 bytes "
				   "(%zu and %zu bytes)", alice, bob, la, lb);
	}
	uint64_t bits = 8ull * la, nw = (bits + 63) / 64;
	uint64_t *ka = calloc(nw, 8), *kb = calloc(nw, 8), *ra = calloc(nw, 8), *rb = calloc(nw, 8);
	cfg.max_bits = bits;
	size_t cap = dst_rec_max_msg(&cfg);
	uint8_t *m1 = cap ? malloc(cap) : NULL, *m2 = cap ? malloc(cap) : NULL;
	struct dst_rec_alice *A = NULL;
	struct dst_rec_bob *B = NULL;
	int status = QKDTOOL_FAILED;
	if (!ka || !kb || !ra || !rb || !m1 || !m2) {
		fprintf(stderr, "qkdtool %s: cannot allocate buffers for %llu bits\n", NAME,
			(unsigned long long)bits);
		goto done;
	}
	memcpy(ka, da, la);
	memcpy(kb, db, lb);
	A = dst_rec_alice_create(&cfg);
	B = dst_rec_bob_create(&cfg);
	if (!A || !B) {
		fprintf(stderr, "qkdtool %s: cannot set up %s for %llu bits\n", NAME,
			dst_rec_method_name(cfg.method), (unsigned long long)bits);
		goto done;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	rc = dst_rec_alice_begin(A, ka, bits);
	if (!rc)
		rc = dst_rec_bob_begin(B, kb, bits, qber);
	int sb = rc ? rc : dst_rec_run_local(A, B, m1, m2, cap);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	if (sb < 0) {
		fprintf(stderr, "qkdtool %s: reconciliation failed: %s\n", NAME, strerror(-sb));
		goto done;
	}
	uint64_t kept_a = 0, kept_b = 0;
	dst_rec_alice_result(A, ra, &kept_a);
	dst_rec_bob_result(B, rb, &kept_b);
	rc = qkdtool_write_file(out, rb, (kept_b + 7) / 8);
	if (rc) {
		fprintf(stderr, "qkdtool %s: %s: %s\n", NAME, out, strerror(-rc));
		goto done;
	}
	struct dst_rec_stats st;
	dst_rec_bob_stats(B, &st);
	uint64_t residual = 0;
	for (uint64_t i = 0; i < (kept_b + 63) / 64; i++)
		residual += (uint64_t)__builtin_popcountll(ra[i] ^ rb[i]);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
	double q = st.kept_bits ? (double)st.bits_corrected / (double)st.kept_bits : 0;
	double h = dst_h2(q);
	double f = h > 0 ? (double)st.leak_bits / ((double)st.kept_bits * h) : 0;
	if (json)
		printf("{\"method\": \"%s\", \"bits\": %llu, \"frames\": %u, \"frames_failed\": %u, "
		       "\"kept_bits\": %llu, \"leak_bits\": %llu, \"bits_corrected\": %llu, "
		       "\"qber_measured\": %.6f, \"efficiency\": %.4f, \"round_trips\": %u, "
		       "\"msg_bytes\": %llu, \"residual_errors\": %llu, \"cpu_seconds\": %.6f, "
		       "\"mbit_per_s\": %.2f}\n",
		       dst_rec_method_name(cfg.method), (unsigned long long)st.bits, st.frames,
		       st.frames_failed, (unsigned long long)st.kept_bits, (unsigned long long)st.leak_bits,
		       (unsigned long long)st.bits_corrected, q, f, st.rounds,
		       (unsigned long long)st.msg_bytes, (unsigned long long)residual, secs,
		       secs > 0 ? (double)bits / secs / 1e6 : 0);
	else
		printf("%s: %llu bits in %u frames (%u failed), leak %llu bits, QBER %.4f%%, f = %.4f, "
		       "%u round trips, %llu residual errors, %.1f Mbit/s\n",
		       dst_rec_method_name(cfg.method), (unsigned long long)st.bits, st.frames,
		       st.frames_failed, (unsigned long long)st.leak_bits, 100 * q, f, st.rounds,
		       (unsigned long long)residual, secs > 0 ? (double)bits / secs / 1e6 : 0);
	status = QKDTOOL_OK;
done:
	dst_rec_alice_free(A);
	dst_rec_bob_free(B);
	if (ka)
		explicit_bzero(ka, nw * 8);
	if (kb)
		explicit_bzero(kb, nw * 8);
	if (ra)
		explicit_bzero(ra, nw * 8);
	if (rb)
		explicit_bzero(rb, nw * 8);
	explicit_bzero(da, la);
	explicit_bzero(db, lb);
	free(ka);
	free(kb);
	free(ra);
	free(rb);
	free(da);
	free(db);
	free(m1);
	free(m2);
	return status;
}

QKDTOOL_CMD("reconcile",
	    "--method ldpc|cascade --qber-est Q --alice FILE --bob FILE --out FILE [--json]",
	    run_reconcile)
