/* Routing the whole network once after a change, on random connected topologies of 100 and 1 000
 * KMs (average degree 4, key-aware costs): the distributed configuration (baseline: every node
 * rebuilds its graph from its LSDB and runs its own shortest-path tree) against the central
 * controller (one graph, every node's tree, its view and the JSON routes message that pushes it;
 * and the same without the message encoding). Rates are routes (node, destination pairs) per
 * second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_central.h"
#include "qkdperf.h"

struct central_arg {
	struct cp_lsdb db;
	uint32_t n;
	struct cp_spt *spt;
	struct cp_central x;
	struct cp_cen_edge *view;
	unsigned cap;
	struct cp_cen_number *num;
	unsigned num_cap;
	bool encode;
};

static void run_distributed(void *p)
{
	struct central_arg *a = p;
	for (uint32_t v = 0; v < a->n; v++) {
		struct cp_lsdb_graph lg;
		if (cp_lsdb_build_graph(&a->db, &cp_cost_default, &lg))
			continue;
		cp_dijkstra(lg.g, v, NULL, NULL, a->spt);
		QP_KEEP(a->spt->dist[(v + 1) % a->n]);
		cp_lsdb_graph_release(&lg);
	}
}

static void run_central(void *p)
{
	struct central_arg *a = p;
	if (cp_central_build(&a->x, &a->db, &cp_cost_default))
		return;
	for (uint32_t v = 0; v < a->n; v++) {
		int n = cp_central_view(&a->x, a->x.lg.names[v], NULL, 0, &a->view, &a->cap);
		if (n < 0 || !a->encode)
			continue;
		int nn = cp_central_numbers(&a->x, a->x.lg.names[v], &a->num, &a->num_cap);
		struct cp_cen_msg m = {.type = CP_CEN_ROUTES, .seq = 1, .edges = a->view,
				       .n_edges = (unsigned)n, .numbers = a->num,
				       .n_numbers = nn > 0 ? (unsigned)nn : 0, .numbers_present = true};
		memcpy(m.node, a->x.lg.names[v], CP_NAME_MAX);
		char *s = cp_cen_encode(&m);
		QP_KEEP(s);
		free(s);
	}
}

/* The LSDB the controller (and every node) holds: one LSA per node with its links' state. */
static void fill_lsdb(struct central_arg *a, const struct cp_graph *g)
{
	cp_lsdb_init(&a->db, 0);
	uint64_t s = 4242;
	for (uint32_t v = 0; v < g->n_nodes; v++) {
		struct cp_lsa l = {0};
		snprintf(l.origin, CP_NAME_MAX, "km%05u", v);
		l.seq = 1;
		l.number = v + 1;
		for (uint32_t e = g->row[v]; e < g->row[v + 1] && l.n_links < CP_LSA_MAX_LINKS; e++) {
			struct cp_lsa_link *k = &l.links[l.n_links++];
			snprintf(k->peer, CP_NAME_MAX, "km%05u", g->col[e]);
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			k->attr = (struct cp_link_attr){true, (s >> 33) % 1000000, 1000000, 0, 0};
			k->rate_bps = 100000;
		}
		cp_lsdb_install(&a->db, &l, 0);
	}
}

static void bench_central(struct qp_run *r)
{
	static const uint32_t sizes[] = {100, 1000};
	for (unsigned i = 0; i < 2; i++) {
		uint32_t n = sizes[i];
		struct central_arg a = {.n = n};
		struct cp_graph *g = cp_topo_random(n, 4.0, 17 + i);
		fill_lsdb(&a, g);
		cp_graph_free(g);
		a.spt = cp_spt_create(n);
		double routes = (double)n * (n - 1);
		struct qp_case c = {"route_network", "distributed", n, "routes/s", routes,
				    run_distributed, &a, true};
		qp_measure(r, &c);
		c.variant = "central+push";
		c.fn = run_central;
		c.baseline = false;
		a.encode = true;
		qp_measure(r, &c);
		c.variant = "central";
		a.encode = false;
		qp_measure(r, &c);
		free(a.view);
		free(a.num);
		cp_central_release(&a.x);
		cp_spt_free(a.spt);
		cp_lsdb_clear(&a.db);
	}
}
QP_BENCH("central", "whole-network routing: every node (distributed) vs the central controller "
	 "(+ routes push encoding) on 100/1k KMs", bench_central)
