/* Sifting with BMI2 PEXT for the compaction and hardware POPCNT (built with avx2_cflags); the
 * dense kernel lists the words with clicks four at a time with AVX2. */
#include <immintrin.h>

#include "sift_internal.h"

/* Positions of the set bits of every 4-bit mask, packed to the front. */
#define P4(a, b, c, d) {a, b, c, d}
static const uint32_t set_bits[16][4] = {
	P4(0, 0, 0, 0), P4(0, 0, 0, 0), P4(1, 0, 0, 0), P4(0, 1, 0, 0), P4(2, 0, 0, 0), P4(0, 2, 0, 0),
	P4(1, 2, 0, 0), P4(0, 1, 2, 0), P4(3, 0, 0, 0), P4(0, 3, 0, 0), P4(1, 3, 0, 0), P4(0, 1, 3, 0),
	P4(2, 3, 0, 0), P4(0, 2, 3, 0), P4(1, 2, 3, 0), P4(0, 1, 2, 3)};

/* Four words per step without branches: a 4-bit mask of the non-zero ones, its set-bit
 * positions stored as a whole (the list has 3 spare entries) and the count advanced. */
static inline unsigned list_nonzero(const uint64_t *det, size_t k0, size_t k1, uint32_t *idx)
{
	unsigned n = 0;
	size_t k = k0;
	const __m256i zero = _mm256_setzero_si256();
	for (; k + 4 <= k1; k += 4) {
		__m256i d = _mm256_loadu_si256((const __m256i *)(det + k));
		unsigned m = ~(unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(d, zero))) & 15;
		__m128i base = _mm_set1_epi32((int)(k - k0));
		__m128i pos = _mm_loadu_si128((const __m128i *)set_bits[m]);
		_mm_storeu_si128((__m128i *)(idx + n), _mm_add_epi32(base, pos));
		n += (unsigned)__builtin_popcount(m);
	}
	for (; k < k1; k++) {
		idx[n] = (uint32_t)(k - k0);
		n += det[k] != 0;
	}
	return n;
}

#define SIFT_PEXT _pext_u64
#define SIFT_POPCNT _mm_popcnt_u64
#define SIFT_LIST list_nonzero
#define SIFT_FN(name) sift_avx2_##name
#include "sift_kernel.h"

size_t dst_sift_events_avx2(struct dst_sift_block *b, const struct dst_events *ev, size_t from)
{
	return sift_avx2_events(b, ev, from);
}

size_t dst_sift_planes_avx2(struct dst_sift_block *b, const struct dst_planes *pl, size_t from)
{
	return sift_avx2_planes(b, pl, from);
}
