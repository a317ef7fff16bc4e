/* Blocking ETSI 014 / Kx-2 HTTPS client: one keep-alive TLS connection driven by a private event
 * base until each answer arrives. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <openssl/crypto.h>

#include "ksa_internal.h"

#define CLIENT_TIMEOUT_S 20

struct km_ksa_client {
	struct event_base *base;
	SSL_CTX *ctx;
	struct evhttp_connection *evcon;
	bool dead; /* closed: make a new connection (an SSL object cannot reconnect) */
	char host[256];
	char server_cn[KM_KSA_ID_MAX + 1];
	bool check_cn;
	uint16_t port;
	/* answer of the request in flight */
	bool done;
	int status;
	char *body;
	size_t body_len;
};

static void closed(struct evhttp_connection *evcon, void *arg)
{
	((struct km_ksa_client *)arg)->dead = true;
}

static void drop_conn(struct km_ksa_client *c)
{
	if (c->evcon) {
		evhttp_connection_set_closecb(c->evcon, NULL, NULL);
		evhttp_connection_free(c->evcon);
	}
	c->evcon = NULL;
	c->dead = false;
}

static int connect_new(struct km_ksa_client *c)
{
	drop_conn(c);
	struct bufferevent *bev = ksa_tls_connect_bev(c->base, c->ctx, c->host,
						      c->check_cn ? c->server_cn : NULL);
	if (!bev)
		return -ENOMEM;
	c->evcon = evhttp_connection_base_bufferevent_new(c->base, NULL, bev, c->host, c->port);
	if (!c->evcon) {
		bufferevent_free(bev);
		return -ENOMEM;
	}
	evhttp_connection_set_timeout(c->evcon, CLIENT_TIMEOUT_S);
	evhttp_connection_set_retries(c->evcon, 0);
	evhttp_connection_set_closecb(c->evcon, closed, c);
	return 0;
}

struct km_ksa_client *km_ksa_client_create(const char *host, uint16_t port, const char *ca_file,
					   const char *cert_file, const char *key_file,
					   const char *server_cn, char *err, size_t errlen)
{
	char dummy[8];
	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	struct km_ksa_client *c = calloc(1, sizeof(*c));
	if (!c || !host || strlen(host) >= sizeof(c->host) || !ca_file ||
	    (server_cn && strlen(server_cn) > KM_KSA_ID_MAX)) {
		snprintf(err, errlen, "bad client arguments");
		free(c);
		return NULL;
	}
	strcpy(c->host, host);
	c->port = port;
	if (server_cn) {
		strcpy(c->server_cn, server_cn);
		c->check_cn = true;
	}
	ksa_json_zeroizing_alloc();
	c->ctx = ksa_tls_client_ctx(ca_file, cert_file, key_file, err, errlen);
	c->base = c->ctx ? event_base_new() : NULL;
	if (!c->base) {
		if (c->ctx)
			snprintf(err, errlen, "event_base_new failed");
		km_ksa_client_free(c);
		return NULL;
	}
	return c;
}

static void answered(struct evhttp_request *req, void *arg)
{
	struct km_ksa_client *c = arg;
	c->done = true;
	c->status = req ? evhttp_request_get_response_code(req) : 0;
	if (c->status > 0) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		c->body_len = evbuffer_get_length(in);
		c->body = malloc(c->body_len + 1);
		if (c->body) {
			evbuffer_remove(in, c->body, c->body_len);
			c->body[c->body_len] = 0;
		}
	} else {
		c->dead = true;
	}
	event_base_loopbreak(c->base);
}

static int request(struct km_ksa_client *c, const char *method, const char *path,
		   const char *body, char **resp, size_t *resp_len)
{
	enum evhttp_cmd_type cmd;
	if (strcmp(method, "GET") == 0)
		cmd = EVHTTP_REQ_GET;
	else if (strcmp(method, "POST") == 0)
		cmd = EVHTTP_REQ_POST;
	else if (strcmp(method, "PUT") == 0)
		cmd = EVHTTP_REQ_PUT;
	else if (strcmp(method, "DELETE") == 0)
		cmd = EVHTTP_REQ_DELETE;
	else
		return -EINVAL;
	if (resp)
		*resp = NULL;
	if (resp_len)
		*resp_len = 0;
	if ((!c->evcon || c->dead) && connect_new(c) != 0)
		return -ENOMEM;
	c->done = false;
	c->status = 0;
	c->body = NULL;
	c->body_len = 0;
	struct evhttp_request *req = evhttp_request_new(answered, c);
	if (!req)
		return -ENOMEM;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", c->host);
	if (body) {
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	}
	if (evhttp_make_request(c->evcon, req, cmd, path) != 0) {
		c->dead = true;
		return -ECONNREFUSED;
	}
	ksa_evcon_nodelay(c->evcon);
	while (!c->done)
		if (event_base_dispatch(c->base) < 0)
			break;
	if (!c->done) {
		c->dead = true;
		return -ETIMEDOUT;
	}
	if (c->status <= 0)
		return -ECONNRESET;
	if (resp && c->body) {
		*resp = c->body;
		if (resp_len)
			*resp_len = c->body_len;
	} else {
		km_ksa_client_free_body(c->body, c->body_len);
	}
	c->body = NULL;
	return c->status;
}

/* A server closing mid-write must fail the request, not kill the caller's process: SIGPIPE is
 * blocked while the request runs and one it raised is taken off this thread before unblocking. */
int km_ksa_client_request(struct km_ksa_client *c, const char *method, const char *path,
			  const char *body, char **resp, size_t *resp_len)
{
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE);
	int rc = request(c, method, path, body, resp, resp_len);
	const struct timespec now = {0, 0};
	if (!was_pending && !sigismember(&old, SIGPIPE))
		while (sigtimedwait(&pipe_set, NULL, &now) == SIGPIPE)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void km_ksa_client_free_body(char *resp, size_t len)
{
	if (resp) {
		OPENSSL_cleanse(resp, len);
		free(resp);
	}
}

void km_ksa_client_free(struct km_ksa_client *c)
{
	if (!c)
		return;
	drop_conn(c);
	if (c->base) {
		/* let libevent finish what the free deferred before the base goes */
		event_base_loop(c->base, EVLOOP_NONBLOCK);
		event_base_free(c->base);
	}
	SSL_CTX_free(c->ctx);
	free(c);
}
