/* Session control: after a link failure (or an emptied buffer) every affected relay session is
 * moved to a shortest surviving path when one exists (checked by BFS and Bellman-Ford) and
 * reported unroutable when not; unaffected sessions stay; admission control reasons. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_session.h"
#include "unit.h"

struct net {
	struct cp_graph *topo; /* reference topology, unit costs */
	struct cp_lsdb db;
	struct cp_lsdb_graph lg;
	struct cp_spt *spt;
	uint8_t *down;         /* per topo edge pair index */
	uint8_t *starved;
	uint32_t seq;
};

static void name_of(uint32_t v, char *out)
{
	snprintf(out, CP_NAME_MAX, "n%04u", v); /* zero-padded: sorted names = node ids */
}

static void rebuild(struct net *n)
{
	n->seq++;
	for (uint32_t v = 0; v < n->topo->n_nodes; v++) {
		struct cp_lsa l = {0};
		name_of(v, l.origin);
		l.seq = n->seq;
		for (uint32_t s = n->topo->row[v]; s < n->topo->row[v + 1]; s++) {
			uint32_t e = n->topo->eid[s] / 2;
			struct cp_lsa_link *k = &l.links[l.n_links++];
			name_of(n->topo->col[s], k->peer);
			k->attr = (struct cp_link_attr){!n->down[e], n->starved[e] ? 10 : 900000,
							1000000, 0, 1000};
			k->rate_bps = 100000;
		}
		cp_lsdb_install(&n->db, &l, 0);
	}
	cp_lsdb_graph_release(&n->lg);
	CU_ASSERT_EQUAL_FATAL(cp_lsdb_build_graph(&n->db, &cp_cost_default, &n->lg), 0);
}

static void net_init(struct net *n, struct cp_graph *topo)
{
	memset(n, 0, sizeof(*n));
	n->topo = topo;
	cp_lsdb_init(&n->db, 0);
	n->down = calloc(topo->n_edges, 1);
	n->starved = calloc(topo->n_edges, 1);
	n->spt = cp_spt_create(topo->n_nodes);
	rebuild(n);
}

static void net_free(struct net *n)
{
	cp_lsdb_graph_release(&n->lg);
	cp_lsdb_clear(&n->db);
	cp_spt_free(n->spt);
	free(n->down);
	free(n->starved);
	cp_graph_free(n->topo);
}

/* Reference reachability avoiding failed links. */
static bool reachable(const struct net *n, uint32_t a, uint32_t b)
{
	uint32_t nn = n->topo->n_nodes, *q = malloc(nn * sizeof(*q)), h = 0, t = 0;
	uint8_t *seen = calloc(nn, 1);
	q[t++] = a;
	seen[a] = 1;
	while (h < t) {
		uint32_t u = q[h++];
		for (uint32_t s = n->topo->row[u]; s < n->topo->row[u + 1]; s++) {
			uint32_t e = n->topo->eid[s] / 2, v = n->topo->col[s];
			if (!n->down[e] && !n->starved[e] && !seen[v])
				seen[v] = 1, q[t++] = v;
		}
	}
	bool r = seen[b];
	free(q);
	free(seen);
	return r;
}

static double bf_dist(const struct cp_graph *g, uint32_t src, uint32_t dst)
{
	double *d = malloc(g->n_nodes * sizeof(*d));
	for (uint32_t v = 0; v < g->n_nodes; v++)
		d[v] = INFINITY;
	d[src] = 0;
	for (uint32_t it = 0; it < g->n_nodes; it++)
		for (uint32_t e = 0; e < g->n_edges; e++)
			if (d[g->src[e]] + g->cost[e] < d[g->dst[e]])
				d[g->dst[e]] = d[g->src[e]] + g->cost[e];
	double r = d[dst];
	free(d);
	return r;
}

struct counts {
	unsigned establish, move, teardown;
};

static void count_cb(void *ctx, const struct cp_relay_cmd *c)
{
	struct counts *k = ctx;
	k->establish += c->action == CP_RELAY_ESTABLISH;
	k->move += c->action == CP_RELAY_MOVE;
	k->teardown += c->action == CP_RELAY_TEARDOWN;
}

