/* The routing graph of KM links: nodes are KMs, directed edges are KM-link directions whose cost
 * reflects available key, its drain rate and link state (key-aware routing). Built once as CSR,
 * costs updated in place every routing period; Dijkstra (binary heap) for the shortest-path tree
 * and Yen's algorithm for k loop-free alternates. */
#ifndef CP_GRAPH_H
#define CP_GRAPH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#define CP_NODE_NONE UINT32_MAX
#define CP_COST_INF INFINITY

/* What the cost of one KM-link direction is computed from. */
struct cp_link_attr {
	bool up;             /* QKD and KM link in service */
	uint64_t avail;      /* keys (bits) available in the link's buffer */
	uint64_t max;        /* buffer capacity (same unit); 0 = unknown, treated as full */
	int64_t delta;       /* change of avail over the last routing period (negative = draining) */
	uint64_t low_water;  /* below this the link is excluded from new routes */
};

/* cost = c0 + c1 * (1 - avail/max) + c2 * clamp(-delta/max, 0, 1); CP_COST_INF when the link is
 * down or below low water. With c1, c2 >= 0 a fuller, steadier buffer is cheaper. */
struct cp_cost_params {
	double c0, c1, c2;
};
extern const struct cp_cost_params cp_cost_default;
double cp_link_cost(const struct cp_cost_params *p, const struct cp_link_attr *a);

struct cp_graph {
	uint32_t n_nodes, n_edges, cap_edges;
	/* edge list as added; CSR arrays built by cp_graph_finalize() */
	uint32_t *src, *dst;
	double *cost;       /* per edge, CP_COST_INF = unusable */
	uint32_t *row;      /* n_nodes + 1 offsets into col/eid */
	uint32_t *col;      /* neighbour of each CSR slot */
	uint32_t *eid;      /* edge id of each CSR slot */
	bool finalized;
};

struct cp_graph *cp_graph_create(uint32_t n_nodes, uint32_t edge_hint);
void cp_graph_free(struct cp_graph *g);
/* Add a directed edge; returns its id (>= 0) or -EINVAL / -ENOMEM. Not after finalize. */
int cp_graph_add_edge(struct cp_graph *g, uint32_t from, uint32_t to, double cost);
/* Add both directions with the same cost; returns the id of the from->to edge. */
int cp_graph_add_link(struct cp_graph *g, uint32_t a, uint32_t b, double cost);
int cp_graph_finalize(struct cp_graph *g);
/* Edge id from a to b (the cheapest if parallel), or -ENOENT. */
int cp_graph_find_edge(const struct cp_graph *g, uint32_t a, uint32_t b);

/* Shortest-path tree workspace (allocated once, reused across recomputations). */
struct cp_spt {
	uint32_t cap;
	uint32_t src;
	double *dist;
	uint32_t *prev;      /* previous node on the shortest path, CP_NODE_NONE for none */
	uint32_t *prev_edge;
	uint32_t *heap, *pos; /* binary heap of node ids and each node's heap index */
};
struct cp_spt *cp_spt_create(uint32_t max_nodes);
void cp_spt_free(struct cp_spt *t);

/* Dijkstra from src. edge_off / node_off (may be NULL) exclude edges / nodes (Yen's spur search).
 * Ties are broken by the lower node id so results are deterministic. Returns 0 or -EINVAL. */
int cp_dijkstra(const struct cp_graph *g, uint32_t src, const uint8_t *edge_off,
		const uint8_t *node_off, struct cp_spt *t);
/* Same result with the O(n^2) array scan (the baseline the heap version is benchmarked against). */
int cp_dijkstra_array(const struct cp_graph *g, uint32_t src, struct cp_spt *t);

/* Node sequence src..dst from the tree into nodes[max]; returns the hop count + 1, 0 when dst is
 * unreachable, -ENOSPC when max is too small. */
int cp_spt_path(const struct cp_spt *t, uint32_t dst, uint32_t *nodes, uint32_t max);

struct cp_path {
	double cost;
	uint32_t len;        /* number of nodes */
	uint32_t *nodes;
};
/* Up to k loop-free shortest paths src->dst in order of cost (Yen). paths[] entries are filled
 * with malloc'd node arrays (release with cp_paths_release). Returns the number found or -errno. */
int cp_yen(const struct cp_graph *g, uint32_t src, uint32_t dst, unsigned k, struct cp_path *paths);
void cp_paths_release(struct cp_path *paths, unsigned n);
double cp_path_cost(const struct cp_graph *g, const uint32_t *nodes, uint32_t len);

/* Topology generators for tests and benchmarks: unit-cost links (costs set by the caller later).
 * random: a connected graph (random spanning tree plus extra edges to reach avg_degree). */
struct cp_graph *cp_topo_line(uint32_t n);
struct cp_graph *cp_topo_ring(uint32_t n);
struct cp_graph *cp_topo_grid(uint32_t rows, uint32_t cols);
struct cp_graph *cp_topo_random(uint32_t n, double avg_degree, uint64_t seed);
/* Give each link (both directions alike) a cost from cp_link_cost on random attributes. */
void cp_topo_random_costs(struct cp_graph *g, const struct cp_cost_params *p, uint64_t seed);

#endif
