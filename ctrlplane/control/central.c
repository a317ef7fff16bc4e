/* The control thread in [routing] mode = central (Y.3802 configuration 2): our link state (the
 * LSA poll_local builds) and the edges our relay sessions hold go to the controllers instead of
 * being flooded, and the view a controller pushes becomes our routing graph: sessions reroute and
 * the snapshot is published from it exactly as from our own graph in distributed mode.
 * Several controllers (priority order) all get our reports and all push; we route on the view of
 * the first one connected that has pushed, and keep the others' last views to fail over at once.
 * With none reachable the last view stays (alarm controller_unreachable) and the clients
 * reconnect with backoff. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_central.h"
#include "cp_tls.h"
#include "ctrl_internal.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 10000 /* qkdctrl's default warm-up (15 s) waits longer than this */

/* One configured controller. */
struct ctl_link {
	struct cp_ctrl *c;
	const char *addr;
	struct cp_cen_client *cl;
	struct cp_cen_edge *hold; /* as last reported to it */
	unsigned n_hold;
	bool report_due;          /* (re)connected: send everything */
	uint64_t last_report_ms;
	uint64_t reports, routes, routes_bad, failures_rx, generation;
	char last_failure[CP_CEN_REASON_MAX];
	/* its last view (kept while connected: a standby's, installed when it takes over) */
	bool have_view;
	struct cp_cen_edge *view;
	unsigned n_view;
	struct cp_cen_number *num;
	unsigned n_num;
};

struct cp_ctrl_central {
	unsigned n;
	struct ctl_link ctl[CP_CFG_MAX_CONTROLLERS];
	int active; /* controller whose view is installed, -1 = none yet */
	uint64_t generation, last_routes_ms, installs;
};

/* Install a routing graph: the sessions and the snapshot use it from the next recompute. */
static int install(struct cp_ctrl *c, struct cp_lsdb_graph *lg)
{
	struct cp_spt *t = cp_spt_create(lg->n ? lg->n : 1);
	if (!t) {
		cp_lsdb_graph_release(lg);
		return -ENOMEM;
	}
	cp_lsdb_graph_release(&c->lg);
	cp_spt_free(c->spt);
	c->lg = *lg;
	c->spt = t;
	c->topo_dirty = true;
	return 0;
}

/* Directed edges of our active relay sessions' paths (duplicates dropped). */
static unsigned held_edges(const struct cp_ctrl *c, struct cp_cen_edge **out)
{
	unsigned n = 0, cap = 0;
	struct cp_cen_edge *v = NULL;
	for (unsigned i = 0; i < c->sess.n_relay; i++) {
		const struct cp_relay_session *r = &c->sess.relay[i];
		for (unsigned h = 0; r->state == CP_RELAY_ACTIVE && h < r->hops; h++) {
			bool dup = false;
			for (unsigned j = 0; j < n && !dup; j++)
				dup = !strcmp(v[j].a, r->path[h]) && !strcmp(v[j].b, r->path[h + 1]);
			if (dup || n == CP_CEN_MAX_HOLD)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				struct cp_cen_edge *x = realloc(v, cap * sizeof(*x));
				if (!x)
					break;
				v = x;
			}
			memset(&v[n], 0, sizeof(v[n]));
			strcpy(v[n].a, r->path[h]);
			strcpy(v[n].b, r->path[h + 1]);
			n++;
		}
	}
	*out = v;
	return n;
}

static bool connected(const struct ctl_link *k)
{
	struct cp_cen_client_stats st;
	cp_cen_client_stats(k->cl, &st);
	return st.connected;
}

static void report_to(struct ctl_link *k, bool lsa_changed)
{
	struct cp_ctrl *c = k->c;
	if (!connected(k))
		return;
	struct cp_cen_edge *hold;
	unsigned n = held_edges(c, &hold);
	bool hold_changed = n != k->n_hold || (n && memcmp(hold, k->hold, n * sizeof(*hold)));
	uint64_t now = cp_now_ms();
	if (!lsa_changed && !hold_changed && !k->report_due &&
	    now - k->last_report_ms < c->cfg->lsa_refresh_s * 1000ull) {
		free(hold);
		return;
	}
	struct cp_cen_msg m = {.type = CP_CEN_REPORT, .seq = c->own.seq, .lsa = c->own,
			       .edges = hold, .n_edges = n};
	strcpy(m.node, c->cfg->node_id);
	if (cp_cen_client_send(k->cl, &m) == 0) {
		k->reports++;
		k->report_due = false;
		k->last_report_ms = now;
		free(k->hold);
		k->hold = hold;
		k->n_hold = n;
	} else {
		free(hold);
	}
}

