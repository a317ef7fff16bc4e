/* qkdtool distill: the whole chain on an event file, both sides in-process through the block
 * pipeline's messages: sift -> estimate -> reconcile -> verify -> PA. Prints each block's
 * finite-key report and the key rate after every stage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dst_block.h"
#include "dst_model.h"
#include "dst_sift.h"
#include "qkdtool.h"

static const char *NAME = "distill";

struct totals {
	uint64_t blocks, blocks_ok, pulses, events, sifted, test, estimated, reconciled, leak, tag, secret;
	uint64_t rounds, msg_bytes;
	double seconds;
};

/* Both sides of one block through their messages. Returns 0 or a negative errno. */
static int run_block(struct dst_block_alice *A, struct dst_block_bob *B, uint8_t *m1, uint8_t *m2,
		     size_t cap, const struct dst_sift_block *sb, uint64_t seq)
{
	struct dst_block_input ia = {seq, sb->key_a, sb->key_bits, sb->test_a, sb->test_bits, sb->c};
	struct dst_block_input ib = {seq, sb->key_b, sb->key_bits, sb->test_b, sb->test_bits, sb->c};
	memset(ib.counts.m_test, 0, sizeof(ib.counts.m_test)); /* Bob learns them from Alice */
	memset(ib.counts.m_key, 0, sizeof(ib.counts.m_key));
	int rc = dst_block_alice_begin(A, &ia);
	if (!rc)
		rc = dst_block_bob_begin(B, &ib);
	if (rc)
		return rc;
	size_t l1 = 0, l2 = 0;
	int rb = dst_block_bob_step(B, NULL, 0, m1, cap, &l1);
	while (rb >= 0 && l1) {
		int ra = dst_block_alice_step(A, m1, l1, m2, cap, &l2);
		if (ra < 0)
			return ra;
		if (rb == DST_BLOCK_DONE || !l2)
			break;
		rb = dst_block_bob_step(B, m2, l2, m1, cap, &l1);
		if (ra == DST_BLOCK_DONE)
			break;
	}
	return rb < 0 ? rb : 0;
}

static void print_block(const struct dst_block_report *r, const struct dst_block_report *rb, int json,
			int first)
{
	const struct dst_fk_result *fk = &r->fk;
	if (json) {
		printf("%s{\"seq\":%llu,\"status\":\"%s\",\"fk_status\":\"%s\",\"pulses\":%llu,"
		       "\"sifted_bits\":%llu,\"test_bits\":%llu,\"qber_test\":%.6f,\"qber_key\":%.6f,"
		       "\"reconciled_bits\":%llu,\"leak_bits\":%llu,\"efficiency\":%.4f,\"round_trips\":%u,"
		       "\"tag_bits\":%u,\"s0\":%.1f,\"s1\":%.1f,\"phi\":%.6f,\"penalty\":%.2f,"
		       "\"secret_bits\":%llu,\"keys_match\":%s}",
		       first ? "" : ",", (unsigned long long)r->seq, dst_block_status_str(r->status),
		       dst_fk_status_str(fk->status), (unsigned long long)r->pulses,
		       (unsigned long long)r->sifted_bits, (unsigned long long)r->test_bits, r->qber_test,
		       r->qber_key, (unsigned long long)r->reconciled_bits,
		       (unsigned long long)r->leak_bits, r->efficiency, r->rounds, r->tag_bits, fk->s0,
		       fk->s1, fk->phi, fk->penalty, (unsigned long long)r->secret_bits,
		       rb->status == r->status && rb->secret_bits == r->secret_bits ? "true" : "false");
		return;
	}
	printf("block %llu: %s", (unsigned long long)r->seq, dst_block_status_str(r->status));
	if (r->status == DST_BLOCK_ABORT_ESTIMATE || r->status == DST_BLOCK_ABORT_LENGTH)
		printf(" (%s)", dst_fk_status_str(fk->status));
	printf("\n  sifted %llu bits from %llu pulses, test %llu bits, QBER test %.3f%% key %.3f%%\n",
	       (unsigned long long)r->sifted_bits, (unsigned long long)r->pulses,
	       (unsigned long long)r->test_bits, 100 * r->qber_test, 100 * r->qber_key);
	if (r->reconciled_bits)
		printf("  reconciled %llu bits: leak %llu (f = %.4f), %u round trips, tag %u bits\n",
		       (unsigned long long)r->reconciled_bits, (unsigned long long)r->leak_bits,
		       r->efficiency, r->rounds, r->tag_bits);
	if (fk->n_key > 0)
		printf("  finite key: s0 %.1f, s1 %.1f, phi %.5f, penalty %.1f -> l = %lld\n", fk->s0,
		       fk->s1, fk->phi, fk->penalty, (long long)fk->length);
	printf("  secret key %llu bits%s\n", (unsigned long long)r->secret_bits,
	       r->status == DST_BLOCK_OK ? (rb->secret_bits == r->secret_bits ? ", identical on both sides" : ", MISMATCH") : "");
}

