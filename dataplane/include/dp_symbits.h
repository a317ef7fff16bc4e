/* Per-detection kernels of the sifting path on the RX lcore: event symbols (one nibble per
 * detection, dp_evframe.h) to the bit-planes dst_sift_events() consumes, and the gather of the
 * transmitter's symbols for announced slots from the slot window. Portable reference and AVX2
 * variants with identical output, dispatched through dst_cpu.h. */
#ifndef DP_SYMBITS_H
#define DP_SYMBITS_H

#include <stddef.h>
#include <stdint.h>

/* Bit k of sym[i] to bit i of plane pk (bit i%64 of word i/64), k = 0..3; NULL planes are
 * skipped. Writes ceil(n/64) words per plane, bits past n zero. */
void dp_sym_planes(const uint8_t *sym, size_t n, uint64_t *p0, uint64_t *p1, uint64_t *p2,
		   uint64_t *p3);

/* out[i] = the nibble of slot slots[i] in a window ring of mask + 1 slots (a power of two, at
 * most 2^30) holding slot s at nibble (s - base) & mask, two per byte, low nibble first. The
 * window buffer has DP_WIN_PAD readable bytes past its end (whole-word loads). */
#define DP_WIN_PAD 8
void dp_win_gather(const uint8_t *win, uint64_t mask, uint64_t base, const uint64_t *slots,
		   size_t n, uint8_t *out);

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
	void (*planes)(const uint8_t *sym, size_t n, uint64_t *p0, uint64_t *p1, uint64_t *p2,
		       uint64_t *p3);
	void (*gather)(const uint8_t *win, uint64_t mask, uint64_t base, const uint64_t *slots,
		       size_t n, uint8_t *out);
	int (*decode_run)(const uint8_t *words, size_t n, uint64_t pos, uint64_t *slots,
			  uint8_t *syms);
	size_t (*encode_run)(const uint64_t *slots, const uint8_t *syms, size_t n, uint64_t prev,
			     uint8_t sym_mask, uint16_t *words);
};
extern const struct dp_symbits_variant dp_symbits_variants[];

#endif
