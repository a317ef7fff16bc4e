/* Yen's k loop-free shortest paths: each accepted path's prefixes become roots; a spur search
 * from the root's last node excludes the root's other nodes and the next edges of earlier paths
 * sharing that root. Candidates are kept in a small array (k is small: alternates for rerouting). */
#include "cp_graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cp_paths_release(struct cp_path *paths, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(paths[i].nodes);
		paths[i].nodes = NULL;
		paths[i].len = 0;
	}
}

static bool same_prefix(const struct cp_path *p, const uint32_t *root, uint32_t rlen)
{
	return p->len > rlen && memcmp(p->nodes, root, rlen * sizeof(*root)) == 0;
}

static bool path_equal(const struct cp_path *a, const uint32_t *nodes, uint32_t len)
{
	return a->len == len && memcmp(a->nodes, nodes, len * sizeof(*nodes)) == 0;
}

struct cands {
	struct cp_path *v;
	unsigned n, cap;
};

static int cand_add(struct cands *c, double cost, uint32_t *nodes, uint32_t len)
{
	for (unsigned i = 0; i < c->n; i++)
		if (path_equal(&c->v[i], nodes, len)) {
			free(nodes);
			return 0;
		}
	if (c->n == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 16;
		struct cp_path *v = realloc(c->v, cap * sizeof(*v));
		if (!v) {
			free(nodes);
			return -ENOMEM;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct cp_path){cost, len, nodes};
	return 0;
}

/* Cheapest candidate; ties to the fewer hops, then the lexicographically smaller node list. */
static unsigned cand_best(const struct cands *c)
{
	unsigned b = 0;
	for (unsigned i = 1; i < c->n; i++) {
		const struct cp_path *x = &c->v[i], *y = &c->v[b];
		if (x->cost < y->cost || (x->cost == y->cost && x->len < y->len) ||
		    (x->cost == y->cost && x->len == y->len &&
		     memcmp(x->nodes, y->nodes, x->len * sizeof(uint32_t)) < 0))
			b = i;
	}
	return b;
}

int cp_yen(const struct cp_graph *g, uint32_t src, uint32_t dst, unsigned k, struct cp_path *paths)
{
	if (!g || !g->finalized || src >= g->n_nodes || dst >= g->n_nodes || !paths || src == dst)
		return -EINVAL;
	if (k == 0)
		return 0;
	int rc = -ENOMEM;
	unsigned found = 0;
	struct cands c = {0};
	struct cp_spt *t = cp_spt_create(g->n_nodes);
	uint8_t *eoff = calloc(g->n_edges ? g->n_edges : 1, 1);
	uint8_t *noff = calloc(g->n_nodes, 1);
	uint32_t *buf = malloc(g->n_nodes * sizeof(*buf));
	if (!t || !eoff || !noff || !buf)
		goto out;
	cp_dijkstra(g, src, NULL, NULL, t);
	int len = cp_spt_path(t, dst, buf, g->n_nodes);
	if (len <= 0) {
		rc = 0;
		goto out;
	}
	paths[0].nodes = malloc((size_t)len * sizeof(uint32_t));
	if (!paths[0].nodes)
		goto out;
	memcpy(paths[0].nodes, buf, (size_t)len * sizeof(uint32_t));
	paths[0].len = (uint32_t)len;
	paths[0].cost = t->dist[dst];
	found = 1;
	while (found < k) {
		const struct cp_path *last = &paths[found - 1];
		for (uint32_t i = 0; i + 1 < last->len; i++) {
			uint32_t spur = last->nodes[i];
			memset(eoff, 0, g->n_edges);
			memset(noff, 0, g->n_nodes);
			for (unsigned p = 0; p < found; p++)
				if (same_prefix(&paths[p], last->nodes, i + 1)) {
					uint32_t a = paths[p].nodes[i], b = paths[p].nodes[i + 1];
					for (uint32_t s = g->row[a]; s < g->row[a + 1]; s++)
						if (g->col[s] == b)
							eoff[g->eid[s]] = 1;
				}
			for (uint32_t r = 0; r < i; r++)
				noff[last->nodes[r]] = 1;
			cp_dijkstra(g, spur, eoff, noff, t);
			int sl = cp_spt_path(t, dst, buf + i, g->n_nodes - i);
			if (sl <= 0)
				continue;
			uint32_t tot = i + (uint32_t)sl;
			uint32_t *nodes = malloc(tot * sizeof(*nodes));
			if (!nodes)
				goto out;
			memcpy(nodes, last->nodes, i * sizeof(*nodes));
			memcpy(nodes + i, buf + i, (size_t)sl * sizeof(*nodes));
			double cost = cp_path_cost(g, nodes, i + 1) + t->dist[dst];
			bool known = false;
			for (unsigned p = 0; p < found && !known; p++)
				known = path_equal(&paths[p], nodes, tot);
			if (known) {
				free(nodes);
				continue;
			}
			if (cand_add(&c, cost, nodes, tot))
				goto out;
		}
		if (!c.n)
			break;
		unsigned b = cand_best(&c);
		paths[found++] = c.v[b];
		c.v[b] = c.v[--c.n];
	}
	rc = (int)found;
out:
	if (rc < 0) {
		cp_paths_release(paths, found);
	}
	cp_paths_release(c.v, c.n);
	free(c.v);
	free(buf);
	free(noff);
	free(eoff);
	cp_spt_free(t);
	return rc;
}
