/* The control thread end to end in one process: control-socket commands and their errors, worker
 * commands through the rings, snapshots read by QSBR workers, configuration reload that keeps
 * state, and three nodes running the link-state protocol over loopback TCP that reroute a relay
 * session when links fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "cp_ctl.h"
#include "cp_ctrl.h"
#include "cp_sim.h"
#include "cp_tls.h"
#include "unit.h"

static char dir[128];

static json_t *call(const char *sock, const char *line, char *err, size_t errlen)
{
	json_t *argv = json_array();
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", line);
	for (char *save, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
		json_array_append_new(argv, json_string(t));
	int fd = cp_ctl_connect(sock, err, errlen);
	CU_ASSERT_FATAL(fd >= 0);
	json_t *resp = NULL;
	int rc = cp_ctl_call(fd, argv, 5000, &resp, err, errlen);
	close(fd);
	json_decref(argv);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	if (!json_is_true(json_object_get(resp, "ok"))) {
		snprintf(err, errlen, "%s", json_string_value(json_object_get(resp, "error")));
		json_decref(resp);
		return NULL;
	}
	err[0] = 0;
	json_t *r = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	return r;
}

static const char *row_str(json_t *rows, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(rows, i), key));
}

static void wait_for(int (*pred)(void *), void *arg, int ms)
{
	for (int i = 0; i < ms / 5 && !pred(arg); i++)
		usleep(5000);
}

struct node {
	struct cp_config *cfg;
	struct cp_sim *sim;
	struct cp_ctrl *ctrl;
	char sock[256];
	char path[256];
};

static void node_up(struct node *n, const char *text, bool from_file)
{
	char err[512];
	if (from_file) {
		FILE *f = fopen(n->path, "w");
		fputs(text, f);
		fclose(f);
		CU_ASSERT_EQUAL_FATAL(cp_config_load(n->path, &n->cfg, err, sizeof(err)), 0);
	} else {
		int rc = cp_config_parse_string(text, "mem", &n->cfg, err, sizeof(err));
		if (rc)
			printf("%s\n", err);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
	}
	snprintf(n->sock, sizeof(n->sock), "%s", n->cfg->control_socket);
	n->sim = cp_sim_create(n->cfg, 1e6);
	struct cp_ctrl_opts o = {.config_path = from_file ? n->path : NULL,
				 .config = from_file ? NULL : n->cfg,
				 .ops = cp_sim_ops(),
				 .ops_ctx = n->sim};
	n->ctrl = cp_ctrl_create(&o, err, sizeof(err));
	if (!n->ctrl)
		printf("ctrl: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n->ctrl);
	CU_ASSERT_EQUAL(cp_sim_start_workers(n->sim, n->ctrl), 0);
	CU_ASSERT_EQUAL(cp_ctrl_start(n->ctrl), 0);
}

static void node_down(struct node *n)
{
	cp_ctrl_stop(n->ctrl);
	cp_sim_stop_workers(n->sim);
	cp_ctrl_free(n->ctrl);
	cp_sim_free(n->sim);
	cp_config_free(n->cfg);
}

static struct cp_sim *pred_sim;
static int stop_done(void *a)
{
	struct cp_sim_counts k;
	cp_sim_counts(pred_sim, &k);
	return k.cmds[CP_CMD_LINK_STOP] >= *(unsigned *)a;
}

static void test_single_node(void)
{
	struct node a = {0};
	snprintf(a.path, sizeof(a.path), "%s/a.ini", dir);
	char text[2048];
	snprintf(text, sizeof(text),
		 "[node]\nid = A\nlcores = 1-2\ncontrol_socket = %s/a.sock\nrouting_period_ms = 50\n"
		 "[qkd_link ab]\nid = 1\npeer = B\nlcore = 1\n[qkd_link ac]\nid = 2\npeer = C\nlcore = 2\n"
		 "[km_link kab]\npeer = B\nqkd_link = ab\ncapacity_bits = 1000000\nlow_water_bits = 1000\n"
		 "[km_link kac]\npeer = C\nqkd_link = ac\ncapacity_bits = 1000000\n",
		 dir);
	node_up(&a, text, true);
	char err[512];
	struct stat st;
	CU_ASSERT_EQUAL(stat(a.sock, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);

	json_t *r = call(a.sock, "show links", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	json_t *links = json_object_get(r, "links");
	CU_ASSERT_EQUAL(json_array_size(links), 2);
	CU_ASSERT_STRING_EQUAL(row_str(links, 0, "link"), "ab");
	CU_ASSERT_STRING_EQUAL(row_str(links, 0, "peer"), "B");
	CU_ASSERT_STRING_EQUAL(row_str(links, 0, "km_link"), "kab");
	CU_ASSERT_STRING_EQUAL(row_str(links, 0, "state"), "up");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(links, 1), "lcore")), 2);
	json_decref(r);

	/* link down: the STOP command reaches lcore 1's worker, the snapshot shows it */
	r = call(a.sock, "link down kab", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "state")), "admin-down");
	json_decref(r);
	unsigned one = 1;
	pred_sim = a.sim;
	wait_for(stop_done, &one, 2000);
	struct cp_sim_link sl;
	cp_sim_get(a.sim, "kab", &sl);
	CU_ASSERT_FALSE(sl.up);
	rcu_register_thread();
	const struct cp_snapshot *snap = cp_ctrl_snapshot(a.ctrl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(snap);
	CU_ASSERT_STRING_EQUAL(snap->links[0].name, "ab");
	CU_ASSERT_FALSE(snap->links[0].admin_up);
	CU_ASSERT_TRUE(snap->links[1].admin_up);
	rcu_thread_offline();
	r = call(a.sock, "show links", err, sizeof(err));
	CU_ASSERT_STRING_EQUAL(row_str(json_object_get(r, "links"), 0, "state"), "admin-down");
	json_decref(r);

	/* key flush: the store drops the buffered bits, the worker zeroizes */
	cp_sim_get(a.sim, "kac", &sl);
	CU_ASSERT(sl.avail_bits >= 500000);
	r = call(a.sock, "key flush kac", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(json_integer_value(json_object_get(r, "bits")) >= 500000);
	json_decref(r);
	cp_sim_get(a.sim, "kac", &sl);
	CU_ASSERT(sl.avail_bits < 100000);

	/* errors: one line, nothing changes */
	static const struct {
		const char *cmd, *err;
	} bad[] = {
		{"frobnicate", "unknown command 'frobnicate' (try 'help')"},
		{"show", "usage: show links|keys|routes|sessions|stats|lsdb"},
		{"show everything", "unknown object 'everything' (links, keys, routes, sessions, stats, lsdb)"},
		{"link sideways kab", "usage: link up|down <link>"},
		{"link down nope", "no QKD or KM link named 'nope'"},
		{"key flush nope", "no KM link named 'nope'"},
		{"route show A", "usage: route show <from> <to> [k=n]"},
		{"route show A Z", "unknown node 'Z'"},
		{"route show A B k=x", "k must be an integer in [0, 16], got 'x'"},
		{"route show A B j=1", "unexpected argument 'j=1'"},
		{"session add s1", "usage: session add <sae> <sae>... [rate=bps] [key_bits=n] [ttl=s] | session del <id>"},
		{"session add s1 s2", "session refused: unknown SAE 's1'"},
		{"session del 99", "no application session 99"},
		{"relay add A", "'A' is not a remote node name"},
		{"relay del 7", "no relay session 7"},
		{"config explode", "usage: config reload | config show"},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call(a.sock, bad[i].cmd, err, sizeof(err));
		CU_ASSERT_PTR_NULL(r);
		if (strcmp(err, bad[i].err)) {
			printf("\n  '%s': got '%s'\n", bad[i].cmd, err);
			CU_FAIL("error text");
		}
	}
	/* protocol errors on the raw socket */
	int fd = cp_ctl_connect(a.sock, err, sizeof(err));
	const char *raw = "{nope\n{\"id\":4,\"argv\":[]}\n{\"id\":5,\"argv\":[1]}\n";
	CU_ASSERT_EQUAL(write(fd, raw, strlen(raw)), (ssize_t)strlen(raw));
	char buf[2048] = "";
	size_t got = 0;
	for (int i = 0; i < 200 && got < 3; i++) {
		ssize_t n = recv(fd, buf + strlen(buf), sizeof(buf) - strlen(buf) - 1, MSG_DONTWAIT);
		if (n > 0)
			buf[strlen(buf) + (size_t)n] = 0;
		got = 0;
		for (char *p = buf; (p = strchr(p, '\n')); p++)
			got++;
		usleep(5000);
	}
	close(fd);
	CU_ASSERT_EQUAL(got, 3u);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"ok\":false,\"error\":\"malformed JSON request"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "{\"id\":4,\"ok\":false,\"error\":\"request needs"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "{\"id\":5,\"ok\":false,\"error\":\"request needs"));

	/* reload: a broken file is refused with its line, a good one keeps runtime state */
	r = call(a.sock, "config show", err, sizeof(err));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "routing_period_ms")), 50);
	json_decref(r);
	char broken[2100];
	snprintf(broken, sizeof(broken), "%s[sae x]\nnode = A\nflavour = 3\n", text);
	FILE *f = fopen(a.path, "w");
	fputs(broken, f);
	fclose(f);
	r = call(a.sock, "config reload", err, sizeof(err));
	CU_ASSERT_PTR_NULL(r);
	char want[400];
	int line = 1;
	for (const char *p = broken; *p; p++)
		line += *p == '\n';
	snprintf(want, sizeof(want), "%s:%d: unknown key 'flavour' in [sae x]", a.path, line - 1);
	CU_ASSERT_STRING_EQUAL(err, want);
	cp_sim_get(a.sim, "kab", &sl);
	uint64_t before = sl.avail_bits;
	snprintf(broken, sizeof(broken), "%s[sae x]\nnode = A\n[sae y]\nnode = C\n", text);
	f = fopen(a.path, "w");
	fputs(broken, f);
	fclose(f);
	r = call(a.sock, "config reload", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "saes")), 2);
	json_decref(r);
	r = call(a.sock, "show links", err, sizeof(err)); /* admin state survives the reload */
	CU_ASSERT_STRING_EQUAL(row_str(json_object_get(r, "links"), 0, "state"), "admin-down");
	json_decref(r);
	cp_sim_get(a.sim, "kab", &sl); /* and no key was dropped */
	CU_ASSERT(sl.avail_bits >= before);
	r = call(a.sock, "show stats", err, sizeof(err));
	json_t *cnt = json_object_get(r, "counters");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(cnt, "reloads")), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(cnt, "reload_failures")), 1);
	json_t *alarms = json_object_get(r, "alarms");
	CU_ASSERT(json_array_size(alarms) >= 1);
	CU_ASSERT_STRING_EQUAL(row_str(alarms, 0, "alarm"), "link_down");
	CU_ASSERT_STRING_EQUAL(row_str(alarms, 0, "object"), "kab");
	json_decref(r);
	char *m = NULL;
	json_t *stats = cp_ctrl_stats(a.ctrl);
	m = cp_metrics_text(stats);
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "qkd_link_up{node=\"A\",link=\"kab\",peer=\"B\"} 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "qkd_link_up{node=\"A\",link=\"kac\",peer=\"C\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "# TYPE qkd_keys_supplied_total counter\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "qkd_ctrl_reloads_total 1\n"));
	free(m);
	json_decref(stats);
	node_down(&a);
	CU_ASSERT_NOT_EQUAL(access(a.sock, F_OK), 0); /* socket removed */
	rcu_unregister_thread();
}

