/* Control-socket commands (argv form, docs/control.md): show, link, session, relay, route,
 * config, key. Each returns a JSON result or a one-line error and changes nothing on error. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cp_version.h"
#include "ctrl_internal.h"

struct args {
	size_t n;
	const char *v[32];
};

static int fail(char *err, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return rc;
}

/* "key=value" options after the positional arguments. */
static int opt_u64(const struct args *a, size_t from, const char *key, uint64_t *out, uint64_t max,
		   char *err, size_t errlen)
{
	size_t kl = strlen(key);
	for (size_t i = from; i < a->n; i++) {
		if (strncmp(a->v[i], key, kl) || a->v[i][kl] != '=')
			continue;
		const char *v = a->v[i] + kl + 1;
		char *end;
		errno = 0;
		unsigned long long x = strtoull(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-' || x > max)
			return fail(err, errlen, -EINVAL, "%s must be an integer in [0, %llu], got '%s'",
				    key, (unsigned long long)max, v);
		*out = x;
	}
	return 0;
}

static int check_opts(const struct args *a, size_t from, const char *const *allowed, char *err,
		      size_t errlen)
{
	for (size_t i = from; i < a->n; i++) {
		const char *eq = strchr(a->v[i], '=');
		bool ok = false;
		for (const char *const *k = allowed; eq && *k; k++)
			ok |= strlen(*k) == (size_t)(eq - a->v[i]) && !strncmp(*k, a->v[i], strlen(*k));
		if (!ok)
			return fail(err, errlen, -EINVAL, "unexpected argument '%s'", a->v[i]);
	}
	return 0;
}

static const char *path_str(const struct cp_relay_session *r, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (unsigned h = 0; h <= r->hops && off < len; h++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", h ? ">" : "", r->path[h]);
	return buf;
}

static json_t *show_links(struct cp_ctrl *c)
{
	json_t *t = json_array();
	const struct cp_config *cfg = c->cfg;
	json_t *stats = json_object_get(c->stats, "links");
	for (unsigned q = 0; q < cfg->n_qkd_links; q++) {
		const struct cp_cfg_qkd_link *l = &cfg->qkd_links[q];
		const char *km = "-", *state = c->admin_up[q] ? "up" : "admin-down";
		double skr = 0, qber = 0;
		size_t i;
		json_t *s;
		json_array_foreach(stats, i, s) if (!strcmp(json_string_value(json_object_get(s, "qkd_link")), l->name))
		{
			km = json_string_value(json_object_get(s, "name"));
			state = json_string_value(json_object_get(s, "state"));
			skr = json_number_value(json_object_get(s, "skr_bps"));
			qber = json_number_value(json_object_get(s, "qber"));
		}
		json_array_append_new(t, json_pack("{s:s,s:i,s:s,s:s,s:i,s:s,s:s,s:f,s:f}", "link",
						   l->name, "id", (int)l->id, "peer", l->peer, "port",
						   l->port[0] ? l->port : "-", "lcore", (int)l->lcore,
						   "km_link", km, "state", state, "skr_bps", skr, "qber",
						   qber));
	}
	return json_pack("{s:o}", "links", t);
}

static json_t *show_keys(struct cp_ctrl *c)
{
	json_t *t = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(c->stats, "links"), i, s)
	{
		json_array_append_new(
			t, json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "km_link",
				     json_object_get(s, "name"), "peer", json_object_get(s, "peer"),
				     "buffer_bits", json_object_get(s, "buffer_bits"), "capacity_bits",
				     json_object_get(s, "capacity_bits"), "fill_pct",
				     json_object_get(s, "fill_pct"), "low_water_bits",
				     json_object_get(s, "low_water_bits"), "fill_rate_bps",
				     json_object_get(s, "fill_rate_bps"), "keys_supplied",
				     json_object_get(s, "keys_supplied"), "ttl_expired",
				     json_object_get(s, "ttl_expired")));
	}
	return json_pack("{s:o}", "keys", t);
}

