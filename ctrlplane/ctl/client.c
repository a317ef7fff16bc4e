/* Blocking control-socket client for qkdctl and the qkdmgr CLI. */
#include "cp_ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int cp_ctl_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long");
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cp_ctl_call(int fd, json_t *argv, int timeout_ms, json_t **response, char *err, size_t errlen)
{
	static json_int_t next_id = 1;
	json_int_t id = next_id++;
	json_t *req = json_pack("{s:I,s:O}", "id", id, "argv", argv);
	char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!s) {
		snprintf(err, errlen, "cannot encode request");
		return -EINVAL;
	}
	size_t len = strlen(s);
	s[len++] = '\n'; /* json_dumps leaves room: replace the terminator */
	ssize_t off = 0;
	while ((size_t)off < len) {
		ssize_t n = send(fd, s + off, len - (size_t)off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			snprintf(err, errlen, "send: %s", strerror(e));
			free(s);
			return -e;
		}
		off += n;
	}
	free(s);
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		char *nl = used ? memchr(buf, '\n', used) : NULL;
		if (nl) {
			json_error_t je;
			json_t *r = json_loadb(buf, (size_t)(nl - buf), 0, &je);
			size_t rest = used - (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, rest);
			used = rest;
			if (!r) {
				snprintf(err, errlen, "malformed response: %s", je.text);
				free(buf);
				return -EPROTO;
			}
			json_t *rid = json_object_get(r, "id");
			if (json_is_integer(rid) && json_integer_value(rid) != id) {
				json_decref(r); /* an answer to an earlier request: skip */
				continue;
			}
			*response = r;
			free(buf);
			return 0;
		}
		int left = (int)(deadline - now_ms());
		struct pollfd p = {fd, POLLIN, 0};
		int pr = left > 0 ? poll(&p, 1, left) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			snprintf(err, errlen, "no answer within %d ms", timeout_ms);
			free(buf);
			return -ETIMEDOUT;
		}
		if (used == cap) {
			if (cap >= (size_t)16 << 20) {
				snprintf(err, errlen, "response too long");
				free(buf);
				return -EPROTO;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				snprintf(err, errlen, "out of memory");
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + used, cap - used, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "connection closed by the server");
			free(buf);
			return -ECONNRESET;
		}
		used += (size_t)n;
	}
}
