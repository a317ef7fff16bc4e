/* Sift-file decoder on arbitrary bytes: either a one-line rejection or a block whose counts the
 * finite-key estimate accepts as input and which encodes back to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "dst_estimate.h"
#include "dst_sift.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dst_link_params p;
	struct dst_sift_block *b = NULL;
	const char *why = NULL;
	if (dst_sift_file_decode(data, size, &p, &b, &why)) {
		if (!why || !*why || b)
			abort();
		return 0;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	if (dst_sift_file_encode(&p, b, &buf, &len) || len != size || memcmp(buf, data, size))
		abort();
	free(buf);
	struct dst_fk_config cfg;
	dst_fk_config_default(&cfg, &p);
	struct dst_fk_stats s;
	dst_fk_stats_from_counts(&s, &b->c, 1);
	struct dst_fk_result r;
	if (dst_fk_estimate(&cfg, &s, 0, &r) || (r.status == DST_FK_OK && r.length <= 0))
		abort();
	dst_sift_block_free(b);
	return 0;
}
