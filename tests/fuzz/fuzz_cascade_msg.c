/* Cascade messages on arbitrary bytes. The input is a script of messages, each
 * [u8 side (bit 0: 0 = to Alice, 1 = to Bob) | u16 length | bytes], delivered after both sides
 * began a key (Bob's INIT already produced). Whatever arrives, a side answers within its buffer,
 * ends, or refuses with -EPROTO/-ENOSPC/-EINVAL; it never crashes or reads out of bounds, and a
 * side that finished reports a leak equal to the parities it sent. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dst_cascade.h"

static struct dst_cascade_alice *A;
static struct dst_cascade_bob *B;
static uint8_t *out;
static size_t cap;
static uint64_t ka[128], kb[128];

static void init_once(void)
{
	if (A)
		return;
	struct dst_cascade_cfg cfg = {4096, 2, 8, 7};
	A = dst_cascade_alice_create(&cfg);
	B = dst_cascade_bob_create(&cfg);
	cap = dst_cascade_max_msg(&cfg);
	out = malloc(cap);
	if (!A || !B || !out)
		abort();
	uint64_t s = 1;
	for (int i = 0; i < 128; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		ka[i] = kb[i] = s;
		if (i % 3 == 0)
			kb[i] ^= 1ULL << (s >> 58);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	struct dst_cascade_params p;
	dst_cascade_params_for_qber(0.02, 4096, 8, &p);
	size_t len = 0;
	if (dst_cascade_alice_begin(A, ka, 8192) || dst_cascade_bob_begin(B, kb, 8192, &p) ||
	    dst_cascade_bob_step(B, NULL, 0, out, cap, &len) != DST_CASCADE_CONTINUE)
		abort();
	while (size >= 3) {
		unsigned side = data[0] & 1;
		size_t n = (size_t)data[1] | (size_t)data[2] << 8;
		data += 3;
		size -= 3;
		if (n > size)
			n = size;
		len = 0;
		int rc = side ? dst_cascade_bob_step(B, data, n, out, cap, &len)
			      : dst_cascade_alice_step(A, data, n, out, cap, &len);
		if (rc < 0 && rc != -EPROTO && rc != -ENOSPC && rc != -EINVAL)
			abort();
		if (len > cap || (rc < 0 && len))
			abort();
		data += n;
		size -= n;
	}
	return 0;
}
