/* Generated topologies for routing tests and benchmarks (deterministic from a seed). */
#include "cp_graph.h"

#include <stdlib.h>

static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static struct cp_graph *done(struct cp_graph *g)
{
	if (g && cp_graph_finalize(g)) {
		cp_graph_free(g);
		return NULL;
	}
	return g;
}

struct cp_graph *cp_topo_line(uint32_t n)
{
	struct cp_graph *g = cp_graph_create(n, 2 * n);
	for (uint32_t i = 0; g && i + 1 < n; i++)
		cp_graph_add_link(g, i, i + 1, 1.0);
	return done(g);
}

struct cp_graph *cp_topo_ring(uint32_t n)
{
	struct cp_graph *g = cp_graph_create(n, 2 * n);
	for (uint32_t i = 0; g && n > 2 && i < n; i++)
		cp_graph_add_link(g, i, (i + 1) % n, 1.0);
	return done(g);
}

struct cp_graph *cp_topo_grid(uint32_t rows, uint32_t cols)
{
	struct cp_graph *g = cp_graph_create(rows * cols, 4 * rows * cols);
	for (uint32_t r = 0; g && r < rows; r++)
		for (uint32_t c = 0; c < cols; c++) {
			uint32_t v = r * cols + c;
			if (c + 1 < cols)
				cp_graph_add_link(g, v, v + 1, 1.0);
			if (r + 1 < rows)
				cp_graph_add_link(g, v, v + cols, 1.0);
		}
	return done(g);
}

struct cp_graph *cp_topo_random(uint32_t n, double avg_degree, uint64_t seed)
{
	uint64_t s = seed | 1;
	uint64_t links = (uint64_t)(avg_degree * n / 2);
	if (links < (uint64_t)n - 1)
		links = n - 1;
	struct cp_graph *g = cp_graph_create(n, (uint32_t)(2 * links));
	if (!g)
		return NULL;
	for (uint32_t v = 1; v < n; v++) /* random spanning tree keeps it connected */
		cp_graph_add_link(g, v, (uint32_t)(next(&s) % v), 1.0);
	for (uint64_t l = n - 1; n > 2 && l < links; l++) {
		uint32_t a = (uint32_t)(next(&s) % n), b = (uint32_t)(next(&s) % n);
		if (a == b) {
			l--;
			continue;
		}
		cp_graph_add_link(g, a, b, 1.0);
	}
	return done(g);
}

void cp_topo_random_costs(struct cp_graph *g, const struct cp_cost_params *p, uint64_t seed)
{
	uint64_t s = seed | 1;
	for (uint32_t e = 0; e + 1 < g->n_edges; e += 2) {
		struct cp_link_attr a = {.up = true, .max = 1000000};
		a.avail = next(&s) % (a.max + 1);
		a.delta = -(int64_t)(next(&s) % 50000);
		g->cost[e] = g->cost[e + 1] = cp_link_cost(p, &a);
	}
}
