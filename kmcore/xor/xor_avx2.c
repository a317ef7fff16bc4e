/* AVX2 XOR: 128 bytes per iteration with unaligned loads (built with avx2_cflags). */
#include "km_xor.h"

#include <immintrin.h>

void km_xor_avx2(void *dst, const void *a, const void *b, size_t len)
{
	char *d = dst;
	const char *x = a, *y = b;
	size_t i = 0;
	for (; i + 128 <= len; i += 128) {
		__m256i r0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + i)),
					      _mm256_loadu_si256((const __m256i *)(y + i)));
		__m256i r1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + i + 32)),
					      _mm256_loadu_si256((const __m256i *)(y + i + 32)));
		__m256i r2 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + i + 64)),
					      _mm256_loadu_si256((const __m256i *)(y + i + 64)));
		__m256i r3 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + i + 96)),
					      _mm256_loadu_si256((const __m256i *)(y + i + 96)));
		_mm256_storeu_si256((__m256i *)(d + i), r0);
		_mm256_storeu_si256((__m256i *)(d + i + 32), r1);
		_mm256_storeu_si256((__m256i *)(d + i + 64), r2);
		_mm256_storeu_si256((__m256i *)(d + i + 96), r3);
	}
	for (; i + 32 <= len; i += 32)
		_mm256_storeu_si256((__m256i *)(d + i),
				    _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + i)),
						     _mm256_loadu_si256((const __m256i *)(y + i))));
	if (i < len)
		km_xor_base(d + i, x + i, y + i, len - i);
}