/* Three nodes in a triangle; the LSDBs converge, routes are direct, and a relay session A->C is
 * moved when A-C fails and becomes unroutable when B-C fails too. */
static struct node tri[3];
static int lsdb_full(void *arg)
{
	char err[256];
	for (int i = 0; i < 3; i++) {
		json_t *r = call(tri[i].sock, "show routes", err, sizeof(err));
		size_t n = json_array_size(json_object_get(r, "routes"));
		json_decref(r);
		if (n != 2)
			return 0;
	}
	return 1;
}

static const char *relay_state_of(const char *sock, char *path, size_t plen)
{
	static char state[32];
	char err[256];
	json_t *r = call(sock, "show sessions", err, sizeof(err));
	json_t *rows = json_object_get(r, "relay_sessions");
	snprintf(state, sizeof(state), "%s", row_str(rows, 0, "state"));
	snprintf(path, plen, "%s", row_str(rows, 0, "path"));
	json_decref(r);
	return state;
}

static int a_unroutable(void *arg)
{
	char p[128];
	return !strcmp(relay_state_of(tri[0].sock, p, sizeof(p)), "unroutable");
}

static int a_active(void *arg)
{
	char p[128];
	return !strcmp(relay_state_of(tri[0].sock, p, sizeof(p)), "active");
}

