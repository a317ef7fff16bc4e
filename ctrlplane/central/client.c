/* The node's connection to the central controller: mutual TLS, the controller's certificate CN
 * checked, JSON lines, reconnect with exponential backoff. Runs on the control thread's loop. */
#include "cp_central.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_addr.h"
#include "cp_tls.h"

struct cp_cen_client {
	struct event_base *base;
	char addr[128];
	char expect_cn[CP_NAME_MAX];
	SSL_CTX *ssl;
	struct cp_cen_client_ops ops;
	void *ctx;
	struct bufferevent *bev;
	struct event *retry_ev;
	unsigned min_ms, max_ms;
	struct cp_cen_client_stats st;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void schedule_retry(struct cp_cen_client *cl)
{
	struct timeval tv = {cl->st.backoff_ms / 1000, (int)(cl->st.backoff_ms % 1000) * 1000};
	event_add(cl->retry_ev, &tv);
	cl->st.backoff_ms = cl->st.backoff_ms * 2 > cl->max_ms ? cl->max_ms : cl->st.backoff_ms * 2;
}

/* Close the connection (telling the owner if it was up) and try again after the backoff. */
static void drop(struct cp_cen_client *cl, const char *why)
{
	bool was = cl->st.connected;
	if (cl->bev)
		bufferevent_free(cl->bev);
	cl->bev = NULL;
	cl->st.connected = false;
	snprintf(cl->st.last_error, sizeof(cl->st.last_error), "%s", why);
	schedule_retry(cl);
	if (was) {
		cl->st.disconnects++;
		if (cl->ops.on_state)
			cl->ops.on_state(cl->ctx, false);
	}
}

static void write_line(struct cp_cen_client *cl, const char *s)
{
	bufferevent_write(cl->bev, s, strlen(s));
	bufferevent_write(cl->bev, "\n", 1);
	cl->st.tx++;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct cp_cen_client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;
	while (cl->bev && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		struct cp_cen_msg m;
		char why[CP_CEN_REASON_MAX];
		cl->st.rx++;
		cl->st.last_rx_ms = mono_ms();
		if (cl->ops.on_line) {
			cl->ops.on_line(cl->ctx, line, len);
			free(line);
			continue;
		}
		if (cp_cen_decode(line, len, &m, why, sizeof(why))) {
			cl->st.rx_bad++;
			struct cp_cen_msg f = {.type = CP_CEN_FAILURE};
			snprintf(f.reason, sizeof(f.reason), "%s", why);
			char *s = m.type != CP_CEN_FAILURE ? cp_cen_encode(&f) : NULL;
			if (s)
				write_line(cl, s);
			free(s);
		} else if (cl->ops.on_msg) {
			cl->ops.on_msg(cl->ctx, &m);
		}
		cp_cen_msg_clear(&m);
		free(line);
	}
	if (cl->bev && evbuffer_get_length(in) > CP_CEN_MAX_LINE)
		drop(cl, "message line too long");
}

static bool controller_named(struct cp_cen_client *cl)
{
	char cn[CP_NAME_MAX];
	return !cl->expect_cn[0] ||
	       (cp_tls_peer_cn(bufferevent_openssl_get_ssl(cl->bev), cn, sizeof(cn)) &&
		!strcmp(cn, cl->expect_cn));
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct cp_cen_client *cl = arg;
	if (what & BEV_EVENT_CONNECTED) {
		if (!controller_named(cl)) {
			char why[96];
			snprintf(why, sizeof(why), "peer certificate is not for %s", cl->expect_cn);
			drop(cl, why);
			return;
		}
		cl->st.connected = true;
		cl->st.connects++;
		cl->st.backoff_ms = cl->min_ms;
		cl->st.last_error[0] = 0;
		if (cl->ops.on_state)
			cl->ops.on_state(cl->ctx, true);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		int sock_err = EVUTIL_SOCKET_ERROR();
		char why[128];
		if (e && ERR_GET_LIB(e))
			ERR_error_string_n(e, why, sizeof(why));
		else if (what & BEV_EVENT_EOF)
			snprintf(why, sizeof(why), "closed by the controller");
		else
			snprintf(why, sizeof(why), "%s",
				 sock_err ? evutil_socket_error_to_string(sock_err) : "connection failed");
		drop(cl, why);
	}
}

static void connect_now(struct cp_cen_client *cl)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	if (cp_addr_parse(cl->addr, &ss, &sl) == 0)
		cl->bev = cp_tls_bev(cl->base, cl->ssl, -1, false);
	if (!cl->bev) {
		drop(cl, "cannot create the connection");
		return;
	}
	bufferevent_setcb(cl->bev, on_read, NULL, on_event, cl);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(cl->bev, (struct sockaddr *)&ss, sl) < 0)
		drop(cl, "connect failed");
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct cp_cen_client *cl = arg;
	if (!cl->bev)
		connect_now(cl);
}

struct cp_cen_client *cp_cen_client_create(struct event_base *base, const char *addr,
					   const char *expect_cn, SSL_CTX *ssl,
					   const struct cp_cen_client_ops *ops, void *ctx,
					   unsigned backoff_min_ms, unsigned backoff_max_ms,
					   char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	if (cp_addr_parse(addr, &ss, &sl)) {
		snprintf(err, errlen, "controller address '%s' is not numeric host:port", addr);
		SSL_CTX_free(ssl);
		return NULL;
	}
	struct cp_cen_client *cl = calloc(1, sizeof(*cl));
	if (!cl || (expect_cn && !cp_name_valid(expect_cn))) {
		snprintf(err, errlen, cl ? "controller CN '%s' is not a valid name" : "out of memory",
			 expect_cn);
		free(cl);
		SSL_CTX_free(ssl);
		return NULL;
	}
	cl->base = base;
	snprintf(cl->addr, sizeof(cl->addr), "%s", addr);
	if (expect_cn)
		strcpy(cl->expect_cn, expect_cn);
	cl->ssl = ssl;
	cl->ops = *ops;
	cl->ctx = ctx;
	cl->min_ms = backoff_min_ms ? backoff_min_ms : 1;
	cl->max_ms = backoff_max_ms > cl->min_ms ? backoff_max_ms : cl->min_ms;
	cl->st.backoff_ms = cl->min_ms;
	cl->retry_ev = event_new(base, -1, 0, on_retry, cl);
	if (!cl->retry_ev) {
		snprintf(err, errlen, "libevent initialisation failed");
		cp_cen_client_free(cl);
		return NULL;
	}
	connect_now(cl);
	return cl;
}

void cp_cen_client_free(struct cp_cen_client *cl)
{
	if (!cl)
		return;
	if (cl->bev)
		bufferevent_free(cl->bev);
	if (cl->retry_ev)
		event_free(cl->retry_ev);
	SSL_CTX_free(cl->ssl);
	free(cl);
}

int cp_cen_client_send(struct cp_cen_client *cl, const struct cp_cen_msg *m)
{
	if (!cl->st.connected)
		return -ENOTCONN;
	char *s = cp_cen_encode(m);
	if (!s)
		return -EINVAL;
	write_line(cl, s);
	free(s);
	return 0;
}

int cp_cen_client_send_line(struct cp_cen_client *cl, const char *line)
{
	if (!cl->st.connected)
		return -ENOTCONN;
	write_line(cl, line);
	return 0;
}

void cp_cen_client_stats(const struct cp_cen_client *cl, struct cp_cen_client_stats *out)
{
	*out = cl->st;
}
