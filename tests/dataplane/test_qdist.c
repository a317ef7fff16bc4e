/* Qdist framing, multi-frame reassembly, sift payloads and Wegman-Carter authentication:
 * full tags are Poly1305 (the reference checked against RFC 8439 section 2.5.2) over header and
 * payload with the pad at 16 * msg_seq; short tags and transcripts equal their definitions
 * computed here with a bit-serial GF(2^128) product (dp_auth.h, dp_transcript.h); pads used
 * once, replay/gap/tamper handling, one tag over a message split into frames; lost, duplicated,
 * reordered or tampered fragments drop the message. Payload layouts are checked against bytes
 * written here from docs/protocol.md. */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "dp_auth.h"
#include "dp_qdist.h"
#include "dp_transcript.h"
#include "unit.h"

/* RFC 8439 2.5.2: key = r || s, message, tag. */
static const uint8_t rfc_key[32] = {
	0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33, 0x7f, 0x44, 0x52, 0xfe, 0x42, 0xd5, 0x06, 0xa8,
	0x01, 0x03, 0x80, 0x8a, 0xfb, 0x0d, 0xb2, 0xfd, 0x4a, 0xbf, 0xf6, 0xaf, 0x41, 0x49, 0xf5, 0x1b};
static const char rfc_msg[] = "Cryptographic Forum Research Group";
static const uint8_t rfc_tag[16] = {0xa8, 0x06, 0x1d, 0xc1, 0x30, 0x51, 0x36, 0xc6,
				    0xc2, 0x2b, 0x8b, 0xaf, 0x0c, 0x01, 0x27, 0xa9};

/* Reference Poly1305 (OpenSSL's one-shot MAC) over a || b. */
static void ref_poly1305(const uint8_t key[32], const uint8_t *a, size_t alen, const uint8_t *b,
			 size_t blen, uint8_t tag[16])
{
	uint8_t buf[512];
	memcpy(buf, a, alen);
	if (blen)
		memcpy(buf + alen, b, blen);
	size_t out = 0;
	CU_ASSERT_PTR_NOT_NULL(EVP_Q_mac(NULL, "POLY1305", NULL, NULL, NULL, key, 32, buf, alen + blen,
					 tag, 16, &out));
	CU_ASSERT_EQUAL(out, 16);
}

static void test_poly1305_known_answer(void)
{
	/* The reference reproduces RFC 8439 2.5.2. */
	uint8_t tag[16];
	ref_poly1305(rfc_key, (const uint8_t *)rfc_msg, strlen(rfc_msg), NULL, 0, tag);
	CU_ASSERT_EQUAL(memcmp(tag, rfc_tag, 16), 0);
	/* A full tag is Poly1305 keyed r || the 16 pad bytes at 16 * msg_seq, over header and
	 * payload; the message at msg_seq 1 takes the second pad. */
	uint8_t pads[32];
	unit_fill_random(pads, sizeof(pads), 11);
	struct dp_auth_stream s, rx;
	CU_ASSERT_EQUAL_FATAL(dp_auth_stream_init(&s, rfc_key, 64), 0);
	CU_ASSERT_EQUAL_FATAL(dp_auth_stream_init(&rx, rfc_key, 64), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_append(&s, pads, 32), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_append(&rx, pads, 32), 0);
	s.next_seq = 1;
	struct dp_qd_hdr h = {.type = DP_QD_ABORT, .link_id = 7, .role = DP_ROLE_ALICE,
			      .payload_len = 34, .msg_len = 34, .block_seq = 9, .frag_cnt = 1};
	uint8_t m[128];
	dp_qd_write_hdr(m, &h);
	memcpy(m + DP_QD_HDR_LEN, rfc_msg, 34);
	CU_ASSERT_EQUAL(dp_auth_seal(&s, m, DP_QD_HDR_LEN + 34), DP_QD_HDR_LEN + 34 + 16);
	CU_ASSERT_EQUAL(m[16], 1); /* msg_seq */
	uint8_t key[32];
	memcpy(key, rfc_key, 16);
	memcpy(key + 16, pads + 16, 16);
	ref_poly1305(key, m, DP_QD_HDR_LEN, m + DP_QD_HDR_LEN, 34, tag);
	CU_ASSERT_EQUAL(memcmp(tag, m + DP_QD_HDR_LEN + 34, 16), 0);
	CU_ASSERT_EQUAL(dp_auth_open(&rx, m, DP_QD_HDR_LEN + 34, 1), DP_ERR_OK);
	CU_ASSERT_EQUAL(rx.next_seq, 2);
	/* The pad is gone: the same message again is a replay. */
	CU_ASSERT_EQUAL(dp_auth_open(&rx, m, DP_QD_HDR_LEN + 34, 1), DP_ERR_QD_REPLAY);
	dp_auth_stream_free(&s);
	dp_auth_stream_free(&rx);
}

