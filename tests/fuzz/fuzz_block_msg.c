/* Block-pipeline messages on arbitrary bytes. The input is a script of messages, each
 * [u8 flags | u16 length | bytes]: flags bit 0 picks the side (0 = to Alice, 1 = to Bob), bit 1
 * asks the harness to stamp the right block number and CRC-32C first so the fuzzer reaches the
 * body parsers. Whatever arrives, a side answers within its buffer or ends the block; it never
 * crashes, and a side that ended without status OK holds no key. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dst_block.h"

static struct dst_block_alice *A;
static struct dst_block_bob *B;
static struct dst_block_config cfg;
static uint8_t *out, *msg;
static size_t cap;
static uint64_t ka[128], kb[128], ta[16], tb[16];

static int fixed_random(void *ctx, void *buf, size_t len)
{
	memset(buf, 0x5a, len);
	return 0;
}

static void init_once(void)
{
	if (A)
		return;
	cfg.rec.method = DST_REC_CASCADE;
	cfg.rec.max_bits = 8192;
	cfg.rec.seed = 3;
	cfg.max_test_bits = 1024;
	dst_fk_config_default(&cfg.fk, NULL);
	cfg.random = fixed_random;
	A = dst_block_alice_create(&cfg);
	B = dst_block_bob_create(&cfg);
	cap = dst_block_max_msg(&cfg);
	out = malloc(cap);
	msg = malloc(cap + 70000);
	if (!A || !B || !out || !msg)
		abort();
	for (int i = 0; i < 128; i++)
		ka[i] = kb[i] = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
	kb[5] ^= 4;
	for (int i = 0; i < 16; i++)
		ta[i] = tb[i] = 0xD1B54A32D192ED03ULL * (uint64_t)(i + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	struct dst_block_input ia;
	memset(&ia, 0, sizeof(ia));
	ia.seq = 9;
	ia.key = ka;
	ia.key_bits = 8192;
	ia.test = ta;
	ia.test_bits = 1024;
	ia.counts.n_key[0] = 8192;
	ia.counts.n_test[0] = 1024;
	ia.counts.slot_end = 1000000;
	struct dst_block_input ib = ia;
	ib.key = kb;
	ib.test = tb;
	size_t len = 0;
	if (dst_block_alice_begin(A, &ia) || dst_block_bob_begin(B, &ib) ||
	    dst_block_bob_step(B, NULL, 0, out, cap, &len) != DST_BLOCK_CONTINUE)
		abort();
	int done[2] = {0, 0};
	while (size >= 3) {
		unsigned flags = data[0];
		size_t n = (size_t)data[1] | (size_t)data[2] << 8;
		data += 3;
		size -= 3;
		if (n > size)
			n = size;
		memcpy(msg, data, n);
		data += n;
		size -= n;
		if ((flags & 2) && n >= 20) {
			/* Stamp length, block number and CRC so the body parsers get the bytes. */
			uint32_t body = (uint32_t)(n - 20);
			for (int i = 0; i < 4; i++)
				msg[4 + i] = (uint8_t)(body >> (8 * i));
			for (int i = 0; i < 8; i++)
				msg[8 + i] = (uint8_t)(9ULL >> (8 * i));
			uint32_t crc = dst_crc32c(msg, n - 4);
			for (int i = 0; i < 4; i++)
				msg[n - 4 + i] = (uint8_t)(crc >> (8 * i));
		}
		unsigned side = flags & 1;
		if (done[side])
			continue;
		len = 0;
		int rc = side ? dst_block_bob_step(B, msg, n, out, cap, &len)
			      : dst_block_alice_step(A, msg, n, out, cap, &len);
		if (rc < 0 && rc != -ENOSPC && rc != -EINVAL)
			abort();
		if (len > cap)
			abort();
		if (rc == DST_BLOCK_DONE) {
			done[side] = 1;
			const struct dst_block_report *r = side ? dst_block_bob_report(B) : dst_block_alice_report(A);
			const uint64_t *k = side ? dst_block_bob_key(B) : dst_block_alice_key(A);
			if (r->status != DST_BLOCK_OK && k)
				abort();
		}
	}
	return 0;
}
