/* Event-file decoder on arbitrary bytes: either a one-line rejection or a file that sifts with
 * every kernel variant to the same block and encodes back to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "dst_cpu.h"
#include "dst_sift.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dst_event_file f;
	const char *why = NULL;
	if (dst_event_file_decode(data, size, &f, &why)) {
		if (!why || !*why)
			abort(); /* every rejection says why */
		return 0;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	if (dst_event_file_encode(&f, &buf, &len) || len != size || memcmp(buf, data, size))
		abort();
	free(buf);
	size_t n = f.ev->n;
	struct dst_sift_block *ref = NULL;
	for (const struct dst_sift_variant *v = dst_sift_variants; v->name; v++) {
		if ((dst_cpu_detected() & v->needs) != v->needs)
			continue;
		struct dst_sift_block *b = dst_sift_block_create(n ? n : 1, n ? n : 1);
		if (!b)
			abort();
		dst_sift_block_reset(b, f.slot_begin);
		if (v->events(b, f.ev, 0) != n)
			abort();
		if (!ref) {
			ref = b;
			continue;
		}
		if (b->key_bits != ref->key_bits || b->test_bits != ref->test_bits ||
		    memcmp(&b->c, &ref->c, sizeof(b->c)) ||
		    memcmp(b->key_a, ref->key_a, 8 * ((b->key_bits + 63) / 64)))
			abort();
		dst_sift_block_free(b);
	}
	dst_sift_block_free(ref);
	dst_event_file_clear(&f);
	return 0;
}
