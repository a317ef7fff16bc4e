/* Fuzz target: Qdist header parser, sift payload parsers and authentication. Accepted sift
 * payloads rebuild to the same bytes (announcements: to the same events); no input ever passes
 * authentication against a stream whose pads the fuzzer cannot know, and a rejected message
 * leaves the stream unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_auth.h"
#include "dp_qdist.h"

static uint64_t slots[DP_QD_ANNOUNCE_MAX], slots2[DP_QD_ANNOUNCE_MAX];
static uint8_t a[DP_QD_ANNOUNCE_MAX], b[DP_QD_ANNOUNCE_MAX], a2[DP_QD_ANNOUNCE_MAX],
	b2[DP_QD_ANNOUNCE_MAX], buf[70000];

static struct dp_auth_stream *stream(void)
{
	static struct dp_auth_stream s;
	static int ready;
	if (!ready) {
		uint8_t r[16], pads[4096];
		for (unsigned i = 0; i < sizeof(pads); i++)
			pads[i] = (uint8_t)(i * 131 + 7);
		memset(r, 0x5C, sizeof(r));
		if (dp_auth_stream_init(&s, r, sizeof(pads)) || dp_auth_stream_append(&s, pads, sizeof(pads)))
			abort();
		ready = 1;
	}
	return &s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_qd_hdr h;
	if (dp_qd_parse(data, size, &h) != DP_ERR_OK)
		return 0;
	struct dp_auth_stream *s = stream();
	uint64_t next = s->next_seq;
	if (dp_auth_open(s, data, DP_QD_HDR_LEN + h.payload_len, h.msg_seq) == DP_ERR_OK)
		abort(); /* a forged tag verified */
	if (s->next_seq != next)
		abort();
	const uint8_t *pl = data + DP_QD_HDR_LEN;
	if (h.type == DP_QD_SIFT_ANNOUNCE) {
		int n = dp_qd_announce_parse(pl, h.payload_len, slots, a);
		if (n > 0) {
			int m = dp_qd_announce_build(buf, sizeof(buf), slots[0], slots, a, (unsigned)n);
			if (m < 0 || dp_qd_announce_parse(buf, (size_t)m, slots2, a2) != n ||
			    memcmp(slots, slots2, (size_t)n * 8) || memcmp(a, a2, (size_t)n))
				abort();
		}
	} else if (h.type == DP_QD_SIFT_REPLY) {
		uint64_t seq;
		uint32_t pos;
		int n = dp_qd_reply_parse(pl, h.payload_len, &seq, &pos, a, b);
		if (n > 0) {
			int m = dp_qd_reply_build(buf, sizeof(buf), seq, pos, a, b, (unsigned)n);
			if (m != h.payload_len || memcmp(buf, pl, (size_t)m))
				abort();
			uint64_t seq2;
			uint32_t pos2;
			if (dp_qd_reply_parse(buf, (size_t)m, &seq2, &pos2, a2, b2) != n)
				abort();
		}
	}
	return 0;
}