static void test_three_nodes(void)
{
	const char *names[3] = {"A", "B", "C"};
	uint16_t port[3] = {0};
	for (int i = 0; i < 3; i++) {
		char text[3072];
		size_t off = (size_t)snprintf(text, sizeof(text),
			"[node]\nid = %s\nnumber = %d\nlcores = 1\ncontrol_socket = %s/%s.sock\n"
			"listen = 127.0.0.1:0\nrouting_period_ms = 50\n[sae app%s]\nnode = %s\n%s",
			names[i], 101 + i, dir, names[i], names[i], names[i],
			i == 2 ? "[relay back]\npeer = A\ntarget_bits = 4096\n" : "");
		for (int j = 0; j < 3; j++) {
			if (j == i)
				continue;
			char lk[8];
			snprintf(lk, sizeof(lk), "%c%c", (char)('a' + (i < j ? i : j)),
				 (char)('a' + (i < j ? j : i)));
			off += (size_t)snprintf(text + off, sizeof(text) - off,
				"[qkd_link q%s]\nid = %d\npeer = %s\n[km_link k%s]\npeer = %s\nqkd_link = q%s\n"
				"capacity_bits = 1000000\nlow_water_bits = 1000\npeer_number = %d\n",
				lk, 10 + j, names[j], lk, names[j], lk, 101 + j);
			if (j < i) /* the later node dials the earlier one */
				off += (size_t)snprintf(text + off, sizeof(text) - off,
							"address = 127.0.0.1:%u\n", port[j]);
		}
		node_up(&tri[i], text, false);
		port[i] = cp_ctrl_lsa_port(tri[i].ctrl);
		CU_ASSERT(port[i] > 0);
	}
	wait_for(lsdb_full, NULL, 5000);
	CU_ASSERT_FATAL(lsdb_full(NULL));
	char err[512], path[128];
	json_t *r = call(tri[0].sock, "show routes", err, sizeof(err));
	json_t *routes = json_object_get(r, "routes");
	CU_ASSERT_STRING_EQUAL(row_str(routes, 1, "destination"), "C");
	CU_ASSERT_STRING_EQUAL(row_str(routes, 1, "next_hop"), "C");
	CU_ASSERT_STRING_EQUAL(row_str(routes, 1, "km_link"), "kac");
	json_decref(r);
	r = call(tri[0].sock, "route show A C k=3", err, sizeof(err));
	routes = json_object_get(r, "routes");
	CU_ASSERT_EQUAL(json_array_size(routes), 2); /* direct and via B, nothing else */
	CU_ASSERT_STRING_EQUAL(row_str(routes, 0, "path"), "A>C");
	CU_ASSERT_STRING_EQUAL(row_str(routes, 1, "path"), "A>B>C");
	json_decref(r);
	/* every node's number reached A through its LSA (sorted by name: A, B, C) */
	r = call(tri[0].sock, "show lsdb", err, sizeof(err));
	json_t *db = json_object_get(r, "lsdb");
	CU_ASSERT_EQUAL(json_array_size(db), 3);
	for (size_t i = 0; i < json_array_size(db); i++) {
		json_t *e = json_array_get(db, i);
		const char *o = json_string_value(json_object_get(e, "origin"));
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "number")), 101 + (o[0] - 'A'));
	}
	json_decref(r);
	/* C's configured [relay] session to A was routed once the LSDB had a path */
	CU_ASSERT_STRING_EQUAL(relay_state_of(tri[2].sock, path, sizeof(path)), "active");
	CU_ASSERT_STRING_EQUAL(path, "C>A");

	r = call(tri[0].sock, "relay add C target=65536", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "state")), "active");
	json_decref(r);
	CU_ASSERT_STRING_EQUAL(relay_state_of(tri[0].sock, path, sizeof(path)), "active");
	CU_ASSERT_STRING_EQUAL(path, "A>C");
	/* A-C fails at A: moved at once, epoch 2, relay told to MOVE */
	r = call(tri[0].sock, "link down kac", err, sizeof(err));
	json_decref(r);
	CU_ASSERT_STRING_EQUAL(relay_state_of(tri[0].sock, path, sizeof(path)), "active");
	CU_ASSERT_STRING_EQUAL(path, "A>B>C");
	struct cp_sim_counts k;
	cp_sim_counts(tri[0].sim, &k);
	CU_ASSERT_EQUAL(k.relay_establish, 1u);
	CU_ASSERT_EQUAL(k.relay_move, 1u);
	CU_ASSERT_EQUAL(k.last_relay_epoch, 2u);
	/* B-C fails at B: A learns it by LSA and reports the session unroutable */
	r = call(tri[1].sock, "link down kbc", err, sizeof(err));
	json_decref(r);
	wait_for(a_unroutable, NULL, 3000);
	CU_ASSERT_STRING_EQUAL(relay_state_of(tri[0].sock, path, sizeof(path)), "unroutable");
	r = call(tri[0].sock, "session add appA appC rate=1000", err, sizeof(err));
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_STRING_EQUAL(err, "session refused: unknown SAE 'appC'");
	r = call(tri[0].sock, "show stats", err, sizeof(err));
	json_t *alarms = json_object_get(r, "alarms");
	bool seen = false;
	for (size_t i = 0; i < json_array_size(alarms); i++)
		seen |= !strcmp(row_str(alarms, i, "alarm"), "relay_unroutable");
	CU_ASSERT(seen);
	json_decref(r);
	/* repair: once the worker has restarted the link the session is established again */
	json_decref(call(tri[0].sock, "link up kac", err, sizeof(err)));
	wait_for(a_active, NULL, 3000);
	CU_ASSERT_STRING_EQUAL(relay_state_of(tri[0].sock, path, sizeof(path)), "active");
	CU_ASSERT_STRING_EQUAL(path, "A>C");
	r = call(tri[0].sock, "show lsdb", err, sizeof(err));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "lsdb")), 3);
	json_decref(r);
	for (int i = 2; i >= 0; i--)
		node_down(&tri[i]);
}

