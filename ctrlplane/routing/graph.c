/* Edge list -> CSR adjacency for the routing graph. */
#include "cp_graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cp_graph *cp_graph_create(uint32_t n_nodes, uint32_t edge_hint)
{
	struct cp_graph *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->n_nodes = n_nodes;
	g->cap_edges = edge_hint ? edge_hint : 16;
	g->src = malloc(g->cap_edges * sizeof(*g->src));
	g->dst = malloc(g->cap_edges * sizeof(*g->dst));
	g->cost = malloc(g->cap_edges * sizeof(*g->cost));
	if (!g->src || !g->dst || !g->cost) {
		cp_graph_free(g);
		return NULL;
	}
	return g;
}

void cp_graph_free(struct cp_graph *g)
{
	if (!g)
		return;
	free(g->src);
	free(g->dst);
	free(g->cost);
	free(g->row);
	free(g->col);
	free(g->eid);
	free(g);
}

static int grow(struct cp_graph *g)
{
	uint32_t cap = g->cap_edges * 2;
	uint32_t *s = realloc(g->src, cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	g->src = s;
	uint32_t *d = realloc(g->dst, cap * sizeof(*d));
	if (!d)
		return -ENOMEM;
	g->dst = d;
	double *c = realloc(g->cost, cap * sizeof(*c));
	if (!c)
		return -ENOMEM;
	g->cost = c;
	g->cap_edges = cap;
	return 0;
}

int cp_graph_add_edge(struct cp_graph *g, uint32_t from, uint32_t to, double cost)
{
	if (!g || g->finalized || from >= g->n_nodes || to >= g->n_nodes || from == to ||
	    !(cost >= 0))
		return -EINVAL;
	if (g->n_edges == g->cap_edges) {
		int rc = grow(g);
		if (rc)
			return rc;
	}
	uint32_t e = g->n_edges++;
	g->src[e] = from;
	g->dst[e] = to;
	g->cost[e] = cost;
	return (int)e;
}

int cp_graph_add_link(struct cp_graph *g, uint32_t a, uint32_t b, double cost)
{
	int e = cp_graph_add_edge(g, a, b, cost);
	if (e < 0)
		return e;
	int r = cp_graph_add_edge(g, b, a, cost);
	if (r < 0) {
		g->n_edges--;
		return r;
	}
	return e;
}

int cp_graph_finalize(struct cp_graph *g)
{
	if (!g || g->finalized)
		return -EINVAL;
	g->row = calloc(g->n_nodes + 1, sizeof(*g->row));
	g->col = malloc((g->n_edges ? g->n_edges : 1) * sizeof(*g->col));
	g->eid = malloc((g->n_edges ? g->n_edges : 1) * sizeof(*g->eid));
	if (!g->row || !g->col || !g->eid)
		return -ENOMEM;
	for (uint32_t e = 0; e < g->n_edges; e++)
		g->row[g->src[e] + 1]++;
	for (uint32_t v = 0; v < g->n_nodes; v++)
		g->row[v + 1] += g->row[v];
	uint32_t *fill = malloc((g->n_nodes + 1) * sizeof(*fill));
	if (!fill)
		return -ENOMEM;
	memcpy(fill, g->row, (g->n_nodes + 1) * sizeof(*fill));
	for (uint32_t e = 0; e < g->n_edges; e++) {
		uint32_t slot = fill[g->src[e]]++;
		g->col[slot] = g->dst[e];
		g->eid[slot] = e;
	}
	free(fill);
	g->finalized = true;
	return 0;
}

int cp_graph_find_edge(const struct cp_graph *g, uint32_t a, uint32_t b)
{
	if (!g || !g->finalized || a >= g->n_nodes || b >= g->n_nodes)
		return -EINVAL;
	int best = -ENOENT;
	for (uint32_t s = g->row[a]; s < g->row[a + 1]; s++)
		if (g->col[s] == b && (best < 0 || g->cost[g->eid[s]] < g->cost[best]))
			best = (int)g->eid[s];
	return best;
}

double cp_path_cost(const struct cp_graph *g, const uint32_t *nodes, uint32_t len)
{
	double c = 0;
	for (uint32_t i = 0; i + 1 < len; i++) {
		int e = cp_graph_find_edge(g, nodes[i], nodes[i + 1]);
		if (e < 0)
			return CP_COST_INF;
		c += g->cost[e];
	}
	return c;
}
