/* CRC-32C with the SSE4.2 crc32 instruction, 8 bytes per step. */
#include <nmmintrin.h>
#include <string.h>

#include "crc32c.h"

uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
	}
	uint32_t c32 = (uint32_t)c;
	for (; len; len--, p++)
		c32 = _mm_crc32_u8(c32, *p);
	return c32;
}
