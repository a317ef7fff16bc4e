/* QC-LDPC reconciliation messages (dst_reconcile, method LDPC) on arbitrary bytes. The input is a
 * script of steps [u8 op | u16 length | bytes], run after both sides began a 200000-bit key with
 * 2.2% errors against an estimate of 2% (Bob's INIT already produced): op bit 0 picks the side
 * (0 = to Alice, 1 = to Bob); with op bit 1 set the step delivers the last message the other side
 * produced instead of the bytes (length 0), so a script of such steps is an honest exchange with
 * blind rounds that mutations leave at any point. Whatever arrives, a side answers within its
 * buffer, ends, or refuses with -EPROTO/-ENOSPC/-EINVAL, never crashes or reads out of bounds;
 * once both ended, they agree on the kept bits and the leak. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dst_reconcile.h"

#define BITS 200000
#define WORDS ((BITS + 63) / 64)

static struct dst_rec_alice *A;
static struct dst_rec_bob *B;
static uint8_t *from_a, *from_b, *in;
static size_t cap, len_a, len_b;
static uint64_t ka[WORDS], kb[WORDS], ra[WORDS], rb[WORDS];
static uint64_t filler_state;

/* Alice's filler from a fixed stream, so that a recorded exchange replays the same */
static int det_random(void *ctx, void *buf, size_t len)
{
	uint64_t *s = ctx;
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (uint8_t)(*s >> 56);
	}
	return 0;
}

static void init_once(void)
{
	if (A)
		return;
	struct dst_rec_config cfg = {.method = DST_REC_LDPC, .max_bits = BITS, .random = det_random,
				     .random_ctx = &filler_state};
	A = dst_rec_alice_create(&cfg);
	B = dst_rec_bob_create(&cfg);
	cap = dst_rec_max_msg(&cfg);
	from_a = malloc(cap);
	from_b = malloc(cap);
	in = malloc(cap);
	if (!A || !B || !from_a || !from_b || !in)
		abort();
	uint64_t s = 7;
	for (int i = 0; i < WORDS; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		ka[i] = kb[i] = s;
	}
	for (int k = 0; k < BITS * 22 / 1000; k++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t b = (s >> 33) % BITS;
		kb[b / 64] ^= 1ULL << (b % 64);
	}
}

static void check_rc(int rc, size_t len)
{
	if (rc < 0 && rc != -EPROTO && rc != -ENOSPC && rc != -EINVAL)
		abort();
	if (len > cap || (rc < 0 && len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	filler_state = 1;
	if (dst_rec_alice_begin(A, ka, BITS) || dst_rec_bob_begin(B, kb, BITS, 0.02) ||
	    dst_rec_bob_step(B, NULL, 0, from_b, cap, &len_b) != DST_REC_CONTINUE)
		abort();
	len_a = 0;
	int done_a = 0, done_b = 0;
	while (size >= 3) {
		unsigned side = data[0] & 1, relay = data[0] & 2;
		size_t n = (size_t)data[1] | (size_t)data[2] << 8;
		data += 3;
		size -= 3;
		if (n > size)
			n = size;
		if (n > cap)
			n = cap;
		const uint8_t *msg = data;
		size_t mlen = n;
		if (relay) { /* a copy: the step writes the sender's buffer */
			mlen = side ? len_a : len_b;
			memcpy(in, side ? from_a : from_b, mlen);
			msg = in;
		} else {
			data += n;
			size -= n;
		}
		size_t len = 0;
		int rc = side ? dst_rec_bob_step(B, msg, mlen, from_b, cap, &len)
			      : dst_rec_alice_step(A, msg, mlen, from_a, cap, &len);
		check_rc(rc, len);
		if (side) {
			len_b = len;
			done_b |= rc == DST_REC_DONE;
		} else {
			len_a = len;
			done_a |= rc == DST_REC_DONE;
		}
	}
	if (done_a && done_b) {
		struct dst_rec_stats sa, sb;
		dst_rec_alice_stats(A, &sa);
		dst_rec_bob_stats(B, &sb);
		uint64_t na = 0, nb = 0;
		if (sa.leak_bits != sb.leak_bits || sa.kept_bits != sb.kept_bits ||
		    dst_rec_alice_result(A, ra, &na) || dst_rec_bob_result(B, rb, &nb) || na != nb)
			abort();
	}
	return 0;
}