/* The node's KM-link resyncs reach show stats, /metrics and the Mk status report; three failed
 * resyncs in a row raise an alarm on the link, a success clears it. */
static struct node rsn;
static int resync_alarm_is(void *want)
{
	char err[256];
	json_t *r = call(rsn.sock, "show stats", err, sizeof(err));
	json_t *alarms = json_object_get(r, "alarms");
	int seen = 0;
	for (size_t i = 0; i < json_array_size(alarms); i++)
		seen |= !strcmp(row_str(alarms, i, "alarm"), "resync_failing") &&
			!strcmp(row_str(alarms, i, "object"), "kab");
	json_decref(r);
	return seen == *(int *)want;
}

static void test_resync_reported(void)
{
	char text[1024], err[256];
	snprintf(text, sizeof(text),
		 "[node]\nid = A\nlcores = 1\ncontrol_socket = %s/rs.sock\nrouting_period_ms = 50\n"
		 "[qkd_link ab]\nid = 1\npeer = B\n[km_link kab]\npeer = B\nqkd_link = ab\n", dir);
	node_up(&rsn, text, false);
	struct cp_sim_link sl;
	CU_ASSERT_EQUAL_FATAL(cp_sim_get(rsn.sim, "kab", &sl), 0);
	sl.resyncs = 2;
	sl.resync_failures = 4;
	sl.resync_alarm = true;
	CU_ASSERT_EQUAL(cp_sim_set(rsn.sim, "kab", &sl), 0);
	int one = 1, zero = 0;
	wait_for(resync_alarm_is, &one, 3000);
	CU_ASSERT_TRUE(resync_alarm_is(&one));
	json_t *r = call(rsn.sock, "show stats", err, sizeof(err));
	json_t *l = json_array_get(json_object_get(r, "links"), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(l, "resyncs")), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(l, "resync_failures")), 4);
	json_decref(r);
	json_t *stats = cp_ctrl_stats(rsn.ctrl);
	char *m = cp_metrics_text(stats);
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "# TYPE qkd_km_link_resync_failures_total counter\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "qkd_km_link_resync_failures_total{node=\"A\",link=\"kab\"} 4\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "qkd_km_link_resyncs_total{node=\"A\",link=\"kab\"} 2\n"));
	free(m);
	json_decref(stats);
	sl.resyncs = 3;
	sl.resync_alarm = false;
	CU_ASSERT_EQUAL(cp_sim_set(rsn.sim, "kab", &sl), 0);
	wait_for(resync_alarm_is, &zero, 3000);
	CU_ASSERT_TRUE(resync_alarm_is(&zero));
	node_down(&rsn);
}

