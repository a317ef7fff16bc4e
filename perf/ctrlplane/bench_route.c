/* Route recomputation on random connected topologies of 100, 1 000 and 10 000 KMs (average degree
 * 4, key-aware costs): the shortest-path tree with the binary heap against the O(n^2) array scan
 * (baseline), the control thread's whole recomputation (LSDB -> graph -> tree), and Yen's k = 4
 * alternates between two distant nodes. Rates are recomputations per second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_graph.h"
#include "cp_lsa.h"
#include "qkdperf.h"

struct route_arg {
	struct cp_graph *g;
	struct cp_spt *t;
	struct cp_lsdb db;
	uint32_t far;
};

static void run_array(void *p)
{
	struct route_arg *a = p;
	cp_dijkstra_array(a->g, 0, a->t);
	QP_KEEP(a->t->dist[a->far]);
}

static void run_heap(void *p)
{
	struct route_arg *a = p;
	cp_dijkstra(a->g, 0, NULL, NULL, a->t);
	QP_KEEP(a->t->dist[a->far]);
}

static void run_recompute(void *p)
{
	struct route_arg *a = p;
	struct cp_lsdb_graph lg;
	cp_lsdb_build_graph(&a->db, &cp_cost_default, &lg);
	cp_dijkstra(lg.g, 0, NULL, NULL, a->t);
	QP_KEEP(a->t->dist[a->far]);
	cp_lsdb_graph_release(&lg);
}

static void run_yen(void *p)
{
	struct route_arg *a = p;
	struct cp_path paths[4];
	int n = cp_yen(a->g, 0, a->far, 4, paths);
	if (n > 0)
		cp_paths_release(paths, (unsigned)n);
	QP_KEEP(n);
}

/* The LSDB every node would hold: one LSA per node listing its links' state. */
static void fill_lsdb(struct route_arg *a)
{
	cp_lsdb_init(&a->db, 0);
	uint64_t s = 12345;
	for (uint32_t v = 0; v < a->g->n_nodes; v++) {
		struct cp_lsa l = {0};
		snprintf(l.origin, CP_NAME_MAX, "km%05u", v);
		l.seq = 1;
		for (uint32_t e = a->g->row[v]; e < a->g->row[v + 1] && l.n_links < CP_LSA_MAX_LINKS; e++) {
			struct cp_lsa_link *k = &l.links[l.n_links++];
			snprintf(k->peer, CP_NAME_MAX, "km%05u", a->g->col[e]);
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			k->attr = (struct cp_link_attr){true, (s >> 33) % 1000000, 1000000, 0, 0};
			k->rate_bps = 100000;
		}
		cp_lsdb_install(&a->db, &l, 0);
	}
}

static void bench_route(struct qp_run *r)
{
	static const uint32_t sizes[] = {100, 1000, 10000};
	for (unsigned i = 0; i < 3; i++) {
		struct route_arg a = {0};
		a.g = cp_topo_random(sizes[i], 4.0, 7 + i);
		cp_topo_random_costs(a.g, &cp_cost_default, 99 + i);
		a.t = cp_spt_create(sizes[i]);
		cp_dijkstra(a.g, 0, NULL, NULL, a.t); /* the farthest node for Yen */
		for (uint32_t v = 0; v < sizes[i]; v++)
			if (a.t->dist[v] > a.t->dist[a.far])
				a.far = v;
		fill_lsdb(&a);
		struct qp_case c = {"route_spf", "array", sizes[i], "/s", 1, run_array, &a, true};
		qp_measure(r, &c);
		c.variant = "heap";
		c.fn = run_heap;
		c.baseline = false;
		qp_measure(r, &c);
		c.name = "route_recompute";
		c.variant = "lsdb+heap";
		c.fn = run_recompute;
		qp_measure(r, &c);
		c.name = "route_yen4";
		c.variant = "heap";
		c.fn = run_yen;
		qp_measure(r, &c);
		cp_lsdb_clear(&a.db);
		cp_spt_free(a.t);
		cp_graph_free(a.g);
	}
}
QP_BENCH("route", "route recomputation (SPT, LSDB->graph->SPT, Yen k=4) on 100/1k/10k KMs", bench_route)
