/* The central QKDN controller: TLS listener for the nodes, the network-wide link-state database
 * fed by their reports, route computation shortly after every change (reports arriving together
 * are coalesced), and a routes push to every connected node whose view changed. */
#include "cp_central.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_addr.h"
#include "cp_ctl.h"
#include "cp_tls.h"

#define EXPIRE_CHECK_MS 1000

struct cconn;

struct cnode {
	char id[CP_NAME_MAX];
	struct cconn *conn; /* NULL while disconnected */
	char addr[64];
	struct cp_cen_edge *hold;
	unsigned n_hold;
	struct cp_cen_edge *pushed; /* the last view sent */
	unsigned n_pushed, cap_pushed;
	struct cp_cen_number *pushed_num;
	unsigned n_pushed_num;
	bool pushed_valid;
	uint64_t generation, pushes, reports, last_report_ms;
	struct cnode *next;
};

struct cconn {
	struct cp_cen_server *s;
	struct bufferevent *bev;
	char addr[64];
	struct cnode *node;
	struct cconn *next;
};

struct cp_cen_server {
	struct event_base *base;
	SSL_CTX *ssl;
	struct evconnlistener *lis;
	uint16_t port;
	struct cp_cost_params cost;
	unsigned batch_ms, max_age_s, warmup_ms;
	uint64_t start_ms;
	bool warm;
	struct cp_lsdb db;
	struct cp_central x;
	bool dirty, built;
	struct cnode *nodes;
	struct cconn *conns;
	struct event *compute_ev, *expire_ev;
	struct cp_cen_edge *view;
	unsigned view_cap;
	struct cp_cen_number *num;
	unsigned num_cap;
	uint64_t reports, rejected, refused, computes, pushes;
	double last_compute_us;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void send_line(struct cconn *k, char *s)
{
	if (s) {
		bufferevent_write(k->bev, s, strlen(s));
		bufferevent_write(k->bev, "\n", 1);
	}
	free(s);
}

static void send_failure(struct cconn *k, const char *fmt, ...)
{
	struct cp_cen_msg f = {.type = CP_CEN_FAILURE};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f.reason, sizeof(f.reason), fmt, ap);
	va_end(ap);
	send_line(k, cp_cen_encode(&f));
}

static void conn_free(struct cconn *k)
{
	struct cconn **pp = &k->s->conns;
	while (*pp && *pp != k)
		pp = &(*pp)->next;
	if (*pp)
		*pp = k->next;
	if (k->node)
		k->node->conn = NULL;
	bufferevent_free(k->bev);
	free(k);
}

/* Close after what was queued (a refusal) has been written. */
static void on_flushed_close(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(arg);
}

static void close_after_write(struct cconn *k)
{
	bufferevent_disable(k->bev, EV_READ);
	bufferevent_setcb(k->bev, NULL, on_flushed_close, NULL, k);
	on_flushed_close(k->bev, k);
}

static struct cnode *node_find(struct cp_cen_server *s, const char *id)
{
	for (struct cnode *n = s->nodes; n; n = n->next)
		if (!strcmp(n->id, id))
			return n;
	return NULL;
}

/* Compute batch_ms after the first change, and no sooner than the last computation took (a
 * large network's reports coalesce more: the controller stays at most half busy). */
static void schedule(struct cp_cen_server *s)
{
	if (s->dirty)
		return;
	s->dirty = true;
	uint64_t us = (uint64_t)s->batch_ms * 1000;
	if (s->last_compute_us > (double)us)
		us = (uint64_t)s->last_compute_us;
	struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
	event_add(s->compute_ev, &tv);
}

