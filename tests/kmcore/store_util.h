/* Helpers shared by the key store tests: scratch directories, KEK files, reference key material. */
#ifndef STORE_UTIL_H
#define STORE_UTIL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "km_store.h"
#include "unit.h"

static const char TEST_KEK_HEX[] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/* A fresh directory /tmp/kmstore-<tag>-<pid>-<n> (removed by su_rmdir). */
static inline void su_tmpdir(char *out, size_t cap, const char *tag)
{
	static int n;
	snprintf(out, cap, "/tmp/kmstore-%s-%d-%d", tag, (int)getpid(), n++);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", out);
	if (system(cmd) != 0)
		return;
}

static inline void su_rmdir(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return;
}

/* Write a KEK file with the given mode; returns 0 on success. */
static inline int su_write_kek(const char *path, const char *hex, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, hex, strlen(hex));
	close(fd);
	return (w == (ssize_t)strlen(hex) && chmod(path, mode) == 0) ? 0 : -1;
}

/* Open a store in dir with TEST_KEK_HEX from the environment. */
static inline struct km_store *su_open(const char *dir, enum km_sync sync,
				       const struct km_pool_policy *pol)
{
	setenv("KMSTORE_TEST_KEK", TEST_KEK_HEX, 1);
	struct km_store_config cfg = {.path = dir, .kek_env = "KMSTORE_TEST_KEK", .sync = sync};
	if (pol)
		cfg.default_policy = *pol;
	struct km_store *st = NULL;
	int rc = km_store_open(&cfg, &st);
	return rc == 0 ? st : NULL;
}

/* Key i of a test stream: id and material are pure functions of (seed, i). */
static inline void su_key(uint64_t seed, uint32_t i, uint8_t id[KM_KEY_ID_LEN], uint8_t *mat,
			  size_t len)
{
	unit_fill_random(id, KM_KEY_ID_LEN, seed * 1000003u + i + 1);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	unit_fill_random(mat, len, seed * 7919u + i * 31u + 17);
}

/* Put n keys of 'bytes' bytes each (stream seed) into pool. */
static inline int su_put_stream(struct km_store *st, km_pool_id pool, uint64_t seed, uint32_t first,
				uint32_t n, uint32_t bytes)
{
	uint8_t *mat = malloc(bytes);
	int rc = 0;
	for (uint32_t i = first; i < first + n && rc == 0; i++) {
		struct km_key_in k = {.pool = pool, .bits = bytes * 8, .type = KM_KEY_QKD, .material = mat,
				      .block_seq = i, .gen_ns = 1000000000ULL + i};
		su_key(seed, i, k.id, mat, bytes);
		rc = km_store_put(st, &k, 1);
	}
	free(mat);
	return rc;
}

/* Hook that may alter a resync message on its way (dir 0: initiator to responder), or NULL. */
typedef void (*su_resync_tamper_fn)(uint8_t *msg, int len, int dir, int index);

/* Run a resync of pool between stores a (initiator) and b over a loss-free channel until both
 * ends are done or stuck; the sessions are left to the caller (finish, free). Returns 0 when both
 * are done, else the first error either end reported. */
static inline int su_resync_run(struct km_store *a, struct km_store *b, km_pool_id pool,
				su_resync_tamper_fn tamper, struct km_resync **ra,
				struct km_resync **rb)
{
	uint8_t *buf = malloc(KM_RESYNC_MSG_MAX);
	int rc = buf ? km_resync_start(a, pool, 0, ra) : -ENOMEM;
	*rb = NULL;
	for (int idx = 0, progress = 1; rc >= 0 && progress && !(km_resync_done(*ra) && *rb && km_resync_done(*rb));) {
		progress = 0;
		for (int dir = 0; dir < 2 && rc >= 0; dir++) {
			struct km_resync *from = dir ? *rb : *ra;
			int n = from ? km_resync_next(from, buf, KM_RESYNC_MSG_MAX) : 0;
			if (n <= 0) {
				rc = n < 0 ? n : rc;
				continue;
			}
			progress = 1;
			if (tamper)
				tamper(buf, n, dir, idx++);
			if (dir == 0 && !*rb && (rc = km_resync_accept(b, buf, (size_t)n, rb)) < 0)
				break;
			int r = km_resync_receive(dir ? *ra : *rb, buf, (size_t)n);
			rc = r < 0 ? r : rc;
		}
	}
	free(buf);
	return rc < 0 ? rc : 0;
}

#endif
