/* Qdist framing, sift payloads and Wegman-Carter authentication: Poly1305 known answer
 * (RFC 8439 section 2.5.2), pads used once, replay/gap/tamper handling. */
#include <errno.h>
#include <string.h>

#include "dp_auth.h"
#include "dp_qdist.h"
#include "unit.h"

/* RFC 8439 2.5.2: key = r || s, message, tag. */
static const uint8_t rfc_key[32] = {
	0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33, 0x7f, 0x44, 0x52, 0xfe, 0x42, 0xd5, 0x06, 0xa8,
	0x01, 0x03, 0x80, 0x8a, 0xfb, 0x0d, 0xb2, 0xfd, 0x4a, 0xbf, 0xf6, 0xaf, 0x41, 0x49, 0xf5, 0x1b};
static const char rfc_msg[] = "Cryptographic Forum Research Group";
static const uint8_t rfc_tag[16] = {0xa8, 0x06, 0x1d, 0xc1, 0x30, 0x51, 0x36, 0xc6,
				    0xc2, 0x2b, 0x8b, 0xaf, 0x0c, 0x01, 0x27, 0xa9};

static void test_poly1305_known_answer(void)
{
	struct dp_auth_stream s;
	CU_ASSERT_EQUAL_FATAL(dp_auth_stream_init(&s, rfc_key, 64), 0);
	CU_ASSERT_EQUAL(dp_auth_stream_append(&s, rfc_key + 16, 16), 0);
	uint8_t m[64];
	size_t len = strlen(rfc_msg);
	memcpy(m, rfc_msg, len);
	memcpy(m + len, rfc_tag, 16);
	CU_ASSERT_EQUAL(dp_auth_open(&s, m, len, 0), DP_ERR_OK);
	CU_ASSERT_EQUAL(s.next_seq, 1);
	/* The pad is gone: the same message again is a replay. */
	CU_ASSERT_EQUAL(dp_auth_open(&s, m, len, 0), DP_ERR_QD_REPLAY);
	dp_auth_stream_free(&s);
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
			      .block_seq = block};
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
		len[i] = build_msg(&tx, m[i], DP_QD_BLOCK, 42, "syndrome bytes");
	CU_ASSERT_EQUAL(len[0], DP_QD_HDR_LEN + 14 + 16);
	CU_ASSERT_EQUAL(m[3][16], 3); /* msg_seq written little-endian */
	/* Out of pads: sealing refuses and changes nothing. */
	uint8_t extra[128];
	CU_ASSERT_EQUAL(build_msg(&tx, extra, DP_QD_BLOCK, 42, "x"), -EAGAIN);

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
		len[i] = build_msg(&tx, m[i], DP_QD_BLOCK, 1, "abc");
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
	int len = build_msg(&tx, m, DP_QD_BLOCK, 1, "payload");
	struct dp_qd_hdr h;
	CU_ASSERT_EQUAL(dp_qd_parse(m, (size_t)len, &h), DP_ERR_OK);
	CU_ASSERT_EQUAL(h.block_seq, 1);
	CU_ASSERT_EQUAL(h.payload_len, 7);
	CU_ASSERT_EQUAL(dp_qd_parse(m, 39, &h), DP_ERR_QD_SHORT);
	CU_ASSERT_EQUAL(dp_qd_parse(m, (size_t)len - 1, &h), DP_ERR_QD_LENGTH);
	memcpy(b, m, (size_t)len); b[0] = 9;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_VERSION);
	memcpy(b, m, (size_t)len); b[1] = 0;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_TYPE);
	memcpy(b, m, (size_t)len); b[1] = 99;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_TYPE);
	memcpy(b, m, (size_t)len); b[4] = DP_QD_CH_SIFT; /* BLOCK on the sift channel */
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_RESERVED);
	memcpy(b, m, (size_t)len); b[5] = 2;
	CU_ASSERT_EQUAL(dp_qd_parse(b, (size_t)len, &h), DP_ERR_QD_RESERVED);
	dp_auth_stream_free(&tx);
	dp_auth_stream_free(&rx);
}

