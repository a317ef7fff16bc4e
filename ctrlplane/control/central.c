/* The control thread in [routing] mode = central (Y.3802 configuration 2): our link state (the
 * LSA poll_local builds) and the edges our relay sessions hold go to the controller instead of
 * being flooded, and the view the controller pushes becomes our routing graph: sessions reroute
 * and the snapshot is published from it exactly as from our own graph in distributed mode. When
 * the controller is unreachable the last view stays (alarm controller_unreachable) and the client
 * reconnects with backoff. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_central.h"
#include "cp_tls.h"
#include "ctrl_internal.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 10000 /* qkdctrl's default warm-up (15 s) waits longer than this */

struct cp_ctrl_central {
	struct cp_cen_client *cl;
	struct cp_cen_edge *hold; /* as last reported */
	unsigned n_hold;
	bool report_due;          /* (re)connected: send everything */
	uint64_t last_report_ms;
	uint64_t reports, routes, routes_bad, failures_rx, generation;
	uint64_t last_routes_ms;
	char last_failure[CP_CEN_REASON_MAX];
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

static void report(struct cp_ctrl *c, bool lsa_changed)
{
	struct cp_ctrl_central *x = c->central;
	struct cp_cen_client_stats st;
	cp_cen_client_stats(x->cl, &st);
	if (!st.connected)
		return;
	struct cp_cen_edge *hold;
	unsigned n = held_edges(c, &hold);
	bool hold_changed = n != x->n_hold || (n && memcmp(hold, x->hold, n * sizeof(*hold)));
	uint64_t now = cp_now_ms();
	if (!lsa_changed && !hold_changed && !x->report_due &&
	    now - x->last_report_ms < c->cfg->lsa_refresh_s * 1000ull) {
		free(hold);
		return;
	}
	struct cp_cen_msg m = {.type = CP_CEN_REPORT, .seq = c->own.seq, .lsa = c->own,
			       .edges = hold, .n_edges = n};
	strcpy(m.node, c->cfg->node_id);
	if (cp_cen_client_send(x->cl, &m) == 0) {
		x->reports++;
		x->report_due = false;
		x->last_report_ms = now;
		free(x->hold);
		x->hold = hold;
		x->n_hold = n;
	} else {
		free(hold);
	}
}

static void on_msg(void *ctx, struct cp_cen_msg *m)
{
	struct cp_ctrl *c = ctx;
	struct cp_ctrl_central *x = c->central;
	if (m->type == CP_CEN_FAILURE) {
		x->failures_rx++;
		snprintf(x->last_failure, sizeof(x->last_failure), "%s", m->reason);
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
	else if (install(c, &lg))
		snprintf(f.reason, sizeof(f.reason), "node %s out of memory", c->cfg->node_id);
	if (f.reason[0]) {
		x->routes_bad++;
		cp_cen_client_send(x->cl, &f);
		return;
	}
	/* the name -> number map (cp_ctrl_node_number) reads numbers from the LSDB: in central mode
	 * it holds our own LSA and one link-less entry per node the controller names */
	for (unsigned i = 0; m->numbers_present && i < c->db.n;)
		if (strcmp(c->db.v[i].lsa.origin, c->cfg->node_id))
			cp_lsdb_remove(&c->db, c->db.v[i].lsa.origin);
		else
			i++;
	for (unsigned i = 0; i < m->n_numbers; i++) {
		struct cp_lsa l = {.seq = 1, .number = m->numbers[i].number};
		strcpy(l.origin, m->numbers[i].name);
		if (strcmp(l.origin, c->cfg->node_id))
			cp_lsdb_install(&c->db, &l, cp_now_ms());
	}
	x->routes++;
	x->generation = m->seq;
	x->last_routes_ms = cp_now_ms();
	cp_ctrl_recompute(c); /* sessions move now, not at the next period */
}

static void on_state(void *ctx, bool connected)
{
	struct cp_ctrl *c = ctx;
	if (connected) {
		c->central->report_due = true;
		report(c, false);
	}
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
	SSL_CTX *ssl = cp_tls_ctx(false, cfg->tls_ca, cfg->tls_cert, cfg->tls_key, err, errlen);
	static const struct cp_cen_client_ops ops = {on_msg, on_state};
	x->cl = ssl ? cp_cen_client_create(c->base, cfg->routing.controller,
					   cfg->routing.controller_cn, ssl, &ops, c, BACKOFF_MIN_MS,
					   BACKOFF_MAX_MS, err, errlen)
		    : NULL;
	return x->cl ? 0 : -EINVAL;
}

bool cp_ctrl_central_poll(struct cp_ctrl *c, bool lsa_changed)
{
	if (!c->central)
		return false;
	report(c, lsa_changed);
	return true;
}

void cp_ctrl_central_stats(struct cp_ctrl *c, json_t *stats)
{
	struct cp_ctrl_central *x = c->central;
	if (!x)
		return;
	struct cp_cen_client_stats st;
	cp_cen_client_stats(x->cl, &st);
	uint64_t now = cp_now_ms();
	json_object_set_new(
		stats, "controller",
		json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:i,s:s,s:s}", "address",
			  c->cfg->routing.controller, "cn", c->cfg->routing.controller_cn,
			  "connected", st.connected, "connects", (json_int_t)st.connects,
			  "reports", (json_int_t)x->reports, "routes", (json_int_t)x->routes,
			  "routes_bad", (json_int_t)x->routes_bad, "failures_received",
			  (json_int_t)x->failures_rx, "generation", (json_int_t)x->generation,
			  "routes_age_s",
			  x->last_routes_ms ? (double)(now - x->last_routes_ms) / 1000.0 : -1.0,
			  "retry_ms", (int)st.backoff_ms, "last_error", st.last_error,
			  "last_failure", x->last_failure));
	if (!st.connected) {
		char detail[400];
		snprintf(detail, sizeof(detail), "controller %s unreachable (%s): keeping the routes of "
			 "generation %llu", c->cfg->routing.controller,
			 st.last_error[0] ? st.last_error : "connecting",
			 (unsigned long long)x->generation);
		json_array_append_new(json_object_get(stats, "alarms"),
				      json_pack("{s:s,s:s,s:s}", "alarm", "controller_unreachable",
						"object", c->cfg->routing.controller, "detail", detail));
	}
}

void cp_ctrl_central_stop(struct cp_ctrl *c)
{
	struct cp_ctrl_central *x = c->central;
	if (!x)
		return;
	cp_cen_client_free(x->cl);
	free(x->hold);
	free(x);
	c->central = NULL;
}