static bool uses(const struct cp_relay_session *r, const char *a, const char *b)
{
	for (unsigned h = 0; h < r->hops; h++)
		if ((!strcmp(r->path[h], a) && !strcmp(r->path[h + 1], b)) ||
		    (!strcmp(r->path[h], b) && !strcmp(r->path[h + 1], a)))
			return true;
	return false;
}

static void failure_case(struct cp_graph *topo, unsigned failures, bool starve, uint64_t seed)
{
	struct net n;
	net_init(&n, topo);
	struct counts k = {0};
	struct cp_sessions s;
	cp_sessions_init(&s, "n0000", count_cb, &k);
	struct cp_route_view v = {&n.db, &n.lg, n.spt};
	char dst[CP_NAME_MAX];
	for (uint32_t d = 1; d < topo->n_nodes; d++) {
		name_of(d, dst);
		CU_ASSERT(cp_relay_add(&s, &v, dst, 1 << 20) > 0);
	}
	CU_ASSERT_EQUAL(k.establish, topo->n_nodes - 1); /* connected: all routed */
	uint64_t rs = seed;
	for (unsigned f = 0; f < failures; f++) {
		/* fail a link on some session's current path */
		struct cp_relay_session *victim = &s.relay[unit_rand(&rs) % s.n_relay];
		if (victim->state != CP_RELAY_ACTIVE)
			continue;
		unsigned h = (unsigned)(unit_rand(&rs) % victim->hops);
		char a[CP_NAME_MAX], b[CP_NAME_MAX];
		strcpy(a, victim->path[h]);
		strcpy(b, victim->path[h + 1]);
		int e = cp_graph_find_edge(topo, (uint32_t)atoi(a + 1), (uint32_t)atoi(b + 1));
		CU_ASSERT_FATAL(e >= 0);
		(starve ? n.starved : n.down)[e / 2] = 1;
		struct cp_relay_session *before = malloc(s.n_relay * sizeof(*before));
		memcpy(before, s.relay, s.n_relay * sizeof(*before));
		unsigned n_before = s.n_relay;
		rebuild(&n);
		struct counts k0 = k;
		unsigned changed = cp_sessions_reroute(&s, &v);
		unsigned expect_move = 0, expect_down = 0;
		for (unsigned i = 0; i < n_before; i++) {
			struct cp_relay_session *r = cp_relay_find(&s, before[i].id);
			uint32_t d = (uint32_t)atoi(r->dst + 1);
			bool affected = before[i].state == CP_RELAY_ACTIVE && uses(&before[i], a, b);
			if (before[i].state == CP_RELAY_ACTIVE && !affected) {
				/* unaffected: same path, same epoch */
				CU_ASSERT_EQUAL(r->epoch, before[i].epoch);
				CU_ASSERT_EQUAL(r->hops, before[i].hops);
				continue;
			}
			if (!affected)
				continue;
			if (reachable(&n, 0, d)) {
				expect_move++;
				CU_ASSERT_EQUAL(r->state, CP_RELAY_ACTIVE);
				CU_ASSERT_EQUAL(r->epoch, before[i].epoch + 1);
				CU_ASSERT(!uses(r, a, b));
				CU_ASSERT_DOUBLE_EQUAL(r->cost, bf_dist(n.lg.g, 0, d), 1e-9);
				CU_ASSERT_STRING_EQUAL(r->path[0], "n0000");
				CU_ASSERT_STRING_EQUAL(r->path[r->hops], r->dst);
			} else {
				expect_down++;
				CU_ASSERT_EQUAL(r->state, CP_RELAY_UNROUTABLE);
			}
		}
		CU_ASSERT(expect_move + expect_down > 0);
		CU_ASSERT_EQUAL(k.move - k0.move, expect_move);
		CU_ASSERT_EQUAL(k.teardown - k0.teardown, expect_down);
		CU_ASSERT_EQUAL(changed, expect_move + expect_down);
		free(before);
	}
	/* repair everything: every unroutable session comes back */
	memset(n.down, 0, topo->n_edges);
	memset(n.starved, 0, topo->n_edges);
	rebuild(&n);
	cp_sessions_reroute(&s, &v);
	for (unsigned i = 0; i < s.n_relay; i++)
		CU_ASSERT_EQUAL(s.relay[i].state, CP_RELAY_ACTIVE);
	cp_sessions_clear(&s);
	net_free(&n);
}

