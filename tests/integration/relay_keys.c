/* Test helper: the relayed keys a qkdnode key store holds for one remote KM.
 *   relay_keys DIR KEK NUMBER
 * Prints "uuid bits sha256(material)" for every key of pool KM_POOL_PEER(NUMBER), in id order
 * (never the key itself), then "COUNT n". Exit 1 with one line when the store cannot be read. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "km_store.h"

struct ctx {
	struct km_store *st;
	unsigned n;
	int err;
};

static int visit(void *arg, const struct km_key_meta *m)
{
	struct ctx *c = arg;
	uint32_t bytes = (m->bits + 7) / 8;
	uint8_t *mat = km_key_material_alloc(bytes);
	struct km_take t = {.pool = m->pool, .bytes = bytes, .nsrc = 1};
	memcpy(t.src[0], m->id, KM_KEY_ID_LEN);
	struct km_take_handle h;
	int rc = mat ? km_store_take_named(c->st, &t, mat, &h) : -ENOMEM;
	if (rc) {
		km_key_material_free(mat, bytes);
		c->err = rc;
		return 1;
	}
	km_store_take_abort(c->st, &h, false); /* read only: the key stays available */
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256(mat, bytes, md);
	km_key_material_free(mat, bytes);
	char u[37];
	km_uuid_format(m->id, u);
	printf("%s %u ", u, m->bits);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		printf("%02x", md[i]);
	putchar('\n');
	c->n++;
	return 0;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long num = argc == 4 ? strtoul(argv[3], &end, 10) : 0;
	if (argc != 4 || *end || !num || num > 0xfffffffeul) {
		fprintf(stderr, "usage: relay_keys DIR KEK NUMBER\n");
		return 2;
	}
	struct km_store_config sc = {.path = argv[1], .kek_file = argv[2], .sync = KM_SYNC_NONE};
	struct ctx c = {0};
	int rc = km_store_open(&sc, &c.st);
	if (rc) {
		fprintf(stderr, "relay_keys: %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	rc = km_store_list(c.st, KM_POOL_PEER((uint32_t)num), 0, visit, &c);
	km_store_close(c.st);
	if (rc < 0 || c.err) {
		fprintf(stderr, "relay_keys: %s: %s\n", argv[1], strerror(-(rc < 0 ? rc : c.err)));
		return 1;
	}
	printf("COUNT %u\n", c.n);
	return 0;
}
