/* Link-state protocol: LSA encode/decode round trips and hand-built wire bytes, every truncation
 * and corruption rejected, LSDB sequence/age rules, flooding over a simulated network converges,
 * and the graph built from the database uses only two-way links. */
#include <string.h>

#include "cp_lsa.h"
#include "unit.h"

static void fill(struct cp_lsa *l, const char *origin, uint32_t seq, unsigned n)
{
	memset(l, 0, sizeof(*l));
	strcpy(l->origin, origin);
	l->seq = seq;
	l->age = 7;
	l->n_links = (uint16_t)n;
	for (unsigned i = 0; i < n; i++) {
		snprintf(l->links[i].peer, CP_NAME_MAX, "peer-%u", i);
		l->links[i].attr = (struct cp_link_attr){i % 2 == 0, 1000u * i, 1u << 20,
							 -(int64_t)i * 3, 10, };
		l->links[i].rate_bps = 123456789ull * i;
	}
}

static void test_known_bytes(void)
{
	struct cp_lsa l;
	fill(&l, "A", 0x01020304, 1);
	strcpy(l.links[0].peer, "B");
	l.links[0].attr = (struct cp_link_attr){true, 5, 6, -1, 2};
	l.links[0].rate_bps = 9;
	uint8_t buf[256];
	int n = cp_lsa_encode(&l, buf, sizeof(buf));
	static const uint8_t want[] = {
		'Q', 'L', 1, 1, 0, 59, 1, 2, 3, 4, 0, 7, 0, 1, 1, 'A',
		1, 'B', 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2,
		0, 0, 0, 0, 0, 0, 0, 9};
	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(want));
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(want)), 0);
}

