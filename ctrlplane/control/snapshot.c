/* Build the worker snapshot (links, route table from our shortest-path tree, policy) and publish
 * it through liburcu-qsbr: swap, wait for a grace period, free the old one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "ctrl_internal.h"

const struct cp_snap_route *cp_snapshot_route(const struct cp_snapshot *s, const char *dst)
{
	unsigned lo = 0, hi = s->n_routes;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		int r = strcmp(s->routes[mid].dst, dst);
		if (r == 0)
			return &s->routes[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct cp_snapshot *cp_ctrl_snapshot(struct cp_ctrl *c)
{
	return rcu_dereference(c->snap);
}

static const char *km_link_to(const struct cp_config *cfg, const char *peer)
{
	for (unsigned i = 0; i < cfg->n_km_links; i++)
		if (!strcmp(cfg->km_links[i].peer, peer))
			return cfg->km_links[i].name;
	return "";
}

static bool same_content(const struct cp_snapshot *a, const struct cp_snapshot *b)
{
	if (!a || !b || a->n_routes != b->n_routes || a->n_links != b->n_links)
		return false;
	if (memcmp(&a->policy, &b->policy, sizeof(a->policy)) || strcmp(a->node_id, b->node_id))
		return false;
	if (memcmp(a->links, b->links, a->n_links * sizeof(a->links[0])))
		return false;
	return memcmp(a->routes, b->routes, a->n_routes * sizeof(a->routes[0])) == 0;
}

int cp_snapshot_publish(struct cp_ctrl *c)
{
	const struct cp_config *cfg = c->cfg;
	uint32_t self = c->lg.g ? cp_lsdb_graph_node(&c->lg, cfg->node_id) : CP_NODE_NONE;
	unsigned max_routes = c->lg.g ? c->lg.n : 0;
	struct cp_snapshot *s = calloc(1, sizeof(*s) + max_routes * sizeof(s->routes[0]));
	if (!s)
		return -ENOMEM;
	strcpy(s->node_id, cfg->node_id);
	s->policy = cfg->policy;
	for (unsigned i = 0; i < cfg->n_qkd_links; i++) {
		struct cp_snap_link *l = &s->links[s->n_links++];
		l->link_id = cfg->qkd_links[i].id;
		strcpy(l->name, cfg->qkd_links[i].name);
		strcpy(l->peer, cfg->qkd_links[i].peer);
		l->lcore = cfg->qkd_links[i].lcore;
		l->admin_up = c->admin_up[i];
		for (unsigned k = 0; k < cfg->n_km_links; k++)
			if (!strcmp(cfg->km_links[k].qkd_link, l->name))
				strcpy(l->km_link, cfg->km_links[k].name);
	}
	if (self != CP_NODE_NONE && cp_dijkstra(c->lg.g, self, NULL, NULL, c->spt) == 0) {
		uint32_t path[CP_PATH_MAX_HOPS + 1];
		for (uint32_t v = 0; v < c->lg.n; v++) { /* names are sorted: routes come out sorted */
			int len = v == self ? 0 : cp_spt_path(c->spt, v, path, CP_PATH_MAX_HOPS + 1);
			if (len < 2)
				continue;
			struct cp_snap_route *r = &s->routes[s->n_routes++];
			strcpy(r->dst, c->lg.names[v]);
			strcpy(r->next_hop, c->lg.names[path[1]]);
			strcpy(r->km_link, km_link_to(cfg, r->next_hop));
			r->cost = c->spt->dist[v];
			r->hops = (uint32_t)len - 1;
		}
	}
	if (same_content(c->snap, s)) {
		free(s);
		return 0;
	}
	s->generation = ++c->generation;
	struct cp_snapshot *old = rcu_xchg_pointer(&c->snap, s);
	c->cnt.snapshots++;
	if (old) {
		synchronize_rcu(); /* every worker has passed a quiescent state: nobody reads old */
		free(old);
	}
	return 1;
}

void cp_snapshot_release_all(struct cp_ctrl *c)
{
	struct cp_snapshot *old = rcu_xchg_pointer(&c->snap, NULL);
	if (old) {
		synchronize_rcu();
		free(old);
	}
}