/* ---- short tags and transcripts against their definitions ---- */
static void ref_mul(const uint64_t a[2], const uint64_t b[2], uint64_t r[2])
{
	/* shift-and-add: z += x for every set bit of b, x *= X mod X^128 + X^7 + X^2 + X + 1 */
	uint64_t x0 = a[0], x1 = a[1], z0 = 0, z1 = 0;
	for (int i = 0; i < 128; i++) {
		if ((b[i / 64] >> (i % 64)) & 1) {
			z0 ^= x0;
			z1 ^= x1;
		}
		uint64_t top = x1 >> 63;
		x1 = x1 << 1 | x0 >> 63;
		x0 = x0 << 1 ^ (top ? 0x87 : 0);
	}
	r[0] = z0;
	r[1] = z1;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Horner a = (a + x) k over the 16-byte blocks of p (zero-padded). */
static void ref_horner(uint64_t a[2], const uint64_t k[2], const uint8_t *p, size_t len)
{
	for (size_t off = 0; off < len; off += 16) {
		uint8_t blk[16] = {0};
		memcpy(blk, p + off, len - off < 16 ? len - off : 16);
		a[0] ^= le64(blk);
		a[1] ^= le64(blk + 8);
		ref_mul(a, k, a);
	}
}

/* H_k(m) of dst_verify.h: blocks, then the length block (bits). */
static void ref_hash(const uint64_t k[2], const uint8_t *p, size_t len, uint64_t out[2])
{
	out[0] = out[1] = 0;
	ref_horner(out, k, p, len);
	out[0] ^= 8 * (uint64_t)len;
	ref_mul(out, k, out);
}

/* The short tag's G = ((H_k(payload) + h0) k + h1) k. */
static void ref_short(const uint64_t k[2], const uint8_t *hdr, const uint8_t *p, size_t len,
		      uint8_t out[16])
{
	uint64_t g[2];
	ref_hash(k, p, len, g);
	ref_horner(g, k, hdr, DP_QD_HDR_LEN);
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(g[0] >> (8 * i));
		out[8 + i] = (uint8_t)(g[1] >> (8 * i));
	}
}

/* A distill-channel message in an aligned buffer: header with tag byte, payload; sealed. */
static int seal_distill(struct dp_auth_stream *tx, uint64_t *buf, uint8_t type, uint8_t tag,
			uint64_t block, const uint8_t *payload, uint16_t len)
{
	uint8_t *m = (uint8_t *)buf;
	struct dp_qd_hdr h = {.type = type, .tag = tag, .link_id = 7, .role = DP_ROLE_BOB,
			      .payload_len = len, .block_seq = block, .msg_len = len, .frag_cnt = 1};
	dp_qd_write_hdr(m, &h);
	memcpy(m + DP_QD_HDR_LEN, payload, len);
	return dp_auth_seal(tx, m, DP_QD_HDR_LEN + len);
}

static enum dp_err open_distill(struct dp_auth_stream *rx, const uint64_t *buf, size_t len)
{
	const uint8_t *m = (const uint8_t *)buf;
	struct dp_qd_hdr h;
	enum dp_err e = dp_qd_parse(m, len, &h);
	return e ? e : dp_auth_open(rx, m, DP_QD_HDR_LEN + h.payload_len, h.msg_seq);
}