/* Version 2 carries the origin's number after its name; 0 and all-ones are not numbers. */
static void test_known_bytes_v2(void)
{
	struct cp_lsa l, d;
	fill(&l, "A", 0x01020304, 0);
	l.number = 0x0a0b0c0d;
	uint8_t buf[64];
	static const uint8_t want[] = {'Q', 'L', 2, 1, 0, 20, 1, 2, 3, 4, 0, 7, 0, 0, 1, 'A',
				       0x0a, 0x0b, 0x0c, 0x0d};
	CU_ASSERT_EQUAL_FATAL(cp_lsa_encode(&l, buf, sizeof(buf)), (int)sizeof(want));
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(cp_lsa_decode(&d, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(d.number, 0x0a0b0c0du);
	CU_ASSERT_STRING_EQUAL(d.origin, "A");
	uint8_t bad[sizeof(want)];
	memcpy(bad, want, sizeof(want));
	memset(bad + 16, 0, 4);
	CU_ASSERT_EQUAL(cp_lsa_decode(&d, bad, sizeof(bad)), -EPROTO);
	memset(bad + 16, 0xff, 4);
	CU_ASSERT_EQUAL(cp_lsa_decode(&d, bad, sizeof(bad)), -EPROTO);
	bad[2] = 3;
	CU_ASSERT_EQUAL(cp_lsa_decode(&d, bad, sizeof(bad)), -EPROTO);
	l.number = UINT32_MAX;
	CU_ASSERT_EQUAL(cp_lsa_encode(&l, buf, sizeof(buf)), -EINVAL);
}

static void test_round_trip(void)
{
	uint8_t buf[CP_LSA_MAX_WIRE];
	for (unsigned links = 0; links <= CP_LSA_MAX_LINKS; links += 8) {
		struct cp_lsa a, b;
		fill(&a, "node-x.1", 0xfffffff0u + links, links);
		a.number = links % 16 ? 1000u + links : 0; /* both versions */
		int n = cp_lsa_encode(&a, buf, sizeof(buf));
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL(cp_lsa_decode(&b, buf, (size_t)n), 0);
		CU_ASSERT_STRING_EQUAL(b.origin, a.origin);
		CU_ASSERT_EQUAL(b.number, a.number);
		CU_ASSERT_EQUAL(b.seq, a.seq);
		CU_ASSERT_EQUAL(b.age, a.age);
		CU_ASSERT_EQUAL(b.n_links, a.n_links);
		for (unsigned i = 0; i < links; i++) {
			CU_ASSERT_STRING_EQUAL(b.links[i].peer, a.links[i].peer);
			CU_ASSERT_EQUAL(b.links[i].attr.up, a.links[i].attr.up);
			CU_ASSERT_EQUAL(b.links[i].attr.avail, a.links[i].attr.avail);
			CU_ASSERT_EQUAL(b.links[i].attr.max, a.links[i].attr.max);
			CU_ASSERT_EQUAL(b.links[i].attr.delta, a.links[i].attr.delta);
			CU_ASSERT_EQUAL(b.links[i].attr.low_water, a.links[i].attr.low_water);
			CU_ASSERT_EQUAL(b.links[i].rate_bps, a.links[i].rate_bps);
		}
		/* every truncation and every extension is rejected */
		for (int cut = 0; cut < n; cut++)
			CU_ASSERT_EQUAL(cp_lsa_decode(&b, buf, (size_t)cut), -EPROTO);
		CU_ASSERT_EQUAL(cp_lsa_decode(&b, buf, (size_t)n + 1), -EPROTO);
		CU_ASSERT_EQUAL(cp_lsa_encode(&a, buf, (size_t)n - 1), -ENOSPC);
	}
}

static void test_malformed(void)
{
	struct cp_lsa a, b;
	uint8_t buf[CP_LSA_MAX_WIRE], bad[CP_LSA_MAX_WIRE];
	fill(&a, "A", 1, 3);
	int n = cp_lsa_encode(&a, buf, sizeof(buf));
	/* flip every byte: decode either fails or yields a valid LSA, never crashes */
	unsigned rejected = 0;
	for (int i = 0; i < n; i++) {
		memcpy(bad, buf, (size_t)n);
		bad[i] ^= 0x80;
		int rc = cp_lsa_decode(&b, bad, (size_t)n);
		CU_ASSERT(rc == 0 || rc == -EPROTO);
		rejected += rc != 0;
		if (rc == 0)
			CU_ASSERT(cp_name_valid(b.origin));
	}
	CU_ASSERT(rejected >= 10); /* magic, version, lengths, names, flags */
	/* a NUL inside a name (found by fuzzing) is rejected, not silently shortened */
	static const uint8_t nul[] = {'Q', 'L', 1, 1, 0, 23, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
				      8, 'n', 'o', 'd', 'e', '2', 'x', 0, '1'};
	CU_ASSERT_EQUAL(cp_lsa_decode(&b, nul, sizeof(nul)), -EPROTO);
	strcpy(a.origin, "bad name");
	CU_ASSERT_EQUAL(cp_lsa_encode(&a, buf, sizeof(buf)), -EINVAL);
	CU_ASSERT(!cp_name_valid(""));
	CU_ASSERT(!cp_name_valid("0123456789012345678901234567890123"));
	CU_ASSERT(cp_name_valid("km-7.a:b_c"));
}

static void test_lsdb_rules(void)
{
	struct cp_lsdb db;
	cp_lsdb_init(&db, 100);
	struct cp_lsa l;
	fill(&l, "A", 5, 1);
	CU_ASSERT_EQUAL(cp_lsdb_install(&db, &l, 0), 1);
	CU_ASSERT_EQUAL(cp_lsdb_install(&db, &l, 10), 0); /* duplicate: not flooded */
	l.seq = 4;
	CU_ASSERT_EQUAL(cp_lsdb_install(&db, &l, 20), 0); /* older */
	l.seq = 6;
	CU_ASSERT_EQUAL(cp_lsdb_install(&db, &l, 30), 1);
	CU_ASSERT_EQUAL(cp_lsdb_find(&db, "A")->lsa.seq, 6u);
	/* wrap-around: 0 is newer than 0xffffffff */
	CU_ASSERT_EQUAL(cp_lsa_seq_cmp(0, 0xffffffffu), 1);
	CU_ASSERT_EQUAL(cp_lsa_seq_cmp(0xffffffffu, 0), -1);
	/* ageing: installed with age 7 at t=30 ms, max age 100 s */
	const struct cp_lsdb_entry *e = cp_lsdb_find(&db, "A");
	CU_ASSERT_EQUAL(cp_lsdb_age(&db, e, 30 + 50000), 57u);
	CU_ASSERT_EQUAL(cp_lsdb_expire(&db, 30 + 92000), 0u);
	CU_ASSERT_EQUAL(cp_lsdb_expire(&db, 30 + 93000), 1u);
	CU_ASSERT_PTR_NULL(cp_lsdb_find(&db, "A"));
	l.age = 100; /* an unknown LSA already at max age is not installed */
	CU_ASSERT_EQUAL(cp_lsdb_install(&db, &l, 0), -EINVAL);
	cp_lsdb_clear(&db);
}

/* Flooding over a ring of 8 nodes with one chord: each node originates its LSA, floods newer
 * LSAs to all neighbours but the sender; every database must end up holding all 8 LSAs. */
#define N 8
static void test_flooding_converges(void)
{
	int adj[N][N] = {{0}};
	for (int i = 0; i < N; i++)
		adj[i][(i + 1) % N] = adj[(i + 1) % N][i] = 1;
	adj[0][4] = adj[4][0] = 1;
	struct cp_lsdb db[N];
	struct {
		int to, from;
		uint8_t wire[512];
		int len;
	} q[4096];
	int qh = 0, qt = 0, sent = 0;
	for (int i = 0; i < N; i++) {
		cp_lsdb_init(&db[i], 0);
		struct cp_lsa l = {0};
		snprintf(l.origin, CP_NAME_MAX, "n%d", i);
		l.seq = 1;
		for (int j = 0; j < N; j++)
			if (adj[i][j]) {
				snprintf(l.links[l.n_links].peer, CP_NAME_MAX, "n%d", j);
				l.links[l.n_links++].attr = (struct cp_link_attr){true, 500, 1000, 0, 0};
			}
		cp_lsdb_install(&db[i], &l, 0);
		for (int j = 0; j < N; j++)
			if (adj[i][j]) {
				q[qt].to = j, q[qt].from = i;
				q[qt].len = cp_lsa_encode(&l, q[qt].wire, sizeof(q[qt].wire));
				qt++;
			}
	}
	while (qh < qt) {
		struct cp_lsa l;
		int to = q[qh].to, from = q[qh].from;
		CU_ASSERT_EQUAL_FATAL(cp_lsa_decode(&l, q[qh].wire, (size_t)q[qh].len), 0);
		int len = q[qh].len;
		uint8_t wire[512];
		memcpy(wire, q[qh].wire, (size_t)len);
		qh++;
		sent++;
		if (cp_lsdb_install(&db[to], &l, 0) != 1)
			continue;
		for (int j = 0; j < N; j++)
			if (adj[to][j] && j != from && qt < 4096) {
				q[qt].to = j, q[qt].from = to, q[qt].len = len;
				memcpy(q[qt].wire, wire, (size_t)len);
				qt++;
			}
	}
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL(db[i].n, (unsigned)N);
	/* each LSA crosses each link at most once per direction: bounded by 2 * links * N */
	CU_ASSERT(sent <= 2 * 9 * N);
	struct cp_lsdb_graph lg;
	CU_ASSERT_EQUAL_FATAL(cp_lsdb_build_graph(&db[3], &cp_cost_default, &lg), 0);
	CU_ASSERT_EQUAL(lg.n, (uint32_t)N);
	CU_ASSERT_EQUAL(lg.g->n_edges, 2u * 9);
	cp_lsdb_graph_release(&lg);
	for (int i = 0; i < N; i++)
		cp_lsdb_clear(&db[i]);
}

static void test_two_way_check(void)
{
	struct cp_lsdb db;
	cp_lsdb_init(&db, 0);
	struct cp_lsa a = {0}, b = {0};
	strcpy(a.origin, "A");
	a.seq = 1;
	a.n_links = 2;
	strcpy(a.links[0].peer, "B");
	a.links[0].attr = (struct cp_link_attr){true, 1000, 1000, 0, 0};
	strcpy(a.links[1].peer, "C"); /* C never confirms: no edge */
	a.links[1].attr = a.links[0].attr;
	strcpy(b.origin, "B");
	b.seq = 1;
	b.n_links = 1;
	strcpy(b.links[0].peer, "A");
	b.links[0].attr = (struct cp_link_attr){true, 250, 1000, 0, 0}; /* B sees less key */
	cp_lsdb_install(&db, &a, 0);
	cp_lsdb_install(&db, &b, 0);
	struct cp_lsdb_graph lg;
	CU_ASSERT_EQUAL_FATAL(cp_lsdb_build_graph(&db, &cp_cost_default, &lg), 0);
	CU_ASSERT_EQUAL(lg.n, 3u);
	uint32_t A = cp_lsdb_graph_node(&lg, "A"), B = cp_lsdb_graph_node(&lg, "B"),
		 C = cp_lsdb_graph_node(&lg, "C");
	CU_ASSERT(A == 0 && B == 1 && C == 2);
	CU_ASSERT_EQUAL(cp_lsdb_graph_node(&lg, "D"), CP_NODE_NONE);
	CU_ASSERT_EQUAL(lg.g->n_edges, 2u);
	CU_ASSERT_EQUAL(cp_graph_find_edge(lg.g, A, C), -ENOENT);
	int e = cp_graph_find_edge(lg.g, A, B);
	CU_ASSERT_FATAL(e >= 0);
	/* the worse side's view wins: c0 + c1 * (1 - 0.25) */
	CU_ASSERT_DOUBLE_EQUAL(lg.g->cost[e], cp_cost_default.c0 + cp_cost_default.c1 * 0.75, 1e-12);
	cp_lsdb_graph_release(&lg);
	cp_lsdb_clear(&db);
}

int main(void)
{
	CU_TestInfo tests[] = {{"known wire bytes", test_known_bytes},
			       {"known wire bytes, version 2 (number)", test_known_bytes_v2},
			       {"round trip, truncations", test_round_trip},
			       {"malformed LSAs", test_malformed},
			       {"lsdb sequence and age rules", test_lsdb_rules},
			       {"flooding converges", test_flooding_converges},
			       {"two-way check and cost", test_two_way_check},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"lsa", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
	return unit_run(suites);
}
