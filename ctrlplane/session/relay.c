/* Relay sessions: route on open, move on failure (new epoch), wait when unroutable. */
#include "cp_session.h"
#include "session_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cp_sessions_init(struct cp_sessions *s, const char *self, cp_relay_cb cb, void *ctx)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->self, sizeof(s->self), "%s", self);
	s->next_id = 1;
	s->cb = cb;
	s->cb_ctx = ctx;
}

void cp_sessions_clear(struct cp_sessions *s)
{
	free(s->relay);
	free(s->app);
	free(s->resv);
	s->relay = NULL;
	s->app = NULL;
	s->resv = NULL;
	s->n_relay = s->n_app = s->n_resv = 0;
	s->cap_relay = s->cap_app = s->cap_resv = 0;
}

struct cp_relay_session *cp_relay_find(struct cp_sessions *s, uint32_t id)
{
	for (unsigned i = 0; i < s->n_relay; i++)
		if (s->relay[i].id == id)
			return &s->relay[i];
	return NULL;
}

static void notify(struct cp_sessions *s, enum cp_relay_action a, const struct cp_relay_session *r)
{
	if (s->cb) {
		struct cp_relay_cmd c = {a, r};
		s->cb(s->cb_ctx, &c);
	}
}

/* Shortest path self -> dst on the view into r (state, path, cost); false when none. */
static bool route(const struct cp_route_view *v, const char *src, struct cp_relay_session *r)
{
	uint32_t a = cp_lsdb_graph_node(v->lg, src), b = cp_lsdb_graph_node(v->lg, r->dst);
	if (a == CP_NODE_NONE || b == CP_NODE_NONE)
		return false;
	if (cp_dijkstra(v->lg->g, a, NULL, NULL, v->spt))
		return false;
	uint32_t nodes[CP_PATH_MAX_HOPS + 1];
	int len = cp_spt_path(v->spt, b, nodes, CP_PATH_MAX_HOPS + 1);
	if (len < 2)
		return false;
	r->hops = (unsigned)len - 1;
	for (int i = 0; i < len; i++)
		memcpy(r->path[i], v->lg->names[nodes[i]], CP_NAME_MAX);
	r->cost = v->spt->dist[b];
	return true;
}

/* The path is still usable: every hop exists with a finite cost. */
static bool path_ok(const struct cp_route_view *v, const struct cp_relay_session *r)
{
	for (unsigned i = 0; i < r->hops; i++) {
		uint32_t a = cp_lsdb_graph_node(v->lg, r->path[i]);
		uint32_t b = cp_lsdb_graph_node(v->lg, r->path[i + 1]);
		if (a == CP_NODE_NONE || b == CP_NODE_NONE)
			return false;
		int e = cp_graph_find_edge(v->lg->g, a, b);
		if (e < 0 || v->lg->g->cost[e] == CP_COST_INF)
			return false;
	}
	return true;
}

int cp_relay_add(struct cp_sessions *s, const struct cp_route_view *v, const char *dst,
		 uint64_t target_bits)
{
	if (!cp_name_valid(dst) || !strcmp(dst, s->self))
		return -EINVAL;
	if (s->n_relay == s->cap_relay) {
		unsigned cap = s->cap_relay ? 2 * s->cap_relay : 16;
		struct cp_relay_session *n = realloc(s->relay, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->relay = n;
		s->cap_relay = cap;
	}
	struct cp_relay_session *r = &s->relay[s->n_relay++];
	memset(r, 0, sizeof(*r));
	r->id = s->next_id++;
	snprintf(r->src, sizeof(r->src), "%s", s->self);
	snprintf(r->dst, sizeof(r->dst), "%s", dst);
	r->target_bits = target_bits;
	if (v && route(v, s->self, r)) {
		r->state = CP_RELAY_ACTIVE;
		r->epoch = 1;
		notify(s, CP_RELAY_ESTABLISH, r);
	} else {
		r->state = CP_RELAY_UNROUTABLE;
	}
	return (int)r->id;
}

int cp_relay_del(struct cp_sessions *s, uint32_t id)
{
	struct cp_relay_session *r = cp_relay_find(s, id);
	if (!r)
		return -ENOENT;
	if (r->users)
		return -EBUSY;
	if (r->state == CP_RELAY_ACTIVE)
		notify(s, CP_RELAY_TEARDOWN, r);
	*r = s->relay[--s->n_relay];
	return 0;
}

unsigned cp_sessions_reroute(struct cp_sessions *s, const struct cp_route_view *v)
{
	unsigned changed = 0;
	for (unsigned i = 0; i < s->n_relay; i++) {
		struct cp_relay_session *r = &s->relay[i];
		if (r->state == CP_RELAY_ACTIVE && path_ok(v, r))
			continue;
		struct cp_relay_session next = *r;
		if (route(v, r->src, &next)) {
			bool was_active = r->state == CP_RELAY_ACTIVE;
			if (was_active && r->reserved_bps) { /* reservations follow the session */
				cp__reserve_path(s, r, -(int64_t)r->reserved_bps);
				cp__reserve_path(s, &next, (int64_t)r->reserved_bps);
			}
			next.state = CP_RELAY_ACTIVE;
			next.epoch = r->epoch + 1;
			next.reroutes += was_active;
			*r = next;
			notify(s, was_active ? CP_RELAY_MOVE : CP_RELAY_ESTABLISH, r);
			changed++;
		} else if (r->state == CP_RELAY_ACTIVE) {
			r->state = CP_RELAY_UNROUTABLE;
			notify(s, CP_RELAY_TEARDOWN, r);
			changed++;
		}
	}
	return changed;
}
