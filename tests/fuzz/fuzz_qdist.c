/* Fuzz target: Qdist frame parser, multi-frame reassembly, sift payload parsers and
 * authentication. The input is a sequence of frames, each preceded by its length (u16 LE). Every
 * frame goes through the parser and the reassembler; a message that completes has exactly its
 * announced length, and no input ever passes authentication (full, short or keyed tags) against
 * a stream of its channel whose pads the fuzzer cannot know (a rejected message leaves the stream
 * unchanged). Accepted sift payloads rebuild to the same bytes (announcements: to the same
 * events). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_auth.h"
#include "dp_qdist.h"

#define MAXN 4096 /* detections per payload the fuzzer decodes (larger ones are rejected) */
static uint64_t slots[MAXN], slots2[MAXN], m[MAXN / 64], lo[MAXN / 64], hi[MAXN / 64],
	m2[MAXN / 64], lo2[MAXN / 64], hi2[MAXN / 64];
static uint8_t a[MAXN], a2[MAXN], buf[6 * MAXN + 64];

/* One receive stream per channel (the distill one counts in 4-byte units). */
static struct dp_auth_stream *stream(enum dp_qd_channel ch)
{
	static struct dp_auth_stream s[DP_QD_CHANNELS];
	static int ready;
	if (!ready) {
		uint8_t r[16], pads[4096];
		for (unsigned i = 0; i < sizeof(pads); i++)
			pads[i] = (uint8_t)(i * 131 + 7);
		memset(r, 0x5C, sizeof(r));
		for (int c = 0; c < DP_QD_CHANNELS; c++)
			if (dp_auth_stream_init(&s[c], r, sizeof(pads)) ||
			    dp_auth_stream_append(&s[c], pads, sizeof(pads)))
				abort();
		if (dp_auth_stream_set_unit(&s[DP_QD_CH_DISTILL], DP_AUTH_UNIT_DISTILL))
			abort();
		ready = 1;
	}
	return &s[ch];
}

static void payload(uint8_t type, const uint8_t *pl, size_t len)
{
	if (type == DP_QD_SIFT_ANNOUNCE) {
		int n = dp_qd_announce_parse(pl, len, slots, a, MAXN);
		if (n > 0) {
			int k = dp_qd_announce_build(buf, sizeof(buf), slots[0], slots, a, (unsigned)n);
			if (k < 0 || dp_qd_announce_parse(buf, (size_t)k, slots2, a2, MAXN) != n ||
			    memcmp(slots, slots2, (size_t)n * 8) || memcmp(a, a2, (size_t)n))
				abort();
		}
	} else if (type == DP_QD_SIFT_REPLY) {
		uint64_t seq, seq2;
		uint32_t pos, pos2;
		int n = dp_qd_reply_parse(pl, len, &seq, &pos, m, lo, hi, MAXN);
		if (n > 0) {
			int k = dp_qd_reply_build(buf, sizeof(buf), seq, pos, m, lo, hi, (unsigned)n);
			if (k != (int)len || memcmp(buf, pl, (size_t)k))
				abort();
			if (dp_qd_reply_parse(buf, (size_t)k, &seq2, &pos2, m2, lo2, hi2, MAXN) != n ||
			    memcmp(m, m2, ((size_t)n + 63) / 64 * 8))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp_qd_asm as;
	if (!as.buf && dp_qd_asm_init(&as, 1 << 16))
		abort();
	dp_qd_asm_done(&as);
	while (size >= 2) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		const uint8_t *f = data;
		data += len;
		size -= len;
		struct dp_qd_hdr h;
		if (dp_qd_parse(f, len, &h) != DP_ERR_OK)
			continue;
		if (h.frag_cnt == 1) /* a single frame is its own message */
			payload(h.type, f + DP_QD_HDR_LEN, h.payload_len);
		if (dp_qd_asm_add(&as, f, &h) != DP_ERR_OK || !as.complete)
			continue;
		if (as.got != as.h.msg_len)
			abort();
		struct dp_auth_stream *s = stream(as.h.channel);
		uint64_t next = s->next_seq;
		enum dp_err e = dp_auth_open_msg(s, as.last_hdr, DP_QD_HDR_LEN, as.buf, as.h.msg_len,
						 as.h.msg_seq, as.tag);
		/* A forged tag verified: impossible for 8 or 16 bytes (2^-64), while a 4-byte short
		 * tag is guessed with probability 2^-32 per try by design (docs/protocol.md). */
		if (e == DP_ERR_OK && dp_qd_tag_len(&as.h) > 4)
			abort();
		if (e != DP_ERR_OK && s->next_seq != next)
			abort();
		payload(as.h.type, as.buf, as.h.msg_len);
		dp_qd_asm_done(&as);
	}
	return 0;
}
