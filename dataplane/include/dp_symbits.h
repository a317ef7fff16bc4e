/* Per-detection kernels of the sifting path on the RX lcore: sparse words (dp_evframe.h) straight
 * to the bit-planes dst_sift_events() consumes, with the transmitter's symbols gathered from the
 * slot window on the way, and the sparse-word runs of frame and announcement coding. Portable
 * reference and AVX2 variants with identical output, dispatched through dst_cpu.h. */
#ifndef DP_SYMBITS_H
#define DP_SYMBITS_H

#include <stddef.h>
#include <stdint.h>

/* Announcement groups: DP_ANN_GROUP events coded one sparse word each (no escapes, dp_evframe.h),
 * the unit in which both nodes index an announcement and build its bit-planes (one plane word
 * per group). Words are little-endian 16-bit: bits 0-11 the slot delta, bits 12-15 the symbol. */
#define DP_ANN_GROUP 64

/* Bit 12 + k of word i to bit i of planes[k] (k = 0..3, the symbol's bits); when cut is not NULL
 * also cut[i] = word i & 0x1FFF (delta and basis: what an announcement carries). Returns the sum
 * of the 64 deltas, or UINT64_MAX when one is zero (an escape: outputs are then undefined). */
uint64_t dp_ann_group(const uint8_t *words, uint64_t planes[4], uint8_t *cut);

/* out[i] = the nibble of slot s in a window ring of mask + 1 slots (a power of two, at most 2^30)
 * holding slot s at nibble (s - base) & mask, two per byte, low nibble first; the ring buffer has
 * DP_WIN_PAD readable bytes past its end (whole-word loads). gather: the transmitter's symbols of
 * a group of 64 one-word events, event i at slot pos + delta_0 + ... + delta_i (the caller knows
 * every slot is in the window): bit k of event i's nibble to bit i of planes[k]. */
#define DP_WIN_PAD 8
void dp_ann_gather(const uint8_t *words, uint64_t pos, const uint8_t *win, uint64_t mask,
		   uint64_t base, uint64_t planes[4]);

/* Copy n sparse words to out (a frame's run of one-word events into an announcement). Returns
 * the sum of their deltas, or UINT64_MAX when one is zero (an escape: out is then undefined). */
uint64_t dp_sparse_copy_run(const uint8_t *words, size_t n, uint8_t *out);

/* Sparse-word runs (the common case of dp_sparse_decode/encode, dp_evframe.h): words that are
 * all events, no escapes. decode: slots[i] = pos + the sum of the first i + 1 deltas, syms[i] the
 * word's symbol; returns 0, or -1 when a delta is zero (an escape: outputs then undefined); the
 * caller guarantees pos + 4095 * n does not overflow. encode: words[i] = gap_i | (syms[i] & mask)
 * << 12 with gap_i = slots[i] - slots[i - 1] (slots[-1] = prev) while 1 <= gap_i <= 4095; returns
 * how many words it wrote (it stops before the first gap out of that range). */
int dp_sparse_decode_run(const uint8_t *words, size_t n, uint64_t pos, uint64_t *slots,
			 uint8_t *syms);
size_t dp_sparse_encode_run(const uint64_t *slots, const uint8_t *syms, size_t n, uint64_t prev,
			    uint8_t sym_mask, uint16_t *words);

/* Every variant, portable reference first, NULL-terminated (tests and benchmarks). */
struct dp_symbits_variant {
	const char *name;
	unsigned needs; /* DST_CPU_* flags */
	uint64_t (*group)(const uint8_t *words, uint64_t planes[4], uint8_t *cut);
	void (*gather)(const uint8_t *words, uint64_t pos, const uint8_t *win, uint64_t mask,
		       uint64_t base, uint64_t planes[4]);
	uint64_t (*copy_run)(const uint8_t *words, size_t n, uint8_t *out);
	int (*decode_run)(const uint8_t *words, size_t n, uint64_t pos, uint64_t *slots,
			  uint8_t *syms);
	size_t (*encode_run)(const uint64_t *slots, const uint8_t *syms, size_t n, uint64_t prev,
			     uint8_t sym_mask, uint16_t *words);
};
extern const struct dp_symbits_variant dp_symbits_variants[];

#endif
