/* QKDN manager: TLS server for node agents, latest state + history per component, on-demand
 * status report requests answered through the manager's control socket. */
#include "cp_mgr.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_addr.h"
#include "cp_ctl.h"
#include "cp_tls.h"

#define REQUEST_TIMEOUT_MS 5000

struct mconn {
	struct cp_mgr *m;
	struct bufferevent *bev;
	char addr[64];
	char cn[64];
	uint64_t messages, failures;
	struct mconn *next;
};

struct hist {
	uint64_t t_ms;
	json_t *ext;
};

struct comp {
	char id[CP_MK_ID_MAX];
	enum cp_mk_iface iface;
	struct mconn *conn; /* where it last reported from (NULL when gone) */
	char addr[64], cn[64];
	json_t *latest;
	uint64_t last_ms, reports;
	struct hist h[CP_MGR_HISTORY];
	unsigned h_next, h_n;
	struct comp *next;
};

struct pending {
	struct cp_mgr *m;
	int64_t seq;
	struct cp_ctl_server *srv;
	struct cp_ctl_token tok;
	struct event *timeout;
	char id[CP_MK_ID_MAX];
	struct pending *next;
};

struct cp_mgr {
	struct event_base *base;
	SSL_CTX *ssl;
	struct evconnlistener *lis;
	uint16_t port;
	struct mconn *conns;
	struct comp *comps;
	struct pending *pend;
	int64_t seq;
	uint64_t reports, bad;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct comp *comp_find(struct cp_mgr *m, const char *id)
{
	for (struct comp *c = m->comps; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

static void send_msg(struct mconn *k, const struct cp_mk_msg *msg)
{
	char *s = cp_mk_encode(msg);
	if (s) {
		bufferevent_write(k->bev, s, strlen(s));
		bufferevent_write(k->bev, "\n", 1);
	}
	free(s);
}

static void record(struct cp_mgr *m, struct mconn *k, const struct cp_mk_msg *msg)
{
	struct comp *c = comp_find(m, msg->component_id);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return;
		strcpy(c->id, msg->component_id);
		c->next = m->comps;
		m->comps = c;
	}
	c->iface = msg->iface;
	c->conn = k;
	snprintf(c->addr, sizeof(c->addr), "%s", k->addr);
	snprintf(c->cn, sizeof(c->cn), "%s", k->cn);
	json_decref(c->latest);
	c->latest = msg->extension ? json_incref(msg->extension) : json_array();
	c->last_ms = wall_ms();
	c->reports++;
	struct hist *h = &c->h[c->h_next];
	json_decref(h->ext);
	h->ext = json_incref(c->latest);
	h->t_ms = c->last_ms;
	c->h_next = (c->h_next + 1) % CP_MGR_HISTORY;
	if (c->h_n < CP_MGR_HISTORY)
		c->h_n++;
}

/* Extension grouped by its "type" member: {"km_link": [...], "alarm": [...]} renders well. */
static json_t *grouped(const json_t *ext)
{
	json_t *g = json_object();
	size_t i;
	json_t *o;
	json_array_foreach(ext, i, o)
	{
		const char *t = json_string_value(json_object_get(o, "type"));
		t = t ? t : "other";
		json_t *arr = json_object_get(g, t);
		if (!arr) {
			arr = json_array();
			json_object_set_new(g, t, arr);
		}
		json_t *c = json_deep_copy(o);
		json_object_del(c, "type");
		json_array_append_new(arr, c);
	}
	return g;
}

static void pending_done(struct pending *p, json_t *result, const char *err)
{
	struct pending **pp = &p->m->pend;
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	cp_ctl_complete(p->srv, &p->tok, result, err);
	event_free(p->timeout);
	free(p);
}

static void on_request_response(struct cp_mgr *m, struct mconn *k, const struct cp_mk_msg *msg)
{
	for (struct pending *p = m->pend; p; p = p->next) {
		if (p->seq != msg->seq)
			continue;
		if (!strcmp(msg->response, CP_MK_SUCCESS))
			record(m, k, msg);
		json_t *r = json_pack("{s:s,s:s,s:s,s:o}", "component_id", msg->component_id,
				      "interface", cp_mk_iface_name(msg->iface), "response",
				      msg->response, "status",
				      grouped(msg->extension ? msg->extension : json_array()));
		pending_done(p, r, NULL);
		return;
	}
}

static void handle(struct mconn *k, const char *line, size_t len)
{
	struct cp_mgr *m = k->m;
	struct cp_mk_msg msg, out;
	char why[256];
	k->messages++;
	if (cp_mk_decode(line, len, &msg, why, sizeof(why))) {
		m->bad++;
		k->failures++;
		cp_mk_failure_for(&msg, why, &out);
		send_msg(k, &out);
		return;
	}
	switch (msg.type) {
	case CP_MK_STATUS_REPORT:
		record(m, k, &msg);
		m->reports++;
		out = (struct cp_mk_msg){.type = CP_MK_STATUS_REPORT_RESPONSE, .iface = msg.iface,
					 .seq = msg.seq};
		strcpy(out.component_id, msg.component_id);
		strcpy(out.response, CP_MK_SUCCESS);
		send_msg(k, &out);
		break;
	case CP_MK_STATUS_REQUEST_RESPONSE:
		on_request_response(m, k, &msg);
		break;
	default:
		m->bad++;
		snprintf(why, sizeof(why), "a QKDN manager does not accept %s", cp_mk_type_name(msg.type));
		cp_mk_failure_for(&msg, why, &out);
		send_msg(k, &out);
	}
	cp_mk_msg_clear(&msg);
}

static void conn_free(struct mconn *k)
{
	struct mconn **pp = &k->m->conns;
	while (*pp && *pp != k)
		pp = &(*pp)->next;
	if (*pp)
		*pp = k->next;
	for (struct comp *c = k->m->comps; c; c = c->next)
		if (c->conn == k)
			c->conn = NULL;
	bufferevent_free(k->bev);
	free(k);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct mconn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		handle(k, line, len);
		free(line);
	}
	if (evbuffer_get_length(in) > CP_MK_MAX_LINE) {
		conn_free(k); /* a peer that never ends its line is dropped */
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct mconn *k = arg;
	if (what & BEV_EVENT_CONNECTED) {
		cp_tls_peer_cn(bufferevent_openssl_get_ssl(bev), k->cn, sizeof(k->cn));
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(k);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		      void *arg)
{
	struct cp_mgr *m = arg;
	struct mconn *k = calloc(1, sizeof(*k));
	if (!k || !(k->bev = cp_tls_bev(m->base, m->ssl, fd, true))) {
		if (!k)
			evutil_closesocket(fd);
		free(k);
		return;
	}
	k->m = m;
	cp_addr_format(sa, k->addr, sizeof(k->addr));
	bufferevent_setcb(k->bev, on_read, NULL, on_event, k);
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
	k->next = m->conns;
	m->conns = k;
}

struct cp_mgr *cp_mgr_create(struct event_base *base, const char *listen, const char *ca,
			     const char *cert, const char *key, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int sl;
	if (cp_addr_parse(listen, &ss, &sl)) {
		snprintf(err, errlen, "listen address '%s' is not numeric host:port", listen);
		return NULL;
	}
	struct cp_mgr *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->base = base;
	m->ssl = cp_tls_ctx(true, ca, cert, key, err, errlen);
	if (!m->ssl) {
		free(m);
		return NULL;
	}
	m->lis = evconnlistener_new_bind(base, on_accept, m,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						 LEV_OPT_CLOSE_ON_EXEC,
					 64, (struct sockaddr *)&ss, sl);
	if (!m->lis) {
		snprintf(err, errlen, "listen %s: %s", listen, strerror(errno));
		SSL_CTX_free(m->ssl);
		free(m);
		return NULL;
	}
	m->port = cp_addr_port(evconnlistener_get_fd(m->lis));
	return m;
}

void cp_mgr_free(struct cp_mgr *m)
{
	if (!m)
		return;
	while (m->pend)
		pending_done(m->pend, NULL, "manager shutting down");
	while (m->conns)
		conn_free(m->conns);
	while (m->comps) {
		struct comp *c = m->comps;
		m->comps = c->next;
		json_decref(c->latest);
		for (unsigned i = 0; i < CP_MGR_HISTORY; i++)
			json_decref(c->h[i].ext);
		free(c);
	}
	evconnlistener_free(m->lis);
	SSL_CTX_free(m->ssl);
	free(m);
}

uint16_t cp_mgr_port(const struct cp_mgr *m)
{
	return m->port;
}

static unsigned count_type(const json_t *ext, const char *type, const char *key, const char *val)
{
	unsigned n = 0;
	size_t i;
	json_t *o;
	json_array_foreach(ext, i, o)
	{
		const char *t = json_string_value(json_object_get(o, "type"));
		const char *v = key ? json_string_value(json_object_get(o, key)) : NULL;
		n += t && !strcmp(t, type) && (!key || (v && !strcmp(v, val)));
	}
	return n;
}

/* One line that says how the component is doing. */
static void summary(const struct comp *c, char *buf, size_t len)
{
	const json_t *e = c->latest;
	unsigned alarms = count_type(e, "alarm", NULL, NULL);
	if (c->iface == CP_MK_MK)
		snprintf(buf, len, "km links %u/%u up, %u alarms", count_type(e, "km_link", "state", "up"),
			 count_type(e, "km_link", NULL, NULL), alarms);
	else if (c->iface == CP_MK_MC && count_type(e, "node", NULL, NULL)) /* central qkdctrl */
		snprintf(buf, len, "%u/%u nodes connected, %u alarms",
			 count_type(e, "node", "state", "connected"), count_type(e, "node", NULL, NULL),
			 alarms);
	else if (c->iface == CP_MK_MC)
		snprintf(buf, len, "%u routes, %u alarms", count_type(e, "route", NULL, NULL), alarms);
	else if (c->iface == CP_MK_MQ) {
		const json_t *o = json_array_get(e, 0);
		snprintf(buf, len, "%s, skr %.0f bit/s, qber %.2f %%",
			 json_string_value(json_object_get(o, "state")) ?: "?",
			 json_number_value(json_object_get(o, "skr_bps")),
			 100 * json_number_value(json_object_get(o, "qber")));
	} else
		snprintf(buf, len, "%u alarms", alarms);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	char err[128];
	snprintf(err, sizeof(err), "no response from %s within %d ms", p->id, REQUEST_TIMEOUT_MS);
	pending_done(p, NULL, err);
}

static int request(struct cp_mgr *m, struct cp_ctl_server *srv, const char *id, char *err,
		   size_t errlen, const struct cp_ctl_token *tok)
{
	struct comp *c = comp_find(m, id);
	if (!c)
		return cp_ctl_fail(err, errlen, -ENOENT, "unknown component '%s'", id);
	if (!c->conn)
		return cp_ctl_fail(err, errlen, -ENOTCONN, "component %s is not connected", id);
	struct pending *p = calloc(1, sizeof(*p));
	if (!p)
		return cp_ctl_fail(err, errlen, -ENOMEM, "out of memory");
	*p = (struct pending){m, ++m->seq, srv, *tok, NULL, "", m->pend};
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->timeout = event_new(m->base, -1, 0, on_timeout, p);
	struct timeval tv = {REQUEST_TIMEOUT_MS / 1000, (REQUEST_TIMEOUT_MS % 1000) * 1000};
	event_add(p->timeout, &tv);
	m->pend = p;
	struct cp_mk_msg q = {.type = CP_MK_STATUS_REQUEST, .iface = c->iface, .seq = p->seq};
	strcpy(q.component_id, id);
	send_msg(c->conn, &q);
	return CP_CTL_PENDING;
}

int cp_mgr_command(struct cp_mgr *m, struct cp_ctl_server *srv, json_t *argv, json_t **res,
		   char *err, size_t errlen, const struct cp_ctl_token *tok)
{
	size_t n = json_array_size(argv);
	const char *a0 = json_string_value(json_array_get(argv, 0));
	const char *a1 = n > 1 ? json_string_value(json_array_get(argv, 1)) : NULL;
	const char *a2 = n > 2 ? json_string_value(json_array_get(argv, 2)) : NULL;
	uint64_t now = wall_ms();
	if (!strcmp(a0, "show") && n == 2 && !strcmp(a1, "components")) {
		json_t *t = json_array();
		for (struct comp *c = m->comps; c; c = c->next) {
			char sum[160];
			summary(c, sum, sizeof(sum));
			json_array_append_new(
				t, json_pack("{s:s,s:s,s:s,s:s,s:I,s:f,s:s}", "component", c->id,
					     "interface", cp_mk_iface_name(c->iface), "peer",
					     c->cn[0] ? c->cn : c->addr, "connected",
					     c->conn ? "yes" : "no", "reports", (json_int_t)c->reports,
					     "age_s", (double)(now - c->last_ms) / 1000.0, "status", sum));
		}
		*res = json_pack("{s:o,s:I,s:I}", "components", t, "reports", (json_int_t)m->reports,
				 "rejected", (json_int_t)m->bad);
		return 0;
	}
	if (!strcmp(a0, "show") && n == 2 && !strcmp(a1, "alarms")) {
		json_t *t = json_array();
		for (struct comp *c = m->comps; c; c = c->next) {
			size_t i;
			json_t *o;
			json_array_foreach(c->latest, i, o)
			{
				const char *ty = json_string_value(json_object_get(o, "type"));
				if (!ty || strcmp(ty, "alarm"))
					continue;
				json_array_append_new(t, json_pack("{s:s,s:O,s:O,s:O}", "component", c->id,
								   "alarm", json_object_get(o, "alarm"),
								   "object", json_object_get(o, "object"),
								   "detail", json_object_get(o, "detail")));
			}
		}
		*res = json_pack("{s:o}", "alarms", t);
		return 0;
	}
	if (!strcmp(a0, "show") && n == 3 && !strcmp(a1, "component")) {
		struct comp *c = comp_find(m, a2);
		if (!c)
			return cp_ctl_fail(err, errlen, -ENOENT, "unknown component '%s'", a2);
		*res = json_pack("{s:s,s:s,s:s,s:f,s:o}", "component_id", c->id, "interface",
				 cp_mk_iface_name(c->iface), "kind", cp_mk_component_kind(c->iface),
				 "age_s", (double)(now - c->last_ms) / 1000.0, "status",
				 grouped(c->latest));
		return 0;
	}
	if (!strcmp(a0, "history") && n == 2) {
		struct comp *c = comp_find(m, a1);
		if (!c)
			return cp_ctl_fail(err, errlen, -ENOENT, "unknown component '%s'", a1);
		json_t *t = json_array();
		for (unsigned k = 0; k < c->h_n; k++) { /* oldest first */
			unsigned i = (c->h_next + CP_MGR_HISTORY - c->h_n + k) % CP_MGR_HISTORY;
			struct comp tmp = *c;
			tmp.latest = c->h[i].ext;
			char sum[160];
			summary(&tmp, sum, sizeof(sum));
			json_array_append_new(t, json_pack("{s:f,s:s}", "age_s",
							   (double)(now - c->h[i].t_ms) / 1000.0,
							   "status", sum));
		}
		*res = json_pack("{s:s,s:o}", "component_id", c->id, "history", t);
		return 0;
	}
	if (!strcmp(a0, "request") && n == 2)
		return request(m, srv, a1, err, errlen, tok);
	if (!strcmp(a0, "help") && n == 1) {
		*res = json_pack("{s:[{s:s},{s:s},{s:s},{s:s},{s:s}]}", "commands", "command",
				 "show components", "command", "show alarms", "command",
				 "show component <id>", "command", "history <id>", "command",
				 "request <id>");
		return 0;
	}
	return cp_ctl_fail(err, errlen, -EINVAL,
		    "unknown command (show components|alarms, show component <id>, history <id>, "
		    "request <id>)");
}
