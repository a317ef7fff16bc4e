/* Sifting with BMI2 PEXT for the compaction and hardware POPCNT (built with avx2_cflags); the
 * dense kernel skips empty detection words four at a time with AVX2. */
#include <immintrin.h>

#include "sift_internal.h"

static inline size_t skip_empty(const uint64_t *det, size_t k, size_t words)
{
	while (k + 4 <= words) {
		__m256i d = _mm256_loadu_si256((const __m256i *)(det + k));
		if (!_mm256_testz_si256(d, d))
			break;
		k += 4;
	}
	while (k < words && !det[k])
		k++;
	return k;
}

#define SIFT_PEXT _pext_u64
#define SIFT_POPCNT _mm_popcnt_u64
#define SIFT_SKIP skip_empty
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