static json_t *show_routes(struct cp_ctrl *c)
{
	json_t *t = json_array();
	const struct cp_snapshot *s = c->snap; /* the control thread owns the pointer */
	for (unsigned i = 0; s && i < s->n_routes; i++) {
		const struct cp_snap_route *r = &s->routes[i];
		json_array_append_new(t, json_pack("{s:s,s:s,s:s,s:f,s:i}", "destination", r->dst,
						   "next_hop", r->next_hop, "km_link",
						   r->km_link[0] ? r->km_link : "-", "cost", r->cost,
						   "hops", (int)r->hops));
	}
	return json_pack("{s:I,s:o}", "generation", (json_int_t)(s ? s->generation : 0), "routes", t);
}

/* Loop-free paths besides the current one (Yen, k = policy.alternates + 1): does the session
 * have a backup if a link of its path fails? */
static int alternates(struct cp_ctrl *c, const struct cp_relay_session *r)
{
	if (!c->lg.g || r->state != CP_RELAY_ACTIVE)
		return 0;
	uint32_t s = cp_lsdb_graph_node(&c->lg, r->src), d = cp_lsdb_graph_node(&c->lg, r->dst);
	if (s == CP_NODE_NONE || d == CP_NODE_NONE)
		return 0;
	struct cp_path p[17];
	unsigned k = c->cfg->policy.alternates + 1;
	int n = cp_yen(c->lg.g, s, d, k > 17 ? 17 : k, p);
	if (n <= 0)
		return 0;
	cp_paths_release(p, (unsigned)n);
	return n - 1;
}

static json_t *show_sessions(struct cp_ctrl *c)
{
	json_t *relay = json_array(), *app = json_array();
	char buf[CP_PATH_MAX_HOPS * CP_NAME_MAX];
	for (unsigned i = 0; i < c->sess.n_relay; i++) {
		const struct cp_relay_session *r = &c->sess.relay[i];
		json_array_append_new(
			relay,
			json_pack("{s:i,s:s,s:s,s:i,s:s,s:f,s:i,s:I,s:i,s:I,s:I}", "id", (int)r->id, "dst",
				  r->dst, "state", r->state == CP_RELAY_ACTIVE ? "active" : "unroutable",
				  "epoch", (int)r->epoch,
				  "path", r->state == CP_RELAY_ACTIVE ? path_str(r, buf, sizeof(buf)) : "-",
				  "cost", r->state == CP_RELAY_ACTIVE ? r->cost : 0.0, "alternates",
				  alternates(c, r), "target_bits",
				  (json_int_t)r->target_bits, "users", (int)r->users, "reserved_bps",
				  (json_int_t)r->reserved_bps, "reroutes", (json_int_t)r->reroutes));
		const struct cp_relay_progress *p = &r->progress;
		json_object_update_new(json_array_get(relay, json_array_size(relay) - 1),
				       json_pack("{s:I,s:I,s:I,s:I,s:i,s:f}", "keys_relayed",
						 (json_int_t)p->keys_relayed, "bits_relayed",
						 (json_int_t)p->bits_relayed, "keys_failed",
						 (json_int_t)p->keys_failed, "buffered_bits",
						 (json_int_t)p->buffered_bits, "in_flight",
						 (int)p->in_flight, "latency_us", p->latency_us));
	}
	for (unsigned i = 0; i < c->sess.n_app; i++) {
		const struct cp_app_session *a = &c->sess.app[i];
		size_t off = 0;
		for (unsigned k = 0; k < a->n_saes; k++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", k ? "," : "",
						a->saes[k]);
		json_array_append_new(app, json_pack("{s:i,s:s,s:I,s:i,s:i}", "id", (int)a->id, "saes",
						     buf, "rate_bps", (json_int_t)a->rate_bps,
						     "key_bits", (int)a->key_bits, "ttl_s",
						     (int)a->ttl_s));
	}
	return json_pack("{s:o,s:o}", "relay_sessions", relay, "app_sessions", app);
}