static void test_short_tags(void)
{
	uint8_t r[16], pads[256], pl[300];
	unit_fill_random(r, sizeof(r), 21);
	unit_fill_random(pads, sizeof(pads), 22);
	unit_fill_random(pl, sizeof(pl), 23);
	struct dp_auth_stream tx, rx;
	CU_ASSERT_EQUAL_FATAL(dp_auth_stream_init(&tx, r, 256), 0);
	CU_ASSERT_EQUAL_FATAL(dp_auth_stream_init(&rx, r, 256), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_set_unit(&tx, DP_AUTH_UNIT_DISTILL), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_set_unit(&rx, DP_AUTH_UNIT_DISTILL), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_set_unit(&rx, 5), -EINVAL);
	CU_ASSERT_EQUAL(dp_auth_stream_append(&tx, pads, sizeof(pads)), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_append(&rx, pads, sizeof(pads)), 0);
	uint64_t m[8][48];
	uint8_t g[16];
	/* A BLOCK message before its block's keyed one cannot be sealed. */
	CU_ASSERT_EQUAL(seal_distill(&tx, m[0], DP_QD_BLOCK, 4, 5, pl, 40), -EINVAL);
	CU_ASSERT_EQUAL(tx.next_seq, 0);
	/* Keyed: key = pads[0..16), tag = low 4 bytes of G xor pads[16..20); msg_seq 0, 5 units. */
	int len0 = seal_distill(&tx, m[0], DP_QD_BLOCK, 4 | DP_QD_TAG_KEYED, 5, pl, 40);
	CU_ASSERT_EQUAL(len0, DP_QD_HDR_LEN + 40 + 4);
	CU_ASSERT_EQUAL(tx.next_seq, 5);
	uint64_t k[2] = {le64(pads), le64(pads + 8)};
	const uint8_t *b0 = (const uint8_t *)m[0];
	ref_short(k, b0, b0 + DP_QD_HDR_LEN, 40, g);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(b0[DP_QD_HDR_LEN + 40 + i], g[i] ^ pads[16 + i]);
	/* The next one of the block: the same key, the 4 pad bytes at 20; 8-byte tags at 24. */
	int len1 = seal_distill(&tx, m[1], DP_QD_BLOCK, 4, 5, pl + 40, 13);
	const uint8_t *b1 = (const uint8_t *)m[1];
	CU_ASSERT_EQUAL(b1[16], 5);
	ref_short(k, b1, b1 + DP_QD_HDR_LEN, 13, g);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(b1[DP_QD_HDR_LEN + 13 + i], g[i] ^ pads[20 + i]);
	int len2 = seal_distill(&tx, m[2], DP_QD_BLOCK, 8, 5, pl, 200);
	const uint8_t *b2 = (const uint8_t *)m[2];
	ref_short(k, b2, b2 + DP_QD_HDR_LEN, 200, g);
	for (int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(b2[DP_QD_HDR_LEN + 200 + i], g[i] ^ pads[24 + i]);
	CU_ASSERT_EQUAL(tx.next_seq, 8);
	/* A keyed COMMIT: its mask is pads[32..48) (dp_auth_next_key), its Poly1305 pad 48..64. */
	uint8_t mask[16], key[32], tag[16];
	CU_ASSERT_EQUAL(dp_auth_next_key(&tx, mask), 0);
	CU_ASSERT_EQUAL(memcmp(mask, pads + 32, 16), 0);
	int len3 = seal_distill(&tx, m[3], DP_QD_COMMIT, 16 | DP_QD_TAG_KEYED, 5, pl, 32);
	CU_ASSERT_EQUAL(tx.next_seq, 16);
	memcpy(key, r, 16);
	memcpy(key + 16, pads + 48, 16);
	const uint8_t *b3 = (const uint8_t *)m[3];
	ref_poly1305(key, b3, DP_QD_HDR_LEN, b3 + DP_QD_HDR_LEN, 32, tag);
	CU_ASSERT_EQUAL(memcmp(tag, b3 + DP_QD_HDR_LEN + 32, 16), 0);
	/* Short and keyed tags only where the format allows them. */
	CU_ASSERT_EQUAL(seal_distill(&tx, m[7], DP_QD_ABORT, 4, 5, pl, 4), -EINVAL);
	CU_ASSERT_EQUAL(seal_distill(&tx, m[7], DP_QD_ABORT, 16 | DP_QD_TAG_KEYED, 5, pl, 4), -EINVAL);
	/* Receiving: a message of block 5 without its keyed one is refused; tampered ones too. */
	CU_ASSERT_EQUAL(open_distill(&rx, m[1], (size_t)len1), DP_ERR_QD_NO_KEY);
	uint64_t t[48];
	memcpy(t, m[0], (size_t)len0);
	((uint8_t *)t)[DP_QD_HDR_LEN + 7] ^= 4;
	CU_ASSERT_EQUAL(open_distill(&rx, t, (size_t)len0), DP_ERR_QD_AUTH);
	CU_ASSERT_EQUAL(open_distill(&rx, m[0], (size_t)len0), DP_ERR_OK);
	CU_ASSERT_EQUAL(rx.next_seq, 5);
	CU_ASSERT(rx.bkey_set && rx.bkey_block == 5 && rx.bkey[0] == k[0] && rx.bkey[1] == k[1]);
	/* A forger who knows the key and the pad (the test) makes a tampered message whose short
	 * tag verifies: short tags alone do not prove authenticity, the transcript does. */
	memcpy(t, m[1], (size_t)len1);
	uint8_t *tb = (uint8_t *)t;
	tb[DP_QD_HDR_LEN + 2] ^= 0x40;
	ref_short(k, tb, tb + DP_QD_HDR_LEN, 13, g);
	for (int i = 0; i < 4; i++)
		tb[DP_QD_HDR_LEN + 13 + i] = g[i] ^ pads[20 + i];
	CU_ASSERT_EQUAL(open_distill(&rx, t, (size_t)len1), DP_ERR_OK);
	CU_ASSERT_EQUAL(open_distill(&rx, m[1], (size_t)len1), DP_ERR_QD_REPLAY);
	CU_ASSERT_EQUAL(open_distill(&rx, m[2], (size_t)len2), DP_ERR_OK);
	/* The keyed COMMIT leaves its mask on the receiving stream. */
	CU_ASSERT_EQUAL(open_distill(&rx, m[3], (size_t)len3), DP_ERR_OK);
	CU_ASSERT_EQUAL(memcmp(rx.mask, pads + 32, 16), 0);
	CU_ASSERT_EQUAL(rx.next_seq, 16);
	/* Pads wrap around the 256-byte ring: the next block's keyed message at byte 248. */
	tx.next_seq = rx.next_seq = 62;
	uint8_t more[64];
	unit_fill_random(more, sizeof(more), 24);
	CU_ASSERT_EQUAL(dp_auth_stream_append(&tx, more, 64), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_append(&rx, more, 64), 0);
	int len4 = seal_distill(&tx, m[4], DP_QD_BLOCK, 4 | DP_QD_TAG_KEYED, 6, pl, 64);
	uint8_t wkey[16];
	memcpy(wkey, pads + 248, 8);
	memcpy(wkey + 8, more, 8);
	uint64_t k6[2] = {le64(wkey), le64(wkey + 8)};
	const uint8_t *b4 = (const uint8_t *)m[4];
	ref_short(k6, b4, b4 + DP_QD_HDR_LEN, 64, g);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(b4[DP_QD_HDR_LEN + 64 + i], g[i] ^ more[8 + i]);
	CU_ASSERT_EQUAL(open_distill(&rx, m[4], (size_t)len4), DP_ERR_OK);
	CU_ASSERT_EQUAL(rx.next_seq, 67);
	dp_auth_stream_free(&tx);
	dp_auth_stream_free(&rx);
}

static void test_transcript_definition(void)
{
	uint64_t ki[2] = {0x0123456789abcdefull, 0x1122334455667788ull};
	uint64_t ko[2] = {0x8877665544332211ull, 0xfedcba9876543210ull};
	uint64_t buf[3][40];
	unit_fill_random(buf, sizeof(buf), 31);
	const uint8_t *p0 = (const uint8_t *)buf[0], *p1 = (const uint8_t *)buf[1];
	struct dp_transcript t;
	dp_transcript_reset(&t);
	dp_transcript_add(&t, ki, ko, DP_QD_BLOCK, DP_ROLE_BOB, 7, 12, p0, 100);
	dp_transcript_add(&t, ki, ko, DP_QD_BLOCK, DP_ROLE_ALICE, 7, 12, p1, 37);
	uint8_t tag[16];
	dp_transcript_tag(&t, ko, 12, tag);
	/* acc = ((acc + d) ko + H_ki(payload)) ko per message; tag = (acc + (2, 12)) ko */
	uint64_t acc[2] = {0, 0}, g[2];
	const uint8_t *ps[2] = {p0, p1};
	const uint32_t lens[2] = {100, 37};
	const uint8_t roles[2] = {DP_ROLE_BOB, DP_ROLE_ALICE};
	for (int i = 0; i < 2; i++) {
		acc[0] ^= DP_QD_BLOCK | (uint64_t)roles[i] << 8 | 7ull << 16 | (uint64_t)lens[i] << 32;
		acc[1] ^= 12;
		ref_mul(acc, ko, acc);
		ref_hash(ki, ps[i], lens[i], g);
		acc[0] ^= g[0];
		acc[1] ^= g[1];
		ref_mul(acc, ko, acc);
	}
	acc[0] ^= 2;
	acc[1] ^= 12;
	ref_mul(acc, ko, acc);
	CU_ASSERT_EQUAL(le64(tag), acc[0]);
	CU_ASSERT_EQUAL(le64(tag + 8), acc[1]);
	/* Another order, a flipped payload bit, another block: other tags. */
	uint8_t other[16];
	dp_transcript_reset(&t);
	dp_transcript_add(&t, ki, ko, DP_QD_BLOCK, DP_ROLE_ALICE, 7, 12, p1, 37);
	dp_transcript_add(&t, ki, ko, DP_QD_BLOCK, DP_ROLE_BOB, 7, 12, p0, 100);
	dp_transcript_tag(&t, ko, 12, other);
	CU_ASSERT(memcmp(tag, other, 16) != 0);
	dp_transcript_reset(&t);
	((uint8_t *)buf[0])[99] ^= 1;
	dp_transcript_add(&t, ki, ko, DP_QD_BLOCK, DP_ROLE_BOB, 7, 12, p0, 100);
	dp_transcript_add(&t, ki, ko, DP_QD_BLOCK, DP_ROLE_ALICE, 7, 12, p1, 37);
	dp_transcript_tag(&t, ko, 12, other);
	CU_ASSERT(memcmp(tag, other, 16) != 0);
	dp_transcript_tag(&t, ko, 13, tag);
	CU_ASSERT(memcmp(tag, other, 16) != 0);
}

static void make_pair(struct dp_auth_stream *tx, struct dp_auth_stream *rx, size_t pad_bytes)
{
	uint8_t r[16], pads[4096];
	unit_fill_random(r, sizeof(r), 1);
	unit_fill_random(pads, pad_bytes, 2);
	CU_ASSERT_EQUAL(dp_auth_stream_init(tx, r, 4096), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_init(rx, r, 4096), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_append(tx, pads, pad_bytes), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_append(rx, pads, pad_bytes), 0);
}

static int build_msg(struct dp_auth_stream *tx, uint8_t *buf, uint8_t type, uint64_t block,
		     const char *payload)
{
	struct dp_qd_hdr h = {.type = type, .link_id = 7, .channel = dp_qd_type_channel(type),
			      .role = DP_ROLE_BOB, .payload_len = (uint16_t)strlen(payload),
			      .block_seq = block, .msg_len = (uint32_t)strlen(payload), .frag_cnt = 1};
	dp_qd_write_hdr(buf, &h);
	memcpy(buf + DP_QD_HDR_LEN, payload, h.payload_len);
	return dp_auth_seal(tx, buf, DP_QD_HDR_LEN + h.payload_len);
}

static enum dp_err receive(struct dp_auth_stream *rx, const uint8_t *buf, size_t len)
{
	struct dp_qd_hdr h;
	enum dp_err e = dp_qd_parse(buf, len, &h);
	if (e)
		return e;
	return dp_auth_open(rx, buf, DP_QD_HDR_LEN + h.payload_len, h.msg_seq);
}

static void test_seal_open_replay_gap_tamper(void)
{
	struct dp_auth_stream tx, rx;
	make_pair(&tx, &rx, 5 * 16);
	uint8_t m[5][128];
	int len[5];
	for (int i = 0; i < 5; i++)
		len[i] = build_msg(&tx, m[i], DP_QD_ABORT, 42, "syndrome bytes");
	CU_ASSERT_EQUAL(len[0], DP_QD_HDR_LEN + 14 + 16);
	CU_ASSERT_EQUAL(m[3][16], 3); /* msg_seq written little-endian */
	/* Out of pads: sealing refuses and changes nothing. */
	uint8_t extra[128];
	CU_ASSERT_EQUAL(build_msg(&tx, extra, DP_QD_ABORT, 42, "x"), -EAGAIN);

	CU_ASSERT_EQUAL(receive(&rx, m[0], (size_t)len[0]), DP_ERR_OK);
	/* Tampered payload bit, tampered header, tampered tag: all rejected, stream unchanged. */
	for (int where = 0; where < 3; where++) {
		uint8_t b[128];
		memcpy(b, m[1], (size_t)len[1]);
		size_t at = where == 0 ? DP_QD_HDR_LEN + 3 : where == 1 ? 9 : (size_t)len[1] - 1;
		b[at] ^= 0x10;
		CU_ASSERT_EQUAL(receive(&rx, b, (size_t)len[1]), DP_ERR_QD_AUTH);
	}
	CU_ASSERT_EQUAL(rx.next_seq, 1);
	CU_ASSERT_EQUAL(receive(&rx, m[1], (size_t)len[1]), DP_ERR_OK);
	/* Replay of an accepted message, then a gap (m[2] lost), then the late m[2] is rejected. */
	CU_ASSERT_EQUAL(receive(&rx, m[0], (size_t)len[0]), DP_ERR_QD_REPLAY);
	CU_ASSERT_EQUAL(receive(&rx, m[3], (size_t)len[3]), DP_ERR_OK);
	CU_ASSERT_EQUAL(rx.gaps, 1);
	CU_ASSERT_EQUAL(receive(&rx, m[2], (size_t)len[2]), DP_ERR_QD_REPLAY);
	CU_ASSERT_EQUAL(receive(&rx, m[4], (size_t)len[4]), DP_ERR_OK);
	dp_auth_stream_free(&tx);
	dp_auth_stream_free(&rx);
}

static void test_pad_not_yet_held_then_refill(void)
{
	struct dp_auth_stream tx, rx;
	make_pair(&tx, &rx, 32);
	uint8_t more[32], m[3][128];
	unit_fill_random(more, sizeof(more), 3);
	CU_ASSERT_EQUAL(dp_auth_stream_append(&tx, more, 32), 0);
	int len[3];
	for (int i = 0; i < 3; i++)
		len[i] = build_msg(&tx, m[i], DP_QD_ABORT, 1, "abc");
	CU_ASSERT_EQUAL(receive(&rx, m[0], (size_t)len[0]), DP_ERR_OK);
	CU_ASSERT_EQUAL(receive(&rx, m[1], (size_t)len[1]), DP_ERR_OK);
	CU_ASSERT_EQUAL(receive(&rx, m[2], (size_t)len[2]), DP_ERR_QD_NO_PAD);
	CU_ASSERT_EQUAL(dp_auth_stream_append(&rx, more, 32), 0);
	CU_ASSERT_EQUAL(receive(&rx, m[2], (size_t)len[2]), DP_ERR_OK);
	CU_ASSERT_EQUAL(dp_auth_stream_msgs_left(&rx), 1);
	/* The ring holds at most its capacity of unused pads. */
	uint8_t big[8192] = {0};
	CU_ASSERT_EQUAL(dp_auth_stream_append(&rx, big, 4096), -ENOSPC);
	dp_auth_stream_free(&tx);
	dp_auth_stream_free(&rx);
}

static void test_split_gives_both_ends_the_same_streams(void)
{
	uint8_t psk[DP_AUTH_PSK_MIN + 64];
	unit_fill_random(psk, sizeof(psk), 4);
	struct dp_auth_stream a[4], b[4];
	struct dp_auth_stream *pa[4], *pb[4];
	for (int i = 0; i < 4; i++)
		pa[i] = &a[i], pb[i] = &b[i];
	CU_ASSERT_EQUAL_FATAL(dp_auth_split(pa, psk, sizeof(psk), 1, 1024), 0);
	CU_ASSERT_EQUAL_FATAL(dp_auth_split(pb, psk, sizeof(psk), 1, 1024), 0);
	/* Stream i: r = psk[16i..], pads = quarter i of the rest. */
	size_t part = (sizeof(psk) - 64) / 4;
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(memcmp(a[i].r, psk + 16 * i, 16), 0);
		CU_ASSERT_EQUAL(a[i].head, part);
		CU_ASSERT_EQUAL(memcmp(a[i].pads, psk + 64 + i * part, part), 0);
	}
	/* Message sealed on a's distill Bob->Alice stream opens on b's. */
	unsigned k = dp_auth_stream_index(DP_QD_CH_DISTILL, DP_ROLE_BOB);
	uint8_t m[128];
	int len = build_msg(&a[k], m, DP_QD_ABORT, 5, "\x01\0\0\0");
	CU_ASSERT_EQUAL(receive(&b[k], m, (size_t)len), DP_ERR_OK);
	CU_ASSERT_EQUAL(receive(&b[k ^ 1], m, (size_t)len), DP_ERR_QD_AUTH);
	/* A refill splits without r; NULL streams are skipped. */
	pb[0] = NULL;
	CU_ASSERT_EQUAL(dp_auth_split(pb, psk, 128, 0, 0), 0);
	CU_ASSERT_EQUAL(b[0].head, part);
	CU_ASSERT_EQUAL(b[1].head, part + 32);
	CU_ASSERT_EQUAL(dp_auth_split(pa, psk, 10, 1, 1024), -EINVAL);
	for (int i = 0; i < 4; i++) {
		dp_auth_stream_free(&a[i]);
		dp_auth_stream_free(&b[i]);
	}
}

