/* Shared by the Alice and Bob sides of Cascade: the per-link shuffle plan, the wire format
 * constants (docs/distill_messages.md) and small bit helpers. */
#ifndef CASCADE_INTERNAL_H
#define CASCADE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cascade_kernels.h"
#include "dst_cascade.h"

/* Shuffles built once per link: pass j reads the frame in the order perm[j][0..n-1]. */
struct cas_plan {
	uint32_t n;      /* frame bits */
	uint32_t nw;     /* words per frame */
	uint32_t L;      /* smallest L with 2^L >= n; half-frame blocks are 2^(L-1) */
	uint32_t passes; /* shuffles built */
	uint32_t max_frames;
	uint64_t seed;
	uint32_t *perm[DST_CASCADE_MAX_PASSES]; /* position in pass order -> frame bit */
	uint32_t *inv[DST_CASCADE_MAX_PASSES];  /* frame bit -> position in pass order */
	uint64_t *half[DST_CASCADE_MAX_PASSES]; /* frame bit p set when inv[p] >= 2^(L-1) */
};

int cas_plan_init(struct cas_plan *pl, const struct dst_cascade_cfg *cfg);
void cas_plan_fini(struct cas_plan *pl);
/* Checks Bob's parameters against the plan: 0 or -EPROTO. */
int cas_params_check(const struct cas_plan *pl, const struct dst_cascade_params *p);
/* Number of blocks of a pass with blocks of 2^b bits. */
static inline uint32_t cas_nblocks(const struct cas_plan *pl, unsigned b)
{
	return (uint32_t)(((uint64_t)pl->n + (1ull << b) - 1) >> b);
}
/* Parity of every block of pass j (one byte each) of one frame. Uses the half-split mask when
 * the pass has two blocks, else builds the pass-order copy (*built set). */
void cas_block_parities(const struct cas_plan *pl, unsigned j, unsigned b, const uint64_t *key,
			uint64_t *copy, uint8_t *built, uint8_t *par);

/* Message types and header (all integers little-endian). */
enum {
	CAS_MSG_INIT = 0x21,   /* Bob -> Alice: parameters; asks every block parity */
	CAS_MSG_QUERY = 0x22,  /* Bob -> Alice: sub-block parities wanted */
	CAS_MSG_PARITY = 0x23, /* Alice -> Bob: parities, in request order */
	CAS_MSG_DONE = 0x24,   /* Bob -> Alice: finished; his leak count */
};
#define CAS_VERSION 1
#define CAS_HDR 12 /* u8 type, u8 version, u16 reserved 0, u32 round, u32 count */
#define CAS_INIT_FIXED 32 /* u32 frame_bits, u32 frames, u64 key_bits, u64 seed, u32 passes, u32 0 */
/* QUERY body: u32 group count, then groups {u16 frame, u8 pass, u8 level, u32 k} each followed by
 * k node indices, strictly increasing, as LEB128 varints: the first absolute, then gaps - 1. */
#define CAS_GROUP_HDR 8
#define CAS_VARINT_MAX 5
#define CAS_DONE_BODY 16  /* u64 leak_bits, u64 bits_corrected */

static inline void cas_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void cas_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void cas_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t cas_get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t cas_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t cas_get64(const uint8_t *p)
{
	return (uint64_t)cas_get32(p) | (uint64_t)cas_get32(p + 4) << 32;
}
static inline void cas_put_hdr(uint8_t *p, unsigned type, uint32_t round, uint32_t count)
{
	p[0] = (uint8_t)type;
	p[1] = CAS_VERSION;
	p[2] = p[3] = 0;
	cas_put32(p + 4, round);
	cas_put32(p + 8, count);
}

static inline uint8_t *cas_put_varint(uint8_t *p, uint32_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}
/* Reads a varint of at most 5 bytes below end; NULL when truncated or too long. */
static inline const uint8_t *cas_get_varint(const uint8_t *p, const uint8_t *end, uint32_t *v)
{
	uint64_t x = 0;
	for (unsigned s = 0; s < 35 && p < end; s += 7) {
		uint8_t c = *p++;
		x |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80)) {
			if (x > UINT32_MAX)
				return NULL;
			*v = (uint32_t)x;
			return p;
		}
	}
	return NULL;
}

static inline unsigned cas_bit(const uint64_t *w, uint64_t i) { return (unsigned)(w[i >> 6] >> (i & 63)) & 1; }
static inline void cas_setbit(uint64_t *w, uint64_t i) { w[i >> 6] |= 1ull << (i & 63); }
static inline void cas_clrbit(uint64_t *w, uint64_t i) { w[i >> 6] &= ~(1ull << (i & 63)); }
static inline void cas_flipbit(uint64_t *w, uint64_t i) { w[i >> 6] ^= 1ull << (i & 63); }
static inline void cas_putbit(uint64_t *w, uint64_t i, unsigned v)
{
	w[i >> 6] = (w[i >> 6] & ~(1ull << (i & 63))) | ((uint64_t)(v & 1) << (i & 63));
}

/* Copy nbits bits starting at bit 'from' of src into dst starting at bit 0; dst's bits after
 * nbits up to the word end are cleared. */
void cas_bits_extract(uint64_t *dst, const uint64_t *src, uint64_t from, uint64_t nbits);
/* Write nbits bits of src (from bit 0) into dst starting at bit 'at'; other dst bits kept. */
void cas_bits_insert(uint64_t *dst, uint64_t at, const uint64_t *src, uint64_t nbits);

#endif