/* Send node its view (s->view, s->num) unless it already has exactly this one. */
static void push(struct cp_cen_server *s, struct cnode *n, unsigned count, unsigned n_num)
{
	if (n->pushed_valid && count == n->n_pushed && n_num == n->n_pushed_num &&
	    !memcmp(s->view, n->pushed, count * sizeof(*s->view)) &&
	    !memcmp(s->num, n->pushed_num, n_num * sizeof(*s->num)))
		return;
	struct cp_cen_number *pn = realloc(n->pushed_num, (n_num ? n_num : 1) * sizeof(*pn));
	if (pn)
		n->pushed_num = pn;
	if (count > n->cap_pushed) {
		struct cp_cen_edge *v = realloc(n->pushed, count * sizeof(*v));
		if (v) {
			n->pushed = v;
			n->cap_pushed = count;
		}
	}
	if (!pn || count > n->cap_pushed)
		return; /* out of memory: try at the next change */
	bool numbers = !n->pushed_valid || n_num != n->n_pushed_num ||
		       memcmp(s->num, n->pushed_num, n_num * sizeof(*s->num));
	memcpy(n->pushed, s->view, count * sizeof(*s->view));
	memcpy(n->pushed_num, s->num, n_num * sizeof(*s->num));
	n->n_pushed = count;
	n->n_pushed_num = n_num;
	n->pushed_valid = true;
	struct cp_cen_msg m = {.type = CP_CEN_ROUTES, .seq = ++n->generation, .edges = n->pushed,
			       .n_edges = count, .numbers = n->pushed_num, .n_numbers = n_num,
			       .numbers_present = numbers};
	strcpy(m.node, n->id);
	send_line(n->conn, cp_cen_encode(&m));
	n->pushes++;
	s->pushes++;
}

/* Some node has reported, and every node the database names (origin or peer) has. */
static bool all_reported(const struct cp_cen_server *s)
{
	if (!s->db.n)
		return false; /* an empty database is not a known network */
	for (unsigned i = 0; i < s->db.n; i++)
		for (unsigned k = 0; k < s->db.v[i].lsa.n_links; k++)
			if (!cp_lsdb_find(&s->db, s->db.v[i].lsa.links[k].peer))
				return false;
	return true;
}

/* A (re)started controller knows only the nodes that reported so far: a view computed on part of
 * the network would tear down sessions that are fine. Views go out once every node named has
 * reported, or when the warm-up is over (a named node may be dead). */
static bool warm(struct cp_cen_server *s)
{
	if (!s->warm && (mono_ms() - s->start_ms >= s->warmup_ms || all_reported(s)))
		s->warm = true;
	return s->warm;
}

static void compute(struct cp_cen_server *s)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s->dirty = false;
	event_del(s->compute_ev);
	if (cp_central_build(&s->x, &s->db, &s->cost))
		return; /* out of memory: keep the routes already pushed, try at the next change */
	s->built = true;
	if (!warm(s)) { /* look again shortly: a report or the end of the warm-up */
		uint64_t left = s->start_ms + s->warmup_ms - mono_ms();
		struct timeval tv = {0, (int)(left < 100 ? left : 100) * 1000};
		s->dirty = true;
		event_add(s->compute_ev, &tv);
		return;
	}
	for (struct cnode *n = s->nodes; n; n = n->next) {
		if (!n->conn)
			continue;
		int count = cp_central_view(&s->x, n->id, n->hold, n->n_hold, &s->view, &s->view_cap);
		int n_num = count >= 0 ? cp_central_numbers(&s->x, n->id, &s->num, &s->num_cap) : -1;
		if (n_num >= 0)
			push(s, n, (unsigned)count, (unsigned)n_num);
	}
	s->computes++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s->last_compute_us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
			     (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
}

static void on_compute(evutil_socket_t fd, short what, void *arg)
{
	compute(arg);
}

/* A disconnected node's last report is dropped at max age (a connected node is alive). */
static void on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct cp_cen_server *s = arg;
	uint64_t now = mono_ms();
	for (unsigned i = 0; i < s->db.n;) {
		const struct cp_lsdb_entry *e = &s->db.v[i];
		struct cnode *n = node_find(s, e->lsa.origin);
		if ((!n || !n->conn) && cp_lsdb_age(&s->db, e, now) >= s->max_age_s) {
			cp_lsdb_remove(&s->db, e->lsa.origin);
			schedule(s);
		} else {
			i++;
		}
	}
}

