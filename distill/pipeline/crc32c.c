/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): byte-table reference and dispatch. */
#include "crc32c.h"
#include "dst_block.h"
#include "dst_cpu.h"

static uint32_t table[256];

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
		table[i] = c;
	}
}

uint32_t crc32c_base(uint32_t crc, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		crc = (crc >> 8) ^ table[(crc ^ p[i]) & 0xff];
	return crc;
}

static uint32_t (*crc_fn)(uint32_t, const uint8_t *, size_t) = crc32c_base;

static void crc32c_select(unsigned active)
{
	if (!table[1])
		table_init();
	crc_fn = (active & DST_CPU_SSE42) ? crc32c_sse42 : crc32c_base;
}
DST_DISPATCH("crc32c", crc32c_select)

uint32_t dst_crc32c(const void *buf, size_t len)
{
	return ~crc_fn(~0u, buf, len);
}