static json_t *show_lsdb(struct cp_ctrl *c)
{
	json_t *t = json_array();
	uint64_t now = cp_now_ms();
	for (unsigned i = 0; i < c->db.n; i++) {
		const struct cp_lsdb_entry *e = &c->db.v[i];
		char peers[CP_LSA_MAX_LINKS * (CP_NAME_MAX + 6)];
		size_t off = 0;
		peers[0] = 0;
		for (unsigned k = 0; k < e->lsa.n_links && off < sizeof(peers); k++)
			off += (size_t)snprintf(peers + off, sizeof(peers) - off, "%s%s%s", k ? "," : "",
						e->lsa.links[k].peer,
						e->lsa.links[k].attr.up ? "" : "(down)");
		json_array_append_new(t, json_pack("{s:s,s:I,s:I,s:i,s:s}", "origin", e->lsa.origin,
						   "number", (json_int_t)e->lsa.number, "seq",
						   (json_int_t)e->lsa.seq, "age_s",
						   (int)cp_lsdb_age(&c->db, e, now), "links", peers));
	}
	json_t *n = json_array();
	for (struct cp_nbr *x = c->nbrs; x; x = x->next)
		json_array_append_new(n, json_pack("{s:s,s:s,s:I,s:I}", "peer",
						   x->peer[0] ? x->peer : (x->want[0] ? x->want : "?"),
						   "state", x->peer[0] ? "full" : "hello",
						   "lsa_rx", (json_int_t)x->lsa_rx, "lsa_tx",
						   (json_int_t)x->lsa_tx));
	return json_pack("{s:o,s:o}", "lsdb", t, "neighbours", n);
}

/* A QKD link named directly or through the KM link it feeds. */
static int find_qkd(const struct cp_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_qkd_links; i++)
		if (!strcmp(cfg->qkd_links[i].name, name))
			return (int)i;
	const struct cp_cfg_km_link *km = cp_config_km_link(cfg, name);
	for (unsigned i = 0; km && i < cfg->n_qkd_links; i++)
		if (!strcmp(cfg->qkd_links[i].name, km->qkd_link))
			return (int)i;
	return -1;
}

static int cmd_link(struct cp_ctrl *c, const struct args *a, json_t **res, char *err, size_t el)
{
	if (a->n != 3 || (strcmp(a->v[1], "up") && strcmp(a->v[1], "down")))
		return fail(err, el, -EINVAL, "usage: link up|down <link>");
	int q = find_qkd(c->cfg, a->v[2]);
	if (q < 0)
		return fail(err, el, -ENOENT, "no QKD or KM link named '%s'", a->v[2]);
	bool up = !strcmp(a->v[1], "up");
	const struct cp_cfg_qkd_link *l = &c->cfg->qkd_links[q];
	int rc = cp_ctrl_send_cmd(c, l->lcore, up ? CP_CMD_LINK_START : CP_CMD_LINK_STOP, l->id);
	if (rc == -ENOSPC)
		return fail(err, el, -EAGAIN, "lcore %u command ring is full, try again", l->lcore);
	if (rc == -EPERM)
		return fail(err, el, rc,
			    "link %s cannot be restarted on this node (its authentication stream is "
			    "not reused): restart the node", l->name);
	if (rc < 0)
		return fail(err, el, rc, "link %s: the worker refused: %s", l->name, strerror(-rc));
	bool was = c->admin_up[q];
	c->admin_up[q] = up;
	c->topo_dirty = true;
	cp_ctrl_recompute(c); /* reroute now, not at the next period */
	*res = json_pack("{s:s,s:s,s:s,s:i}", "link", l->name, "state", up ? "up" : "admin-down",
			 "previous", was ? "up" : "admin-down", "lcore", (int)l->lcore);
	return 0;
}