static bool same_edges(const struct cp_cen_edge *a, unsigned na, const struct cp_cen_edge *b,
		       unsigned nb)
{
	return na == nb && (!na || !memcmp(a, b, na * sizeof(*a)));
}

static void on_report(struct cconn *k, struct cp_cen_msg *m)
{
	struct cp_cen_server *s = k->s;
	char cn[CP_NAME_MAX];
	if (!cp_tls_peer_cn(bufferevent_openssl_get_ssl(k->bev), cn, sizeof(cn)) ||
	    strcmp(cn, m->node)) {
		s->refused++;
		send_failure(k, "refused: certificate CN '%s' does not match node '%s'", cn, m->node);
		close_after_write(k);
		return;
	}
	if (k->node && strcmp(k->node->id, m->node)) {
		s->rejected++;
		send_failure(k, "this connection reports for %s, not %s", k->node->id, m->node);
		return;
	}
	struct cnode *n = k->node ? k->node : node_find(s, m->node);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			send_failure(k, "controller out of memory");
			return;
		}
		strcpy(n->id, m->node);
		n->next = s->nodes;
		s->nodes = n;
	}
	bool first = n->conn != k;
	if (first) { /* the node (re)connected: its sequence may have restarted, push it all */
		if (n->conn)
			conn_free(n->conn); /* an older connection of the same node */
		n->conn = k;
		k->node = n;
		snprintf(n->addr, sizeof(n->addr), "%s", k->addr);
		n->pushed_valid = false;
		cp_lsdb_remove(&s->db, n->id);
	}
	s->reports++;
	n->reports++;
	n->last_report_ms = mono_ms();
	bool changed = first;
	if (!same_edges(n->hold, n->n_hold, m->edges, m->n_edges)) {
		free(n->hold);
		n->hold = m->edges; /* taken over */
		n->n_hold = m->n_edges;
		m->edges = NULL;
		m->n_edges = 0;
		changed = true;
	}
	if (cp_lsdb_install(&s->db, &m->lsa, mono_ms()) == 1)
		changed = true;
	if (changed)
		schedule(s);
}

static void handle(struct cconn *k, const char *line, size_t len)
{
	struct cp_cen_msg m;
	char why[CP_CEN_REASON_MAX];
	if (cp_cen_decode(line, len, &m, why, sizeof(why))) {
		k->s->rejected++;
		if (m.type != CP_CEN_FAILURE) /* never answer a failure with a failure */
			send_failure(k, "%s", why);
		return;
	}
	if (m.type == CP_CEN_REPORT)
		on_report(k, &m);
	else if (m.type != CP_CEN_FAILURE) {
		k->s->rejected++;
		send_failure(k, "a controller accepts report messages only, not %s",
			     m.type == CP_CEN_ROUTES ? "routes" : "this");
	}
	cp_cen_msg_clear(&m);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct cconn *k = arg;
	struct cp_cen_server *s = k->s;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		struct cconn *x;
		handle(k, line, len);
		free(line);
		for (x = s->conns; x && x != k; x = x->next)
			;
		if (!x || !(bufferevent_get_enabled(bev) & EV_READ))
			return; /* closed or closing */
	}
	if (evbuffer_get_length(in) > CP_CEN_MAX_LINE) {
		s->rejected++;
		send_failure(k, "message line longer than %u bytes", CP_CEN_MAX_LINE);
		close_after_write(k);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		      void *arg)
{
	struct cp_cen_server *s = arg;
	struct cconn *k = calloc(1, sizeof(*k));
	if (!k || !(k->bev = cp_tls_bev(s->base, s->ssl, fd, true))) {
		if (!k)
			evutil_closesocket(fd);
		free(k);
		return;
	}
	k->s = s;
	cp_addr_format(sa, k->addr, sizeof(k->addr));
	bufferevent_setcb(k->bev, on_read, NULL, on_event, k);
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
	k->next = s->conns;
	s->conns = k;
}

