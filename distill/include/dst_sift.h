/* Sifting: keep the detections where Alice's and Bob's bases agree. Z-basis (basis bit 0) bits go
 * to the raw key, X-basis bits to the test (phase-error) sample; matches and errors are counted per
 * intensity class for the decoy-state analysis (dst_estimate.h).
 *
 * Two kernels append into the same block, incrementally and without allocating:
 *  - dst_sift_events(): event lists (dst_events: slot indices + packed per-event planes), e.g. one
 *    call per received frame on the dataplane's RX lcore;
 *  - dst_sift_planes(): dense per-slot bit-planes with a detection mask (dst_planes).
 * Both stop exactly when the block's key area is full, so a block holds exactly cap_key raw-key
 * bits; the caller closes it and resumes the same input at the returned position in a new block.
 * Every CPU variant (portable, AVX2+BMI2 with PEXT) gives bit-identical output. */
#ifndef DST_SIFT_H
#define DST_SIFT_H

#include <stddef.h>
#include <stdint.h>

#include "dst_model.h"

/* What the decoy analysis needs, per intensity class c (0 signal, 1 decoy, 2 vacuum/weak). */
struct dst_sift_counts {
	uint64_t n_key[DST_MAX_CLASSES];  /* Z-basis matches: raw-key bits from class c */
	uint64_t n_test[DST_MAX_CLASSES]; /* X-basis matches */
	uint64_t m_test[DST_MAX_CLASSES]; /* X-basis errors (Alice's bit != Bob's bit) */
	uint64_t m_key[DST_MAX_CLASSES];  /* Z-basis errors: what error correction will have to fix */
	uint64_t events;                  /* detections looked at (matched or not) */
	uint64_t slot_begin, slot_end;    /* slot window of the block: pulses sent = end - begin */
};

struct dst_sift_block {
	size_t cap_key, cap_test;   /* capacities in bits */
	size_t key_bits, test_bits; /* bits appended so far */
	uint64_t *key_a, *key_b;    /* raw key, Alice's and Bob's bits, PA bit order */
	uint64_t *test_a, *test_b;  /* X-basis bits, Alice's and Bob's */
	uint64_t *test_cls_lo, *test_cls_hi; /* intensity class of each test bit (two bit-planes) */
	struct dst_sift_counts c;
};

/* Allocate a block for cap_key raw-key bits and cap_test X-basis bits (both > 0). NULL: -ENOMEM or
 * zero capacity. The block starts empty with slot_begin = slot_end = 0. */
struct dst_sift_block *dst_sift_block_create(size_t cap_key, size_t cap_test);
void dst_sift_block_free(struct dst_sift_block *b);
/* Empty the block (bits zeroed) and start its slot window at slot_begin. */
void dst_sift_block_reset(struct dst_sift_block *b, uint64_t slot_begin);
/* True when no more raw-key or test bits fit. */
static inline int dst_sift_block_full(const struct dst_sift_block *b)
{
	return b->key_bits >= b->cap_key || b->test_bits >= b->cap_test;
}

/* A node that holds one party's bits only passes them as a_bit and sets b_bit = NULL (in
 * dst_events or dst_planes): Bob's bits are then taken equal to Alice's, so key_b/test_b repeat
 * key_a/test_a and no errors are counted; dst_sift_test_errors() counts the test-basis errors once
 * the peer has disclosed its test bits. */

/* Sift events [from, ev->n) of ev into b. Returns the index of the first event not consumed:
 * ev->n when all fit, less when the block filled up (then c.slot_end is that event's slot).
 * Otherwise c.slot_end becomes the last consumed event's slot + 1 when that is larger; a caller
 * that knows the true window end (pulses sent) may set c.slot_end itself. With ev->slot NULL
 * the slots are the caller's: c.slot_end is left alone. */
size_t dst_sift_events(struct dst_sift_block *b, const struct dst_events *ev, size_t from);

/* Sift slots [from, pl->nslots) of dense planes (only where det is set). Returns the first slot
 * (relative to pl->slot0) not consumed; c.slot_end becomes pl->slot0 + that position. */
size_t dst_sift_planes(struct dst_sift_block *b, const struct dst_planes *pl, size_t from);

/* Test-basis errors per class between the block's test_a and the peer's disclosed test bits
 * (the same order, b->test_bits bits): sets b->c.m_test[] and returns their sum. */
uint64_t dst_sift_test_errors(struct dst_sift_block *b, const uint64_t *peer_test);

/* Sift file (docs/formats.md, "sift file"): the link parameters, the block's counts and its four
 * bit strings. encode: 0, -EINVAL, -ENOMEM. decode: 0 with *b a new block sized to the file
 * (free with dst_sift_block_free), -EINVAL with *why a one-line reason, -ENOMEM. */
int dst_sift_file_encode(const struct dst_link_params *p, const struct dst_sift_block *b,
			 uint8_t **buf, size_t *len);
int dst_sift_file_decode(const uint8_t *buf, size_t len, struct dst_link_params *p,
			 struct dst_sift_block **b, const char **why);

/* Every variant, portable reference first, NULL-terminated; for tests and benchmarks. */
struct dst_sift_variant {
	const char *name;
	unsigned needs; /* DST_CPU_* flags */
	size_t (*events)(struct dst_sift_block *b, const struct dst_events *ev, size_t from);
	size_t (*planes)(struct dst_sift_block *b, const struct dst_planes *pl, size_t from);
};
extern const struct dst_sift_variant dst_sift_variants[];

#endif
