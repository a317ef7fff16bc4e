/* Alice's slot window: the transmitter module's symbol for each of the last 2^k slots, one
 * nibble per slot exactly as the dense wire coding packs them (so aligned dense frames are a
 * memcpy), indexed from the first slot ever received. Class 3 (reserved on the transmitter
 * side) marks a slot the module did not report. */
#include <string.h>

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

/* First index of the increasing slots at or above s. */
static unsigned lower_bound(const uint64_t *slots, unsigned n, uint64_t s)
{
	unsigned lo = 0, hi = n;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (slots[mid] < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void dp_win_lookup(const struct dp_link_rx *rx, const uint64_t *slots, unsigned n, uint8_t *out)
{
	/* The slots increase, so the ones the window holds are one run: no per-slot range check. */
	unsigned i0 = lower_bound(slots, n, rx->win_lo);
	unsigned i1 = lower_bound(slots, n, rx->next_slot);
	if (i1 < i0)
		i1 = i0;
	memset(out, UNKNOWN_NIB, i0);
	dp_win_gather(rx->win, rx->win_mask, rx->win_base, slots + i0, i1 - i0, out + i0);
	memset(out + i1, UNKNOWN_NIB, n - i1);
}
