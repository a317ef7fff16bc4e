/* The worker's engine: the two-party block pipeline of distill/include/dst_block.h for one link.
 *
 * Bob speaks first. Alice's side starts lazily on Bob's first message (the parameter-estimation
 * request, docs/distill_messages.md): it carries Bob's disclosed test-basis bits, and Alice's node
 * (which never saw Bob's bits during sifting) counts the test errors per decoy class from them
 * with the class of every test bit her sifting recorded; the pipeline cross-checks the total. */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dst_block.h"
#include "dst_ldpc.h"
#include "dst_reconcile.h"

/* Parameter-estimation request (docs/distill_messages.md): 16-byte header (u8 type 0x41, ...),
 * body u64 key bits, u64 test bits, counts, then the test bits from body offset 80. */
#define PE_REQ_TYPE 0x41
#define PE_HDR 16
#define PE_TEST_OFF 80

struct dp_engine {
	enum dp_role role;
	struct dst_block_config cfg;
	struct dst_block_alice *alice;
	struct dst_block_bob *bob;
	struct dst_block_input in;
	const uint64_t *test_lo, *test_hi; /* Alice: the block's test-bit class planes */
	int alice_started;
	size_t max_msg;
};

struct dp_engine *dp_engine_create(const struct dp_link_cfg *lc, const char **why)
{
	struct dp_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return *why = "out of memory (engine)", NULL;
	e->role = lc->role;
	struct dst_link_params lp;
	dst_link_params_default(&lp);
	for (int k = 0; k < 3; k++) {
		if (lc->mu[k] > 0 || lc->p_mu[k] > 0) {
			lp.mu[k] = lc->mu[k];
			lp.p_mu[k] = lc->p_mu[k];
		}
	}
	dst_fk_config_default(&e->cfg.fk, &lp);
	if (lc->qber_max > 0)
		e->cfg.fk.qber_max = lc->qber_max;
	e->cfg.rec.method = lc->rec_method ? (enum dst_rec_method)lc->rec_method : DST_REC_CASCADE;
	e->cfg.rec.max_bits = lc->block_bits;
	e->cfg.rec.seed = lc->seed;
	e->cfg.rec.ldpc_dir = lc->ldpc_codes;
	e->cfg.max_test_bits = lc->test_bits ? lc->test_bits : lc->block_bits;
	if (!dst_rec_method_available(e->cfg.rec.method)) {
		free(e);
		return *why = "reconciliation method not available in this build", NULL;
	}
	if (e->cfg.rec.method == DST_REC_LDPC) { /* say which part of the configuration is wrong */
		struct dst_ldpc_family *fam;
		char err[DST_LDPC_ERRLEN];
		if (dst_ldpc_family_load(lc->ldpc_codes, &fam, err)) {
			free(e);
			return *why = "LDPC code family cannot be loaded (ldpc-codes)", NULL;
		}
		dst_ldpc_family_free(fam);
	}
	if (lc->role == DP_ROLE_ALICE)
		e->alice = dst_block_alice_create(&e->cfg);
	else
		e->bob = dst_block_bob_create(&e->cfg);
	if (!e->alice && !e->bob) {
		free(e);
		return *why = "cannot create the block pipeline (parameters or memory)", NULL;
	}
	e->max_msg = dst_block_max_msg(&e->cfg);
	return e;
}

void dp_engine_free(struct dp_engine *e)
{
	if (!e)
		return;
	dst_block_alice_free(e->alice);
	dst_block_bob_free(e->bob);
	free(e);
}

size_t dp_engine_max_msg(const struct dp_engine *e)
{
	return e->max_msg;
}

static int map_rc(int rc)
{
	if (rc < 0)
		return rc;
	return rc == DST_BLOCK_DONE ? DP_ENG_DONE : DP_ENG_CONTINUE;
}

