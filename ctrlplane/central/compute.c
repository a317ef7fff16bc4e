/* Central route computation: the network graph from the controller's database (the same builder
 * the distributed nodes use) and, per node, the view it routes on: its shortest-path tree plus
 * the still-usable edges its relay sessions hold. */
#include "cp_central.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cp_central_build(struct cp_central *x, const struct cp_lsdb *db, const struct cp_cost_params *p)
{
	struct cp_lsdb_graph lg;
	int rc = cp_lsdb_build_graph(db, p, &lg);
	if (rc)
		return rc;
	struct cp_spt *t = x->spt && x->spt->cap >= lg.n ? x->spt : cp_spt_create(lg.n ? lg.n : 1);
	if (!t) {
		cp_lsdb_graph_release(&lg);
		return -ENOMEM;
	}
	uint32_t *num = calloc(lg.n ? lg.n : 1, sizeof(*num));
	if (!num) {
		if (t != x->spt)
			cp_spt_free(t);
		cp_lsdb_graph_release(&lg);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < db->n; i++)
		num[cp_lsdb_graph_node(&lg, db->v[i].lsa.origin)] = db->v[i].lsa.number;
	if (t != x->spt)
		cp_spt_free(x->spt);
	x->spt = t;
	free(x->number);
	x->number = num;
	cp_lsdb_graph_release(&x->lg);
	x->lg = lg;
	return 0;
}

void cp_central_release(struct cp_central *x)
{
	cp_lsdb_graph_release(&x->lg);
	cp_spt_free(x->spt);
	x->spt = NULL;
	free(x->number);
	x->number = NULL;
}

static int push_edge(struct cp_cen_edge **out, unsigned *cap, unsigned n, const char *a,
		     const char *b, double cost)
{
	if (n == *cap) {
		unsigned c = *cap ? 2 * *cap : 64;
		struct cp_cen_edge *v = realloc(*out, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		*out = v;
		*cap = c;
	}
	struct cp_cen_edge *e = &(*out)[n];
	memcpy(e->a, a, CP_NAME_MAX);
	memcpy(e->b, b, CP_NAME_MAX);
	e->cost = cost;
	return 0;
}

int cp_central_view(struct cp_central *x, const char *node, const struct cp_cen_edge *hold,
		    unsigned n_hold, struct cp_cen_edge **out, unsigned *cap)
{
	const struct cp_lsdb_graph *lg = &x->lg;
	uint32_t self = lg->g ? cp_lsdb_graph_node(lg, node) : CP_NODE_NONE;
	if (self == CP_NODE_NONE)
		return -ENOENT;
	if (cp_dijkstra(lg->g, self, NULL, NULL, x->spt))
		return -EINVAL;
	const struct cp_spt *t = x->spt;
	unsigned n = 0;
	for (uint32_t v = 0; v < lg->n; v++) {
		if (t->prev[v] == CP_NODE_NONE)
			continue;
		if (push_edge(out, cap, n++, lg->names[t->prev[v]], lg->names[v],
			      lg->g->cost[t->prev_edge[v]]))
			return -ENOMEM;
	}
	for (unsigned i = 0; i < n_hold; i++) {
		uint32_t a = cp_lsdb_graph_node(lg, hold[i].a), b = cp_lsdb_graph_node(lg, hold[i].b);
		int e = a == CP_NODE_NONE || b == CP_NODE_NONE ? -ENOENT : cp_graph_find_edge(lg->g, a, b);
		if (e < 0 || lg->g->cost[e] == CP_COST_INF || t->prev[b] == a)
			continue; /* gone or unusable (the session moves), or already a tree edge */
		if (push_edge(out, cap, n++, lg->names[a], lg->names[b], lg->g->cost[e]))
			return -ENOMEM;
	}
	return (int)n;
}

int cp_central_numbers(const struct cp_central *x, const char *node, struct cp_cen_number **out,
		       unsigned *cap)
{
	const struct cp_lsdb_graph *lg = &x->lg;
	uint32_t self = lg->g ? cp_lsdb_graph_node(lg, node) : CP_NODE_NONE;
	if (self == CP_NODE_NONE || x->spt->src != self)
		return -EINVAL; /* not the tree of the last view */
	unsigned n = 0;
	for (uint32_t v = 0; v < lg->n; v++) {
		if (!x->number[v] || (v != self && x->spt->prev[v] == CP_NODE_NONE))
			continue;
		if (n == *cap) {
			unsigned c = *cap ? 2 * *cap : 64;
			struct cp_cen_number *p = realloc(*out, c * sizeof(*p));
			if (!p)
				return -ENOMEM;
			*out = p;
			*cap = c;
		}
		memcpy((*out)[n].name, lg->names[v], CP_NAME_MAX);
		(*out)[n++].number = x->number[v];
	}
	return (int)n;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int cp_central_view_graph(const char *self, const struct cp_cen_edge *e, unsigned n,
			  struct cp_lsdb_graph *out)
{
	memset(out, 0, sizeof(*out));
	if (!cp_name_valid(self))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(e[i].a, e[i].b) || !(e[i].cost >= 0) || e[i].cost == CP_COST_INF)
			return -EINVAL;
	out->names = calloc(2 * (size_t)n + 1, CP_NAME_MAX);
	if (!out->names)
		return -ENOMEM;
	strcpy(out->names[0], self);
	uint32_t k = 1;
	for (unsigned i = 0; i < n; i++) {
		memcpy(out->names[k++], e[i].a, CP_NAME_MAX);
		memcpy(out->names[k++], e[i].b, CP_NAME_MAX);
	}
	qsort(out->names, k, CP_NAME_MAX, name_cmp);
	uint32_t u = 0;
	for (uint32_t i = 0; i < k; i++)
		if (u == 0 || strcmp(out->names[u - 1], out->names[i]))
			memmove(out->names[u++], out->names[i], CP_NAME_MAX);
	out->n = u;
	out->g = cp_graph_create(u, n);
	int rc = out->g ? 0 : -ENOMEM;
	for (unsigned i = 0; !rc && i < n; i++) {
		int r = cp_graph_add_edge(out->g, cp_lsdb_graph_node(out, e[i].a),
					  cp_lsdb_graph_node(out, e[i].b), e[i].cost);
		rc = r < 0 ? r : 0;
	}
	if (!rc)
		rc = cp_graph_finalize(out->g);
	if (rc)
		cp_lsdb_graph_release(out);
	return rc;
}