/* A neighbour announcing another number than the configured peer_number: alarm, and the KM link
 * is advertised down (no relay may cross it). */
static struct node mm[2];
static int mm_alarm(void *arg)
{
	char err[256];
	json_t *r = call(mm[0].sock, "show stats", err, sizeof(err));
	json_t *alarms = json_object_get(r, "alarms");
	int seen = 0;
	for (size_t i = 0; i < json_array_size(alarms); i++)
		seen |= !strcmp(row_str(alarms, i, "alarm"), "number_mismatch");
	json_decref(r);
	return seen;
}

static void test_number_mismatch(void)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "[node]\nid = X\nnumber = 5\nlcores = 1\ncontrol_socket = %s/X.sock\n"
		 "listen = 127.0.0.1:0\nrouting_period_ms = 50\n[qkd_link q]\nid = 1\npeer = Y\n"
		 "[km_link k]\npeer = Y\nqkd_link = q\npeer_number = 7\n", dir);
	node_up(&mm[0], text, false);
	snprintf(text, sizeof(text),
		 "[node]\nid = Y\nnumber = 6\nlcores = 1\ncontrol_socket = %s/Y.sock\n"
		 "listen = 127.0.0.1:0\nrouting_period_ms = 50\n[qkd_link q]\nid = 1\npeer = X\n"
		 "[km_link k]\npeer = X\nqkd_link = q\npeer_number = 5\naddress = 127.0.0.1:%u\n",
		 dir, cp_ctrl_lsa_port(mm[0].ctrl));
	node_up(&mm[1], text, false);
	wait_for(mm_alarm, NULL, 3000);
	CU_ASSERT(mm_alarm(NULL));
	char err[256];
	json_t *r = call(mm[0].sock, "route show X Y", err, sizeof(err));
	CU_ASSERT_PTR_NULL(r); /* the link is advertised down by X */
	CU_ASSERT_STRING_EQUAL(err, "no route from X to Y");
	node_down(&mm[1]);
	node_down(&mm[0]);
}

