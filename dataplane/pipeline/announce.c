/* An announcement's sparse words (the wire coding, docs/protocol.md SIFT_ANNOUNCE): one walk
 * that validates them, notes where every group of DP_ANN_GROUP events starts and builds the
 * symbol planes, group by group: whole groups of one-word events through the dp_ann_group kernel,
 * groups with escapes (gaps above 4095 slots) event by event. Nothing else keeps a slot per
 * detection: a slot is decoded from the nearest checkpoint when a block starts or ends. */
#include <errno.h>
#include <string.h>

#include "../wire/le.h"
#include "dp_symbits.h"
#include "node_internal.h"

#define EV_WORD_MASK 0x1FFF /* delta and basis: what an announcement carries of an event */

/* Decode one event from word *w on (escape words first), advancing *w and *pos. Returns the
 * event's word, or -1 when the words are malformed. */
static int next_event(const uint8_t *words, uint32_t nw, uint32_t *w, uint64_t *pos)
{
	for (;;) {
		if (*w >= nw)
			return -1;
		uint16_t x = get_le16(words + 2 * (size_t)*w);
		(*w)++;
		uint64_t d = x & 0xFFF;
		if (d) {
			if (*pos + d < *pos)
				return -1;
			*pos += d;
			return x;
		}
		if (*w >= nw) /* an escape: 4 high bits here, 16 low bits next, never zero */
			return -1;
		uint64_t e = (uint64_t)(x >> 12) << 16 | get_le16(words + 2 * (size_t)*w);
		(*w)++;
		if (!e || *pos + e * DP_EVF_DELTA_MAX < *pos)
			return -1;
		*pos += e * DP_EVF_DELTA_MAX;
	}
}

int dp_ann_index(struct dp_announce *a, uint8_t *out, bool final)
{
	const uint8_t *words = dp_ann_words(a);
	size_t g = a->indexed / DP_ANN_GROUP;
	if (!a->indexed) {
		a->ck[0].pos = a->base - 1;
		a->ck[0].word = 0;
	}
	uint64_t pos = a->ck[g].pos, extra = 0;
	uint32_t w = a->ck[g].word, nw = a->nwords;
	for (unsigned i = a->indexed; i < a->n; i += DP_ANN_GROUP, g++) {
		unsigned m = a->n - i < DP_ANN_GROUP ? a->n - i : DP_ANN_GROUP;
		if (m < DP_ANN_GROUP && !final)
			break;
		uint64_t pl[4], sum;
		uint8_t *cut = out ? out + 2 * (size_t)w : NULL;
		if (m == DP_ANN_GROUP && nw - w >= DP_ANN_GROUP &&
		    (sum = dp_ann_group(words + 2 * (size_t)w, pl, cut)) != UINT64_MAX &&
		    pos + sum >= pos) {
			pos += sum;
			w += DP_ANN_GROUP;
		} else {
			pl[0] = pl[1] = pl[2] = pl[3] = 0;
			for (unsigned k = 0; k < m; k++) {
				uint32_t w0 = w;
				int x = next_event(words, nw, &w, &pos);
				if (x < 0)
					return -EPROTO;
				for (int b = 0; b < 4; b++)
					pl[b] |= (uint64_t)(x >> (12 + b) & 1) << k;
				if (out) { /* escape words as they are, the event's cut */
					memcpy(out + 2 * (size_t)w0, words + 2 * (size_t)w0, 2 * (size_t)(w - w0));
					put_le16(out + 2 * (size_t)(w - 1), (uint16_t)(x & EV_WORD_MASK));
				}
			}
		}
		a->bb[g] = pl[0];
		if (out)
			a->abit[g] = pl[1];
		else
			extra |= pl[1] | pl[2] | pl[3];
		a->ck[g + 1].pos = pos;
		a->ck[g + 1].word = w;
		if (m == DP_ANN_GROUP) /* a partial group is walked again when events follow */
			a->indexed = i + m;
	}
	if (!final)
		return 0;
	if (w != nw || extra || !a->n)
		return -EPROTO;
	a->last = pos;
	return 0;
}

uint64_t dp_ann_slot(const struct dp_announce *a, unsigned i)
{
	const struct dp_ann_ck *c = &a->ck[i / DP_ANN_GROUP];
	uint64_t pos = c->pos;
	uint32_t w = c->word;
	for (unsigned k = i / DP_ANN_GROUP * DP_ANN_GROUP; k <= i; k++)
		next_event(dp_ann_words(a), a->nwords, &w, &pos); /* indexed: well formed */
	return pos;
}
