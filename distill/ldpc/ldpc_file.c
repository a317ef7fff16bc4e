/* The .qc code file: a small line-oriented text format with an FNV-1a checksum (docs/formats.md). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ldpc_internal.h"

#define QC_MAX_FILE (16u << 20)

static uint64_t fnv1a(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

struct cursor {
	const char *p, *end;
	unsigned line;
	char *err;
};

/* Next line (without its newline) skipping comments; false at end of input. */
static bool next_line(struct cursor *cu, const char **ls, const char **le)
{
	while (cu->p < cu->end) {
		const char *s = cu->p, *e = memchr(s, '\n', (size_t)(cu->end - s));
		if (!e)
			e = cu->end;
		cu->p = e < cu->end ? e + 1 : e;
		cu->line++;
		if (e > s && *s == '#')
			continue;
		*ls = s;
		*le = e;
		return true;
	}
	return false;
}

/* Parse an unsigned decimal token from [*s, e); skips leading spaces. */
static bool take_u64(const char **s, const char *e, uint64_t max, uint64_t *out)
{
	const char *p = *s;
	while (p < e && *p == ' ')
		p++;
	if (p >= e || *p < '0' || *p > '9')
		return false;
	uint64_t v = 0;
	while (p < e && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		p++;
	}
	if (v > max)
		return false;
	*s = p;
	*out = v;
	return true;
}

static bool take_word(const char **s, const char *e, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(e - *s) < n || memcmp(*s, word, n) || (*s + n < e && (*s)[n] != ' '))
		return false;
	*s += n;
	return true;
}

static bool at_end(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\r'))
		s++;
	return s == e;
}

#define BAD(...)                                                                                 \
	do {                                                                                     \
		char m_[DST_LDPC_ERRLEN];                                                        \
		snprintf(m_, sizeof(m_), __VA_ARGS__);                                           \
		ldpc_err(cu.err, "line %u: %s", cu.line, m_);                                    \
		goto fail;                                                                       \
	} while (0)

