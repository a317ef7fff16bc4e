/* Bob's decode schedule over the blind rounds of one frame (dst_ldpc_bob_blind): a capped first
 * decode, then a few sweeps per round continuing from the failed state, a decode from the channel
 * now and then and as the last chance. The budgets are measured (qkdperf --filter ldpc_blind):
 * resumed sweeps converge more slowly than a fresh decode at the same revealed bits, so a frame
 * that stays stuck for DST_LDPC_BLIND_RESTART rounds is better decoded again than revealed more. */
#include <errno.h>
#include <stdbool.h>

#include "dst_ldpc.h"

int dst_ldpc_bob_blind(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan, unsigned round,
		       const uint64_t *bob, const uint64_t *syndrome, const uint64_t *revealed,
		       uint64_t *corrected, struct dst_ldpc_result *res)
{
	if (!plan || !res)
		return -EINVAL;
	struct dst_ldpc_plan p = *plan;
	bool last = plan->revealed == plan->punctured; /* nothing more can be revealed */
	if (round == 0 || round % DST_LDPC_BLIND_RESTART == 0) {
		if (round == 0 && !last && p.max_iter > DST_LDPC_BLIND_FIRST_ITER)
			p.max_iter = DST_LDPC_BLIND_FIRST_ITER;
		return dst_ldpc_bob(ws, &p, bob, syndrome, revealed, corrected, res);
	}
	if (p.max_iter > DST_LDPC_BLIND_ROUND_ITER)
		p.max_iter = DST_LDPC_BLIND_ROUND_ITER;
	int rc = dst_ldpc_bob_resume(ws, &p, bob, revealed, corrected, res);
	if (rc || res->status == DST_LDPC_OK || !last)
		return rc;
	unsigned resumed = res->iterations;
	rc = dst_ldpc_bob(ws, plan, bob, syndrome, revealed, corrected, res);
	res->iterations += resumed;
	return rc;
}
