/* The central controller as a component of the QKDN manager (Q.QKDN_Mk over mutual TLS, Mc
 * reference point, component id = the QKDN controller ID): periodic status reports and answers to
 * status report requests, with cp_cen_server_status() as the extension. */
#include "cp_central.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mk.h"

#define RECONNECT_MIN_MS 200
#define RECONNECT_MAX_MS 5000

struct cp_cen_mc {
	struct cp_cen_server *s;
	struct cp_cen_client *cl;
	struct event *report_ev;
	char id[CP_MK_ID_MAX];
	int64_t seq;
};

static void send_msg(struct cp_cen_mc *mc, struct cp_mk_msg *m)
{
	char *line = cp_mk_encode(m);
	if (line)
		cp_cen_client_send_line(mc->cl, line);
	free(line);
	cp_mk_msg_clear(m);
}

static void report(struct cp_cen_mc *mc)
{
	struct cp_cen_client_stats st;
	cp_cen_client_stats(mc->cl, &st);
	if (!st.connected)
		return;
	struct cp_mk_msg m = {.type = CP_MK_STATUS_REPORT, .iface = CP_MK_MC, .seq = ++mc->seq,
			      .extension = cp_cen_server_status(mc->s)};
	strcpy(m.component_id, mc->id);
	send_msg(mc, &m);
}

static void on_line(void *ctx, const char *line, size_t len)
{
	struct cp_cen_mc *mc = ctx;
	struct cp_mk_msg m, out;
	char why[256];
	if (cp_mk_decode(line, len, &m, why, sizeof(why))) {
		cp_mk_failure_for(&m, why, &out);
		send_msg(mc, &out);
	} else if (m.type == CP_MK_STATUS_REQUEST) {
		out = (struct cp_mk_msg){.type = CP_MK_STATUS_REQUEST_RESPONSE, .iface = CP_MK_MC,
					 .seq = m.seq};
		strcpy(out.component_id, mc->id);
		if (m.component_id[0] && strcmp(m.component_id, mc->id))
			snprintf(out.response, sizeof(out.response),
				 "failure: unknown component '%s' at this controller", m.component_id);
		else {
			strcpy(out.response, CP_MK_SUCCESS);
			out.extension = cp_cen_server_status(mc->s);
		}
		send_msg(mc, &out);
	} else if (m.type != CP_MK_STATUS_REPORT_RESPONSE) {
		cp_mk_failure_for(&m, "a QKDN controller does not accept this message", &out);
		send_msg(mc, &out);
	}
	cp_mk_msg_clear(&m);
}

static void on_state(void *ctx, bool up)
{
	if (up)
		report(ctx);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
	report(arg);
}

struct cp_cen_mc *cp_cen_mc_create(struct event_base *base, struct cp_cen_server *s,
				   const char *addr, const char *id, SSL_CTX *ssl, unsigned period_ms,
				   char *err, size_t errlen)
{
	struct cp_cen_mc *mc = calloc(1, sizeof(*mc));
	if (!mc || !id || !id[0] || strlen(id) >= CP_MK_ID_MAX) {
		snprintf(err, errlen, mc ? "manager component id must be 1-%d characters"
				       : "out of memory", CP_MK_ID_MAX - 1);
		free(mc);
		SSL_CTX_free(ssl);
		return NULL;
	}
	mc->s = s;
	strcpy(mc->id, id);
	static const struct cp_cen_client_ops ops = {NULL, on_state, on_line};
	mc->cl = cp_cen_client_create(base, addr, NULL, ssl, &ops, mc, RECONNECT_MIN_MS,
				      RECONNECT_MAX_MS, err, errlen);
	mc->report_ev = mc->cl ? event_new(base, -1, EV_PERSIST, on_report, mc) : NULL;
	if (!mc->report_ev) {
		cp_cen_mc_free(mc);
		return NULL;
	}
	struct timeval tv = {period_ms / 1000, (int)(period_ms % 1000) * 1000};
	event_add(mc->report_ev, &tv);
	return mc;
}

void cp_cen_mc_free(struct cp_cen_mc *mc)
{
	if (!mc)
		return;
	if (mc->report_ev)
		event_free(mc->report_ev);
	cp_cen_client_free(mc->cl);
	free(mc);
}