int dp_engine_begin(struct dp_engine *e, const struct dst_sift_block *b,
		    uint64_t block_seq, uint8_t *out, size_t cap, size_t *out_len)
{
	bool alice = e->role == DP_ROLE_ALICE;
	e->in = (struct dst_block_input){
		.seq = block_seq,
		.key = alice ? b->key_a : b->key_b,
		.key_bits = b->key_bits,
		.test = alice ? b->test_a : b->test_b,
		.test_bits = b->test_bits,
		.counts = b->c,
	};
	/* Error counts from sifting are meaningless here: each node knows only its own bits. */
	memset(e->in.counts.m_test, 0, sizeof(e->in.counts.m_test));
	memset(e->in.counts.m_key, 0, sizeof(e->in.counts.m_key));
	*out_len = 0;
	if (alice) {
		e->test_lo = b->test_cls_lo;
		e->test_hi = b->test_cls_hi;
		e->alice_started = 0;
		return DP_ENG_CONTINUE;
	}
	int rc = dst_block_bob_begin(e->bob, &e->in);
	if (rc)
		return rc;
	return map_rc(dst_block_bob_step(e->bob, NULL, 0, out, cap, out_len));
}

/* Alice: test errors per class from Bob's disclosed test bits. */
static void count_test_errors(struct dp_engine *e, const uint8_t *in, size_t len)
{
	if (len < PE_HDR + PE_TEST_OFF || in[0] != PE_REQ_TYPE)
		return; /* not a PE request: the pipeline rejects it itself */
	const uint8_t *bt = in + PE_HDR + PE_TEST_OFF;
	const uint8_t *at = (const uint8_t *)e->in.test;
	uint64_t tb = e->in.test_bits;
	if ((len - PE_HDR - PE_TEST_OFF) * 8 < tb)
		return;
	/* A word at a time against the class planes (bits past tb masked off). */
	for (uint64_t w = 0; w * 64 < tb; w++) {
		uint64_t a, b;
		size_t k = tb - w * 64 >= 64 ? 8 : (size_t)((tb - w * 64 + 7) / 8);
		a = b = 0;
		memcpy(&a, at + 8 * w, k);
		memcpy(&b, bt + 8 * w, k);
		uint64_t x = a ^ b, lo = e->test_lo[w], hi = e->test_hi[w];
		if (tb - w * 64 < 64)
			x &= (1ull << (tb - w * 64)) - 1;
		e->in.counts.m_test[0] += (uint64_t)__builtin_popcountll(x & ~lo & ~hi);
		e->in.counts.m_test[1] += (uint64_t)__builtin_popcountll(x & lo & ~hi);
		e->in.counts.m_test[2] += (uint64_t)__builtin_popcountll(x & hi & ~lo);
	}
}

int dp_engine_step(struct dp_engine *e, const uint8_t *in, size_t in_len, uint8_t *out,
		   size_t cap, size_t *out_len)
{
	*out_len = 0;
	if (e->role == DP_ROLE_BOB)
		return map_rc(dst_block_bob_step(e->bob, in, in_len, out, cap, out_len));
	if (!e->alice_started) {
		count_test_errors(e, in, in_len);
		int rc = dst_block_alice_begin(e->alice, &e->in);
		if (rc)
			return rc;
		e->alice_started = 1;
	}
	return map_rc(dst_block_alice_step(e->alice, in, in_len, out, cap, out_len));
}

void dp_engine_result(struct dp_engine *e, struct dp_engine_result *r)
{
	const struct dst_block_report *rep = e->alice ? dst_block_alice_report(e->alice)
						      : dst_block_bob_report(e->bob);
	const uint64_t *key = e->alice ? dst_block_alice_key(e->alice) : dst_block_bob_key(e->bob);
	memset(r, 0, sizeof(*r));
	r->ok = rep->status == DST_BLOCK_OK && key != NULL;
	r->secret_bits = r->ok ? rep->secret_bits : 0;
	r->key = key;
	r->leak_bits = rep->leak_bits + rep->tag_bits;
	r->qber_bits = rep->reconciled_bits;
	r->qber_errors = (uint64_t)(rep->qber_key * (double)rep->reconciled_bits + 0.5);
	r->status = (int)rep->status;
}

void dp_engine_abort(struct dp_engine *e)
{
	/* The next begin wipes the abandoned block's secrets. */
	e->alice_started = 0;
}
