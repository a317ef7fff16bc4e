/* The worker's view of the two-party block pipeline (parameter estimation, reconciliation,
 * verification, privacy amplification: distill/include/dst_block.h). One engine per link, owned
 * by the link's worker; messages are opaque byte strings the worker carries as Qdist BLOCK
 * payloads (fragmented when larger than a frame). */
#ifndef DP_ENGINE_H
#define DP_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "dp_node.h"
#include "dst_sift.h"

enum { DP_ENG_DONE = 0, DP_ENG_CONTINUE = 1 };

struct dp_engine_result {
	int ok;                /* 1: key produced; 0: block failed (verification, QBER, length) */
	uint64_t secret_bits;
	const uint64_t *key;   /* secret_bits bits, PA order; valid until the next begin */
	uint64_t leak_bits;    /* bits disclosed by reconciliation and verification */
	uint64_t qber_errors, qber_bits;
	int status;            /* the pipeline's reason (enum dst_block_status) */
};

struct dp_engine;

struct dp_engine *dp_engine_create(const struct dp_link_cfg *lc, const char **why);
void dp_engine_free(struct dp_engine *e);
/* Largest message the engine sends or accepts. */
size_t dp_engine_max_msg(const struct dp_engine *e);
/* Start a block with this node's sifted bits (the engine may keep a pointer until DONE or abort).
 * May produce a first message (*out_len > 0). DP_ENG_CONTINUE, DP_ENG_DONE or -errno. */
int dp_engine_begin(struct dp_engine *e, const struct dst_sift_block *b,
		    uint64_t block_seq, uint8_t *out, size_t cap, size_t *out_len);
/* Feed one peer message; may produce one. DP_ENG_CONTINUE, DP_ENG_DONE or -errno (block failed). */
int dp_engine_step(struct dp_engine *e, const uint8_t *in, size_t in_len, uint8_t *out,
		   size_t cap, size_t *out_len);
/* After DONE. */
void dp_engine_result(struct dp_engine *e, struct dp_engine_result *r);
/* Abandon the block in progress and wipe its secrets. */
void dp_engine_abort(struct dp_engine *e);

#endif