static void test_reroute_line(void) { failure_case(cp_topo_line(10), 1, false, 1); }
static void test_reroute_ring(void) { failure_case(cp_topo_ring(20), 2, false, 2); }
static void test_reroute_grid(void) { failure_case(cp_topo_grid(6, 6), 6, false, 3); }
static void test_reroute_random(void) { failure_case(cp_topo_random(100, 3.0, 9), 8, false, 4); }
static void test_reroute_starved(void) { failure_case(cp_topo_grid(5, 5), 4, true, 5); }

/* Admission control on a line A - B - C with SAEs at each node. */
static const char *cfg_text = "[node]\nid = n0000\n"
			      "[sae s0]\nnode = n0000\n[sae s0b]\nnode = n0000\n"
			      "[sae s1]\nnode = n0001\n[sae s2]\nnode = n0002\n"
			      "[sae far]\nnode = n0009\n"
			      "[policy]\nmax_share = 0.5\nmax_key_bits = 1024\nmax_ttl_s = 60\n";

static void test_admission(void)
{
	struct net n;
	net_init(&n, cp_topo_line(3)); /* each link 100000 bit/s, 50 % bookable */
	struct cp_config *cfg;
	char err[256], why[256];
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string(cfg_text, "t", &cfg, err, sizeof(err)), 0);
	struct counts k = {0};
	struct cp_sessions s;
	cp_sessions_init(&s, "n0000", count_cb, &k);
	struct cp_route_view v = {&n.db, &n.lg, n.spt};
	struct cp_app_request r = {2, {"s0", "s2"}, 30000, 256, 30};
	int id1 = cp_app_add(&s, &v, cfg, &r, why, sizeof(why));
	CU_ASSERT_FATAL(id1 > 0);
	CU_ASSERT_EQUAL(cp_reserved_bps(&s, "n0000", "n0001"), 30000u);
	CU_ASSERT_EQUAL(cp_reserved_bps(&s, "n0001", "n0002"), 30000u);
	CU_ASSERT_EQUAL(s.n_relay, 1u);
	/* 20000 left on each hop: 25000 refused with the bottleneck named */
	r.rate_bps = 25000;
	r.saes[1] = "s1";
	CU_ASSERT_EQUAL(cp_app_add(&s, &v, cfg, &r, why, sizeof(why)), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(why, "insufficient key rate on n0000-n0001: 20000 bit/s free, "
				    "25000 bit/s requested");
	r.rate_bps = 20000;
	int id2 = cp_app_add(&s, &v, cfg, &r, why, sizeof(why));
	CU_ASSERT(id2 > 0);
	CU_ASSERT_EQUAL(s.n_relay, 2u);
	struct {
		struct cp_app_request r;
		int rc;
		const char *why;
	} bad[] = {
		{{2, {"s0", "nobody"}, 10, 256, 30}, -EINVAL, "unknown SAE 'nobody'"},
		{{2, {"s1", "s0"}, 10, 256, 30}, -EINVAL,
		 "SAE s1 is served by node n0001: open the session there"},
		{{2, {"s0", "s0"}, 10, 256, 30}, -EINVAL, "SAE 's0' listed twice"},
		{{2, {"s0", "s1"}, 10, 2048, 30}, -EINVAL,
		 "key size 2048 bits not allowed (64..1024, a multiple of 8)"},
		{{2, {"s0", "s1"}, 10, 100, 30}, -EINVAL,
		 "key size 100 bits not allowed (64..1024, a multiple of 8)"},
		{{2, {"s0", "s1"}, 10, 256, 61}, -EINVAL, "TTL 61 s not allowed (1..60 s)"},
		{{2, {"s0", "s1"}, 0, 256, 60}, -EINVAL, "key rate must be positive"},
		{{1, {"s0"}, 10, 256, 60}, -EINVAL, "a session needs 2 to 8 SAEs"},
		{{2, {"s0", "far"}, 10, 256, 60}, -EHOSTUNREACH,
		 "no route from n0000 to n0009 (no usable KM-link path)"},
		{{2, {"s0", "s1"}, 1, 256, 60}, -ENOSPC,
		 "insufficient key rate on n0000-n0001: 0 bit/s free, 1 bit/s requested"},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned before = s.n_app;
		CU_ASSERT_EQUAL(cp_app_add(&s, &v, cfg, &bad[i].r, why, sizeof(why)), bad[i].rc);
		if (strcmp(why, bad[i].why)) {
			printf("\n  case %u: '%s' vs '%s'\n", i, why, bad[i].why);
			CU_FAIL("reason");
		}
		CU_ASSERT_EQUAL(s.n_app, before); /* refusal changes nothing */
	}
	/* a local pair needs no relay */
	struct cp_app_request local = {2, {"s0", "s0b"}, 1000000, 256, 10};
	CU_ASSERT(cp_app_add(&s, &v, cfg, &local, why, sizeof(why)) > 0);
	/* deleting releases the reservation and the relay session once unused */
	CU_ASSERT_EQUAL(cp_app_del(&s, (uint32_t)id1), 0);
	CU_ASSERT_EQUAL(cp_reserved_bps(&s, "n0001", "n0002"), 0u);
	CU_ASSERT_EQUAL(cp_reserved_bps(&s, "n0000", "n0001"), 20000u);
	CU_ASSERT_EQUAL(s.n_relay, 1u);
	CU_ASSERT_EQUAL(k.teardown, 1u);
	CU_ASSERT_EQUAL(cp_app_del(&s, (uint32_t)id1), -ENOENT);
	CU_ASSERT_EQUAL(cp_relay_del(&s, s.relay[0].id), -EBUSY); /* still used by id2 */
	cp_sessions_clear(&s);
	cp_config_free(cfg);
	net_free(&n);
}

