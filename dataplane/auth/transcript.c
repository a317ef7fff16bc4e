/* Running transcript hash of a block's distillation messages (dp_transcript.h). */
#include "dp_transcript.h"

#include <openssl/crypto.h>
#include <string.h>

#include "dst_verify.h"
#include "../wire/le.h"

void dp_transcript_reset(struct dp_transcript *t)
{
	OPENSSL_cleanse(t, sizeof(*t));
}

void dp_transcript_add(struct dp_transcript *t, const uint64_t ki[2], const uint64_t ko[2],
		       uint8_t type, uint8_t role, uint16_t link_id, uint64_t block_seq,
		       const uint8_t *body, uint32_t len)
{
	uint64_t g[2];
	dst_verify_hash((const uint64_t *)(const void *)body, 8 * (uint64_t)len, ki, g);
	t->acc[0] ^= (uint64_t)type | (uint64_t)role << 8 | (uint64_t)link_id << 16 | (uint64_t)len << 32;
	t->acc[1] ^= block_seq;
	dst_gf128_mul(t->acc, ko, t->acc);
	t->acc[0] ^= g[0];
	t->acc[1] ^= g[1];
	dst_gf128_mul(t->acc, ko, t->acc);
	t->msgs++;
}

void dp_transcript_tag(const struct dp_transcript *t, const uint64_t ko[2], uint64_t block_seq,
		       uint8_t out[DP_TRANSCRIPT_TAG_LEN])
{
	uint64_t a[2] = {t->acc[0] ^ t->msgs, t->acc[1] ^ block_seq};
	dst_gf128_mul(a, ko, a);
	put_le64(out, a[0]);
	put_le64(out + 8, a[1]);
	OPENSSL_cleanse(a, sizeof(a));
}