int dst_ldpc_code_parse(const char *text, size_t len, struct dst_ldpc_code **out, char *err)
{
	struct cursor cu = {text, text + len, 0, err};
	struct dst_ldpc_code *c = NULL;
	const char *s, *e;
	uint64_t v, z, mb, nb, seed, np;
	char name[32];
	if (!text || !out) {
		ldpc_err(err, "no input");
		return -EINVAL;
	}
	*out = NULL;
	if (!next_line(&cu, &s, &e) || !take_word(&s, e, "qcldpc") || !take_u64(&s, e, 9, &v) ||
	    v != 1 || !at_end(s, e))
		BAD("not a qcldpc version 1 file");
	if (!next_line(&cu, &s, &e) || !take_word(&s, e, "name"))
		BAD("expected 'name NAME'");
	while (s < e && *s == ' ')
		s++;
	size_t nl = (size_t)(e - s);
	while (nl && (s[nl - 1] == ' ' || s[nl - 1] == '\r'))
		nl--;
	if (nl == 0 || nl >= sizeof(name) || memchr(s, ' ', nl))
		BAD("name must be 1..31 characters without spaces");
	memcpy(name, s, nl);
	name[nl] = 0;
	if (!next_line(&cu, &s, &e) || !take_word(&s, e, "z") || !take_u64(&s, e, DST_LDPC_MAX_Z, &z) ||
	    !at_end(s, e))
		BAD("expected 'z Z'");
	if (!next_line(&cu, &s, &e) || !take_word(&s, e, "base") ||
	    !take_u64(&s, e, DST_LDPC_MAX_BASE, &mb) || !take_u64(&s, e, DST_LDPC_MAX_BASE, &nb) ||
	    !at_end(s, e))
		BAD("expected 'base ROWS COLS'");
	if (!next_line(&cu, &s, &e) || !take_word(&s, e, "seed") || !take_u64(&s, e, UINT64_MAX, &seed) ||
	    !at_end(s, e))
		BAD("expected 'seed N'");
	if (!next_line(&cu, &s, &e) || !take_word(&s, e, "puncture") || !take_u64(&s, e, nb, &np))
		BAD("expected 'puncture COUNT COL...'");
	if (mb < 2 || nb <= mb)
		BAD("base matrix %" PRIu64 " x %" PRIu64 " is not a syndrome code shape", mb, nb);
	/* The row lines follow; count entries first so the arrays are sized exactly. */
	const char *rows_at = cu.p;
	unsigned rows_line = cu.line;
	uint64_t ne = 0;
	const char *ps = s;
	for (uint64_t r = 0; r < mb; r++) {
		const char *rs, *re;
		if (!next_line(&cu, &rs, &re) || !take_word(&rs, re, "row") || !take_u64(&rs, re, 255, &v))
			BAD("expected 'row WEIGHT COL:SHIFT...' for row %" PRIu64 " of %" PRIu64, r, mb);
		ne += v;
	}
	c = ldpc_code_alloc((uint32_t)mb, (uint32_t)nb, (uint32_t)ne, (uint32_t)np);
	if (!c) {
		ldpc_err(err, "out of memory");
		return -ENOMEM;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->z = (uint32_t)z;
	c->seed = seed;
	for (uint64_t k = 0; k < np; k++) {
		if (!take_u64(&ps, e, nb - 1, &v))
			BAD("puncture list: expected %" PRIu64 " column numbers < %" PRIu64, np, nb);
		c->punct_cols[k] = (uint16_t)v;
	}
	if (!at_end(ps, e))
		BAD("puncture list longer than its count");
	cu.p = rows_at;
	cu.line = rows_line;
	uint32_t k = 0;
	for (uint64_t r = 0; r < mb; r++) {
		next_line(&cu, &s, &e);
		take_word(&s, e, "row");
		take_u64(&s, e, 255, &v);
		c->row_start[r] = k;
		for (uint64_t i = 0; i < v; i++) {
			uint64_t col, sh;
			if (!take_u64(&s, e, nb - 1, &col) || s >= e || *s != ':' ||
			    (s++, !take_u64(&s, e, z ? z - 1 : 0, &sh)))
				BAD("row %" PRIu64 ": entry %" PRIu64 " is not COL:SHIFT in range", r, i);
			c->col[k] = (uint16_t)col;
			c->shift[k] = (uint16_t)sh;
			k++;
		}
		if (!at_end(s, e))
			BAD("row %" PRIu64 ": more entries than its weight", r);
	}
	c->row_start[mb] = k;
	const char *sum_from = cu.p;
	if (!next_line(&cu, &s, &e) || !take_word(&s, e, "end"))
		BAD("expected 'end CHECKSUM' (file truncated?)");
	while (s < e && *s == ' ')
		s++;
	char hex[17] = {0};
	size_t hl = 0;
	while (s < e && hl < 16 && ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
		hex[hl++] = *s++;
	if (hl != 16 || !at_end(s, e))
		BAD("checksum must be 16 lowercase hex digits");
	uint64_t want = strtoull(hex, NULL, 16), got = fnv1a(text, (size_t)(sum_from - text));
	if (want != got)
		BAD("checksum mismatch (file %016" PRIx64 ", content %016" PRIx64 "): corrupt file", want,
		    got);
	while (next_line(&cu, &s, &e))
		if (!at_end(s, e))
			BAD("text after the end line");
	int rc = ldpc_code_finish(c, err);
	if (rc) {
		dst_ldpc_code_free(c);
		return rc;
	}
	*out = c;
	return 0;
fail:
	dst_ldpc_code_free(c);
	return -EINVAL;
}

long dst_ldpc_code_format(const struct dst_ldpc_code *c, char **text)
{
	size_t cap = 512 + (size_t)c->ne * 12 + (size_t)c->mb * 16 + (size_t)c->npunct_cols * 6;
	char *b = malloc(cap);
	if (!b)
		return -ENOMEM;
	size_t n = 0;
	n += (size_t)snprintf(b + n, cap - n,
			      "qcldpc 1\nname %s\nz %u\nbase %u %u\nseed %" PRIu64 "\npuncture %u",
			      c->name, c->z, c->mb, c->nb, c->seed, c->npunct_cols);
	for (uint32_t k = 0; k < c->npunct_cols; k++)
		n += (size_t)snprintf(b + n, cap - n, " %u", c->punct_cols[k]);
	for (uint32_t r = 0; r < c->mb; r++) {
		n += (size_t)snprintf(b + n, cap - n, "\nrow %u", c->row_start[r + 1] - c->row_start[r]);
		for (uint32_t e = c->row_start[r]; e < c->row_start[r + 1]; e++)
			n += (size_t)snprintf(b + n, cap - n, " %u:%u", c->col[e], c->shift[e]);
	}
	n += (size_t)snprintf(b + n, cap - n, "\n");
	n += (size_t)snprintf(b + n, cap - n, "end %016" PRIx64 "\n", fnv1a(b, n));
	*text = b;
	return (long)n;
}

int dst_ldpc_code_save(const struct dst_ldpc_code *c, const char *path)
{
	char *text, tmp[4096];
	long len = dst_ldpc_code_format(c, &text);
	if (len < 0)
		return (int)len;
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;
	if (fd < 0) {
		rc = -errno;
	} else {
		size_t off = 0;
		while (off < (size_t)len) {
			ssize_t w = write(fd, text + off, (size_t)len - off);
			if (w < 0) {
				rc = -errno;
				break;
			}
			off += (size_t)w;
		}
		if (close(fd) < 0 && !rc)
			rc = -errno;
		if (!rc && rename(tmp, path) < 0)
			rc = -errno;
		if (rc)
			unlink(tmp);
	}
	free(text);
	return rc ? rc : (int)len;
}

int dst_ldpc_code_load(const char *path, struct dst_ldpc_code **out, char *err)
{
	if (!path || !out) {
		ldpc_err(err, "no path");
		return -EINVAL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		ldpc_err(err, "%s: %s", path, strerror(errno));
		return rc;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > QC_MAX_FILE) {
		close(fd);
		ldpc_err(err, "%s: not a regular file of at most %u bytes", path, QC_MAX_FILE);
		return -EINVAL;
	}
	size_t len = (size_t)st.st_size, off = 0;
	char *buf = malloc(len + 1);
	if (!buf) {
		close(fd);
		ldpc_err(err, "out of memory");
		return -ENOMEM;
	}
	while (off < len) {
		ssize_t r = read(fd, buf + off, len - off);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	char e2[DST_LDPC_ERRLEN];
	int rc = dst_ldpc_code_parse(buf, off, out, e2);
	free(buf);
	if (rc)
		ldpc_err(err, "%s: %s", path, e2);
	return rc;
}
