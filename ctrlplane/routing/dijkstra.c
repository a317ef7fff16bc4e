/* Single-source shortest paths: binary-heap Dijkstra with decrease-key (and the O(n^2) array
 * version as a baseline). Ties go to the lower node id for deterministic routes. */
#include "cp_graph.h"

#include <errno.h>
#include <stdlib.h>

struct cp_spt *cp_spt_create(uint32_t max_nodes)
{
	struct cp_spt *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cap = max_nodes;
	size_t n = max_nodes ? max_nodes : 1;
	t->dist = malloc(n * sizeof(*t->dist));
	t->prev = malloc(n * sizeof(*t->prev));
	t->prev_edge = malloc(n * sizeof(*t->prev_edge));
	t->heap = malloc(n * sizeof(*t->heap));
	t->pos = malloc(n * sizeof(*t->pos));
	if (!t->dist || !t->prev || !t->prev_edge || !t->heap || !t->pos) {
		cp_spt_free(t);
		return NULL;
	}
	return t;
}

void cp_spt_free(struct cp_spt *t)
{
	if (!t)
		return;
	free(t->dist);
	free(t->prev);
	free(t->prev_edge);
	free(t->heap);
	free(t->pos);
	free(t);
}

static inline bool less(const struct cp_spt *t, uint32_t a, uint32_t b)
{
	return t->dist[a] < t->dist[b] || (t->dist[a] == t->dist[b] && a < b);
}

static void sift_up(struct cp_spt *t, uint32_t i)
{
	uint32_t v = t->heap[i];
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!less(t, v, t->heap[p]))
			break;
		t->heap[i] = t->heap[p];
		t->pos[t->heap[i]] = i;
		i = p;
	}
	t->heap[i] = v;
	t->pos[v] = i;
}

static void sift_down(struct cp_spt *t, uint32_t i, uint32_t size)
{
	uint32_t v = t->heap[i];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= size)
			break;
		if (c + 1 < size && less(t, t->heap[c + 1], t->heap[c]))
			c++;
		if (!less(t, t->heap[c], v))
			break;
		t->heap[i] = t->heap[c];
		t->pos[t->heap[i]] = i;
		i = c;
	}
	t->heap[i] = v;
	t->pos[v] = i;
}

static void reset(const struct cp_graph *g, uint32_t src, struct cp_spt *t)
{
	for (uint32_t v = 0; v < g->n_nodes; v++) {
		t->dist[v] = CP_COST_INF;
		t->prev[v] = CP_NODE_NONE;
		t->prev_edge[v] = CP_NODE_NONE;
		t->pos[v] = CP_NODE_NONE;
	}
	t->src = src;
	t->dist[src] = 0;
}

#define DONE (CP_NODE_NONE - 1)

int cp_dijkstra(const struct cp_graph *g, uint32_t src, const uint8_t *edge_off,
		const uint8_t *node_off, struct cp_spt *t)
{
	if (!g || !t || !g->finalized || src >= g->n_nodes || g->n_nodes > t->cap)
		return -EINVAL;
	reset(g, src, t);
	uint32_t size = 0;
	t->heap[size++] = src;
	t->pos[src] = 0;
	while (size) {
		uint32_t u = t->heap[0];
		t->pos[u] = DONE;
		if (--size) {
			t->heap[0] = t->heap[size];
			sift_down(t, 0, size);
		}
		double du = t->dist[u];
		for (uint32_t s = g->row[u]; s < g->row[u + 1]; s++) {
			uint32_t v = g->col[s], e = g->eid[s];
			if (t->pos[v] == DONE || (edge_off && edge_off[e]) || (node_off && node_off[v]))
				continue;
			double nd = du + g->cost[e];
			if (!(nd < t->dist[v]) && !(nd == t->dist[v] && t->prev[v] != CP_NODE_NONE &&
						    u < t->prev[v]))
				continue;
			if (nd == CP_COST_INF)
				continue;
			t->dist[v] = nd;
			t->prev[v] = u;
			t->prev_edge[v] = e;
			if (t->pos[v] == CP_NODE_NONE) {
				t->heap[size] = v;
				t->pos[v] = size;
				sift_up(t, size++);
			} else {
				sift_up(t, t->pos[v]);
			}
		}
	}
	return 0;
}

int cp_dijkstra_array(const struct cp_graph *g, uint32_t src, struct cp_spt *t)
{
	if (!g || !t || !g->finalized || src >= g->n_nodes || g->n_nodes > t->cap)
		return -EINVAL;
	reset(g, src, t);
	uint8_t *done = calloc(g->n_nodes, 1);
	if (!done)
		return -ENOMEM;
	for (;;) {
		uint32_t u = CP_NODE_NONE;
		for (uint32_t v = 0; v < g->n_nodes; v++)
			if (!done[v] && t->dist[v] < CP_COST_INF &&
			    (u == CP_NODE_NONE || t->dist[v] < t->dist[u]))
				u = v;
		if (u == CP_NODE_NONE)
			break;
		done[u] = 1;
		for (uint32_t s = g->row[u]; s < g->row[u + 1]; s++) {
			uint32_t v = g->col[s], e = g->eid[s];
			double nd = t->dist[u] + g->cost[e];
			if (done[v] || nd == CP_COST_INF)
				continue;
			if (nd < t->dist[v] || (nd == t->dist[v] && u < t->prev[v])) {
				t->dist[v] = nd;
				t->prev[v] = u;
				t->prev_edge[v] = e;
			}
		}
	}
	free(done);
	return 0;
}

int cp_spt_path(const struct cp_spt *t, uint32_t dst, uint32_t *nodes, uint32_t max)
{
	if (dst >= t->cap || t->dist[dst] == CP_COST_INF)
		return 0;
	uint32_t len = 1;
	for (uint32_t v = dst; v != t->src; v = t->prev[v])
		len++;
	if (len > max)
		return -ENOSPC;
	uint32_t i = len;
	for (uint32_t v = dst;; v = t->prev[v]) {
		nodes[--i] = v;
		if (v == t->src)
			break;
	}
	return (int)len;
}
