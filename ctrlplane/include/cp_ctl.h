/* Control-socket protocol (docs/control.md), shared by the node (qkdctl) and qkdmgr: a unix
 * stream socket (mode 0600), one JSON object per line each way.
 *   request  {"id": <int>, "argv": ["show", "links"]}
 *   response {"id": <int>, "ok": true, "result": {...}}  or  {"id": <int>, "ok": false,
 *            "error": "one line", "errno": <positive errno: 22 = bad request/arguments>}
 * A handler may answer later (CP_CTL_PENDING) with cp_ctl_complete(). */
#ifndef CP_CTL_H
#define CP_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CP_CTL_MAX_LINE 65536
#define CP_CTL_PENDING 1

struct event_base;
struct cp_ctl_server;

/* Identifies a request answered later. */
struct cp_ctl_token {
	uint64_t conn;
	json_int_t id;
};

/* Returns 0 with *result set, CP_CTL_PENDING (tok filled, answer with cp_ctl_complete), or
 * -errno with err filled. */
typedef int (*cp_ctl_handler)(void *ctx, json_t *argv, json_t **result, char *err, size_t errlen,
			      const struct cp_ctl_token *tok);

struct cp_ctl_server *cp_ctl_server_create(struct event_base *base, const char *path,
					   cp_ctl_handler h, void *ctx, char *err, size_t errlen);
void cp_ctl_server_free(struct cp_ctl_server *s);
/* Answer a pending request (result stolen; NULL with err for a failure). Silently dropped when
 * the client has gone. */
void cp_ctl_complete(struct cp_ctl_server *s, const struct cp_ctl_token *tok, json_t *result,
		     const char *err);
uint64_t cp_ctl_server_requests(const struct cp_ctl_server *s);

/* Client side (blocking): connect, one request, one response. */
int cp_ctl_connect(const char *path, char *err, size_t errlen);
/* Send argv, wait up to timeout_ms. Returns 0 with *response (the whole response object), or
 * -errno with err. */
int cp_ctl_call(int fd, json_t *argv, int timeout_ms, json_t **response, char *err, size_t errlen);

/* For handlers: format a one-line reason into err[len] and return rc (a -errno). */
int cp_ctl_fail(char *err, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Human rendering of a result: arrays of objects become tables, scalars "key: value". */
void cp_ctl_render(FILE *out, const json_t *result);

#endif