/* The name -> number map (cp_ctrl_node_number) reads numbers from the LSDB: in central mode it
 * holds our own LSA and one link-less entry per node the controller numbered. */
static void install_numbers(struct cp_ctrl *c, const struct cp_cen_number *num, unsigned n)
{
	for (unsigned i = 0; i < c->db.n;)
		if (strcmp(c->db.v[i].lsa.origin, c->cfg->node_id))
			cp_lsdb_remove(&c->db, c->db.v[i].lsa.origin);
		else
			i++;
	for (unsigned i = 0; i < n; i++) {
		struct cp_lsa l = {.seq = 1, .number = num[i].number};
		strcpy(l.origin, num[i].name);
		if (strcmp(l.origin, c->cfg->node_id))
			cp_lsdb_install(&c->db, &l, cp_now_ms());
	}
}

/* Route on the view of the first connected controller that has one (if it is not installed
 * yet, or force: it just pushed a new one). */
static void select_view(struct cp_ctrl *c, bool force_from, int from)
{
	struct cp_ctrl_central *x = c->central;
	int best = -1;
	for (unsigned i = 0; i < x->n && best < 0; i++)
		if (x->ctl[i].have_view && connected(&x->ctl[i]))
			best = (int)i;
	if (best < 0 || (best == x->active && !(force_from && from == best)))
		return; /* nobody to follow: keep the routes we have */
	struct ctl_link *k = &x->ctl[best];
	struct cp_lsdb_graph lg;
	if (cp_central_view_graph(c->cfg->node_id, k->view, k->n_view, &lg) || install(c, &lg))
		return;
	install_numbers(c, k->num, k->n_num);
	x->active = best;
	x->generation = k->generation;
	x->last_routes_ms = cp_now_ms();
	x->installs++;
	cp_ctrl_recompute(c); /* sessions move now, not at the next period */
}

static void on_msg(void *ctx, struct cp_cen_msg *m)
{
	struct ctl_link *k = ctx;
	struct cp_ctrl *c = k->c;
	if (m->type == CP_CEN_FAILURE) {
		k->failures_rx++;
		snprintf(k->last_failure, sizeof(k->last_failure), "%s", m->reason);
		return;
	}
	struct cp_cen_msg f = {.type = CP_CEN_FAILURE};
	struct cp_lsdb_graph lg;
	if (m->type != CP_CEN_ROUTES)
		snprintf(f.reason, sizeof(f.reason), "a node accepts routes messages only");
	else if (strcmp(m->node, c->cfg->node_id))
		snprintf(f.reason, sizeof(f.reason), "routes for %s sent to node %s", m->node,
			 c->cfg->node_id);
	else if (cp_central_view_graph(c->cfg->node_id, m->edges, m->n_edges, &lg))
		snprintf(f.reason, sizeof(f.reason), "routes generation %llu: unusable edge list",
			 (unsigned long long)m->seq);
	else
		cp_lsdb_graph_release(&lg); /* usable: keep it (select_view builds it again) */
	if (f.reason[0]) {
		k->routes_bad++;
		cp_cen_client_send(k->cl, &f);
		return;
	}
	free(k->view); /* the message's arrays are taken over */
	k->view = m->edges;
	k->n_view = m->n_edges;
	m->edges = NULL;
	if (m->numbers_present) {
		free(k->num);
		k->num = m->numbers;
		k->n_num = m->n_numbers;
		m->numbers = NULL;
	}
	k->have_view = true;
	k->routes++;
	k->generation = m->seq;
	select_view(c, true, (int)(k - c->central->ctl));
}

static void on_state(void *ctx, bool up)
{
	struct ctl_link *k = ctx;
	if (up) {
		k->report_due = true;
		report_to(k, false);
		return;
	}
	k->have_view = false; /* a reconnection pushes afresh */
	select_view(k->c, false, -1); /* fail over to a standby's view if there is one */
}

