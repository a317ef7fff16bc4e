/* Detector-event frames: builder/parser round trips against an independent bit-level reading of
 * the layout in docs/protocol.md, and every malformed case rejected with its reason. */
#include <errno.h>
#include <string.h>

#include "dp_evframe.h"
#include "unit.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static void test_dense_round_trip(void)
{
	uint8_t syms[1001], buf[1100];
	uint64_t s = 7;
	for (unsigned i = 0; i < 1001; i++)
		syms[i] = unit_rand(&s) & 0xF;
	struct dp_evf_hdr h = {.flags = DP_EVF_FLAG_DENSE, .link_id = 0x1234, .seq = 0xA1B2C3D4,
			       .first_slot = 0x0102030405060708ULL, .count = 1001};
	int n = dp_evf_build_dense(buf, sizeof(buf), &h, syms);
	CU_ASSERT_EQUAL_FATAL(n, DP_EVF_HDR_LEN + 501);
	/* The layout, read by hand: version, flags, LE fields, low nibble first. */
	CU_ASSERT_EQUAL(buf[0], 1);
	CU_ASSERT_EQUAL(buf[1], DP_EVF_FLAG_DENSE);
	CU_ASSERT_EQUAL(buf[2], 0x34);
	CU_ASSERT_EQUAL(buf[3], 0x12);
	CU_ASSERT_EQUAL(buf[4], 0xD4);
	CU_ASSERT_EQUAL(buf[8], 0x08);
	CU_ASSERT_EQUAL(buf[15], 0x01);
	CU_ASSERT_EQUAL(rd16(buf + 16), 1001);
	CU_ASSERT_EQUAL(rd16(buf + 18), 501);
	CU_ASSERT_EQUAL(buf[20] & 0xF, syms[0]);
	CU_ASSERT_EQUAL(buf[20] >> 4, syms[1]);
	CU_ASSERT_EQUAL(buf[520], syms[1000]);

	struct dp_evf_hdr g;
	CU_ASSERT_EQUAL_FATAL(dp_evf_parse(buf, (size_t)n, &g), DP_ERR_OK);
	CU_ASSERT_EQUAL(g.link_id, 0x1234);
	CU_ASSERT_EQUAL(g.seq, 0xA1B2C3D4);
	CU_ASSERT_EQUAL(g.first_slot, 0x0102030405060708ULL);
	CU_ASSERT_EQUAL(g.count, 1001);
	int same = 1;
	for (unsigned i = 0; i < 1001; i++)
		same &= dp_evf_dense_sym(buf + DP_EVF_HDR_LEN, i) == syms[i];
	CU_ASSERT(same);
}

/* Reference sparse decoder written from the protocol table, independent of the library. */
static int ref_sparse(const uint8_t *w, unsigned nw, uint64_t base, uint64_t *slots, uint8_t *syms)
{
	uint64_t pos = base - 1;
	int n = 0;
	for (unsigned i = 0; i < nw; i++) {
		unsigned v = rd16(w + 2 * i);
		if ((v & 0xFFF) == 0) {
			uint64_t e = ((uint64_t)(v >> 12) << 16) | rd16(w + 2 * (i + 1));
			i++;
			pos += e * 4095;
		} else {
			pos += v & 0xFFF;
			slots[n] = pos;
			syms[n++] = (uint8_t)(v >> 12);
		}
	}
	return n;
}

