/* Per-message authentication work on the distill channel, sender side: Qdist version 2 sealed
 * every message with a full Poly1305 tag (the baseline); version 3 seals a BLOCK message with a
 * short tag under the block key and folds it into the block transcript (dp_auth.h,
 * dp_transcript.h). Payload Mbit/s per core for a Cascade-sized message (64 bytes), a 4 KiB one
 * and an LDPC syndrome-sized one (128 KiB). */
#include <stdlib.h>
#include <string.h>

#include "dp_auth.h"
#include "dp_transcript.h"
#include "qkdperf.h"

struct auth_arg {
	struct dp_auth_stream s;
	struct dp_transcript tr;
	uint64_t ki[2], ko[2];
	uint8_t hdr[DP_QD_HDR_LEN], tag[DP_QD_TAG_LEN];
	uint8_t *payload;
	uint32_t len;
	unsigned msgs; /* per call */
	bool transcript;
};

static void set_hdr(struct auth_arg *a, uint8_t type, uint8_t tag)
{
	struct dp_qd_hdr h = {.type = type, .tag = tag, .link_id = 1, .role = DP_ROLE_BOB,
			      .block_seq = 7, .msg_len = a->len, .frag_cnt = 1};
	dp_qd_write_hdr(a->hdr, &h);
}

static void run_full(void *p)
{
	struct auth_arg *a = p;
	a->s.next_seq = 0; /* pads are reused here only: timing, not security */
	for (unsigned i = 0; i < a->msgs; i++)
		dp_auth_seal_msg(&a->s, a->hdr, DP_QD_HDR_LEN, a->payload, a->len, a->tag);
	QP_KEEP(a->tag[0]);
}

static void run_short(void *p)
{
	struct auth_arg *a = p;
	a->s.next_seq = 0;
	dp_transcript_reset(&a->tr);
	set_hdr(a, DP_QD_BLOCK, 4 | DP_QD_TAG_KEYED);
	for (unsigned i = 0; i < a->msgs; i++) {
		if (a->transcript)
			dp_transcript_add(&a->tr, a->ki, a->ko, DP_QD_BLOCK, DP_ROLE_BOB, 1, 7, a->payload,
					  a->len);
		dp_auth_seal_msg(&a->s, a->hdr, DP_QD_HDR_LEN, a->payload, a->len, a->tag);
		a->hdr[4] = 4; /* the block's later messages are not keyed */
	}
	QP_KEEP(a->tag[0] ^ (uint8_t)a->tr.acc[0]);
}

static void bench_auth(struct qp_run *r)
{
	static const uint32_t sizes[] = {64, 4096, 131072};
	struct auth_arg a = {0};
	uint8_t key[16];
	memset(key, 0x3C, sizeof(key));
	size_t pad_bytes = 1 << 16;
	uint8_t *pads = malloc(pad_bytes);
	a.payload = malloc(131072 + 8);
	if (!pads || !a.payload || dp_auth_stream_init(&a.s, key, pad_bytes))
		goto out;
	for (size_t i = 0; i < pad_bytes; i++)
		pads[i] = (uint8_t)(i * 167 + 3);
	for (size_t i = 0; i < 131072 + 8; i++)
		a.payload[i] = (uint8_t)(i * 31 + 1);
	if (dp_auth_stream_set_unit(&a.s, DP_AUTH_UNIT_DISTILL) ||
	    dp_auth_stream_append(&a.s, pads, pad_bytes))
		goto out;
	a.ki[0] = a.ko[1] = 0x0123456789abcdefull;
	a.ki[1] = a.ko[0] = 0xfedcba9876543210ull;
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		a.len = sizes[k];
		a.msgs = sizes[k] <= 4096 ? 256 : 8; /* 256 full pads fit the ring */
		double bits = 8.0 * a.len * a.msgs;
		set_hdr(&a, DP_QD_ABORT, DP_QD_TAG_LEN);
		struct qp_case c = {"dp_auth", "v2_poly1305", a.len, "Mbit/s", bits, run_full, &a, true};
		qp_measure(r, &c);
		a.transcript = false;
		c = (struct qp_case){"dp_auth", "v3_short_tag", a.len, "Mbit/s", bits, run_short, &a, false};
		qp_measure(r, &c);
		a.transcript = true;
		c = (struct qp_case){"dp_auth", "v3_short_tag_transcript", a.len, "Mbit/s", bits, run_short,
				     &a, false};
		qp_measure(r, &c);
	}
out:
	dp_auth_stream_free(&a.s);
	free(pads);
	free(a.payload);
}
QP_BENCH("dp_auth", "distill-channel message authentication per core: v2 Poly1305 full tags vs v3 short tag (+ transcript), payload Mbit/s",
	 bench_auth)
