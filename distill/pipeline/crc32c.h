/* CRC-32C variants behind dst_crc32c(). */
#ifndef CRC32C_H
#define CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c_base(uint32_t crc, const uint8_t *p, size_t len);
uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len);

#endif