struct cp_cen_server *cp_cen_server_create(struct event_base *base,
					   const struct cp_cen_server_opts *o, char *err,
					   size_t errlen)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	if (!o->listen || cp_addr_parse(o->listen, &ss, &sl)) {
		snprintf(err, errlen, "listen address '%s' is not numeric host:port",
			 o->listen ? o->listen : "");
		return NULL;
	}
	struct cp_cen_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base = base;
	s->cost = o->cost;
	s->batch_ms = o->batch_ms;
	s->max_age_s = o->max_age_s ? o->max_age_s : 120;
	s->warmup_ms = o->warmup_ms;
	s->start_ms = mono_ms();
	cp_lsdb_init(&s->db, s->max_age_s);
	s->ssl = cp_tls_ctx(true, o->ca, o->cert, o->key, err, errlen);
	if (!s->ssl) {
		free(s);
		return NULL;
	}
	s->compute_ev = event_new(base, -1, 0, on_compute, s);
	s->expire_ev = event_new(base, -1, EV_PERSIST, on_expire, s);
	s->lis = evconnlistener_new_bind(base, on_accept, s,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						 LEV_OPT_CLOSE_ON_EXEC,
					 64, (struct sockaddr *)&ss, sl);
	if (!s->lis || !s->compute_ev || !s->expire_ev) {
		snprintf(err, errlen, "listen %s: %s", o->listen, strerror(errno));
		cp_cen_server_free(s);
		return NULL;
	}
	struct timeval tv = {EXPIRE_CHECK_MS / 1000, (EXPIRE_CHECK_MS % 1000) * 1000};
	event_add(s->expire_ev, &tv);
	s->port = cp_addr_port(evconnlistener_get_fd(s->lis));
	return s;
}

void cp_cen_server_free(struct cp_cen_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_free(s->conns);
	while (s->nodes) {
		struct cnode *n = s->nodes;
		s->nodes = n->next;
		free(n->hold);
		free(n->pushed);
		free(n->pushed_num);
		free(n);
	}
	if (s->lis)
		evconnlistener_free(s->lis);
	if (s->compute_ev)
		event_free(s->compute_ev);
	if (s->expire_ev)
		event_free(s->expire_ev);
	cp_central_release(&s->x);
	cp_lsdb_clear(&s->db);
	free(s->view);
	free(s->num);
	SSL_CTX_free(s->ssl);
	free(s);
}

uint16_t cp_cen_server_port(const struct cp_cen_server *s)
{
	return s->port;
}

/* ---- CLI ---- */

static json_t *show_nodes(struct cp_cen_server *s)
{
	json_t *t = json_array();
	uint64_t now = mono_ms();
	for (unsigned i = 0; i < s->db.n; i++) { /* nodes that reported, plus peers named by them */
		const struct cp_lsa *l = &s->db.v[i].lsa;
		struct cnode *n = node_find(s, l->origin);
		unsigned up = 0;
		for (unsigned k = 0; k < l->n_links; k++)
			up += l->links[k].attr.up;
		char links[24];
		snprintf(links, sizeof(links), "%u/%u", up, l->n_links);
		json_array_append_new(
			t, json_pack("{s:s,s:s,s:s,s:s,s:I,s:f,s:i,s:I,s:I}", "node", l->origin,
				     "connected", n && n->conn ? "yes" : "no", "address",
				     n ? n->addr : "-", "links_up", links, "reports",
				     (json_int_t)(n ? n->reports : 0), "age_s",
				     n ? (double)(now - n->last_report_ms) / 1000.0 : 0.0, "view_edges",
				     n && n->pushed_valid ? (int)n->n_pushed : 0, "generation",
				     (json_int_t)(n ? n->generation : 0), "pushes",
				     (json_int_t)(n ? n->pushes : 0)));
	}
	return json_pack("{s:o}", "nodes", t);
}

