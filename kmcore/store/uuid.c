/* Key ids in the canonical UUID text form (RFC 9562), as ETSI GS QKD 014 key_ID uses them. */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "km_store.h"
#include "store_internal.h"

void km_uuid_format(const uint8_t id[KM_KEY_ID_LEN], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	for (int i = 0; i < KM_KEY_ID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[id[i] >> 4];
		*p++ = hex[id[i] & 15];
	}
	*p = 0;
}

int km_hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int km_uuid_parse(const char *s, uint8_t id[KM_KEY_ID_LEN])
{
	if (!s || strlen(s) != 36)
		return -EINVAL;
	uint8_t tmp[KM_KEY_ID_LEN];
	int j = 0;
	for (int i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		int hi = km_hex_nibble(s[i]), lo = km_hex_nibble(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		tmp[j++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(id, tmp, KM_KEY_ID_LEN);
	return 0;
}

int km_uuid_random(uint8_t id[KM_KEY_ID_LEN])
{
	if (RAND_bytes(id, KM_KEY_ID_LEN) != 1)
		return -EIO;
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	return 0;
}
