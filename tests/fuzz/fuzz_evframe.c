/* Fuzz target: detector-event frame parser and sparse decoder. Whatever the input, parsing never
 * reads out of bounds; an accepted dense frame rebuilds byte for byte; an accepted sparse frame
 * re-encodes (canonically) to words that decode to the same events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_evframe.h"

static uint64_t slots[65536], slots2[65536];
static uint8_t syms[65536], syms2[65536], buf[300000];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_evf_hdr h;
	if (dp_evf_parse(data, size, &h) != DP_ERR_OK)
		return 0;
	const uint8_t *pl = data + DP_EVF_HDR_LEN;
	if (h.flags & DP_EVF_FLAG_DENSE) {
		for (unsigned i = 0; i < h.count; i++)
			syms[i] = dp_evf_dense_sym(pl, i);
		struct dp_evf_hdr g = h;
		int n = dp_evf_build_dense(buf, sizeof(buf), &g, syms);
		if (n != (int)(DP_EVF_HDR_LEN + h.payload_len) || memcmp(buf, data, (size_t)n))
			abort();
		return 0;
	}
	if (dp_evf_decode_sparse(&h, pl, slots, syms) != DP_ERR_OK)
		return 0;
	for (unsigned i = 1; i < h.count; i++)
		if (slots[i] <= slots[i - 1] || slots[0] < h.first_slot)
			abort(); /* the decoder must only produce increasing slots */
	struct dp_evf_hdr g = h;
	int n = dp_evf_build_sparse(buf, sizeof(buf), &g, slots, syms, h.count);
	if (n < 0)
		abort();
	struct dp_evf_hdr k;
	if (dp_evf_parse(buf, (size_t)n, &k) != DP_ERR_OK ||
	    dp_evf_decode_sparse(&k, buf + DP_EVF_HDR_LEN, slots2, syms2) != DP_ERR_OK ||
	    k.count != h.count || memcmp(slots, slots2, h.count * sizeof(slots[0])) ||
	    memcmp(syms, syms2, h.count))
		abort();
	return 0;
}