static const struct cp_lsa_link *advert(const struct cp_lsdb *db, const char *from, const char *to)
{
	const struct cp_lsdb_entry *e = cp_lsdb_find(db, from);
	for (unsigned i = 0; e && i < e->lsa.n_links; i++)
		if (!strcmp(e->lsa.links[i].peer, to))
			return &e->lsa.links[i];
	return NULL;
}

/* Every KM link once (a < b), with what each end reports and the cost routing uses. */
static json_t *show_links(struct cp_cen_server *s)
{
	json_t *t = json_array();
	const struct cp_lsdb_graph *lg = &s->x.lg;
	for (unsigned i = 0; i < s->db.n; i++) {
		const struct cp_lsa *l = &s->db.v[i].lsa;
		for (unsigned k = 0; k < l->n_links; k++) {
			const struct cp_lsa_link *ab = &l->links[k];
			const struct cp_lsa_link *ba = advert(&s->db, ab->peer, l->origin);
			if (ba && strcmp(l->origin, ab->peer) > 0)
				continue; /* listed from the other end */
			const char *a = ba || strcmp(l->origin, ab->peer) < 0 ? l->origin : ab->peer;
			const char *b = a == l->origin ? ab->peer : l->origin;
			const char *state = !ba ? "one-way" : ab->attr.up && ba->attr.up ? "up" : "down";
			double cost = CP_COST_INF;
			uint32_t x = lg->g ? cp_lsdb_graph_node(lg, a) : CP_NODE_NONE;
			uint32_t y = lg->g ? cp_lsdb_graph_node(lg, b) : CP_NODE_NONE;
			int e = x != CP_NODE_NONE && y != CP_NODE_NONE ? cp_graph_find_edge(lg->g, x, y)
								       : -ENOENT;
			if (e >= 0)
				cost = lg->g->cost[e];
			if (!strcmp(state, "up") && cost == CP_COST_INF)
				state = "unusable"; /* below low water */
			/* a's figures; a one-way link has only the advertising end's */
			const struct cp_lsa_link *r = a == l->origin || !ba ? ab : ba;
			json_array_append_new(
				t, json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:I}", "a", a, "b", b, "state",
					     state, "cost",
					     cost == CP_COST_INF ? json_string("-") : json_real(cost),
					     "avail_bits", (json_int_t)r->attr.avail, "capacity_bits",
					     (json_int_t)r->attr.max, "rate_bps", (json_int_t)r->rate_bps));
		}
	}
	return json_pack("{s:o}", "links", t);
}

static void route_rows(struct cp_cen_server *s, uint32_t src, json_t *t)
{
	const struct cp_lsdb_graph *lg = &s->x.lg;
	uint32_t *path = malloc(lg->n * sizeof(*path));
	if (!path || cp_dijkstra(lg->g, src, NULL, NULL, s->x.spt)) {
		free(path);
		return;
	}
	for (uint32_t v = 0; v < lg->n; v++) {
		int len = v == src ? 0 : cp_spt_path(s->x.spt, v, path, lg->n);
		if (len < 2)
			continue;
		json_array_append_new(t, json_pack("{s:s,s:s,s:s,s:f,s:i}", "node", lg->names[src],
						   "destination", lg->names[v], "next_hop",
						   lg->names[path[1]], "cost", s->x.spt->dist[v],
						   "hops", len - 1));
	}
	free(path);
}

static int show_routes(struct cp_cen_server *s, const char *node, json_t **res, char *err,
		       size_t el)
{
	const struct cp_lsdb_graph *lg = &s->x.lg;
	json_t *t = json_array();
	if (node) {
		uint32_t v = lg->g ? cp_lsdb_graph_node(lg, node) : CP_NODE_NONE;
		if (v == CP_NODE_NONE) {
			json_decref(t);
			return cp_ctl_fail(err, el, -ENOENT, "unknown node '%s'", node);
		}
		route_rows(s, v, t);
	} else {
		for (uint32_t v = 0; lg->g && v < lg->n; v++)
			route_rows(s, v, t);
	}
	*res = json_pack("{s:o}", "routes", t);
	return 0;
}

