/* Central controller (Y.3802 configuration 2): [routing] configuration, the controller messages
 * (round trips, every malformed kind refused with a reason), and the central computation: the view
 * pushed to each node gives it the shortest distances of a Floyd-Warshall reference and exactly
 * the routes a distributed node computes on the same database; held edges stay while usable. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_central.h"
#include "cp_config.h"
#include "unit.h"

static const char *node_a = "[node]\nid = A\ntls_ca = ca.pem\ntls_cert = A.pem\ntls_key = A.key\n";

static void test_config(void)
{
	char text[512], err[300] = "";
	struct cp_config *c = NULL;
	snprintf(text, sizeof(text), "%s[routing]\nmode = central\ncontroller = 10.0.0.9:7500\n",
		 node_a);
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string(text, "a.ini", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->routing.mode, CP_ROUTING_CENTRAL);
	CU_ASSERT_EQUAL(c->routing.n_controllers, 1u);
	CU_ASSERT_STRING_EQUAL(c->routing.controllers[0], "10.0.0.9:7500");
	CU_ASSERT_STRING_EQUAL(c->routing.controller_cn, "qkdctrl"); /* documented default */
	cp_config_free(c);
	c = NULL;
	snprintf(text, sizeof(text), "%s[routing]\nmode = central\n"
		 "controller = 10.0.0.9:7500, [::1]:7501,10.0.0.11:7502\ncontroller_cn = ctl-1\n", node_a);
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string(text, "a.ini", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->routing.n_controllers, 3u); /* priority order kept */
	CU_ASSERT(!strcmp(c->routing.controllers[0], "10.0.0.9:7500") &&
		  !strcmp(c->routing.controllers[1], "[::1]:7501") &&
		  !strcmp(c->routing.controllers[2], "10.0.0.11:7502"));
	CU_ASSERT_STRING_EQUAL(c->routing.controller_cn, "ctl-1");
	cp_config_free(c);
	c = NULL;
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string("[node]\nid = A\n", "a.ini", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->routing.mode, CP_ROUTING_DISTRIBUTED); /* default */
	cp_config_free(c);

	static const struct {
		const char *routing, *err;
	} bad[] = {
		{"mode = centre\n", "a.ini:7: mode must be distributed or central, got 'centre'"},
		{"controller = nowhere\n", "a.ini:7: controller must be host:port, got 'nowhere'"},
		{"controller = 1.1.1.1:1, x\n", "a.ini:7: controller must be host:port, got 'x'"},
		{"controller = 1.1.1.1:1,1.1.1.1:2,1.1.1.1:3,1.1.1.1:4,1.1.1.1:5\n",
		 "a.ini:7: more than 4 controllers"},
		{"controller = ,\n", "a.ini:7: controller is empty"},
		{"controller_cn = a b\n",
		 "a.ini:7: controller_cn 'a b' is not a valid name (1-31 of A-Z a-z 0-9 . _ : -)"},
		{"period = 5\n", "a.ini:7: unknown key 'period' in [routing]"},
		{"mode = central\n",
		 "a.ini: [routing] mode = central needs controller and [node] tls_* (mutual TLS)"},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = NULL;
		snprintf(text, sizeof(text), "%s[routing]\n%s", node_a, bad[i].routing);
		CU_ASSERT_EQUAL(cp_config_parse_string(text, "a.ini", &c, err, sizeof(err)), -EINVAL);
		CU_ASSERT_STRING_EQUAL(err, bad[i].err);
		CU_ASSERT_PTR_NULL(c);
	}
	/* central without TLS is refused even with a controller address */
	c = NULL;
	CU_ASSERT_EQUAL(cp_config_parse_string("[node]\nid = A\n[routing]\nmode = central\n"
					       "controller = 127.0.0.1:1\n",
					       "a.ini", &c, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_PTR_NULL(c);
}

static void set_edge(struct cp_cen_edge *e, const char *a, const char *b, double cost)
{
	memset(e, 0, sizeof(*e));
	strcpy(e->a, a);
	strcpy(e->b, b);
	e->cost = cost;
}

static void test_roundtrip(void)
{
	struct cp_cen_edge hold[2];
	set_edge(&hold[0], "A", "B", 0);
	set_edge(&hold[1], "B", "km-7.x:y", 0);
	struct cp_cen_msg r = {.type = CP_CEN_REPORT, .seq = 4294967295u, .edges = hold, .n_edges = 2};
	strcpy(r.node, "A");
	r.lsa.number = 4294967294u;
	r.lsa.n_links = 2;
	strcpy(r.lsa.links[0].peer, "B");
	r.lsa.links[0].attr = (struct cp_link_attr){true, 123456, 1000000, -4096, 1000};
	r.lsa.links[0].rate_bps = 99000;
	strcpy(r.lsa.links[1].peer, "C");
	r.lsa.links[1].attr = (struct cp_link_attr){false, 0, 1 << 20, 77, 0};
	char *s = cp_cen_encode(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	struct cp_cen_msg d;
	char why[256] = "";
	CU_ASSERT_EQUAL_FATAL(cp_cen_decode(s, strlen(s), &d, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(d.type, CP_CEN_REPORT);
	CU_ASSERT_STRING_EQUAL(d.node, "A");
	CU_ASSERT_EQUAL(d.seq, 4294967295u);
	CU_ASSERT_STRING_EQUAL(d.lsa.origin, "A");
	CU_ASSERT_EQUAL(d.lsa.seq, 4294967295u);
	CU_ASSERT_EQUAL(d.lsa.number, 4294967294u);
	CU_ASSERT_EQUAL(d.lsa.n_links, 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct cp_lsa_link *x = &d.lsa.links[i], *y = &r.lsa.links[i];
		CU_ASSERT_STRING_EQUAL(x->peer, y->peer);
		CU_ASSERT(x->attr.up == y->attr.up && x->attr.avail == y->attr.avail &&
			  x->attr.max == y->attr.max && x->attr.delta == y->attr.delta &&
			  x->attr.low_water == y->attr.low_water && x->rate_bps == y->rate_bps);
	}
	CU_ASSERT_EQUAL_FATAL(d.n_edges, 2u);
	CU_ASSERT(!strcmp(d.edges[1].a, "B") && !strcmp(d.edges[1].b, "km-7.x:y"));
	cp_cen_msg_clear(&d);
	free(s);

	/* costs survive the JSON text exactly (the node's Dijkstra must reproduce the tree) */
	struct cp_cen_edge e[3];
	set_edge(&e[0], "A", "B", 1.0 / 3.0);
	set_edge(&e[1], "B", "C", 2.5e-9);
	set_edge(&e[2], "C", "D", 12345.678901234567);
	struct cp_cen_number num[2] = {{"A", 1}, {"D", 4294967294u}};
	struct cp_cen_msg p = {.type = CP_CEN_ROUTES, .seq = 9, .edges = e, .n_edges = 3,
			       .numbers = num, .n_numbers = 2, .numbers_present = true};
	strcpy(p.node, "A");
	s = cp_cen_encode(&p);
	CU_ASSERT_EQUAL_FATAL(cp_cen_decode(s, strlen(s), &d, why, sizeof(why)), 0);
	CU_ASSERT(d.type == CP_CEN_ROUTES && d.seq == 9 && d.n_edges == 3);
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT(d.edges[i].cost == e[i].cost && !strcmp(d.edges[i].a, e[i].a));
	CU_ASSERT_EQUAL_FATAL(d.n_numbers, 2u);
	CU_ASSERT(!strcmp(d.numbers[1].name, "D") && d.numbers[1].number == 4294967294u);
	CU_ASSERT(d.numbers_present);
	cp_cen_msg_clear(&d);
	free(s);
	p.numbers_present = false; /* unchanged numbers are not sent */
	s = cp_cen_encode(&p);
	CU_ASSERT_PTR_NULL(strstr(s, "numbers"));
	CU_ASSERT_EQUAL(cp_cen_decode(s, strlen(s), &d, why, sizeof(why)), 0);
	CU_ASSERT(!d.numbers_present && d.n_numbers == 0);
	cp_cen_msg_clear(&d);
	free(s);
	p.numbers_present = true;
	num[0].number = 0; /* not a number */
	CU_ASSERT_PTR_NULL(cp_cen_encode(&p));
	num[0].number = 1;
	r.lsa.number = UINT32_MAX;
	r.edges = NULL;
	r.n_edges = 0;
	CU_ASSERT_PTR_NULL(cp_cen_encode(&r));

	struct cp_cen_msg f = {.type = CP_CEN_FAILURE};
	strcpy(f.reason, "no \"way\"");
	s = cp_cen_encode(&f);
	CU_ASSERT_STRING_EQUAL(s, "{\"type\":\"failure\",\"reason\":\"no \\\"way\\\"\"}");
	CU_ASSERT_EQUAL(cp_cen_decode(s, strlen(s), &d, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(d.reason, "no \"way\"");
	free(s);

	/* content that cannot be sent is refused by the encoder */
	set_edge(&e[0], "A", "A", 1);
	CU_ASSERT_PTR_NULL(cp_cen_encode(&p));
	set_edge(&e[0], "A", "B", -1);
	CU_ASSERT_PTR_NULL(cp_cen_encode(&p));
	set_edge(&e[0], "A", "B", INFINITY);
	CU_ASSERT_PTR_NULL(cp_cen_encode(&p));
	strcpy(p.node, "bad name");
	set_edge(&e[0], "A", "B", 1);
	CU_ASSERT_PTR_NULL(cp_cen_encode(&p));
}

static void test_malformed(void)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{"", "malformed JSON"},
		{"{\"type\":\"report\"", "malformed JSON"},
		{"[1,2]", "must be a JSON object"},
		{"{\"type\":\"hello\"}", "\"type\" must be report, routes or failure"},
		{"{\"type\":7}", "\"type\" must be report, routes or failure"},
		{"{\"type\":\"failure\"}", "failure: \"reason\" (string) is missing"},
		{"{\"type\":\"report\",\"node\":\"a b\",\"seq\":1,\"links\":[],\"hold\":[]}",
		 "report: \"node\" must be a valid node name"},
		{"{\"type\":\"report\",\"node\":\"A\",\"seq\":-1,\"links\":[],\"hold\":[]}",
		 "report: \"seq\" must be a non-negative integer"},
		{"{\"type\":\"report\",\"node\":\"A\",\"seq\":4294967296,\"links\":[],\"hold\":[]}",
		 "report: \"seq\" must be below 2^32"},
		{"{\"type\":\"report\",\"node\":\"A\",\"seq\":1,\"links\":{},\"hold\":[]}",
		 "report: \"links\" must be an array"},
		{"{\"type\":\"report\",\"node\":\"A\",\"seq\":1,\"links\":[{\"peer\":\"B\"}],\"hold\":[]}",
		 "report: link to B needs \"up\""},
		{"{\"type\":\"report\",\"node\":\"A\",\"seq\":1,\"links\":[{\"peer\":\"A\",\"up\":true,"
		 "\"avail_bits\":1,\"capacity_bits\":2,\"delta_bits\":0,\"low_water_bits\":0,"
		 "\"rate_bps\":0}],\"hold\":[]}",
		 "report: link 0 leads back to A itself"},
		{"{\"type\":\"report\",\"node\":\"A\",\"seq\":1,\"links\":[{\"peer\":\"B\",\"up\":1,"
		 "\"avail_bits\":1,\"capacity_bits\":2,\"delta_bits\":0,\"low_water_bits\":0,"
		 "\"rate_bps\":0}],\"hold\":[]}",
		 "report: link to B needs \"up\""},
		{"{\"type\":\"report\",\"node\":\"A\",\"seq\":1,\"links\":[],\"hold\":[[\"A\"]]}",
		 "report: \"hold\" entry 0 must be [from, to]"},
		{"{\"type\":\"report\",\"node\":\"A\",\"seq\":1,\"links\":[]}",
		 "report: \"hold\" must be an array"},
		{"{\"type\":\"routes\",\"node\":\"A\",\"generation\":1,\"edges\":[[\"A\",\"B\",-1]]}",
		 "routes: \"edges\" entry 0: cost must be a finite number >= 0"},
		{"{\"type\":\"routes\",\"node\":\"A\",\"generation\":1,\"edges\":[[\"A\",\"A\",1]]}",
		 "routes: \"edges\" entry 0 must be [from, to, cost]"},
		{"{\"type\":\"routes\",\"node\":\"A\",\"generation\":1,\"edges\":[[\"A\",\"B\",\"1\"]]}",
		 "routes: \"edges\" entry 0: cost must be a finite number >= 0"},
		{"{\"type\":\"routes\",\"node\":\"A\",\"edges\":[]}",
		 "routes: \"generation\" must be a non-negative integer"},
		{"{\"type\":\"routes\",\"type\":\"routes\"}", "malformed JSON"},
		{"{\"type\":\"report\",\"node\":\"A\",\"seq\":1,\"number\":0,\"links\":[],\"hold\":[]}",
		 "report: \"number\" must be an integer in [1, 4294967294]"},
		{"{\"type\":\"routes\",\"node\":\"A\",\"generation\":1,\"edges\":[],"
		 "\"numbers\":[[\"B\",4294967295]]}",
		 "routes: \"numbers\" entry 0 must be [node, 1..4294967294]"},
		{"{\"type\":\"routes\",\"node\":\"A\",\"generation\":1,\"edges\":[],\"numbers\":{}}",
		 "routes: \"numbers\" must be an array"},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cp_cen_msg m;
		char why[256] = "";
		int rc = cp_cen_decode(bad[i].line, strlen(bad[i].line), &m, why, sizeof(why));
		CU_ASSERT_EQUAL(rc, -EPROTO);
		if (!strstr(why, bad[i].why))
			printf("\n  line %u: got '%s', want '%s'\n", i, why, bad[i].why);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].why));
		CU_ASSERT_PTR_NULL(m.edges);
	}
	/* an embedded NUL in a name is not a shorter name */
	const char nul[] = "{\"type\":\"routes\",\"node\":\"A\\u0000B\",\"generation\":1,\"edges\":[]}";
	struct cp_cen_msg m;
	char why[256];
	CU_ASSERT_EQUAL(cp_cen_decode(nul, sizeof(nul) - 1, &m, why, sizeof(why)), -EPROTO);
}

/* LSDB of a random connected topology: per direction random fill, some links down or starved. */
static void random_db(struct cp_lsdb *db, const struct cp_graph *g, uint64_t seed)
{
	cp_lsdb_init(db, 0);
	for (uint32_t v = 0; v < g->n_nodes; v++) {
		struct cp_lsa l = {0};
		snprintf(l.origin, CP_NAME_MAX, "n%02u", v);
		l.seq = 1;
		for (uint32_t s = g->row[v]; s < g->row[v + 1] && l.n_links < CP_LSA_MAX_LINKS; s++) {
			char peer[CP_NAME_MAX];
			snprintf(peer, CP_NAME_MAX, "n%02u", g->col[s]);
			bool dup = false; /* one KM link per peer, as the configuration demands */
			for (unsigned j = 0; j < l.n_links; j++)
				dup |= !strcmp(l.links[j].peer, peer);
			if (dup)
				continue;
			struct cp_lsa_link *k = &l.links[l.n_links++];
			strcpy(k->peer, peer);
			uint64_t r = unit_rand(&seed);
			k->attr = (struct cp_link_attr){r % 13 != 0, (r >> 8) % 1000000, 1000000,
							(int64_t)((r >> 40) % 20000) - 10000,
							r % 17 == 0 ? 999999 : 1000};
		}
		cp_lsdb_install(db, &l, 0);
	}
}

static void test_compute(void)
{
	for (uint64_t seed = 1; seed <= 6; seed++) {
		uint32_t n = 12 + (uint32_t)seed * 5;
		struct cp_graph *topo = cp_topo_random(n, 3.0, seed);
		struct cp_lsdb db;
		random_db(&db, topo, seed * 77);
		struct cp_central x = {0};
		CU_ASSERT_EQUAL_FATAL(cp_central_build(&x, &db, &cp_cost_default), 0);
		CU_ASSERT_EQUAL_FATAL(x.lg.n, n);
		/* reference distances: Floyd-Warshall on costs taken from the LSAs by definition */
		double *d = malloc((size_t)n * n * sizeof(*d));
		for (uint32_t i = 0; i < n * n; i++)
			d[i] = i % (n + 1) == 0 ? 0 : INFINITY;
		for (unsigned i = 0; i < db.n; i++) {
			const struct cp_lsa *l = &db.v[i].lsa;
			uint32_t a = (uint32_t)atoi(l->origin + 1);
			for (unsigned k = 0; k < l->n_links; k++) {
				uint32_t b = (uint32_t)atoi(l->links[k].peer + 1);
				const struct cp_lsdb_entry *o = cp_lsdb_find(&db, l->links[k].peer);
				for (unsigned j = 0; j < o->lsa.n_links; j++)
					if (!strcmp(o->lsa.links[j].peer, l->origin)) {
						double c1 = cp_link_cost(&cp_cost_default, &l->links[k].attr);
						double c2 = cp_link_cost(&cp_cost_default, &o->lsa.links[j].attr);
						d[a * n + b] = c1 > c2 ? c1 : c2;
					}
			}
		}
		for (uint32_t k = 0; k < n; k++)
			for (uint32_t i = 0; i < n; i++)
				for (uint32_t j = 0; j < n; j++)
					if (d[i * n + k] + d[k * n + j] < d[i * n + j])
						d[i * n + j] = d[i * n + k] + d[k * n + j];
		/* the distributed node's computation on the same database */
		struct cp_lsdb_graph dist;
		CU_ASSERT_EQUAL_FATAL(cp_lsdb_build_graph(&db, &cp_cost_default, &dist), 0);
		struct cp_spt *td = cp_spt_create(n), *tv = cp_spt_create(n);
		struct cp_cen_edge *view = NULL;
		unsigned cap = 0, mismatches = 0, reachable = 0;
		for (uint32_t s = 0; s < n; s++) {
			int ne = cp_central_view(&x, x.lg.names[s], NULL, 0, &view, &cap);
			CU_ASSERT_FATAL(ne >= 0);
			struct cp_lsdb_graph lg;
			CU_ASSERT_EQUAL_FATAL(cp_central_view_graph(x.lg.names[s], view, (unsigned)ne, &lg), 0);
			uint32_t vs = cp_lsdb_graph_node(&lg, x.lg.names[s]);
			cp_dijkstra(lg.g, vs, NULL, NULL, tv);
			cp_dijkstra(dist.g, s, NULL, NULL, td);
			for (uint32_t t = 0; t < n; t++) {
				double ref = d[s * n + t];
				uint32_t vt = cp_lsdb_graph_node(&lg, dist.names[t]);
				double got = vt == CP_NODE_NONE ? INFINITY : tv->dist[vt];
				if (isinf(ref)) {
					mismatches += !isinf(got);
					continue;
				}
				reachable++;
				mismatches += !(fabs(got - ref) <= 1e-9 * (1 + ref));
				/* same distance and next hop as the node's own Dijkstra, bit for bit */
				uint32_t pa[64], pb[64];
				int la = cp_spt_path(td, t, pa, 64), lb = cp_spt_path(tv, vt, pb, 64);
				mismatches += got != td->dist[t] || la != lb;
				if (t != s && la >= 2 && la == lb)
					mismatches += strcmp(dist.names[pa[1]], lg.names[pb[1]]) != 0;
			}
			CU_ASSERT((unsigned)ne == lg.n - 1); /* a tree: one edge per reachable node */
			cp_lsdb_graph_release(&lg);
		}
		CU_ASSERT_EQUAL(mismatches, 0u);
		CU_ASSERT(reachable > n); /* the instance is not trivially disconnected */
		free(view);
		free(d);
		cp_spt_free(td);
		cp_spt_free(tv);
		cp_lsdb_graph_release(&dist);
		cp_central_release(&x);
		cp_lsdb_clear(&db);
		cp_graph_free(topo);
	}
}

/* A 4-ring A-B-C-D-A with unit-ish costs: a held edge outside the tree stays while usable. */
static void ring_db(struct cp_lsdb *db, bool cd_up)
{
	static const char *names[] = {"A", "B", "C", "D"};
	cp_lsdb_init(db, 0);
	for (unsigned v = 0; v < 4; v++) {
		struct cp_lsa l = {.seq = 1, .n_links = 2, .number = v == 2 ? 0 : 10 + v};
		strcpy(l.origin, names[v]);
		strcpy(l.links[0].peer, names[(v + 1) % 4]);
		strcpy(l.links[1].peer, names[(v + 3) % 4]);
		for (unsigned k = 0; k < 2; k++) {
			bool cd = (v == 2 && k == 0) || (v == 3 && k == 1);
			l.links[k].attr = (struct cp_link_attr){!cd || cd_up, 1000, 1000, 0, 0};
		}
		cp_lsdb_install(db, &l, 0);
	}
}

static void test_hold(void)
{
	struct cp_lsdb db;
	ring_db(&db, true);
	struct cp_central x = {0};
	CU_ASSERT_EQUAL_FATAL(cp_central_build(&x, &db, &cp_cost_default), 0);
	struct cp_cen_edge hold[3], *view = NULL;
	unsigned cap = 0;
	/* A's session to C went A>D>C; the tree prefers B (lower name) to reach C */
	set_edge(&hold[0], "A", "D", 0);
	set_edge(&hold[1], "D", "C", 0);
	set_edge(&hold[2], "D", "Z", 0); /* unknown node: dropped */
	int n = cp_central_view(&x, "A", hold, 3, &view, &cap);
	CU_ASSERT_EQUAL_FATAL(n, 4); /* tree A>B, A>D, B>C + held D>C */
	CU_ASSERT(!strcmp(view[0].a, "A") && !strcmp(view[0].b, "B"));
	CU_ASSERT(!strcmp(view[1].a, "B") && !strcmp(view[1].b, "C"));
	CU_ASSERT(!strcmp(view[2].a, "A") && !strcmp(view[2].b, "D"));
	CU_ASSERT(!strcmp(view[3].a, "D") && !strcmp(view[3].b, "C"));
	CU_ASSERT_DOUBLE_EQUAL(view[3].cost, cp_cost_default.c0, 1e-12); /* full, steady buffer */
	struct cp_cen_number *num = NULL;
	unsigned ncap = 0;
	/* the numbers the LSAs announced, of A and the nodes its tree reaches (C announced none) */
	CU_ASSERT_EQUAL_FATAL(cp_central_numbers(&x, "A", &num, &ncap), 3);
	CU_ASSERT(!strcmp(num[0].name, "A") && num[0].number == 10);
	CU_ASSERT(!strcmp(num[1].name, "B") && num[1].number == 11);
	CU_ASSERT(!strcmp(num[2].name, "D") && num[2].number == 13);
	CU_ASSERT_EQUAL(cp_central_numbers(&x, "B", &num, &ncap), -EINVAL); /* not B's tree */
	free(num);
	CU_ASSERT_EQUAL(cp_central_view(&x, "Q", NULL, 0, &view, &cap), -ENOENT);
	cp_lsdb_clear(&db);
	/* C-D goes down: the held edge leaves the view, so the node moves its session */
	ring_db(&db, false);
	CU_ASSERT_EQUAL_FATAL(cp_central_build(&x, &db, &cp_cost_default), 0);
	n = cp_central_view(&x, "A", hold, 3, &view, &cap);
	CU_ASSERT_EQUAL(n, 3);
	for (int i = 0; i < n; i++)
		CU_ASSERT(strcmp(view[i].a, "D") || strcmp(view[i].b, "C"));
	free(view);
	cp_central_release(&x);
	cp_lsdb_clear(&db);

	/* the node refuses views it cannot route on */
	struct cp_lsdb_graph lg;
	struct cp_cen_edge e;
	set_edge(&e, "A", "A", 1);
	CU_ASSERT_EQUAL(cp_central_view_graph("A", &e, 1, &lg), -EINVAL);
	set_edge(&e, "A", "B", -0.5);
	CU_ASSERT_EQUAL(cp_central_view_graph("A", &e, 1, &lg), -EINVAL);
	set_edge(&e, "A", "B", NAN);
	CU_ASSERT_EQUAL(cp_central_view_graph("A", &e, 1, &lg), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(cp_central_view_graph("A", NULL, 0, &lg), 0);
	CU_ASSERT(lg.n == 1 && !strcmp(lg.names[0], "A") && lg.g->n_edges == 0);
	cp_lsdb_graph_release(&lg);
}

int main(void)
{
	CU_TestInfo tests[] = {{"[routing] configuration", test_config},
			       {"message round trips", test_roundtrip},
			       {"malformed messages refused with a reason", test_malformed},
			       {"views: Floyd-Warshall distances, distributed routes", test_compute},
			       {"held edges stay while usable", test_hold},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"central", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
	return unit_run(suites);
}
