/* qkdprovision: put pre-shared key material into a link pool of a key store, for tests and for
 * bootstrapping a KM link before its QKD link has produced keys (docs/key-manager.md).
 *
 *   qkdprovision --store DIR --kek FILE --link ID --secret FILE --keys N [--bits B] [--first I]
 *                [--store-sync full|none]
 *
 * Key i of link L is HMAC-SHA256(secret, "qkdprovision key" | L | i | block) blocks, its id
 * HMAC-SHA256(secret, "qkdprovision id" | L | i) cut to a UUID (version 8): both ends of the link
 * run it with the same secret file and get the same keys under the same ids. The secret must be
 * at least 32 bytes from a real random source and readable by its owner only; anyone holding it
 * knows every provisioned key. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "km_store.h"

#define BATCH 64
#define MAX_BITS (KM_CHUNK_BYTES * 8u) /* one chunk per key */

static int usage(void)
{
	fprintf(stderr, "usage: qkdprovision --store DIR --kek FILE --link ID --secret FILE --keys N "
			"[--bits B (4096)] [--first I (0)] [--store-sync full|none]\n");
	return 2;
}

static int bad(const char *what, const char *why)
{
	fprintf(stderr, "qkdprovision: %s: %s\n", what, why);
	return 2;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || x < lo || x > hi)
		return -EINVAL;
	*v = x;
	return 0;
}

static void be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* HMAC-SHA256(secret, label | link | index | extra) */
static int prf(const uint8_t *secret, size_t slen, const char *label, uint32_t link, uint64_t index,
	       uint32_t extra, uint8_t out[32])
{
	uint8_t msg[64];
	size_t l = strlen(label);
	memcpy(msg, label, l);
	be(msg + l, link, 4);
	be(msg + l + 4, index, 8);
	be(msg + l + 12, extra, 4);
	unsigned len = 0;
	return HMAC(EVP_sha256(), secret, (int)slen, msg, l + 16, out, &len) && len == 32 ? 0 : -EIO;
}

static int read_secret(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	struct stat st;
	if (fstat(fileno(f), &st) || (st.st_mode & 077)) {
		fclose(f);
		return -EPERM;
	}
	*len = fread(buf, 1, cap, f);
	fclose(f);
	return *len >= 32 ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, 0, 's'}, {"kek", required_argument, 0, 'k'},
		{"link", required_argument, 0, 'l'}, {"secret", required_argument, 0, 'x'},
		{"keys", required_argument, 0, 'n'}, {"bits", required_argument, 0, 'b'},
		{"first", required_argument, 0, 'f'}, {"store-sync", required_argument, 0, 'y'},
		{0, 0, 0, 0}};
	const char *dir = NULL, *kek = NULL, *secret_file = NULL;
	uint64_t link = 0, keys = 0, bits = 4096, first = 0;
	enum km_sync sync = KM_SYNC_FULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': dir = optarg; break;
		case 'k': kek = optarg; break;
		case 'x': secret_file = optarg; break;
		case 'l':
			if (parse_u64(optarg, 1, UINT32_MAX, &link))
				return bad("--link", "expected a QKD link id 1 .. 4294967295");
			break;
		case 'n':
			if (parse_u64(optarg, 1, 1u << 24, &keys))
				return bad("--keys", "expected 1 .. 16777216");
			break;
		case 'b':
			if (parse_u64(optarg, 8, MAX_BITS, &bits) || bits % 8)
				return bad("--bits", "expected a multiple of 8 in 8 .. 30720");
			break;
		case 'f':
			if (parse_u64(optarg, 0, UINT64_MAX >> 1, &first))
				return bad("--first", "expected a key index");
			break;
		case 'y':
			if (strcmp(optarg, "full") && strcmp(optarg, "none"))
				return bad("--store-sync", "expected full or none");
			sync = strcmp(optarg, "none") ? KM_SYNC_FULL : KM_SYNC_NONE;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || !dir || !kek || !secret_file || !link || !keys)
		return usage();
	uint8_t secret[256];
	size_t slen = 0;
	int rc = read_secret(secret_file, secret, sizeof(secret), &slen);
	if (rc) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return bad(secret_file, rc == -EPERM ? "must not be accessible by group or others"
					: rc == -EINVAL ? "shorter than 32 bytes" : strerror(-rc));
	}
	struct km_store_config sc = {.path = dir, .kek_file = kek, .sync = sync};
	struct km_store *st;
	if ((rc = km_store_open(&sc, &st))) {
		OPENSSL_cleanse(secret, sizeof(secret));
		fprintf(stderr, "qkdprovision: %s: %s\n", dir, strerror(-rc));
		return 1;
	}
	uint32_t bytes = (uint32_t)(bits / 8);
	uint8_t *mat = km_key_material_alloc(BATCH * bytes);
	struct km_key_in in[BATCH];
	int status = mat ? 0 : 1;
	for (uint64_t done = 0; status == 0 && done < keys;) {
		unsigned n = keys - done < BATCH ? (unsigned)(keys - done) : BATCH;
		for (unsigned k = 0; k < n && status == 0; k++) {
			uint64_t idx = first + done + k;
			uint8_t block[32];
			memset(&in[k], 0, sizeof(in[k]));
			rc = prf(secret, slen, "qkdprovision id", (uint32_t)link, idx, 0, block);
			memcpy(in[k].id, block, KM_KEY_ID_LEN);
			in[k].id[6] = (uint8_t)((in[k].id[6] & 0x0f) | 0x80); /* UUID version 8 */
			in[k].id[8] = (uint8_t)((in[k].id[8] & 0x3f) | 0x80); /* RFC 4122 variant */
			for (uint32_t off = 0; rc == 0 && off < bytes; off += 32) {
				rc = prf(secret, slen, "qkdprovision key", (uint32_t)link, idx, off / 32, block);
				memcpy(mat + k * bytes + off, block, bytes - off < 32 ? bytes - off : 32);
			}
			OPENSSL_cleanse(block, sizeof(block));
			in[k].pool = KM_POOL_LINK(link);
			in[k].bits = (uint32_t)bits;
			in[k].type = KM_KEY_QKD;
			in[k].block_seq = idx;
			in[k].material = mat + k * bytes;
			status = rc ? 1 : 0;
		}
		if (status == 0 && (rc = km_store_put(st, in, n))) {
			fprintf(stderr, "qkdprovision: keys %" PRIu64 "..%" PRIu64 ": %s\n", first + done,
				first + done + n - 1,
				rc == -EEXIST ? "already provisioned (or once used)" : strerror(-rc));
			status = 1;
		}
		OPENSSL_cleanse(mat, (size_t)BATCH * bytes);
		done += n;
	}
	if (status == 0)
		printf("qkdprovision: link %" PRIu64 ": %" PRIu64 " keys of %" PRIu64 " bits\n", link,
		       keys, bits);
	km_key_material_free(mat, BATCH * bytes);
	OPENSSL_cleanse(secret, sizeof(secret));
	km_store_close(st);
	return status;
}