static int route_show(struct cp_cen_server *s, size_t argc, const char *const *v, json_t **res,
		      char *err, size_t el)
{
	unsigned long k = 1;
	if (argc == 5) {
		char *end;
		if (strncmp(v[4], "k=", 2) || (k = strtoul(v[4] + 2, &end, 10), *end) || v[4][2] == 0 ||
		    k < 1 || k > 16)
			return cp_ctl_fail(err, el, -EINVAL, "k must be an integer in [1, 16], got '%s'", v[4]);
	}
	const struct cp_lsdb_graph *lg = &s->x.lg;
	uint32_t a = lg->g ? cp_lsdb_graph_node(lg, v[2]) : CP_NODE_NONE;
	uint32_t b = lg->g ? cp_lsdb_graph_node(lg, v[3]) : CP_NODE_NONE;
	if (a == CP_NODE_NONE || b == CP_NODE_NONE)
		return cp_ctl_fail(err, el, -ENOENT, "unknown node '%s'", a == CP_NODE_NONE ? v[2] : v[3]);
	if (a == b)
		return cp_ctl_fail(err, el, -EINVAL, "from and to are the same node");
	struct cp_path p[16];
	int n = cp_yen(lg->g, a, b, (unsigned)k, p);
	if (n < 0)
		return cp_ctl_fail(err, el, n, "route computation failed: %s", strerror(-n));
	if (n == 0)
		return cp_ctl_fail(err, el, -EHOSTUNREACH, "no route from %s to %s", v[2], v[3]);
	json_t *t = json_array();
	for (int i = 0; i < n; i++) {
		char buf[4096];
		size_t off = 0;
		buf[0] = 0;
		for (uint32_t h = 0; h < p[i].len && off < sizeof(buf); h++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", h ? ">" : "",
						lg->names[p[i].nodes[h]]);
		json_array_append_new(t, json_pack("{s:i,s:f,s:i,s:s}", "rank", i + 1, "cost",
						   p[i].cost, "hops", (int)p[i].len - 1, "path", buf));
	}
	cp_paths_release(p, (unsigned)n);
	*res = json_pack("{s:o}", "routes", t);
	return 0;
}

json_t *cp_cen_server_status(struct cp_cen_server *s)
{
	if (s->dirty || !s->built)
		compute(s);
	json_t *ext = json_array(), *alarms = json_array();
	uint64_t now = mono_ms();
	unsigned connected = 0;
	for (unsigned i = 0; i < s->db.n; i++) {
		const struct cp_lsa *l = &s->db.v[i].lsa;
		struct cnode *n = node_find(s, l->origin);
		unsigned up = 0;
		for (unsigned k = 0; k < l->n_links; k++)
			up += l->links[k].attr.up;
		connected += n && n->conn;
		json_array_append_new(
			ext, json_pack("{s:s,s:s,s:s,s:i,s:i,s:f,s:I}", "type", "node", "node",
				       l->origin, "state",
				       n && n->conn ? "connected" : "disconnected", "links", l->n_links,
				       "links_up", up, "age_s",
				       n ? (double)(now - n->last_report_ms) / 1000.0 : 0.0, "generation",
				       (json_int_t)(n ? n->generation : 0)));
		char detail[128];
		if (!n || !n->conn) {
			snprintf(detail, sizeof(detail), "node %s is not connected (its last report is "
				 "used until it ages out)", l->origin);
			json_array_append_new(alarms, json_pack("{s:s,s:s,s:s,s:s}", "type", "alarm",
								"alarm", "node_disconnected",
								"object", l->origin, "detail", detail));
		}
	}
	json_t *links = show_links(s);
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(links, "links"), i, x)
	{
		const char *st = json_string_value(json_object_get(x, "state"));
		if (!strcmp(st, "up"))
			continue;
		char obj[2 * CP_NAME_MAX + 2], detail[128];
		snprintf(obj, sizeof(obj), "%s-%s", json_string_value(json_object_get(x, "a")),
			 json_string_value(json_object_get(x, "b")));
		snprintf(detail, sizeof(detail), "KM link %s is %s", obj, st);
		json_array_append_new(alarms, json_pack("{s:s,s:s,s:s,s:s}", "type", "alarm", "alarm",
							!strcmp(st, "one-way") ? "link_one_way"
									       : "link_down",
							"object", obj, "detail", detail));
	}
	json_decref(links);
	json_array_insert_new(
		ext, 0,
		json_pack("{s:s,s:i,s:i,s:b,s:I,s:I,s:I,s:I,s:f}", "type", "controller", "nodes",
			  (int)s->db.n, "connected", (int)connected, "warm", warm(s), "reports",
			  (json_int_t)s->reports, "rejected", (json_int_t)(s->rejected + s->refused),
			  "computes", (json_int_t)s->computes, "pushes", (json_int_t)s->pushes,
			  "last_compute_us", s->last_compute_us));
	json_array_extend(ext, alarms);
	json_decref(alarms);
	return ext;
}