static void test_header_rejects_malformed(void)
{
	struct dp_auth_stream tx, rx;
	make_pair(&tx, &rx, 64);
	uint8_t m[128], b[128];
	int len = build_msg(&tx, m, DP_QD_ABORT, 1, "payload");
	struct dp_qd_hdr h;
	CU_ASSERT_EQUAL(dp_qd_parse(m, (size_t)len, &h), DP_ERR_OK);
	CU_ASSERT_EQUAL(h.block_seq, 1);
	CU_ASSERT_EQUAL(h.payload_len, 7);
	CU_ASSERT_EQUAL(h.msg_len, 7);
	CU_ASSERT_EQUAL(h.frag_cnt, 1);
	CU_ASSERT_EQUAL(dp_qd_parse(m, 31, &h), DP_ERR_QD_SHORT);
	CU_ASSERT_EQUAL(dp_qd_parse(m, 47, &h), DP_ERR_QD_SHORT); /* the last fragment has a tag */
	CU_ASSERT_EQUAL(dp_qd_parse(m, (size_t)len - 1, &h), DP_ERR_QD_LENGTH);
	memcpy(b, m, (size_t)len); b[0] = 1; /* version 1 (24-byte header) is no longer spoken */
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_VERSION);
	memcpy(b, m, (size_t)len); b[0] = 2; /* nor version 2 (byte 4 was the channel) */
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_VERSION);
	memcpy(b, m, (size_t)len); b[0] = 9;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_VERSION);
	memcpy(b, m, (size_t)len); b[1] = 0;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_TYPE);
	memcpy(b, m, (size_t)len); b[1] = 99;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_TYPE);
	/* The tag byte: 16 for every type but BLOCK, KEYED only on BLOCK and COMMIT. */
	static const uint8_t bad_tags[] = {0, 4, 8, 12, 0x20, 0x40, DP_QD_TAG_KEYED | 16};
	for (size_t i = 0; i < sizeof(bad_tags); i++) {
		memcpy(b, m, (size_t)len); b[4] = bad_tags[i];
		CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_RESERVED);
	}
	memcpy(b, m, (size_t)len); b[1] = DP_QD_BLOCK; b[4] = 4; /* a short BLOCK tag: 4 bytes */
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len - 13, &h), DP_ERR_QD_LENGTH);
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len - 12, &h), DP_ERR_OK);
	CU_ASSERT_EQUAL(dp_qd_tag_len(&h), 4);
	CU_ASSERT_EQUAL(h.channel, DP_QD_CH_DISTILL);
	b[4] = 4 | DP_QD_TAG_KEYED;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len - 12, &h), DP_ERR_OK);
	memcpy(b, m, (size_t)len); b[5] = 2;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_RESERVED);
	/* Fragment fields: count 0, index past the count, a single frame shorter than its message,
	 * a message above the limit. */
	memcpy(b, m, (size_t)len); b[30] = 0;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_FRAG);
	memcpy(b, m, (size_t)len); b[28] = 1;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_FRAG);
	memcpy(b, m, (size_t)len); b[24] = 8;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_LENGTH);
	memcpy(b, m, (size_t)len); b[26] = 0x20; /* msg_len 2 MiB + 7 */
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_LENGTH);
	/* A middle fragment (no tag) with an empty payload is malformed. */
	memcpy(b, m, (size_t)len); b[30] = 3; b[6] = 0;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_FRAG);
	dp_auth_stream_free(&tx);
	dp_auth_stream_free(&rx);
}

