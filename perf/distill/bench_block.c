/* The whole block pipeline per core: one 2^20-bit block of a simulated 25 km link through both
 * sides' state machines (estimate, reconcile, verify, PA), Cascade first as the baseline, then
 * QC-LDPC; input Mbit/s of sifted key. */
#include <stdlib.h>
#include <string.h>

#include "dst_block.h"
#include "dst_model.h"
#include "dst_sift.h"
#include "qkdperf.h"

struct blk_arg {
	struct dst_block_alice *A;
	struct dst_block_bob *B;
	struct dst_sift_block *sb;
	uint8_t *m1, *m2;
	size_t cap;
	uint64_t seq, secret;
};

static void run_block(void *p)
{
	struct blk_arg *x = p;
	const struct dst_sift_block *sb = x->sb;
	struct dst_block_input ia = {x->seq, sb->key_a, sb->key_bits, sb->test_a, sb->test_bits, sb->c};
	struct dst_block_input ib = {x->seq, sb->key_b, sb->key_bits, sb->test_b, sb->test_bits, sb->c};
	x->seq++;
	dst_block_alice_begin(x->A, &ia);
	dst_block_bob_begin(x->B, &ib);
	size_t l1 = 0, l2 = 0;
	int rb = dst_block_bob_step(x->B, NULL, 0, x->m1, x->cap, &l1);
	while (rb >= 0 && l1) {
		int ra = dst_block_alice_step(x->A, x->m1, l1, x->m2, x->cap, &l2);
		if (ra < 0 || rb == DST_BLOCK_DONE || !l2)
			break;
		rb = dst_block_bob_step(x->B, x->m2, l2, x->m1, x->cap, &l1);
		if (ra == DST_BLOCK_DONE)
			break;
	}
	x->secret = dst_block_alice_report(x->A)->secret_bits;
	QP_KEEP(x->secret);
}

static void bench_block(struct qp_run *r)
{
	const size_t bits = 1u << 20;
	struct dst_link_params link;
	dst_link_params_default(&link);
	link.loss_db = 5.0; /* 25 km */
	struct dst_model *m = dst_model_create(&link, 11);
	struct dst_events *ev = dst_events_create(1 << 20);
	struct dst_sift_block *sb = dst_sift_block_create(bits, bits);
	if (!m || !ev || !sb)
		goto out;
	dst_sift_block_reset(sb, 0);
	while (!dst_sift_block_full(sb)) {
		ev->n = 0;
		dst_model_events(m, ev, UINT64_MAX);
		size_t used = dst_sift_events(sb, ev, 0);
		if (used < ev->n)
			break;
	}
	enum dst_rec_method methods[] = {DST_REC_CASCADE, DST_REC_LDPC};
	for (int k = 0; k < 2; k++) {
		if (!dst_rec_method_available(methods[k]))
			continue;
		struct dst_block_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		cfg.rec.method = methods[k];
		cfg.rec.max_bits = bits;
		cfg.rec.seed = 5;
		cfg.max_test_bits = bits;
		dst_fk_config_default(&cfg.fk, &link);
		struct blk_arg x = {dst_block_alice_create(&cfg), dst_block_bob_create(&cfg), sb, NULL, NULL,
				    dst_block_max_msg(&cfg), 1, 0};
		x.m1 = malloc(x.cap);
		x.m2 = malloc(x.cap);
		if (x.A && x.B && x.m1 && x.m2) {
			run_block(&x); /* first block builds the PA plan */
			struct qp_case c = {"block_pipeline_25km", dst_rec_method_name(methods[k]),
					    sb->key_bits, "Mbit/s", (double)sb->key_bits, run_block, &x, k == 0};
			qp_measure(r, &c);
			const struct dst_block_report *rep = dst_block_alice_report(x.A);
			json_t *extra = json_object();
			json_object_set_new(extra, "status", json_string(dst_block_status_str(rep->status)));
			json_object_set_new(extra, "secret_bits", json_integer((json_int_t)rep->secret_bits));
			json_object_set_new(extra, "leak_bits", json_integer((json_int_t)rep->leak_bits));
			json_object_set_new(extra, "efficiency", json_real(rep->efficiency));
			json_object_set_new(extra, "round_trips", json_integer(rep->rounds));
			qp_report(r, "block_pipeline_secret_fraction", dst_rec_method_name(methods[k]),
				  sb->key_bits, (double)rep->secret_bits / (double)sb->key_bits, "bit/bit",
				  extra);
		}
		dst_block_alice_free(x.A);
		dst_block_bob_free(x.B);
		free(x.m1);
		free(x.m2);
	}
out:
	dst_model_free(m);
	dst_events_free(ev);
	dst_sift_block_free(sb);
}
QP_BENCH("block_pipeline", "estimate + reconcile + verify + PA of a 2^20-bit 25 km block, both sides",
	 bench_block)