static int cmd_session(struct cp_ctrl *c, const struct args *a, json_t **res, char *err, size_t el)
{
	if (a->n >= 3 && !strcmp(a->v[1], "del")) {
		char *end;
		unsigned long id = strtoul(a->v[2], &end, 10);
		if (a->n != 3 || *end || end == a->v[2])
			return fail(err, el, -EINVAL, "usage: session del <id>");
		if (cp_app_del(&c->sess, (uint32_t)id))
			return fail(err, el, -ENOENT, "no application session %s", a->v[2]);
		*res = json_pack("{s:i,s:s}", "id", (int)id, "state", "deleted");
		return 0;
	}
	if (a->n < 4 || strcmp(a->v[1], "add"))
		return fail(err, el, -EINVAL,
			    "usage: session add <sae> <sae>... [rate=bps] [key_bits=n] [ttl=s] | "
			    "session del <id>");
	struct cp_app_request r = {.rate_bps = 1000, .key_bits = 256, .ttl_s = 3600};
	size_t i = 2;
	for (; i < a->n && !strchr(a->v[i], '='); i++) {
		if (r.n_saes == CP_GROUP_MAX)
			return fail(err, el, -EINVAL, "at most %d SAEs per session", CP_GROUP_MAX);
		r.saes[r.n_saes++] = a->v[i];
	}
	static const char *const allowed[] = {"rate", "key_bits", "ttl", NULL};
	uint64_t rate = r.rate_bps, kb = r.key_bits, ttl = r.ttl_s;
	if (check_opts(a, i, allowed, err, el) ||
	    opt_u64(a, i, "rate", &rate, 1ull << 40, err, el) ||
	    opt_u64(a, i, "key_bits", &kb, 1u << 20, err, el) ||
	    opt_u64(a, i, "ttl", &ttl, 365u * 86400, err, el))
		return -EINVAL;
	r.rate_bps = rate;
	r.key_bits = (uint32_t)kb;
	r.ttl_s = (uint32_t)ttl;
	if (!c->spt)
		return fail(err, el, -EAGAIN, "routing not ready yet");
	struct cp_route_view v = {&c->db, &c->lg, c->spt};
	char why[256];
	int id = cp_app_add(&c->sess, &v, c->cfg, &r, why, sizeof(why));
	if (id < 0)
		return fail(err, el, id, "session refused: %s", why);
	*res = json_pack("{s:i,s:s}", "id", id, "state", "admitted");
	cp_ctrl_recompute(c);
	return 0;
}

static int cmd_relay(struct cp_ctrl *c, const struct args *a, json_t **res, char *err, size_t el)
{
	if (a->n >= 3 && !strcmp(a->v[1], "add")) {
		static const char *const allowed[] = {"target", NULL};
		uint64_t target = c->cfg->policy.relay_target;
		if (check_opts(a, 3, allowed, err, el) ||
		    opt_u64(a, 3, "target", &target, 1ull << 40, err, el))
			return -EINVAL;
		if (!cp_name_valid(a->v[2]) || !strcmp(a->v[2], c->cfg->node_id))
			return fail(err, el, -EINVAL, "'%s' is not a remote node name", a->v[2]);
		struct cp_route_view v = {&c->db, &c->lg, c->spt};
		int id = cp_relay_add(&c->sess, c->spt ? &v : NULL, a->v[2], target);
		if (id < 0)
			return fail(err, el, id, "cannot add relay session: %s", strerror(-id));
		const struct cp_relay_session *r = cp_relay_find(&c->sess, (uint32_t)id);
		*res = json_pack("{s:i,s:s}", "id", id, "state",
				 r->state == CP_RELAY_ACTIVE ? "active" : "unroutable");
		return 0;
	}
	if (a->n == 3 && !strcmp(a->v[1], "del")) {
		char *end;
		unsigned long id = strtoul(a->v[2], &end, 10);
		if (*end || end == a->v[2])
			return fail(err, el, -EINVAL, "usage: relay del <id>");
		int rc = cp_relay_del(&c->sess, (uint32_t)id);
		if (rc == -EBUSY)
			return fail(err, el, rc, "relay session %lu carries application sessions", id);
		if (rc)
			return fail(err, el, rc, "no relay session %s", a->v[2]);
		*res = json_pack("{s:i,s:s}", "id", (int)id, "state", "deleted");
		return 0;
	}
	return fail(err, el, -EINVAL, "usage: relay add <node> [target=bits] | relay del <id>");
}