static void test_reservation_follows_reroute(void)
{
	struct net n;
	net_init(&n, cp_topo_ring(4)); /* 0-1-2-3-0 */
	struct cp_config *cfg;
	char err[256], why[256];
	const char *text = "[node]\nid = n0000\n[sae a]\nnode = n0000\n[sae b]\nnode = n0001\n";
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string(text, "t", &cfg, err, sizeof(err)), 0);
	struct cp_sessions s;
	cp_sessions_init(&s, "n0000", NULL, NULL);
	struct cp_route_view v = {&n.db, &n.lg, n.spt};
	struct cp_app_request r = {2, {"a", "b"}, 5000, 256, 30};
	CU_ASSERT_FATAL(cp_app_add(&s, &v, cfg, &r, why, sizeof(why)) > 0);
	CU_ASSERT_EQUAL(cp_reserved_bps(&s, "n0000", "n0001"), 5000u);
	n.down[cp_graph_find_edge(n.topo, 0, 1) / 2] = 1;
	rebuild(&n);
	CU_ASSERT_EQUAL(cp_sessions_reroute(&s, &v), 1u);
	CU_ASSERT_EQUAL(s.relay[0].hops, 3u);
	CU_ASSERT_EQUAL(cp_reserved_bps(&s, "n0000", "n0001"), 0u);
	CU_ASSERT_EQUAL(cp_reserved_bps(&s, "n0000", "n0003"), 5000u);
	CU_ASSERT_EQUAL(cp_reserved_bps(&s, "n0003", "n0002"), 5000u);
	CU_ASSERT_EQUAL(cp_reserved_bps(&s, "n0002", "n0001"), 5000u);
	cp_sessions_clear(&s);
	cp_config_free(cfg);
	net_free(&n);
}

int main(void)
{
	CU_TestInfo tests[] = {{"reroute on line (unroutable)", test_reroute_line},
			       {"reroute on ring", test_reroute_ring},
			       {"reroute on grid", test_reroute_grid},
			       {"reroute on random 100-node", test_reroute_random},
			       {"reroute when buffers empty", test_reroute_starved},
			       {"admission control", test_admission},
			       {"reservations follow reroutes", test_reservation_follows_reroute},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"session", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
	return unit_run(suites);
}
