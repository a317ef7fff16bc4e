/* Manager-interface agent: TLS client with reconnect, report timer, request handling. The
 * extension parameters are built from the same statistics object as show stats and /metrics. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mk_agent.h"
#include "cp_tls.h"
#include "cp_addr.h"
#include "ctrl_internal.h"

#define RECONNECT_MS 1000

struct cp_mk_agent {
	struct cp_ctrl *c;
	SSL_CTX *ssl;
	struct bufferevent *bev;
	bool connected;
	struct event *report_ev, *retry_ev;
	int64_t seq;
};

static void qkd_module_id(const struct cp_config *cfg, const char *link, char *out)
{
	snprintf(out, CP_MK_ID_MAX, "%s-qkd-%s", cfg->node_id, link);
}

json_t *cp_mk_components(struct cp_ctrl *c)
{
	const struct cp_config *cfg = c->cfg;
	json_t *a = json_array();
	json_array_append_new(a, json_pack("{s:s,s:s}", "interface", "Mk", "component_id",
					   cfg->manager.km_id));
	json_array_append_new(a, json_pack("{s:s,s:s}", "interface", "Mc", "component_id",
					   cfg->manager.controller_id));
	for (unsigned i = 0; i < cfg->n_qkd_links; i++) {
		char id[CP_MK_ID_MAX];
		qkd_module_id(cfg, cfg->qkd_links[i].name, id);
		json_array_append_new(a, json_pack("{s:s,s:s}", "interface", "Mq", "component_id", id));
	}
	return a;
}

static void add_alarms(json_t *ext, const json_t *alarms, const char *const *types)
{
	size_t i;
	json_t *al;
	json_array_foreach(alarms, i, al)
	{
		const char *t = json_string_value(json_object_get(al, "alarm"));
		for (const char *const *x = types; t && *x; x++)
			if (!strcmp(*x, t)) {
				json_t *o = json_deep_copy(al);
				json_object_set_new(o, "type", json_string("alarm"));
				json_array_append_new(ext, o);
			}
	}
}

json_t *cp_mk_component_status(struct cp_ctrl *c, enum cp_mk_iface *iface, const char *id)
{
	const struct cp_config *cfg = c->cfg;
	const json_t *st = c->stats, *links = json_object_get(st, "links");
	const json_t *alarms = json_object_get(st, "alarms");
	json_t *ext = json_array();
	size_t i;
	json_t *l;
	if (!strcmp(id, cfg->manager.km_id)) {
		*iface = CP_MK_MK;
		json_int_t sup = 0, ttl = 0, auth = 0, rs = 0, rsf = 0;
		json_array_foreach(links, i, l)
		{
			sup += json_integer_value(json_object_get(l, "keys_supplied"));
			ttl += json_integer_value(json_object_get(l, "ttl_expired"));
			auth += json_integer_value(json_object_get(l, "auth_failures"));
			rs += json_integer_value(json_object_get(l, "resyncs"));
			rsf += json_integer_value(json_object_get(l, "resync_failures"));
		}
		json_array_append_new(ext, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "type", "km",
						     "node", cfg->node_id, "keys_supplied", sup,
						     "ttl_expired", ttl, "auth_failures", auth, "resyncs",
						     rs, "resync_failures", rsf));
		json_array_foreach(links, i, l)
		{
			json_t *o = json_deep_copy(l);
			json_object_set_new(o, "type", json_string("km_link"));
			json_object_del(o, "skr_bps");
			json_object_del(o, "qber");
			json_array_append_new(ext, o);
		}
		static const char *const km_alarms[] = {"link_down", "buffer_low", "auth_failure",
							"resync_failing", NULL};
		add_alarms(ext, alarms, km_alarms);
		return ext;
	}
	if (!strcmp(id, cfg->manager.controller_id)) {
		*iface = CP_MK_MC;
		json_t *o = json_deep_copy(json_object_get(st, "counters"));
		json_object_set_new(o, "type", json_string("controller"));
		json_object_set_new(o, "node", json_string(cfg->node_id));
		json_object_update(o, json_object_get(st, "sessions"));
		json_array_append_new(ext, o);
		for (unsigned r = 0; c->snap && r < c->snap->n_routes; r++) {
			const struct cp_snap_route *x = &c->snap->routes[r];
			json_array_append_new(ext, json_pack("{s:s,s:s,s:s,s:f,s:i}", "type", "route",
							     "destination", x->dst, "next_hop",
							     x->next_hop, "cost", x->cost, "hops",
							     (int)x->hops));
		}
		static const char *const c_alarms[] = {"relay_unroutable", "controller_unreachable",
						       NULL};
		add_alarms(ext, alarms, c_alarms);
		return ext;
	}
	for (unsigned q = 0; q < cfg->n_qkd_links; q++) {
		char mid[CP_MK_ID_MAX];
		qkd_module_id(cfg, cfg->qkd_links[q].name, mid);
		if (strcmp(mid, id))
			continue;
		*iface = CP_MK_MQ;
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:f,s:f}", "type", "qkd_module", "qkd_link",
				      cfg->qkd_links[q].name, "peer", cfg->qkd_links[q].peer, "state",
				      c->admin_up[q] ? "down" : "admin-down", "skr_bps", 0.0, "qber", 0.0);
		json_array_foreach(links, i, l) if (!strcmp(json_string_value(json_object_get(l, "qkd_link")),
							    cfg->qkd_links[q].name))
		{
			json_object_set(o, "state", json_object_get(l, "state"));
			json_object_set(o, "skr_bps", json_object_get(l, "skr_bps"));
			json_object_set(o, "qber", json_object_get(l, "qber"));
		}
		json_array_append_new(ext, o);
		return ext;
	}
	json_decref(ext);
	return NULL;
}

static void send_msg(struct cp_mk_agent *a, struct cp_mk_msg *m)
{
	char *s = cp_mk_encode(m);
	if (s && a->bev && a->connected) {
		bufferevent_write(a->bev, s, strlen(s));
		bufferevent_write(a->bev, "\n", 1);
	}
	free(s);
}

static void send_reports(struct cp_mk_agent *a)
{
	json_t *comps = cp_mk_components(a->c);
	size_t i;
	json_t *x;
	json_array_foreach(comps, i, x)
	{
		struct cp_mk_msg m = {.type = CP_MK_STATUS_REPORT, .seq = ++a->seq};
		const char *id = json_string_value(json_object_get(x, "component_id"));
		snprintf(m.component_id, sizeof(m.component_id), "%s", id);
		m.extension = cp_mk_component_status(a->c, &m.iface, id);
		send_msg(a, &m);
		a->c->cnt.mk_reports++;
		cp_mk_msg_clear(&m);
	}
	json_decref(comps);
}

static void answer_request(struct cp_mk_agent *a, const struct cp_mk_msg *req)
{
	json_t *comps = cp_mk_components(a->c);
	bool any = false;
	size_t i;
	json_t *x;
	a->c->cnt.mk_requests++;
	json_array_foreach(comps, i, x)
	{
		const char *id = json_string_value(json_object_get(x, "component_id"));
		if (req->component_id[0] && strcmp(req->component_id, id))
			continue;
		struct cp_mk_msg m = {.type = CP_MK_STATUS_REQUEST_RESPONSE, .seq = req->seq};
		snprintf(m.component_id, sizeof(m.component_id), "%s", id);
		snprintf(m.response, sizeof(m.response), CP_MK_SUCCESS);
		m.extension = cp_mk_component_status(a->c, &m.iface, id);
		send_msg(a, &m);
		cp_mk_msg_clear(&m);
		any = true;
	}
	json_decref(comps);
	if (!any) {
		struct cp_mk_msg m = {.type = CP_MK_STATUS_REQUEST_RESPONSE, .iface = req->iface,
				      .seq = req->seq};
		snprintf(m.component_id, sizeof(m.component_id), "%s", req->component_id);
		snprintf(m.response, sizeof(m.response), "failure: unknown component '%s' at node %s",
			 req->component_id, a->c->cfg->node_id);
		send_msg(a, &m);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct cp_mk_agent *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		struct cp_mk_msg m;
		char why[256];
		if (cp_mk_decode(line, len, &m, why, sizeof(why)) == 0) {
			if (m.type == CP_MK_STATUS_REQUEST)
				answer_request(a, &m);
			else if (m.type == CP_MK_STATUS_REPORT_RESPONSE &&
				 strcmp(m.response, CP_MK_SUCCESS))
				a->c->cnt.mk_failures++;
			else if (m.type != CP_MK_STATUS_REPORT_RESPONSE) {
				struct cp_mk_msg f;
				cp_mk_failure_for(&m, "a KM/controller does not accept this message", &f);
				send_msg(a, &f);
			}
		} else {
			struct cp_mk_msg f;
			cp_mk_failure_for(&m, why, &f);
			send_msg(a, &f);
			a->c->cnt.mk_failures++;
		}
		cp_mk_msg_clear(&m);
		free(line);
	}
	if (evbuffer_get_length(in) > CP_MK_MAX_LINE)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void schedule_retry(struct cp_mk_agent *a)
{
	struct timeval tv = {RECONNECT_MS / 1000, (RECONNECT_MS % 1000) * 1000};
	event_add(a->retry_ev, &tv);
}

static void drop(struct cp_mk_agent *a)
{
	if (a->bev)
		bufferevent_free(a->bev);
	a->bev = NULL;
	a->connected = false;
	schedule_retry(a);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct cp_mk_agent *a = arg;
	if (what & BEV_EVENT_CONNECTED) {
		a->connected = true;
		send_reports(a);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		drop(a);
}

static void connect_now(struct cp_mk_agent *a)
{
	const char *addr = a->c->cfg->manager.address;
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	if (cp_addr_parse(addr, &ss, &sl)) {
		schedule_retry(a);
		return;
	}
	SSL *ssl = SSL_new(a->ssl);
	a->bev = ssl ? bufferevent_openssl_socket_new(a->c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						      BEV_OPT_CLOSE_ON_FREE)
		     : NULL;
	if (!a->bev) {
		SSL_free(ssl);
		schedule_retry(a);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(a->bev, 1);
	bufferevent_setcb(a->bev, on_read, NULL, on_event, a);
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(a->bev, (struct sockaddr *)&ss, sl) < 0)
		drop(a);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct cp_mk_agent *a = arg;
	if (!a->bev)
		connect_now(a);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
	struct cp_mk_agent *a = arg;
	if (a->connected)
		send_reports(a);
}

struct cp_mk_agent *cp_mk_agent_create(struct cp_ctrl *c, char *err, size_t errlen)
{
	const struct cp_cfg_manager *m = &c->cfg->manager;
	struct cp_mk_agent *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->c = c;
	a->ssl = cp_tls_ctx(false, m->ca, m->cert, m->key, err, errlen);
	if (!a->ssl) {
		free(a);
		return NULL;
	}
	a->report_ev = event_new(c->base, -1, EV_PERSIST, on_report, a);
	a->retry_ev = event_new(c->base, -1, 0, on_retry, a);
	struct timeval tv = {m->report_period_ms / 1000, (int)(m->report_period_ms % 1000) * 1000};
	event_add(a->report_ev, &tv);
	connect_now(a);
	return a;
}

void cp_mk_agent_free(struct cp_mk_agent *a)
{
	if (!a)
		return;
	if (a->bev)
		bufferevent_free(a->bev);
	event_free(a->report_ev);
	event_free(a->retry_ev);
	SSL_CTX_free(a->ssl);
	free(a);
}