int cp_ctrl_central_start(struct cp_ctrl *c, char *err, size_t errlen)
{
	const struct cp_config *cfg = c->cfg;
	if (cfg->routing.mode != CP_ROUTING_CENTRAL)
		return 0;
	struct cp_ctrl_central *x = calloc(1, sizeof(*x));
	struct cp_lsdb_graph lg;
	if (!x || cp_central_view_graph(cfg->node_id, NULL, 0, &lg) || install(c, &lg)) {
		free(x);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->central = x;
	x->active = -1;
	static const struct cp_cen_client_ops ops = {on_msg, on_state, NULL};
	for (unsigned i = 0; i < cfg->routing.n_controllers; i++) {
		struct ctl_link *k = &x->ctl[x->n++];
		k->c = c;
		k->addr = cfg->routing.controllers[i];
		SSL_CTX *ssl = cp_tls_ctx(false, cfg->tls_ca, cfg->tls_cert, cfg->tls_key, err, errlen);
		k->cl = ssl ? cp_cen_client_create(c->base, k->addr, cfg->routing.controller_cn, ssl,
						   &ops, k, BACKOFF_MIN_MS, BACKOFF_MAX_MS, err, errlen)
			    : NULL;
		if (!k->cl)
			return -EINVAL;
	}
	return 0;
}

bool cp_ctrl_central_poll(struct cp_ctrl *c, bool lsa_changed)
{
	struct cp_ctrl_central *x = c->central;
	if (!x)
		return false;
	for (unsigned i = 0; i < x->n; i++)
		report_to(&x->ctl[i], lsa_changed);
	return true;
}

void cp_ctrl_central_stats(struct cp_ctrl *c, json_t *stats)
{
	struct cp_ctrl_central *x = c->central;
	if (!x)
		return;
	uint64_t now = cp_now_ms();
	json_t *list = json_array(), *alarms = json_object_get(stats, "alarms");
	uint64_t connects = 0, routes = 0;
	bool any = false;
	const char *last_failure = "";
	for (unsigned i = 0; i < x->n; i++) {
		const struct ctl_link *k = &x->ctl[i];
		struct cp_cen_client_stats st;
		cp_cen_client_stats(k->cl, &st);
		any |= st.connected;
		connects += st.connects;
		routes += k->routes;
		if (k->last_failure[0])
			last_failure = k->last_failure;
		json_array_append_new(
			list, json_pack("{s:s,s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:s,s:s}", "address",
					k->addr, "connected", st.connected, "active", (int)i == x->active,
					"connects", (json_int_t)st.connects, "reports",
					(json_int_t)k->reports, "routes", (json_int_t)k->routes,
					"routes_bad", (json_int_t)k->routes_bad, "failures_received",
					(json_int_t)k->failures_rx, "generation",
					(json_int_t)k->generation, "retry_ms", (int)st.backoff_ms,
					"last_error", st.last_error, "last_failure", k->last_failure));
	}
	const char *active = x->active >= 0 ? x->ctl[x->active].addr : "-";
	json_object_set_new(
		stats, "controller",
		json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:f,s:s,s:o}", "active", active, "cn",
			  c->cfg->routing.controller_cn, "connected", any, "connects",
			  (json_int_t)connects, "routes", (json_int_t)routes, "installs",
			  (json_int_t)x->installs, "generation", (json_int_t)x->generation,
			  "routes_age_s",
			  x->last_routes_ms ? (double)(now - x->last_routes_ms) / 1000.0 : -1.0,
			  "last_failure", last_failure, "controllers", list));
	for (unsigned i = 0; i < x->n; i++) {
		const struct ctl_link *k = &x->ctl[i];
		struct cp_cen_client_stats st;
		cp_cen_client_stats(k->cl, &st);
		if (st.connected)
			continue;
		char detail[400];
		if (any)
			snprintf(detail, sizeof(detail), "controller %s unreachable (%s): routes from %s",
				 k->addr, st.last_error[0] ? st.last_error : "connecting", active);
		else
			snprintf(detail, sizeof(detail), "controller %s unreachable (%s): keeping the "
				 "routes of generation %llu", k->addr,
				 st.last_error[0] ? st.last_error : "connecting",
				 (unsigned long long)x->generation);
		json_array_append_new(alarms, json_pack("{s:s,s:s,s:s}", "alarm",
							"controller_unreachable", "object", k->addr,
							"detail", detail));
	}
}

void cp_ctrl_central_stop(struct cp_ctrl *c)
{
	struct cp_ctrl_central *x = c->central;
	if (!x)
		return;
	for (unsigned i = 0; i < x->n; i++) {
		cp_cen_client_free(x->ctl[i].cl);
		free(x->ctl[i].hold);
		free(x->ctl[i].view);
		free(x->ctl[i].num);
	}
	free(x);
	c->central = NULL;
}