/* Mutual TLS on the link-state protocol: a node whose certificate names someone else than the id
 * it claims is refused (no LSA accepted); the genuine node converges. */
static struct node tls_a;
static int a_routes_to_b(void *arg)
{
	char err[256];
	json_t *r = call(tls_a.sock, "show routes", err, sizeof(err));
	size_t n = json_array_size(json_object_get(r, "routes"));
	json_decref(r);
	return n == 1;
}

static void test_tls_neighbours(void)
{
	const char *names[] = {"A", "B", "M"};
	CU_ASSERT_EQUAL_FATAL(cp_tls_make_test_pki(dir, names, 3), 0);
	char text[2048];
	const char *link = "[qkd_link qab]\nid = 1\npeer = %s\n[km_link kab]\npeer = %s\nqkd_link = qab\n"
			   "capacity_bits = 1000000\n%s";
	char la[512], lb[512], addr[64];
	snprintf(la, sizeof(la), link, "B", "B", "");
	snprintf(text, sizeof(text),
		 "[node]\nid = A\nlcores = 1\ncontrol_socket = %s/ta.sock\nlisten = 127.0.0.1:0\n"
		 "routing_period_ms = 50\ntls_ca = %s/ca.pem\ntls_cert = %s/A.pem\ntls_key = %s/A.key\n%s",
		 dir, dir, dir, dir, la);
	node_up(&tls_a, text, false);
	snprintf(addr, sizeof(addr), "address = 127.0.0.1:%u\n", cp_ctrl_lsa_port(tls_a.ctrl));
	snprintf(lb, sizeof(lb), link, "A", "A", addr);
	/* the impostor: claims to be B with M's certificate */
	struct node rogue = {0};
	snprintf(text, sizeof(text),
		 "[node]\nid = B\nlcores = 1\ncontrol_socket = %s/tr.sock\nrouting_period_ms = 50\n"
		 "tls_ca = %s/ca.pem\ntls_cert = %s/M.pem\ntls_key = %s/M.key\n%s",
		 dir, dir, dir, dir, lb);
	node_up(&rogue, text, false);
	usleep(300000);
	char err[256];
	json_t *r = call(tls_a.sock, "show stats", err, sizeof(err));
	CU_ASSERT(json_integer_value(json_object_get(json_object_get(r, "counters"), "lsa_bad")) >= 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(r, "counters"), "lsa_rx")), 0);
	json_decref(r);
	CU_ASSERT_FALSE(a_routes_to_b(NULL));
	node_down(&rogue);
	struct node b = {0};
	snprintf(text, sizeof(text),
		 "[node]\nid = B\nlcores = 1\ncontrol_socket = %s/tb.sock\nrouting_period_ms = 50\n"
		 "tls_ca = %s/ca.pem\ntls_cert = %s/B.pem\ntls_key = %s/B.key\n%s",
		 dir, dir, dir, dir, lb);
	node_up(&b, text, false);
	wait_for(a_routes_to_b, NULL, 5000);
	CU_ASSERT_TRUE(a_routes_to_b(NULL));
	node_down(&b);
	node_down(&tls_a);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ctrl-test-%d", (int)getpid());
	mkdir(dir, 0700);
	CU_TestInfo tests[] = {{"single node: commands, rings, snapshot, reload", test_single_node},
			       {"node number mismatch", test_number_mismatch},
			       {"KM-link resyncs in stats, metrics; failing resyncs alarm", test_resync_reported},
			       {"three nodes: LSA flooding and rerouting", test_three_nodes},
			       {"mutual TLS between neighbours", test_tls_neighbours},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"ctrl", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
	int rc = unit_run(suites);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
