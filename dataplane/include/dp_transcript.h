/* Block transcript authentication (docs/protocol.md, "Block transcripts").
 *
 * Both nodes fold every BLOCK message of a block, in the order they sent or used them (the
 * pipeline alternates, so both orders agree), into a running polynomial hash; the block's COMMIT
 * carries the sender's transcript tag masked with a fresh pad, and a node releases the block's
 * key only when the peer's tag equals its own. A message forged past its short tag is thus used
 * provisionally at most: the block aborts at COMMIT on both ends.
 *
 * Two keys that are never used for short tags: ki (the distill A->B stream's r) hashes each
 * payload, G_i = H_ki(payload_i) (dst_verify.h, with its length block), and ko (the distill B->A
 * stream's r) chains the messages: acc = ((acc + d_i) ko + G_i) ko, d_i = the message's
 * descriptor block (type, sender role, link, payload length, block). The tag is
 * (acc + (messages, block)) ko. For two different transcripts of at most N messages of at most L
 * blocks each, the tags collide with probability at most (L + 1) / 2^128 + (2N + 1) / 2^128. */
#ifndef DP_TRANSCRIPT_H
#define DP_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#define DP_TRANSCRIPT_TAG_LEN 16

struct dp_transcript {
	uint64_t acc[2];
	uint64_t msgs;
};

void dp_transcript_reset(struct dp_transcript *t);
/* Fold one message. body: 8-byte aligned, readable up to the next multiple of 8 bytes. */
void dp_transcript_add(struct dp_transcript *t, const uint64_t ki[2], const uint64_t ko[2],
		       uint8_t type, uint8_t role, uint16_t link_id, uint64_t block_seq,
		       const uint8_t *body, uint32_t len);
/* The transcript tag of block block_seq (the state is not changed). */
void dp_transcript_tag(const struct dp_transcript *t, const uint64_t ko[2], uint64_t block_seq,
		       uint8_t out[DP_TRANSCRIPT_TAG_LEN]);

#endif
