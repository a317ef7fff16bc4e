/* A floating-point layered sum-product decoder for the family's codes, for benchmarks only: the
 * reference that tells how much of the product decoder's efficiency gap is its 8-bit arithmetic
 * and how much is the code (same code, same plan, same frames). Not used by the product. */
#ifndef LDPC_FLOAT_H
#define LDPC_FLOAT_H

#include <stdbool.h>
#include <stdint.h>

#include "dst_ldpc.h"

struct ldpc_float;

struct ldpc_float *ldpc_float_create(const struct dst_ldpc_family *fam);
void ldpc_float_free(struct ldpc_float *d);
/* Decode Bob's key bits with Alice's syndrome under 'plan' (punctured filler unknown, nothing
 * revealed), exact channel LLRs from plan->qber, at most max_iter layered sweeps. Writes the
 * decoded key bits to 'out' (plan->key_bits bits) and the sweeps run to *iters. True when the
 * decoded word satisfies the syndrome. */
bool ldpc_float_decode(struct ldpc_float *d, const struct dst_ldpc_plan *plan, const uint64_t *bob,
		       const uint64_t *syndrome, unsigned max_iter, uint64_t *out, unsigned *iters);

#endif
