/* Alice's slot window: the transmitter module's symbol for each of the last 2^k slots, one
 * nibble per slot exactly as the dense wire coding packs them (so aligned dense frames are a
 * memcpy), indexed from the first slot ever received. Class 3 (reserved on the transmitter
 * side) marks a slot the module did not report. */
#include <rte_prefetch.h>
#include <string.h>

#include "../wire/le.h"
#include "dp_symbits.h"
#include "node_internal.h"

#define UNKNOWN_NIB 0xF

static inline uint64_t idx(const struct dp_link_rx *rx, uint64_t s)
{
	return (s - rx->win_base) & rx->win_mask;
}

static inline void put_nib(struct dp_link_rx *rx, uint64_t i, uint8_t v)
{
	uint8_t *b = &rx->win[i >> 1];
	*b = (i & 1) ? (uint8_t)((*b & 0x0F) | v << 4) : (uint8_t)((*b & 0xF0) | (v & 0x0F));
}

/* Bytes [from, from + n) of the ring, wrapping. */
static void ring_set(struct dp_link_rx *rx, uint64_t from, uint64_t n, int v)
{
	uint64_t size = (rx->win_mask + 1) / 2, at = from % size;
	uint64_t first = n < size - at ? n : size - at;
	memset(rx->win + at, v, first);
	memset(rx->win, v, n - first);
}

static void ring_copy(struct dp_link_rx *rx, uint64_t from, const uint8_t *src, uint64_t n)
{
	uint64_t size = (rx->win_mask + 1) / 2, at = from % size;
	uint64_t first = n < size - at ? n : size - at;
	memcpy(rx->win + at, src, first);
	memcpy(rx->win, src + first, n - first);
}

void dp_win_unknown(struct dp_link_rx *rx, uint64_t from, uint64_t to)
{
	if (to <= from)
		return;
	if (to - from >= rx->win_mask + 1) {
		memset(rx->win, 0xFF, (rx->win_mask + 1) / 2);
		return;
	}
	uint64_t i = idx(rx, from), n = to - from;
	if (i & 1) {
		put_nib(rx, i, UNKNOWN_NIB);
		i = (i + 1) & rx->win_mask;
		n--;
	}
	ring_set(rx, i >> 1, n >> 1, 0xFF);
	if (n & 1)
		put_nib(rx, (i + n - 1) & rx->win_mask, UNKNOWN_NIB);
}

void dp_win_dense(struct dp_link_rx *rx, uint64_t first, const uint8_t *payload, unsigned count)
{
	uint64_t i = idx(rx, first);
	if (!(i & 1)) {
		ring_copy(rx, i >> 1, payload, count >> 1);
		if (count & 1)
			put_nib(rx, (i + count - 1) & rx->win_mask, payload[count >> 1] & 0x0F);
		return;
	}
	for (unsigned k = 0; k < count; k++)
		put_nib(rx, (i + k) & rx->win_mask, dp_evf_dense_sym(payload, k));
}

void dp_win_put(struct dp_link_rx *rx, uint64_t slot, uint8_t sym)
{
	put_nib(rx, idx(rx, slot), sym);
}

/* The window bytes of the slots after 'from' up to 'to' into cache: the gathers then hit. */
static void prefetch_slots(const struct dp_link_rx *rx, uint64_t from, uint64_t to)
{
	uint64_t bytes = (rx->win_mask + 1) / 2, b = idx(rx, from) >> 1;
	for (uint64_t k = 0; k <= (to - from) / 2 + 64; k += 64)
		rte_prefetch0(rx->win + ((b + k) & (bytes - 1)));
}

#define PREFETCH_GROUPS 4 /* ~4 x 64 detections ahead: covers the latency of the window's lines */

void dp_win_announce(const struct dp_link_rx *rx, struct dp_announce *a)
{
	const uint8_t *words = dp_ann_words(a);
	unsigned groups = (a->n + DP_ANN_GROUP - 1) / DP_ANN_GROUP;
	for (unsigned g = 0; g < PREFETCH_GROUPS && g < groups; g++)
		prefetch_slots(rx, a->ck[g].pos, a->ck[g + 1].pos);
	for (unsigned i = 0, g = 0; i < a->n; i += DP_ANN_GROUP, g++) {
		const struct dp_ann_ck *c = &a->ck[g];
		if (g + PREFETCH_GROUPS < groups)
			prefetch_slots(rx, c[PREFETCH_GROUPS].pos, c[PREFETCH_GROUPS + 1].pos);
		unsigned m = a->n - i < DP_ANN_GROUP ? a->n - i : DP_ANN_GROUP;
		uint64_t pl[4] = {0, 0, 0, 0};
		/* A whole group of one-word events inside the window: the gather kernel. */
		if (m == DP_ANN_GROUP && c[1].word - c->word == DP_ANN_GROUP &&
		    c->pos + 1 >= rx->win_lo && c[1].pos < rx->next_slot) {
			dp_ann_gather(words + 2 * (size_t)c->word, c->pos, rx->win, rx->win_mask,
				      rx->win_base, pl);
		} else {
			uint64_t pos = c->pos;
			uint32_t w = c->word;
			for (unsigned k = 0; k < m; k++) {
				uint16_t x;
				while (!((x = get_le16(words + 2 * (size_t)w++)) & 0xFFF)) /* escape */
					pos += ((uint64_t)(x >> 12) << 16 | get_le16(words + 2 * (size_t)w++)) *
					       DP_EVF_DELTA_MAX;
				pos += x & 0xFFF;
				uint64_t v = UNKNOWN_NIB;
				if (pos >= rx->win_lo && pos < rx->next_slot) {
					uint64_t j = idx(rx, pos);
					v = rx->win[j >> 1] >> ((j & 1) << 2) & 0xF;
				}
				for (int b = 0; b < 4; b++)
					pl[b] |= (v >> b & 1) << k;
			}
		}
		a->ab[g] = pl[0];
		a->abit[g] = pl[1];
		a->lo[g] = pl[2];
		a->hi[g] = pl[3];
	}
}