int cp_cen_server_command(struct cp_cen_server *s, json_t *argv, json_t **res, char *err,
			  size_t el)
{
	const char *v[8];
	size_t n = json_array_size(argv);
	if (n == 0 || n > 8)
		return cp_ctl_fail(err, el, -EINVAL, "unknown command (try 'help')");
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = json_string_value(json_array_get(argv, i))))
			return cp_ctl_fail(err, el, -EINVAL, "arguments must be strings");
	if (s->dirty || !s->built)
		compute(s); /* answer on the current database (built even while warming up) */
	*res = NULL;
	if (!strcmp(v[0], "show") && n == 2 && !strcmp(v[1], "nodes")) {
		*res = show_nodes(s);
		return 0;
	}
	if (!strcmp(v[0], "show") && n == 2 && !strcmp(v[1], "links")) {
		*res = show_links(s);
		return 0;
	}
	if (!strcmp(v[0], "show") && (n == 2 || n == 3) && !strcmp(v[1], "routes"))
		return show_routes(s, n == 3 ? v[2] : NULL, res, err, el);
	if (!strcmp(v[0], "show") && n == 2 && !strcmp(v[1], "stats")) {
		*res = json_pack("{s:i,s:i,s:b,s:I,s:I,s:I,s:I,s:I,s:f}", "nodes", (int)s->db.n,
				 "graph_nodes", (int)s->x.lg.n, "warm", warm(s),
				 "reports", (json_int_t)s->reports,
				 "rejected", (json_int_t)s->rejected, "refused",
				 (json_int_t)s->refused, "computes", (json_int_t)s->computes,
				 "pushes", (json_int_t)s->pushes, "last_compute_us",
				 s->last_compute_us);
		return 0;
	}
	if (!strcmp(v[0], "route") && (n == 4 || n == 5) && !strcmp(v[1], "show"))
		return route_show(s, n, v, res, err, el);
	if (!strcmp(v[0], "help") && n == 1) {
		*res = json_pack("{s:[{s:s},{s:s},{s:s},{s:s},{s:s}]}", "commands", "command",
				 "show nodes", "command", "show links", "command",
				 "show routes [node]", "command", "show stats", "command",
				 "route show <from> <to> [k=n]");
		return 0;
	}
	if (!strcmp(v[0], "show"))
		return cp_ctl_fail(err, el, -EINVAL, "usage: show nodes|links|stats | show routes [node]");
	if (!strcmp(v[0], "route"))
		return cp_ctl_fail(err, el, -EINVAL, "usage: route show <from> <to> [k=n]");
	return cp_ctl_fail(err, el, -EINVAL, "unknown command '%s' (try 'help')", v[0]);
}
