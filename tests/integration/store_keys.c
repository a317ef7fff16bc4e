/* Test helper: does a qkdnode key store hold exactly the keys a --key-digest file lists?
 *   store_keys DIR KEK DIGEST
 * DIGEST lines are "link block key_id(hex) bits sha256". Every listed key must be in pool
 * KM_POOL_LINK(link), AVAILABLE, with its block number, stored as ceil(bytes / KM_CHUNK_BYTES)
 * chunks (the first under the key's id, the others under km_store_chunk_id) whose bits add up,
 * and the pools must hold nothing else. Prints "KEY uuid" for every key id checked, then
 * "OK keys chunks"; exit 0, or 1 with one line saying what differs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "km_store.h"

static int hexid(const char *s, uint8_t id[KM_KEY_ID_LEN])
{
	for (int i = 0; i < KM_KEY_ID_LEN; i++)
		if (sscanf(s + 2 * i, "%2hhx", &id[i]) != 1)
			return -EINVAL;
	return strlen(s) == 2 * KM_KEY_ID_LEN ? 0 : -EINVAL;
}

static int count_visit(void *ctx, const struct km_key_meta *m)
{
	(void)m;
	(*(uint64_t *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: store_keys DIR KEK DIGEST\n");
		return 2;
	}
	struct km_store_config sc = {.path = argv[1], .kek_file = argv[2]};
	struct km_store *st;
	int rc = km_store_open(&sc, &st);
	if (rc) {
		fprintf(stderr, "store_keys: %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	FILE *f = fopen(argv[3], "r");
	if (!f) {
		fprintf(stderr, "store_keys: %s: %s\n", argv[3], strerror(errno));
		km_store_close(st);
		return 1;
	}
	unsigned link, bits, keys = 0, links[64], nlinks = 0;
	uint64_t block, chunks = 0, expect_pool[64] = {0};
	char hex[80], md[80];
	int status = 0;
	while (status == 0 && fscanf(f, "%u %" SCNu64 " %79s %u %79s", &link, &block, hex, &bits, md) == 5) {
		uint8_t id[KM_KEY_ID_LEN];
		if (hexid(hex, id)) {
			fprintf(stderr, "store_keys: bad id %s\n", hex);
			status = 1;
			break;
		}
		unsigned li = 0;
		while (li < nlinks && links[li] != link)
			li++;
		if (li == nlinks && nlinks < 64)
			links[nlinks++] = link;
		uint32_t bytes = (bits + 7) / 8, n = (bytes + KM_CHUNK_BYTES - 1) / KM_CHUNK_BYTES;
		uint64_t sum = 0;
		for (uint32_t c = 0; c < n && status == 0; c++) {
			uint8_t cid[KM_KEY_ID_LEN];
			struct km_key_meta m;
			if (c)
				km_store_chunk_id(id, c, cid);
			else
				memcpy(cid, id, sizeof(cid));
			if (km_store_get(st, cid, &m)) {
				fprintf(stderr, "store_keys: key %s chunk %u is not in the store\n", hex, c);
				status = 1;
			} else if (m.pool != KM_POOL_LINK(link) || m.state != KM_KEY_AVAILABLE ||
				   m.block_seq != block) {
				fprintf(stderr, "store_keys: key %s chunk %u: pool %#" PRIx64 " state %u "
						"block %" PRIu64 "\n", hex, c, m.pool, m.state, m.block_seq);
				status = 1;
			}
			sum += m.bits;
		}
		if (status == 0 && sum != bits) {
			fprintf(stderr, "store_keys: key %s: %" PRIu64 " bits stored, %u digested\n", hex,
				sum, bits);
			status = 1;
		}
		char u[37];
		km_uuid_format(id, u);
		printf("KEY %s\n", u);
		expect_pool[li] += n;
		chunks += n;
		keys++;
	}
	fclose(f);
	for (unsigned i = 0; i < nlinks && status == 0; i++) {
		uint64_t held = 0;
		km_store_list(st, KM_POOL_LINK(links[i]), 0, count_visit, &held);
		if (held != expect_pool[i]) {
			fprintf(stderr, "store_keys: pool link:%u holds %" PRIu64 " keys, expected %" PRIu64
					"\n", links[i], held, expect_pool[i]);
			status = 1;
		}
	}
	if (status == 0 && keys == 0) {
		fprintf(stderr, "store_keys: %s lists no key\n", argv[3]);
		status = 1;
	}
	if (status == 0)
		printf("OK %u %" PRIu64 "\n", keys, chunks);
	km_store_close(st);
	return status;
}
