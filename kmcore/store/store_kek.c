/* The key-encryption key: 32 bytes from a file only its owner can read, or 64 hex digits from an
 * environment variable. A file that group or others may access is refused, like ssh does. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

/* 64 hex digits (surrounding whitespace allowed) or exactly 32 raw bytes. */
static int kek_parse(const uint8_t *buf, size_t len, uint8_t kek[KEK_LEN])
{
	if (len == KEK_LEN) {
		memcpy(kek, buf, KEK_LEN);
		return 0;
	}
	size_t b = 0, e = len;
	while (b < e && (buf[b] == ' ' || buf[b] == '\n' || buf[b] == '\r' || buf[b] == '\t'))
		b++;
	while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\n' || buf[e - 1] == '\r' ||
			 buf[e - 1] == '\t'))
		e--;
	if (e - b != 2 * KEK_LEN)
		return -EINVAL;
	for (size_t i = 0; i < KEK_LEN; i++) {
		int hi = km_hex_nibble((char)buf[b + 2 * i]), lo = km_hex_nibble((char)buf[b + 2 * i + 1]);
		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(kek, KEK_LEN);
			return -EINVAL;
		}
		kek[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int kek_from_file(const char *path, uint8_t kek[KEK_LEN])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -EACCES;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return -EPERM;
	}
	uint8_t buf[2 * KEK_LEN + 8];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	int rc = n < 0 ? -EIO : kek_parse(buf, (size_t)n, kek);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int kek_load(const struct km_store_config *cfg, uint8_t kek[KEK_LEN])
{
	if (cfg->kek_file)
		return kek_from_file(cfg->kek_file, kek);
	if (cfg->kek_env) {
		const char *v = getenv(cfg->kek_env);
		if (!v)
			return -ENOENT;
		if (strlen(v) != 2 * KEK_LEN)
			return -EINVAL;
		return kek_parse((const uint8_t *)v, strlen(v), kek);
	}
	return -ENOENT;
}
