/* Shared by both sides of the block pipeline: wire constants (docs/distill_messages.md), framing
 * and the buffers each side keeps. */
#ifndef BLOCK_INTERNAL_H
#define BLOCK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dst_block.h"
#include "dst_pa.h"
#include "dst_verify.h"

enum {
	BLK_PE_REQ = 0x41,  /* Bob -> Alice: counts and disclosed test-basis bits */
	BLK_PE_ANS = 0x42,  /* Alice -> Bob: go/abort, test errors, QBER estimate */
	BLK_REC = 0x43,     /* either way: one reconciliation message */
	BLK_VERIFY = 0x44,  /* Bob -> Alice: last reconciliation message, verification seed and tag */
	BLK_PA = 0x45,      /* Alice -> Bob: key length and Toeplitz seed */
	BLK_CONFIRM = 0x46, /* Bob -> Alice: Bob holds the key */
	BLK_ABORT = 0x4F,   /* either way: the block is abandoned */
};
#define BLK_VERSION 1
#define BLK_HDR 16    /* u8 type, u8 version, u16 0, u32 body length, u64 seq */
#define BLK_TRAILER 4 /* u32 CRC-32C of header and body */
#define BLK_PE_REQ_FIXED 80
#define BLK_PE_ANS_BODY 40
#define BLK_PA_FIXED 48
#define BLK_VERIFY_FIXED 44 /* u32 rec length, rec bytes, seed 16, u32 tag bits, u32 0, tag 16 */
#define BLK_ABORT_BODY 8

static inline void blk_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void blk_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t blk_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t blk_get64(const uint8_t *p)
{
	return (uint64_t)blk_get32(p) | (uint64_t)blk_get32(p + 4) << 32;
}
static inline void blk_putf(uint8_t *p, double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	blk_put64(p, v);
}
static inline double blk_getf(const uint8_t *p)
{
	uint64_t v = blk_get64(p);
	double d;
	memcpy(&d, &v, 8);
	return d;
}

/* Header at out; the caller writes body_len bytes at out + BLK_HDR, then blk_seal(). */
static inline void blk_open(uint8_t *out, unsigned type, uint64_t seq, uint32_t body_len)
{
	out[0] = (uint8_t)type;
	out[1] = BLK_VERSION;
	out[2] = out[3] = 0;
	blk_put32(out + 4, body_len);
	blk_put64(out + 8, seq);
}
/* Appends the CRC; returns the message length. */
static inline size_t blk_seal(uint8_t *out)
{
	size_t len = BLK_HDR + blk_get32(out + 4);
	blk_put32(out + len, dst_crc32c(out, len));
	return len + BLK_TRAILER;
}
/* Checks framing, version, sequence and CRC; returns the type (>0) or -EPROTO. */
int blk_check(const uint8_t *in, size_t in_len, uint64_t seq, const uint8_t **body, uint32_t *body_len);

int blk_random(const struct dst_block_config *cfg, void *buf, size_t len);
double blk_efficiency(uint64_t leak, uint64_t bits, uint64_t errors);
/* Words needed for the PA seed of an n-bit input with up to n output bits. */
static inline uint64_t blk_seed_words(uint64_t n) { return (2 * n + 63) / 64 + 1; }

#endif

/* Toeplitz PA of n reconciled bits down to l with a seed of n + l - 1 bits: one plan for (n, n)
 * reused across blocks of the same length (only the first l outputs use the seed's first
 * n + l - 1 bits, so the rest of the seed is zero). */
struct blk_pa {
	struct dst_pa_plan *plan;
	uint64_t n;
	uint64_t *y; /* n bits */
};
int blk_pa_run(struct blk_pa *pa, const uint64_t *x, uint64_t n, uint64_t l, uint64_t *seed,
	       uint64_t *key);
void blk_pa_free(struct blk_pa *pa, uint64_t max_bits);