static int run_distill(int argc, char **argv)
{
	static const struct option opts[] = {
		{"in", required_argument, 0, 'i'},          {"method", required_argument, 0, 'm'},
		{"block-bits", required_argument, 0, 'b'},  {"json", no_argument, 0, 'j'},
		{"eps-sec", required_argument, 0, 's'},     {"eps-cor", required_argument, 0, 'c'},
		{"schedule", required_argument, 0, 'S'},
		{"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
	const char *in = NULL;
	enum dst_rec_method method = DST_REC_CASCADE;
	uint64_t block_bits = 1u << 20;
	double eps_sec = 1e-10, eps_cor = 1e-15;
	int json = 0, c, li = 0;
	uint8_t schedule = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		int rc = 0;
		switch (c) {
		case 'i': in = optarg; break;
		case 'm':
			if (dst_rec_method_parse(optarg, &method))
				return qkdtool_bad(NAME, "--method %s: expected ldpc or cascade", optarg);
			break;
		case 'b': rc = qkdtool_parse_u64(optarg, 1024, 1u << 26, &block_bits); break;
		case 'j': json = 1; break;
		case 's': rc = qkdtool_parse_double(optarg, 1e-300, 0.5, &eps_sec); break;
		case 'c': rc = qkdtool_parse_double(optarg, 1e-300, 0.5, &eps_cor); break;
		case 'S':
			if (!strcmp(optarg, "waves"))
				schedule = 0;
			else if (!strcmp(optarg, "concurrent"))
				schedule = 1;
			else
				return qkdtool_bad(NAME, "--schedule %s: expected waves or concurrent", optarg);
			break;
		case 'h':
			printf("usage: qkdtool distill --in EVENTS [--method cascade|ldpc] [--block-bits N] "
			       "[--json] [--eps-sec E] [--eps-cor E] [--schedule waves|concurrent]\n");
			return QKDTOOL_OK;
		default:
			return qkdtool_bad(NAME, "unknown option or missing value (qkdtool distill --help)");
		}
		if (rc)
			return qkdtool_bad(NAME, "bad value '%s' for --%s", optarg, opts[li].name);
	}
	if (optind != argc)
		return qkdtool_bad(NAME, "unexpected argument '%s'", argv[optind]);
	if (!in)
		return qkdtool_bad(NAME, "--in EVENTS is required");
	if (!dst_rec_method_available(method))
		return qkdtool_bad(NAME, "--method %s: not available in this build", dst_rec_method_name(method));
	struct dst_event_file f;
	int rc = qkdtool_load_events(NAME, in, &f);
	if (rc)
		return rc;

	struct dst_block_config cfg = {0};
	cfg.rec.method = method;
	cfg.rec.max_bits = block_bits;
	cfg.rec.schedule = schedule;
	if (getrandom(&cfg.rec.seed, sizeof(cfg.rec.seed), 0) != sizeof(cfg.rec.seed))
		cfg.rec.seed = f.seed ^ 0x5DEECE66DULL;
	cfg.max_test_bits = block_bits;
	dst_fk_config_default(&cfg.fk, &f.params);
	cfg.fk.eps_sec = eps_sec;
	cfg.fk.eps_cor = eps_cor;
	struct dst_sift_block *sb = dst_sift_block_create(block_bits, block_bits);
	struct dst_block_alice *A = dst_block_alice_create(&cfg);
	struct dst_block_bob *B = dst_block_bob_create(&cfg);
	size_t cap = dst_block_max_msg(&cfg);
	uint8_t *m1 = cap ? malloc(cap) : NULL, *m2 = cap ? malloc(cap) : NULL;
	int status = QKDTOOL_FAILED;
	if (!sb || !A || !B || !m1 || !m2) {
		fprintf(stderr, "qkdtool %s: cannot set up the pipeline for %llu-bit blocks\n", NAME,
			(unsigned long long)block_bits);
		goto out;
	}
	double rate = f.params.pulse_rate_hz;
	if (json)
		printf("{\"method\":\"%s\",\"block_bits\":%llu,\"pulse_rate_hz\":%.6g,\"loss_db\":%.3f,\"blocks\":[",
		       dst_rec_method_name(method), (unsigned long long)block_bits, rate, f.params.loss_db);
	else
		printf("qkdtool distill: %zu events over %llu pulses (loss %.2f dB, %.3g pulses/s), "
		       "%s, blocks of %llu bits\n",
		       f.ev->n, (unsigned long long)(f.slot_end - f.slot_begin), f.params.loss_db, rate,
		       dst_rec_method_name(method), (unsigned long long)block_bits);
	struct totals t = {0};
	t.pulses = f.slot_end - f.slot_begin;
	t.events = f.ev->n;
	size_t next = 0;
	uint64_t slot = f.slot_begin;
	while (next < f.ev->n) {
		dst_sift_block_reset(sb, slot);
		next = dst_sift_events(sb, f.ev, next);
		if (next == f.ev->n)
			sb->c.slot_end = f.slot_end;
		slot = sb->c.slot_end;
		if (!sb->key_bits)
			break;
		struct timespec t0, t1;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		rc = run_block(A, B, m1, m2, cap, sb, t.blocks);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
		if (rc) {
			fprintf(stderr, "qkdtool %s: block %llu: pipeline error: %s\n", NAME,
				(unsigned long long)t.blocks, strerror(-rc));
			goto out;
		}
		t.seconds += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
		const struct dst_block_report *ra = dst_block_alice_report(A), *rb = dst_block_bob_report(B);
		const uint64_t *ka = dst_block_alice_key(A), *kb = dst_block_bob_key(B);
		int same = ra->status == DST_BLOCK_OK && ka && kb &&
			   !memcmp(ka, kb, (ra->secret_bits + 7) / 8) && rb->secret_bits == ra->secret_bits;
		if (ra->status == DST_BLOCK_OK && !same) {
			fprintf(stderr, "qkdtool %s: block %llu: keys differ\n", NAME,
				(unsigned long long)t.blocks);
			goto out;
		}
		print_block(ra, rb, json, t.blocks == 0);
		t.blocks++;
		t.sifted += ra->sifted_bits;
		t.test += ra->test_bits;
		if (ra->reconciled_bits) /* passed parameter estimation */
			t.estimated += ra->sifted_bits;
		if (ra->status == DST_BLOCK_OK) {
			t.blocks_ok++;
			t.reconciled += ra->reconciled_bits;
			t.leak += ra->leak_bits;
			t.tag += ra->tag_bits;
			t.secret += ra->secret_bits;
		}
		t.rounds += ra->rounds;
		t.msg_bytes += ra->msg_bytes;
	}
	double secs = rate > 0 ? (double)t.pulses / rate : 0;
	double per = secs > 0 ? 1.0 / secs : 0;
	if (json) {
		printf("],\"pulses\":%llu,\"seconds_of_link\":%.6f,\"events\":%llu,\"sifted_bits\":%llu,"
		       "\"test_bits\":%llu,\"reconciled_bits\":%llu,\"leak_bits\":%llu,\"secret_bits\":%llu,"
		       "\"block_count\":%llu,\"blocks_ok\":%llu,\"rate_bps\":{\"detections\":%.1f,\"sifted\":%.1f,"
		       "\"after_estimation\":%.1f,\"after_reconciliation\":%.1f,\"secret\":%.1f},"
		       "\"secret_bits_per_pulse\":%.6g,\"cpu_seconds\":%.4f,\"mbit_per_s_cpu\":%.2f}\n",
		       (unsigned long long)t.pulses, secs, (unsigned long long)t.events,
		       (unsigned long long)t.sifted, (unsigned long long)t.test,
		       (unsigned long long)t.reconciled, (unsigned long long)t.leak,
		       (unsigned long long)t.secret, (unsigned long long)t.blocks,
		       (unsigned long long)t.blocks_ok, per * (double)t.events, per * (double)t.sifted,
		       per * (double)t.estimated, per * (double)(t.reconciled - t.leak),
		       per * (double)t.secret, t.pulses ? (double)t.secret / (double)t.pulses : 0,
		       t.seconds, t.seconds > 0 ? (double)t.sifted / t.seconds / 1e6 : 0);
	} else {
		printf("\nkey rate per stage (%.4f s of link time, %llu of %llu blocks produced key):\n",
		       secs, (unsigned long long)t.blocks_ok, (unsigned long long)t.blocks);
		printf("  %-28s %14.1f bit/s\n", "detections", per * (double)t.events);
		printf("  %-28s %14.1f bit/s  (+ %.1f bit/s test basis disclosed)\n", "sifted key", per * (double)t.sifted,
		       per * (double)t.test);
		printf("  %-28s %14.1f bit/s\n", "passed estimation", per * (double)t.estimated);
		printf("  %-28s %14.1f bit/s  (leak %llu bits)\n", "reconciled, minus leak",
		       per * (double)(t.reconciled - t.leak), (unsigned long long)t.leak);
		printf("  %-28s %14.1f bit/s  (%.3g bits per pulse)\n", "secret key (after PA)",
		       per * (double)t.secret, t.pulses ? (double)t.secret / (double)t.pulses : 0);
		printf("  post-processing: %.3f s CPU for %llu sifted bits = %.1f Mbit/s (both sides, one core)\n",
		       t.seconds, (unsigned long long)t.sifted, t.seconds > 0 ? (double)t.sifted / t.seconds / 1e6 : 0);
	}
	status = t.blocks_ok ? QKDTOOL_OK : QKDTOOL_FAILED;
out:
	dst_block_alice_free(A);
	dst_block_bob_free(B);
	dst_sift_block_free(sb);
	free(m1);
	free(m2);
	dst_event_file_clear(&f);
	return status;
}
QKDTOOL_CMD("distill", "--in EVENTS [--method cascade|ldpc] [--block-bits N] [--json]", run_distill)