static int cmd_route(struct cp_ctrl *c, const struct args *a, json_t **res, char *err, size_t el)
{
	if (a->n < 4 || strcmp(a->v[1], "show"))
		return fail(err, el, -EINVAL, "usage: route show <from> <to> [k=n]");
	static const char *const allowed[] = {"k", NULL};
	uint64_t k = 1;
	if (check_opts(a, 4, allowed, err, el) || opt_u64(a, 4, "k", &k, 16, err, el))
		return -EINVAL;
	if (!k)
		return fail(err, el, -EINVAL, "k must be at least 1");
	if (!c->lg.g)
		return fail(err, el, -EAGAIN, "routing not ready yet");
	uint32_t s = cp_lsdb_graph_node(&c->lg, a->v[2]), d = cp_lsdb_graph_node(&c->lg, a->v[3]);
	if (s == CP_NODE_NONE)
		return fail(err, el, -ENOENT, "unknown node '%s'", a->v[2]);
	if (d == CP_NODE_NONE)
		return fail(err, el, -ENOENT, "unknown node '%s'", a->v[3]);
	if (s == d)
		return fail(err, el, -EINVAL, "from and to are the same node");
	struct cp_path p[16];
	int n = cp_yen(c->lg.g, s, d, (unsigned)k, p);
	if (n < 0)
		return fail(err, el, n, "route computation failed: %s", strerror(-n));
	if (n == 0)
		return fail(err, el, -EHOSTUNREACH, "no route from %s to %s", a->v[2], a->v[3]);
	json_t *t = json_array();
	for (int i = 0; i < n; i++) {
		char buf[CP_PATH_MAX_HOPS * CP_NAME_MAX];
		size_t off = 0;
		buf[0] = 0;
		for (uint32_t h = 0; h < p[i].len && off < sizeof(buf); h++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", h ? ">" : "",
						c->lg.names[p[i].nodes[h]]);
		json_array_append_new(t, json_pack("{s:i,s:f,s:i,s:s}", "rank", i + 1, "cost",
						   p[i].cost, "hops", (int)p[i].len - 1, "path", buf));
	}
	cp_paths_release(p, (unsigned)n);
	*res = json_pack("{s:o}", "routes", t);
	return 0;
}

static int cmd_key(struct cp_ctrl *c, const struct args *a, json_t **res, char *err, size_t el)
{
	if (a->n < 2 || a->n > 3 || strcmp(a->v[1], "flush"))
		return fail(err, el, -EINVAL, "usage: key flush [km_link]");
	const char *link = a->n == 3 ? a->v[2] : NULL;
	const struct cp_cfg_km_link *km = link ? cp_config_km_link(c->cfg, link) : NULL;
	if (link && !km)
		return fail(err, el, -ENOENT, "no KM link named '%s'", link);
	if (!c->ops.key_flush)
		return fail(err, el, -EOPNOTSUPP, "this node has no key store attached");
	uint64_t bits = 0;
	const struct cp_cfg_qkd_link *qkd = km ? cp_config_qkd_link(c->cfg, km->qkd_link) : NULL;
	int rc = c->ops.key_flush(c->ops_ctx, km, qkd, &bits);
	if (rc < 0)
		return fail(err, el, rc, "key flush failed: %s", strerror(-rc));
	/* the workers wipe what they hold for the affected links too */
	for (unsigned q = 0; q < c->cfg->n_qkd_links; q++)
		if (!km || !strcmp(c->cfg->qkd_links[q].name, km->qkd_link))
			cp_ctrl_send_cmd(c, c->cfg->qkd_links[q].lcore, CP_CMD_ZEROIZE,
					 c->cfg->qkd_links[q].id);
	cp_ctrl_recompute(c);
	*res = json_pack("{s:s,s:I}", "flushed", link ? link : "all", "bits", (json_int_t)bits);
	return 0;
}