static void test_sift_payloads_round_trip_and_reject(void)
{
	uint64_t slots[300], got[DP_QD_ANNOUNCE_MAX];
	uint8_t bases[300], gb[DP_QD_ANNOUNCE_MAX], buf[4096];
	uint64_t s = 5, pos = 77;
	for (int i = 0; i < 300; i++) {
		pos += 1 + unit_rand(&s) % 9000;
		slots[i] = pos;
		bases[i] = unit_rand(&s) & 1;
	}
	int n = dp_qd_announce_build(buf, sizeof(buf), 50, slots, bases, 300);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(dp_qd_announce_parse(buf, (size_t)n, got, gb), 300);
	CU_ASSERT_EQUAL(memcmp(got, slots, sizeof(slots)), 0);
	CU_ASSERT_EQUAL(memcmp(gb, bases, sizeof(bases)), 0);
	CU_ASSERT_EQUAL(dp_qd_announce_parse(buf, (size_t)n - 2, got, gb), -EPROTO);
	buf[n - 1] |= 0x20; /* a bit value in the last (always an event) word */
	CU_ASSERT_EQUAL(dp_qd_announce_parse(buf, (size_t)n, got, gb), -EPROTO);

	uint8_t match[13], cls[13], gm[DP_QD_ANNOUNCE_MAX], gc[DP_QD_ANNOUNCE_MAX];
	for (int i = 0; i < 13; i++) {
		match[i] = (i % 3) == 0;
		cls[i] = (uint8_t)(i % 3);
	}
	cls[1] = 3; /* slot unknown to the transmitter, not matched */
	n = dp_qd_reply_build(buf, sizeof(buf), 0x1122, 77, match, cls, 13);
	CU_ASSERT_EQUAL_FATAL(n, 16 + 2 + 4);
	/* Layout: bitmap LSB first, then 2-bit classes. */
	CU_ASSERT_EQUAL(buf[16], 0x49); /* matches at 0, 3, 6 */
	CU_ASSERT_EQUAL(buf[17], 0x12); /* 9, 12 */
	CU_ASSERT_EQUAL(buf[18], (0 | 3 << 2 | 2 << 4 | 0 << 6));
	uint64_t aseq;
	uint32_t kpos;
	CU_ASSERT_EQUAL(dp_qd_reply_parse(buf, (size_t)n, &aseq, &kpos, gm, gc), 13);
	CU_ASSERT_EQUAL(aseq, 0x1122);
	CU_ASSERT_EQUAL(kpos, 77);
	CU_ASSERT_EQUAL(buf[8], 77);
	CU_ASSERT_EQUAL(memcmp(gm, match, 13), 0);
	CU_ASSERT_EQUAL(memcmp(gc, cls, 13), 0);
	buf[17] |= 0x80; /* padding bit */
	CU_ASSERT_EQUAL(dp_qd_reply_parse(buf, (size_t)n, &aseq, &kpos, gm, gc), -EPROTO);
	buf[17] &= 0x7F;
	buf[18] |= 0x01; /* slot 0 matched, class made 1: fine; slot 1 class 3 matched: not */
	buf[16] |= 0x02;
	CU_ASSERT_EQUAL(dp_qd_reply_parse(buf, (size_t)n, &aseq, &kpos, gm, gc), -EPROTO);
	CU_ASSERT_EQUAL(dp_qd_reply_parse(buf, (size_t)n + 1, &aseq, &kpos, gm, gc), -EPROTO);
}

static CU_TestInfo tests[] = {
	{"Poly1305 known answer (RFC 8439)", test_poly1305_known_answer},
	{"seal/open: replay, gap, tamper", test_seal_open_replay_gap_tamper},
	{"pad not yet held, then refilled", test_pad_not_yet_held_then_refill},
	{"split gives both ends the same streams", test_split_gives_both_ends_the_same_streams},
	{"header rejects malformed", test_header_rejects_malformed},
	{"sift payloads round trip and reject", test_sift_payloads_round_trip_and_reject},
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