/* Frames of one message cut into fragments of 'room' bytes, written field by field from the
 * documented layout; the tag (over the last header and the whole payload) comes from sealing the
 * same bytes contiguously on a twin stream, i.e. from the definition. */
struct frames {
	uint8_t f[16][320];
	size_t len[16];
	unsigned n;
};

static void cut(struct frames *fr, struct dp_auth_stream *twin, uint64_t seq, const uint8_t *msg,
		uint32_t msg_len, unsigned room)
{
	unsigned cnt = (msg_len + room - 1) / room;
	fr->n = cnt;
	uint8_t all[DP_QD_HDR_LEN + 4096];
	for (unsigned i = 0; i < cnt; i++) {
		uint32_t off = i * room, k = msg_len - off < room ? msg_len - off : room;
		uint8_t *p = fr->f[i];
		memset(p, 0, DP_QD_HDR_LEN);
		p[0] = 3;
		p[1] = DP_QD_SIFT_ANNOUNCE;
		p[4] = DP_QD_TAG_LEN;   /* full tag */
		p[2] = 7;               /* link 7 */
		p[5] = DP_ROLE_BOB;
		p[6] = (uint8_t)k;      /* payload_len */
		p[8] = 3;               /* block_seq */
		p[16] = (uint8_t)seq;   /* msg_seq */
		p[24] = (uint8_t)msg_len;
		p[25] = (uint8_t)(msg_len >> 8);
		p[28] = (uint8_t)i;
		p[30] = (uint8_t)cnt;
		memcpy(p + DP_QD_HDR_LEN, msg + off, k);
		fr->len[i] = DP_QD_HDR_LEN + k;
		if (i + 1 == cnt) {
			memcpy(all, p, DP_QD_HDR_LEN);
			memcpy(all + DP_QD_HDR_LEN, msg, msg_len);
			CU_ASSERT_EQUAL(dp_auth_seal(twin, all, DP_QD_HDR_LEN + msg_len),
					(int)(DP_QD_HDR_LEN + msg_len + DP_QD_TAG_LEN));
			memcpy(p + fr->len[i], all + DP_QD_HDR_LEN + msg_len, DP_QD_TAG_LEN);
			fr->len[i] += DP_QD_TAG_LEN;
		}
	}
}

