/* Routing: Dijkstra and Yen against brute-force path enumeration and Bellman-Ford on generated
 * topologies (line, ring, grid, random up to 100 nodes); the key-aware cost against its formula. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cp_graph.h"
#include "unit.h"

/* Reference: Bellman-Ford distances. */
static void bellman_ford(const struct cp_graph *g, uint32_t src, double *d)
{
	for (uint32_t v = 0; v < g->n_nodes; v++)
		d[v] = INFINITY;
	d[src] = 0;
	for (uint32_t it = 0; it + 1 < g->n_nodes; it++)
		for (uint32_t e = 0; e < g->n_edges; e++)
			if (d[g->src[e]] + g->cost[e] < d[g->dst[e]])
				d[g->dst[e]] = d[g->src[e]] + g->cost[e];
}

/* Reference: every simple path by DFS; records the sorted costs of all src->dst paths. */
struct enum_ctx {
	const struct cp_graph *g;
	uint32_t dst;
	uint8_t *on;
	double *costs;
	unsigned n, cap;
};

static void dfs(struct enum_ctx *c, uint32_t u, double cost)
{
	if (u == c->dst) {
		if (c->n < c->cap)
			c->costs[c->n++] = cost;
		return;
	}
	c->on[u] = 1;
	for (uint32_t e = 0; e < c->g->n_edges; e++)
		if (c->g->src[e] == u && !c->on[c->g->dst[e]] && c->g->cost[e] < INFINITY)
			dfs(c, c->g->dst[e], cost + c->g->cost[e]);
	c->on[u] = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static struct cp_graph *small_random(uint32_t n, uint64_t seed)
{
	uint64_t s = seed;
	struct cp_graph *g = cp_graph_create(n, 64);
	for (uint32_t a = 0; a < n; a++)
		for (uint32_t b = a + 1; b < n; b++)
			if (unit_rand(&s) % 100 < 45) {
				double c = 1 + (double)(unit_rand(&s) % 1000) / 100.0;
				if (unit_rand(&s) % 2)
					cp_graph_add_link(g, a, b, c);
				else /* asymmetric costs too */
					cp_graph_add_edge(g, a, b, c), cp_graph_add_edge(g, b, a, c * 1.5);
			}
	cp_graph_finalize(g);
	return g;
}

static void check_tree(const struct cp_graph *g, const struct cp_spt *t, const double *ref)
{
	uint32_t *path = malloc(g->n_nodes * sizeof(*path));
	for (uint32_t v = 0; v < g->n_nodes; v++) {
		if (isinf(ref[v])) {
			CU_ASSERT(isinf(t->dist[v]));
			CU_ASSERT_EQUAL(cp_spt_path(t, v, path, g->n_nodes), 0);
			continue;
		}
		CU_ASSERT_DOUBLE_EQUAL(t->dist[v], ref[v], 1e-9);
		int len = cp_spt_path(t, v, path, g->n_nodes);
		CU_ASSERT(len >= 1);
		if (len < 1)
			continue;
		CU_ASSERT_EQUAL(path[0], t->src);
		CU_ASSERT_EQUAL(path[len - 1], v);
		/* the path really exists and costs what the tree claims */
		CU_ASSERT_DOUBLE_EQUAL(cp_path_cost(g, path, (uint32_t)len), ref[v], 1e-9);
	}
	free(path);
}

static void test_small_bruteforce(void)
{
	for (uint64_t seed = 1; seed <= 40; seed++) {
		uint32_t n = 7;
		struct cp_graph *g = small_random(n, seed * 7919);
		struct cp_spt *t = cp_spt_create(n);
		double ref[16];
		double costs[4096];
		uint8_t on[16];
		for (uint32_t s = 0; s < n; s++) {
			CU_ASSERT_EQUAL(cp_dijkstra(g, s, NULL, NULL, t), 0);
			for (uint32_t d = 0; d < n; d++) {
				memset(on, 0, sizeof(on));
				struct enum_ctx c = {g, d, on, costs, 0, 4096};
				dfs(&c, s, 0);
				double best = INFINITY;
				for (unsigned i = 0; i < c.n; i++)
					best = costs[i] < best ? costs[i] : best;
				ref[d] = s == d ? 0 : best;
			}
			check_tree(g, t, ref);
		}
		cp_spt_free(t);
		cp_graph_free(g);
	}
}

static void check_bf(struct cp_graph *g, unsigned sources)
{
	struct cp_spt *t = cp_spt_create(g->n_nodes), *ta = cp_spt_create(g->n_nodes);
	double *ref = malloc(g->n_nodes * sizeof(*ref));
	for (unsigned i = 0; i < sources; i++) {
		uint32_t s = (uint32_t)((i * 2654435761u) % g->n_nodes);
		bellman_ford(g, s, ref);
		CU_ASSERT_EQUAL(cp_dijkstra(g, s, NULL, NULL, t), 0);
		check_tree(g, t, ref);
		CU_ASSERT_EQUAL(cp_dijkstra_array(g, s, ta), 0);
		check_tree(g, ta, ref);
		for (uint32_t v = 0; v < g->n_nodes; v++) /* same tie-break, same tree */
			CU_ASSERT_EQUAL(t->prev[v], ta->prev[v]);
	}
	free(ref);
	cp_spt_free(t);
	cp_spt_free(ta);
}

static void test_generated_topologies(void)
{
	struct cp_graph *gs[] = {cp_topo_line(50), cp_topo_ring(60), cp_topo_grid(8, 12),
				 cp_topo_random(100, 4.0, 42), cp_topo_random(100, 2.5, 7)};
	for (unsigned i = 0; i < sizeof(gs) / sizeof(gs[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(gs[i]);
		check_bf(gs[i], 5); /* unit costs: hop counts */
		cp_topo_random_costs(gs[i], &cp_cost_default, 100 + i);
		check_bf(gs[i], 10);
		cp_graph_free(gs[i]);
	}
}

static void test_known_distances(void)
{
	/* Hop counts are known in closed form for unit-cost line, ring and grid. */
	struct cp_graph *line = cp_topo_line(10), *ring = cp_topo_ring(10), *grid = cp_topo_grid(4, 5);
	struct cp_spt *t = cp_spt_create(20);
	cp_dijkstra(line, 0, NULL, NULL, t);
	CU_ASSERT_DOUBLE_EQUAL(t->dist[9], 9, 0);
	cp_dijkstra(ring, 0, NULL, NULL, t);
	CU_ASSERT_DOUBLE_EQUAL(t->dist[5], 5, 0);
	CU_ASSERT_DOUBLE_EQUAL(t->dist[7], 3, 0);
	cp_dijkstra(grid, 0, NULL, NULL, t);
	CU_ASSERT_DOUBLE_EQUAL(t->dist[19], 3 + 4, 0);
	/* a down link (infinite cost) splits the line */
	line->cost[cp_graph_find_edge(line, 4, 5)] = CP_COST_INF;
	cp_dijkstra(line, 0, NULL, NULL, t);
	CU_ASSERT(isinf(t->dist[5]));
	CU_ASSERT_DOUBLE_EQUAL(t->dist[4], 4, 0);
	CU_ASSERT_EQUAL(cp_dijkstra(line, 10, NULL, NULL, t), -EINVAL);
	cp_spt_free(t);
	cp_graph_free(line);
	cp_graph_free(ring);
	cp_graph_free(grid);
}

static void test_yen_bruteforce(void)
{
	for (uint64_t seed = 1; seed <= 25; seed++) {
		uint32_t n = 7;
		struct cp_graph *g = small_random(n, seed * 104729);
		double costs[4096];
		uint8_t on[16];
		for (uint32_t s = 0; s < n; s++)
			for (uint32_t d = 0; d < n; d++) {
				if (s == d)
					continue;
				memset(on, 0, sizeof(on));
				struct enum_ctx c = {g, d, on, costs, 0, 4096};
				dfs(&c, s, 0);
				qsort(costs, c.n, sizeof(double), cmp_double);
				struct cp_path p[6];
				int k = cp_yen(g, s, d, 6, p);
				CU_ASSERT_EQUAL(k, (int)(c.n < 6 ? c.n : 6));
				for (int i = 0; i < k; i++) {
					CU_ASSERT_DOUBLE_EQUAL(p[i].cost, costs[i], 1e-9);
					CU_ASSERT_DOUBLE_EQUAL(cp_path_cost(g, p[i].nodes, p[i].len),
							       p[i].cost, 1e-9);
					CU_ASSERT_EQUAL(p[i].nodes[0], s);
					CU_ASSERT_EQUAL(p[i].nodes[p[i].len - 1], d);
					uint8_t seen[16] = {0}; /* loop-free */
					for (uint32_t j = 0; j < p[i].len; j++) {
						CU_ASSERT_EQUAL(seen[p[i].nodes[j]], 0);
						seen[p[i].nodes[j]] = 1;
					}
					for (int j = 0; j < i; j++) /* distinct */
						CU_ASSERT(p[j].len != p[i].len ||
							  memcmp(p[j].nodes, p[i].nodes,
								 p[i].len * 4) != 0);
				}
				if (k > 0)
					cp_paths_release(p, (unsigned)k);
			}
		cp_graph_free(g);
	}
}

static void test_cost_formula(void)
{
	struct cp_cost_params p = {2.0, 3.0, 5.0};
	struct cp_link_attr a = {.up = true, .avail = 1000, .max = 1000};
	CU_ASSERT_DOUBLE_EQUAL(cp_link_cost(&p, &a), 2.0, 1e-12); /* full, steady: c0 */
	a.avail = 250;
	CU_ASSERT_DOUBLE_EQUAL(cp_link_cost(&p, &a), 2.0 + 3.0 * 0.75, 1e-12);
	a.delta = -100;
	CU_ASSERT_DOUBLE_EQUAL(cp_link_cost(&p, &a), 2.0 + 3.0 * 0.75 + 5.0 * 0.1, 1e-12);
	a.delta = +400; /* filling does not lower the cost below the fill term */
	CU_ASSERT_DOUBLE_EQUAL(cp_link_cost(&p, &a), 2.0 + 3.0 * 0.75, 1e-12);
	a.low_water = 300;
	CU_ASSERT(isinf(cp_link_cost(&p, &a)));
	a.low_water = 0;
	a.up = false;
	CU_ASSERT(isinf(cp_link_cost(&p, &a)));
}

static void test_bad_input(void)
{
	struct cp_graph *g = cp_graph_create(3, 0);
	CU_ASSERT_EQUAL(cp_graph_add_edge(g, 0, 3, 1), -EINVAL);
	CU_ASSERT_EQUAL(cp_graph_add_edge(g, 1, 1, 1), -EINVAL);
	CU_ASSERT_EQUAL(cp_graph_add_edge(g, 0, 1, NAN), -EINVAL);
	CU_ASSERT_EQUAL(cp_graph_add_edge(g, 0, 1, -1), -EINVAL);
	for (int i = 0; i < 40; i++) /* growth beyond the hint */
		CU_ASSERT(cp_graph_add_link(g, (uint32_t)i % 3, (uint32_t)(i + 1) % 3, 1) >= 0);
	CU_ASSERT_EQUAL(cp_graph_finalize(g), 0);
	CU_ASSERT_EQUAL(cp_graph_add_edge(g, 0, 1, 1), -EINVAL);
	struct cp_path p[2];
	CU_ASSERT_EQUAL(cp_yen(g, 0, 0, 2, p), -EINVAL);
	cp_graph_free(g);
}

int main(void)
{
	CU_TestInfo tests[] = {{"dijkstra = brute force on small random graphs", test_small_bruteforce},
			       {"dijkstra = bellman-ford on line/ring/grid/random-100", test_generated_topologies},
			       {"closed-form hop counts", test_known_distances},
			       {"yen k-shortest = sorted brute force", test_yen_bruteforce},
			       {"key-aware cost formula", test_cost_formula},
			       {"bad graph input", test_bad_input},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"routing", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
	return unit_run(suites);
}