static void test_sparse_round_trip_with_escapes(void)
{
	enum { N = 700 };
	uint64_t slots[N], got[N], ref[N];
	uint8_t syms[N], gsym[N], rsym[N], buf[4096];
	uint64_t s = 11, pos = 1000;
	for (unsigned i = 0; i < N; i++) {
		uint64_t r = unit_rand(&s);
		/* Mostly short gaps, some exactly at the 4095 edge, some needing escapes. */
		uint64_t gap = (r & 7) == 0 ? 4095 + (r >> 40) % 20000000 : (r & 7) == 1 ? 4095 : 1 + (r >> 50) % 3000;
		pos += gap;
		slots[i] = pos;
		syms[i] = (r >> 8) & 0xF;
	}
	struct dp_evf_hdr h = {.flags = DP_EVF_FLAG_RX_SIDE, .link_id = 3, .seq = 9, .first_slot = 1001};
	int n = dp_evf_build_sparse(buf, sizeof(buf), &h, slots, syms, N);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(h.count, N);
	struct dp_evf_hdr g;
	CU_ASSERT_EQUAL_FATAL(dp_evf_parse(buf, (size_t)n, &g), DP_ERR_OK);
	CU_ASSERT_EQUAL_FATAL(dp_evf_decode_sparse(&g, buf + DP_EVF_HDR_LEN, got, gsym), DP_ERR_OK);
	CU_ASSERT_EQUAL(ref_sparse(buf + DP_EVF_HDR_LEN, g.payload_len / 2, 1001, ref, rsym), N);
	int same = 1;
	for (unsigned i = 0; i < N; i++)
		same &= got[i] == slots[i] && ref[i] == slots[i] && gsym[i] == syms[i] && rsym[i] == syms[i];
	CU_ASSERT(same);
	/* Slot equal to first_slot is delta 1 from the slot before it. */
	uint64_t one = 1001;
	uint8_t z = 5;
	CU_ASSERT_EQUAL(dp_evf_build_sparse(buf, sizeof(buf), &h, &one, &z, 1), DP_EVF_HDR_LEN + 2);
	CU_ASSERT_EQUAL(rd16(buf + DP_EVF_HDR_LEN), 1 | 5 << 12);
}

static void test_builder_rejects_bad_input(void)
{
	uint8_t buf[64], syms[4] = {0};
	uint64_t slots[2] = {10, 10};
	struct dp_evf_hdr h = {.first_slot = 5};
	CU_ASSERT_EQUAL(dp_evf_build_sparse(buf, sizeof(buf), &h, slots, syms, 2), -EINVAL);
	slots[0] = 4;
	CU_ASSERT_EQUAL(dp_evf_build_sparse(buf, sizeof(buf), &h, slots, syms, 1), -EINVAL);
	h.flags = DP_EVF_FLAG_DENSE;
	h.count = 0;
	CU_ASSERT_EQUAL(dp_evf_build_dense(buf, sizeof(buf), &h, syms), -EINVAL);
	h.count = 200;
	CU_ASSERT_EQUAL(dp_evf_build_dense(buf, sizeof(buf), &h, syms), -ENOSPC);
}

/* A valid sparse frame to corrupt: events at 101, 102, 5000 (escape-free), symbols 1,2,3. */
static int valid_sparse(uint8_t *buf)
{
	uint64_t slots[3] = {101, 102, 5000};
	uint8_t syms[3] = {1, 2, 3};
	struct dp_evf_hdr h = {.flags = DP_EVF_FLAG_RX_SIDE, .first_slot = 100};
	return dp_evf_build_sparse(buf, 256, &h, slots, syms, 3);
}

static enum dp_err parse_decode(const uint8_t *buf, size_t len)
{
	struct dp_evf_hdr h;
	uint64_t slots[64];
	uint8_t syms[64];
	enum dp_err e = dp_evf_parse(buf, len, &h);
	if (e != DP_ERR_OK || (h.flags & DP_EVF_FLAG_DENSE) || h.count > 64)
		return e;
	return dp_evf_decode_sparse(&h, buf + DP_EVF_HDR_LEN, slots, syms);
}