static int cmd_config(struct cp_ctrl *c, const struct args *a, json_t **res, char *err, size_t el)
{
	if (a->n == 2 && !strcmp(a->v[1], "reload")) {
		char path[CP_PATH_MAX];
		snprintf(path, sizeof(path), "%s", c->cfg->path);
		if (cp_ctrl_reload(c, path, err, el))
			return -EINVAL;
		*res = json_pack("{s:s,s:i,s:i,s:i}", "reloaded", path, "qkd_links",
				 (int)c->cfg->n_qkd_links, "km_links", (int)c->cfg->n_km_links,
				 "saes", (int)c->cfg->n_saes);
		return 0;
	}
	if (a->n == 2 && !strcmp(a->v[1], "show")) {
		const struct cp_config *g = c->cfg;
		*res = json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:f,s:f,s:f}", "path", g->path, "node",
				 g->node_id, "listen", g->listen[0] ? g->listen : "-",
				 "control_socket", g->control_socket, "routing_period_ms",
				 (int)g->routing_period_ms, "lsa_refresh_s", (int)g->lsa_refresh_s,
				 "manager", g->manager.address[0] ? g->manager.address : "-",
				 "cost_c0", g->policy.cost.c0, "cost_c1", g->policy.cost.c1,
				 "cost_c2", g->policy.cost.c2);
		return 0;
	}
	return fail(err, el, -EINVAL, "usage: config reload | config show");
}

static const char *const help_text[] = {
	"show links|keys|routes|sessions|stats|lsdb",
	"link up|down <link>",
	"session add <sae> <sae>... [rate=bps] [key_bits=n] [ttl=s]",
	"session del <id>",
	"relay add <node> [target=bits]",
	"relay del <id>",
	"route show <from> <to> [k=n]",
	"config reload|show",
	"key flush [km_link]",
	"version",
	NULL,
};

int cp_ctrl_command(struct cp_ctrl *c, json_t *argv, json_t **res, char *err, size_t el)
{
	struct args a = {0};
	size_t i;
	json_t *v;
	json_array_foreach(argv, i, v)
	{
		if (a.n == 32 || !json_is_string(v))
			return fail(err, el, -EINVAL, "too many or non-string arguments");
		a.v[a.n++] = json_string_value(v);
	}
	c->cnt.ctl_requests++;
	*res = NULL;
	const char *cmd = a.n ? a.v[0] : "";
	if (!strcmp(cmd, "show")) {
		if (a.n != 2)
			return fail(err, el, -EINVAL, "usage: show links|keys|routes|sessions|stats|lsdb");
		const char *what = a.v[1];
		if (!strcmp(what, "links"))
			*res = show_links(c);
		else if (!strcmp(what, "keys"))
			*res = show_keys(c);
		else if (!strcmp(what, "routes"))
			*res = show_routes(c);
		else if (!strcmp(what, "sessions"))
			*res = show_sessions(c);
		else if (!strcmp(what, "stats"))
			*res = cp_ctrl_build_stats(c);
		else if (!strcmp(what, "lsdb"))
			*res = show_lsdb(c);
		else
			return fail(err, el, -EINVAL,
				    "unknown object '%s' (links, keys, routes, sessions, stats, lsdb)",
				    what);
		return 0;
	}
	if (!strcmp(cmd, "link"))
		return cmd_link(c, &a, res, err, el);
	if (!strcmp(cmd, "session"))
		return cmd_session(c, &a, res, err, el);
	if (!strcmp(cmd, "relay"))
		return cmd_relay(c, &a, res, err, el);
	if (!strcmp(cmd, "route"))
		return cmd_route(c, &a, res, err, el);
	if (!strcmp(cmd, "key"))
		return cmd_key(c, &a, res, err, el);
	if (!strcmp(cmd, "config"))
		return cmd_config(c, &a, res, err, el);
	if (!strcmp(cmd, "version") && a.n == 1) {
		char buf[160];
		*res = json_pack("{s:s,s:s}", "version", cp_version_string(buf, sizeof(buf)), "node",
				 c->cfg->node_id);
		return 0;
	}
	if (!strcmp(cmd, "help") && a.n == 1) {
		json_t *t = json_array();
		for (const char *const *h = help_text; *h; h++)
			json_array_append_new(t, json_pack("{s:s}", "command", *h));
		*res = json_pack("{s:o}", "commands", t);
		return 0;
	}
	return fail(err, el, -EINVAL, "unknown command '%s' (try 'help')", cmd);
}

int cp_ctrl_ctl_handler(void *ctx, json_t *argv, json_t **result, char *err, size_t errlen,
			const struct cp_ctl_token *tok)
{
	return cp_ctrl_command(ctx, argv, result, err, errlen);
}
