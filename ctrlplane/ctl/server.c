/* Control-socket server on a libevent base: JSON lines, one handler, deferred answers. */
#include "cp_ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct conn {
	struct cp_ctl_server *s;
	struct bufferevent *bev;
	uint64_t id;
	struct conn *next;
};

struct cp_ctl_server {
	struct evconnlistener *lis;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	cp_ctl_handler h;
	void *ctx;
	struct conn *conns;
	uint64_t next_id;
	uint64_t requests;
};

static void conn_close(struct conn *c)
{
	struct conn **pp = &c->s->conns;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	bufferevent_free(c->bev);
	free(c);
}

static void send_response(struct bufferevent *bev, json_int_t id, json_t *result, const char *err,
			  int code)
{
	json_t *r = json_object();
	json_object_set_new(r, "id", json_integer(id));
	if (err) {
		json_object_set_new(r, "ok", json_false());
		json_object_set_new(r, "error", json_string(err));
		json_object_set_new(r, "errno", json_integer(code));
	} else {
		json_object_set_new(r, "ok", json_true());
		json_object_set_new(r, "result", result ? result : json_object());
	}
	char *s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(r);
	if (s) {
		bufferevent_write(bev, s, strlen(s));
		bufferevent_write(bev, "\n", 1);
		free(s);
	}
}

static void handle_line(struct conn *c, const char *line, size_t len)
{
	struct cp_ctl_server *s = c->s;
	json_error_t je;
	char err[512] = "";
	s->requests++;
	json_t *req = json_loadb(line, len, 0, &je);
	json_int_t id = 0;
	if (!req) {
		snprintf(err, sizeof(err), "malformed JSON request: %s", je.text);
		send_response(c->bev, 0, NULL, err, EINVAL);
		return;
	}
	json_t *jid = json_object_get(req, "id");
	id = json_is_integer(jid) ? json_integer_value(jid) : 0;
	json_t *argv = json_object_get(req, "argv");
	size_t i;
	json_t *v;
	int bad = !json_is_array(argv) || json_array_size(argv) == 0;
	if (!bad)
		json_array_foreach(argv, i, v) bad |= !json_is_string(v);
	if (bad) {
		send_response(c->bev, id, NULL, "request needs \"argv\": a non-empty array of strings",
			      EINVAL);
		json_decref(req);
		return;
	}
	json_t *result = NULL;
	struct cp_ctl_token tok = {c->id, id};
	int rc = s->h(s->ctx, argv, &result, err, sizeof(err), &tok);
	if (rc == CP_CTL_PENDING) {
		json_decref(req);
		return;
	}
	if (rc < 0 && !err[0])
		snprintf(err, sizeof(err), "%s", strerror(-rc));
	send_response(c->bev, id, rc < 0 ? NULL : result, rc < 0 ? err : NULL, -rc);
	if (rc < 0)
		json_decref(result);
	json_decref(req);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (!line) {
			if (evbuffer_get_length(in) > CP_CTL_MAX_LINE) {
				send_response(bev, 0, NULL, "request line too long", EINVAL);
				evbuffer_drain(in, evbuffer_get_length(in));
			}
			return;
		}
		handle_line(c, line, len);
		free(line);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_close(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		      void *arg)
{
	struct cp_ctl_server *s = arg;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->s = s;
	c->id = ++s->next_id;
	c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
									   BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		free(c);
		return;
	}
	c->next = s->conns;
	s->conns = c;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct cp_ctl_server *cp_ctl_server_create(struct event_base *base, const char *path,
					   cp_ctl_handler h, void *ctx, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path '%s' is empty or too long",
			 path ? path : "");
		return NULL;
	}
	struct cp_ctl_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	strcpy(sa.sun_path, path);
	strcpy(s->path, path);
	s->h = h;
	s->ctx = ctx;
	/* a stale socket from a dead process is replaced; a live one is not */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		snprintf(err, errlen, "control socket %s is in use by another process", path);
		free(s);
		return NULL;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(s);
		return NULL;
	}
	s->lis = evconnlistener_new(base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				    -1, fd);
	if (!s->lis) {
		snprintf(err, errlen, "control socket %s: listener failed", path);
		close(fd);
		unlink(path);
		free(s);
		return NULL;
	}
	return s;
}

void cp_ctl_server_free(struct cp_ctl_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	evconnlistener_free(s->lis);
	unlink(s->path);
	free(s);
}

void cp_ctl_complete(struct cp_ctl_server *s, const struct cp_ctl_token *tok, json_t *result,
		     const char *err)
{
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->id == tok->conn) {
			send_response(c->bev, tok->id, err ? NULL : result, err, err ? EIO : 0);
			if (err)
				json_decref(result);
			return;
		}
	json_decref(result);
}

int cp_ctl_fail(char *err, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return rc;
}

uint64_t cp_ctl_server_requests(const struct cp_ctl_server *s)
{
	return s->requests;
}