static void test_malformed_frames_rejected_with_reason(void)
{
	uint8_t buf[256], b[256];
	int n = valid_sparse(buf);
	CU_ASSERT_FATAL(n == DP_EVF_HDR_LEN + 10); /* deltas 2, 1, then 4898 = escape 4095 + 803 */
	CU_ASSERT_EQUAL(parse_decode(buf, (size_t)n), DP_ERR_OK);

	CU_ASSERT_EQUAL(parse_decode(buf, 19), DP_ERR_EVF_SHORT);
	memcpy(b, buf, (size_t)n); b[0] = 2;
	CU_ASSERT_EQUAL(parse_decode(b, (size_t)n), DP_ERR_EVF_VERSION);
	memcpy(b, buf, (size_t)n); b[1] |= 0x80;
	CU_ASSERT_EQUAL(parse_decode(b, (size_t)n), DP_ERR_EVF_FLAGS);
	CU_ASSERT_EQUAL(parse_decode(buf, (size_t)n - 1), DP_ERR_EVF_LENGTH);
	memcpy(b, buf, (size_t)n); b[16] = 0; /* count 0 */
	CU_ASSERT_EQUAL(parse_decode(b, (size_t)n), DP_ERR_EVF_COUNT);
	memcpy(b, buf, (size_t)n); b[16] = 5; /* more events than words */
	CU_ASSERT_EQUAL(parse_decode(b, (size_t)n), DP_ERR_EVF_COUNT);
	memcpy(b, buf, (size_t)n); b[16] = 2; /* fewer events than the words hold */
	CU_ASSERT_EQUAL(parse_decode(b, (size_t)n), DP_ERR_EVF_COUNT);
	memcpy(b, buf, (size_t)n); b[18] = 7; /* odd payload length */
	CU_ASSERT_EQUAL(parse_decode(b, (size_t)n), DP_ERR_EVF_COUNT);
	/* Escape value zero: the escape is the third word (offset 4 in the payload). */
	memcpy(b, buf, (size_t)n);
	CU_ASSERT_EQUAL_FATAL(rd16(b + DP_EVF_HDR_LEN + 4) & 0xFFF, 0);
	b[DP_EVF_HDR_LEN + 6] = 0; b[DP_EVF_HDR_LEN + 7] = 0; b[DP_EVF_HDR_LEN + 5] = 0;
	CU_ASSERT_EQUAL(parse_decode(b, (size_t)n), DP_ERR_EVF_ESCAPE);
	/* An escape as the last word: truncated. */
	uint8_t t[64];
	struct dp_evf_hdr h = {.flags = DP_EVF_FLAG_RX_SIDE, .first_slot = 1, .count = 1, .payload_len = 4};
	memcpy(t, buf, DP_EVF_HDR_LEN);
	t[16] = 1; t[17] = 0; t[18] = 4; t[19] = 0;
	t[20] = 1; t[21] = 0; t[22] = 0; t[23] = 0; /* event, then an escape with no second word */
	CU_ASSERT_EQUAL(parse_decode(t, 24), DP_ERR_EVF_ESCAPE);
	(void)h;
	/* Slot overflow: first slot near 2^64. */
	memcpy(b, buf, (size_t)n);
	memset(b + 8, 0xFF, 8);
	CU_ASSERT_EQUAL(parse_decode(b, (size_t)n), DP_ERR_EVF_SLOT_OVERFLOW);
	memcpy(b, buf, (size_t)n);
	memset(b + 8, 0, 8); /* sparse slots start above 0 */
	CU_ASSERT_EQUAL(parse_decode(b, (size_t)n), DP_ERR_EVF_SLOT_OVERFLOW);

	/* Dense: padding nibble and count/length mismatch. */
	uint8_t syms[3] = {1, 2, 3};
	struct dp_evf_hdr d = {.flags = DP_EVF_FLAG_DENSE, .first_slot = 1, .count = 3};
	int dn = dp_evf_build_dense(b, sizeof(b), &d, syms);
	CU_ASSERT_FATAL(dn == DP_EVF_HDR_LEN + 2);
	struct dp_evf_hdr g;
	CU_ASSERT_EQUAL(dp_evf_parse(b, (size_t)dn, &g), DP_ERR_OK);
	b[DP_EVF_HDR_LEN + 1] |= 0x50;
	CU_ASSERT_EQUAL(dp_evf_parse(b, (size_t)dn, &g), DP_ERR_EVF_PADDING);
	b[16] = 5;
	CU_ASSERT_EQUAL(dp_evf_parse(b, (size_t)dn, &g), DP_ERR_EVF_COUNT);
	/* Ethernet padding after the payload is allowed. */
	CU_ASSERT_EQUAL(parse_decode(buf, (size_t)n + 20), DP_ERR_OK);
}

static void test_error_names_cover_every_reason(void)
{
	CU_ASSERT_STRING_EQUAL(dp_err_name(DP_ERR_EVF_ESCAPE), "EVF_ESCAPE");
	CU_ASSERT_STRING_EQUAL(dp_err_name(DP_ERR_QD_AUTH), "QD_AUTH");
	int all = 1;
	for (int e = 0; e < DP_ERR__COUNT; e++)
		all &= dp_err_text((enum dp_err)e)[0] != 0 && strcmp(dp_err_name((enum dp_err)e), "unknown");
	CU_ASSERT(all);
	CU_ASSERT_STRING_EQUAL(dp_err_name(DP_ERR__COUNT), "unknown");
}

static CU_TestInfo tests[] = {
	{"dense frame round trip and layout", test_dense_round_trip},
	{"sparse frame round trip with escapes", test_sparse_round_trip_with_escapes},
	{"builders reject bad input", test_builder_rejects_bad_input},
	{"malformed frames rejected with their reason", test_malformed_frames_rejected_with_reason},
	{"error counter names", test_error_names_cover_every_reason},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"evframe", NULL, NULL, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