/* Feed frames in the given order; returns DP_ERR_OK when a message completed and authenticated
 * (its payload then equals msg), else the last error. Counts fragment errors in *bad. */
static enum dp_err feed(struct dp_qd_asm *a, struct dp_auth_stream *rx, struct frames *fr,
			const unsigned *order, unsigned n, const uint8_t *msg, uint32_t msg_len,
			unsigned *bad)
{
	enum dp_err last = DP_ERR_QD_FRAG;
	for (unsigned i = 0; i < n; i++) {
		struct dp_qd_hdr h;
		const uint8_t *p = fr->f[order[i]];
		enum dp_err e = dp_qd_parse(p, fr->len[order[i]], &h);
		if (!e)
			e = dp_qd_asm_add(a, p, &h);
		if (e) {
			++*bad;
			continue;
		}
		if (a->complete) {
			last = dp_auth_open_msg(rx, a->last_hdr, DP_QD_HDR_LEN, a->buf, a->h.msg_len,
						a->h.msg_seq, a->tag);
			if (last == DP_ERR_OK)
				CU_ASSERT(a->h.msg_len == msg_len && !memcmp(a->buf, msg, msg_len));
			dp_qd_asm_done(a);
		}
	}
	return last;
}

static void test_multi_frame_messages(void)
{
	struct dp_auth_stream tx, rx, twin_rx;
	make_pair(&tx, &rx, 64 * 16);
	uint8_t r[16], pads[64 * 16];
	unit_fill_random(r, sizeof(r), 1);
	unit_fill_random(pads, sizeof(pads), 2);
	CU_ASSERT_EQUAL(dp_auth_stream_init(&twin_rx, r, 4096), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_append(&twin_rx, pads, sizeof(pads)), 0);
	uint8_t msg[1000];
	unit_fill_random(msg, sizeof(msg), 9);
	struct dp_qd_asm a;
	CU_ASSERT_EQUAL_FATAL(dp_qd_asm_init(&a, 1024), 0);
	struct frames fr;
	unsigned bad = 0;
	static const unsigned in_order[5] = {0, 1, 2, 3, 4};

	/* Five frames, one tag: complete and authentic. */
	cut(&fr, &tx, 0, msg, 1000, 230);
	CU_ASSERT_EQUAL(fr.n, 5);
	CU_ASSERT_EQUAL(feed(&a, &rx, &fr, in_order, 5, msg, 1000, &bad), DP_ERR_OK);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(a.dropped, 0);
	/* The same message authenticates as two parts on the library's seal as well. */
	uint8_t hdr[DP_QD_HDR_LEN], tag[DP_QD_TAG_LEN];
	memcpy(hdr, fr.f[4], DP_QD_HDR_LEN);
	CU_ASSERT_EQUAL(dp_auth_seal_msg(&twin_rx, hdr, DP_QD_HDR_LEN, msg, 1000, tag), 0);
	CU_ASSERT_EQUAL(memcmp(tag, fr.f[4] + fr.len[4] - DP_QD_TAG_LEN, DP_QD_TAG_LEN), 0);

	/* Lost, duplicated, reordered fragments: the message is dropped, nothing completes, the
	 * stream keeps its pad; the next intact message goes through. */
	static const unsigned lost[4] = {0, 1, 3, 4}, dup[6] = {0, 1, 1, 2, 3, 4},
			      reord[5] = {0, 2, 1, 3, 4}, head_lost[4] = {1, 2, 3, 4};
	const unsigned *cases[4] = {lost, dup, reord, head_lost};
	unsigned lens[4] = {4, 6, 5, 4};
	uint64_t seq = 1;
	for (int c = 0; c < 4; c++) {
		cut(&fr, &tx, seq++, msg, 1000, 230);
		uint64_t dropped = a.dropped, next = rx.next_seq;
		bad = 0;
		CU_ASSERT_EQUAL(feed(&a, &rx, &fr, cases[c], lens[c], msg, 1000, &bad), DP_ERR_QD_FRAG);
		CU_ASSERT(bad >= 1);
		CU_ASSERT_EQUAL(a.dropped, dropped + (c == 3 ? 0 : 1)); /* no head: nothing started */
		CU_ASSERT_EQUAL(rx.next_seq, next);
		CU_ASSERT(!a.active && !a.complete);
	}
	/* A fragment of another message in the middle: both dropped (the new one lacks its head). */
	struct frames other;
	cut(&fr, &tx, seq++, msg, 1000, 230);
	cut(&other, &tx, seq++, msg, 1000, 230);
	memcpy(fr.f[2], other.f[2], sizeof(fr.f[2]));
	fr.len[2] = other.len[2];
	bad = 0;
	CU_ASSERT_EQUAL(feed(&a, &rx, &fr, in_order, 5, msg, 1000, &bad), DP_ERR_QD_FRAG);
	/* Tampered payload in a middle fragment (no tag there): the one tag covers it. */
	cut(&fr, &tx, seq++, msg, 1000, 230);
	fr.f[1][DP_QD_HDR_LEN + 5] ^= 1;
	bad = 0;
	CU_ASSERT_EQUAL(feed(&a, &rx, &fr, in_order, 5, msg, 1000, &bad), DP_ERR_QD_AUTH);
	/* The header fields of a non-last fragment must agree with the authenticated last one. */
	cut(&fr, &tx, seq, msg, 1000, 230);
	fr.f[0][8] ^= 1; /* block_seq of the first fragment */
	bad = 0;
	CU_ASSERT_EQUAL(feed(&a, &rx, &fr, in_order, 5, msg, 1000, &bad), DP_ERR_QD_FRAG);
	fr.f[0][8] ^= 1;
	CU_ASSERT_EQUAL(feed(&a, &rx, &fr, in_order, 5, msg, 1000, &bad), DP_ERR_OK);
	/* Larger than the reassembly buffer: refused at the first fragment. */
	uint8_t big[2000] = {0};
	cut(&fr, &tx, seq + 1, big, 2000, 250);
	bad = 0;
	static const unsigned eight[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	CU_ASSERT_EQUAL(feed(&a, &rx, &fr, eight, 8, big, 2000, &bad), DP_ERR_QD_FRAG);
	CU_ASSERT_EQUAL(bad, 8);
	dp_qd_asm_free(&a);
	dp_auth_stream_free(&tx);
	dp_auth_stream_free(&rx);
	dp_auth_stream_free(&twin_rx);
}

static void test_sift_payloads_round_trip_and_reject(void)
{
	enum { N = 300 };
	uint64_t slots[N], got[N];
	uint8_t bases[N], gb[N], buf[4096];
	uint64_t s = 5, pos = 77;
	for (int i = 0; i < N; i++) {
		pos += 1 + unit_rand(&s) % 9000;
		slots[i] = pos;
		bases[i] = (uint8_t)(unit_rand(&s) & 1) | (uint8_t)(i & 2); /* bit values not sent */
	}
	int n = dp_qd_announce_build(buf, sizeof(buf), 50, slots, bases, N);
	CU_ASSERT_FATAL(n > 0);
	/* Header: base, count, words (u64, u32, u32). */
	CU_ASSERT_EQUAL(buf[0], 50);
	CU_ASSERT_EQUAL(buf[8] | buf[9] << 8, N);
	CU_ASSERT_EQUAL(n, 16 + 2 * (buf[12] | buf[13] << 8));
	CU_ASSERT_EQUAL(dp_qd_announce_parse(buf, (size_t)n, got, gb, N), N);
	CU_ASSERT_EQUAL(memcmp(got, slots, sizeof(slots)), 0);
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL(gb[i], bases[i] & 1);
	CU_ASSERT_EQUAL(dp_qd_announce_parse(buf, (size_t)n, got, gb, N - 1), -EPROTO);
	CU_ASSERT_EQUAL(dp_qd_announce_parse(buf, (size_t)n - 2, got, gb, N), -EPROTO);
	buf[n - 1] |= 0x20; /* a bit value in the last (always an event) word */
	CU_ASSERT_EQUAL(dp_qd_announce_parse(buf, (size_t)n, got, gb, N), -EPROTO);

	/* Reply over 200 detections (three plane words, a partial tail). */
	enum { R = 200 };
	uint8_t match[R], cls[R];
	uint64_t pm[4] = {0}, plo[4] = {0}, phi[4] = {0};
	for (int i = 0; i < R; i++) {
		cls[i] = (uint8_t)(unit_rand(&s) % 4);
		match[i] = cls[i] != 3 && (unit_rand(&s) & 1);
		pm[i / 64] |= (uint64_t)match[i] << (i % 64);
		plo[i / 64] |= (uint64_t)(cls[i] & 1) << (i % 64);
		phi[i / 64] |= (uint64_t)(cls[i] >> 1) << (i % 64);
	}
	/* Garbage past n in the planes is ignored. */
	pm[3] |= 1ull << 63;
	plo[3] |= 1ull << 62;
	n = dp_qd_reply_build(buf, sizeof(buf), 0x1122, 77, pm, plo, phi, R);
	CU_ASSERT_EQUAL_FATAL(n, 16 + 25 + 50);
	CU_ASSERT_EQUAL(buf[12], R);
	/* Layout: bitmap LSB first, then 2-bit classes LSB first. */
	for (int i = 0; i < R; i++) {
		CU_ASSERT_EQUAL((buf[16 + i / 8] >> (i % 8)) & 1, match[i]);
		CU_ASSERT_EQUAL((buf[16 + 25 + i / 4] >> (2 * (i % 4))) & 3, cls[i]);
	}
	uint64_t aseq, gm[4], gl[4], gh[4];
	uint32_t kpos;
	CU_ASSERT_EQUAL(dp_qd_reply_parse(buf, (size_t)n, &aseq, &kpos, gm, gl, gh, R), R);
	CU_ASSERT_EQUAL(aseq, 0x1122);
	CU_ASSERT_EQUAL(kpos, 77);
	pm[3] &= (1ull << (R - 192)) - 1;
	plo[3] &= (1ull << (R - 192)) - 1;
	CU_ASSERT_EQUAL(memcmp(gm, pm, sizeof(pm)), 0);
	CU_ASSERT_EQUAL(memcmp(gl, plo, sizeof(plo)), 0);
	CU_ASSERT_EQUAL(memcmp(gh, phi, sizeof(phi)), 0);
	CU_ASSERT_EQUAL(dp_qd_reply_parse(buf, (size_t)n, &aseq, &kpos, gm, gl, gh, R - 1), -EPROTO);
	/* A match with class 3 is malformed. */
	int u = 0;
	while (cls[u] != 3)
		u++;
	buf[16 + u / 8] |= (uint8_t)(1u << (u % 8));
	CU_ASSERT_EQUAL(dp_qd_reply_parse(buf, (size_t)n, &aseq, &kpos, gm, gl, gh, R), -EPROTO);
	buf[16 + u / 8] &= (uint8_t)~(1u << (u % 8));
	CU_ASSERT_EQUAL(dp_qd_reply_parse(buf, (size_t)n + 1, &aseq, &kpos, gm, gl, gh, R), -EPROTO);
	/* Class padding past n (13 detections: bits 26..31 of the last class byte). */
	memset(pm, 0, sizeof(pm));
	n = dp_qd_reply_build(buf, sizeof(buf), 1, 0, pm, plo, phi, 13);
	CU_ASSERT_EQUAL_FATAL(n, 16 + 2 + 4);
	buf[16 + 2 + 3] |= 0x40;
	CU_ASSERT_EQUAL(dp_qd_reply_parse(buf, (size_t)n, &aseq, &kpos, gm, gl, gh, R), -EPROTO);
	buf[16 + 2 + 3] &= 0x3F;
	buf[17] |= 0x80; /* bitmap padding */
	CU_ASSERT_EQUAL(dp_qd_reply_parse(buf, (size_t)n, &aseq, &kpos, gm, gl, gh, R), -EPROTO);
}

static CU_TestInfo tests[] = {
	{"full tags: Poly1305 (RFC 8439 reference) over header and payload", test_poly1305_known_answer},
	{"short tags: per-block key, pad layout, wrap, forgery with the key", test_short_tags},
	{"transcript tag equals its definition", test_transcript_definition},
	{"seal/open: replay, gap, tamper", test_seal_open_replay_gap_tamper},
	{"pad not yet held, then refilled", test_pad_not_yet_held_then_refill},
	{"split gives both ends the same streams", test_split_gives_both_ends_the_same_streams},
	{"header rejects malformed", test_header_rejects_malformed},
	{"sift payloads round trip and reject", test_sift_payloads_round_trip_and_reject},
	{"multi-frame messages: one tag, fragments lost/duplicated/reordered/tampered", test_multi_frame_messages},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"qdist", NULL, NULL, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
