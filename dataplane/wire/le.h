/* Little-endian field access for the wire formats (unaligned-safe). */
#ifndef DP_LE_H
#define DP_LE_H

#include <stdint.h>
#include <string.h>

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define DP_LE16(x) __builtin_bswap16(x)
#define DP_LE32(x) __builtin_bswap32(x)
#define DP_LE64(x) __builtin_bswap64(x)
#else
#define DP_LE16(x) (x)
#define DP_LE32(x) (x)
#define DP_LE64(x) (x)
#endif

static inline uint16_t get_le16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return DP_LE16(v); }
static inline uint32_t get_le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return DP_LE32(v); }
static inline uint64_t get_le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return DP_LE64(v); }
static inline void put_le16(uint8_t *p, uint16_t v) { v = DP_LE16(v); memcpy(p, &v, 2); }
static inline void put_le32(uint8_t *p, uint32_t v) { v = DP_LE32(v); memcpy(p, &v, 4); }
static inline void put_le64(uint8_t *p, uint64_t v) { v = DP_LE64(v); memcpy(p, &v, 8); }

#endif
