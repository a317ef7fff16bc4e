/* Bit-window reads on packed LSB-first bit strings. */
#include "pa_internal.h"

uint64_t pa_bits_get64(const uint64_t *s, size_t nbits, long long pos)
{
	if (pos <= -64 || pos >= (long long)nbits)
		return 0;
	long long start = pos < 0 ? 0 : pos;
	size_t w = (size_t)start >> 6;
	unsigned sh = (unsigned)start & 63;
	uint64_t v = s[w] >> sh;
	if (sh && w + 1 < DST_PA_WORDS(nbits))
		v |= s[w + 1] << (64 - sh);
	if (pos < 0)
		v <<= -pos;
	long long valid = (long long)nbits - pos;
	if (valid < 64)
		v &= (1ull << valid) - 1;
	return v;
}
