/* Control thread lifecycle and the routing period: poll local link state, originate our LSA,
 * rebuild the graph, move affected sessions, publish the snapshot, refresh the statistics. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "cp_mk_agent.h"
#include "ctrl_internal.h"

#define RING_SIZE 256

uint64_t cp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void relay_cb(void *ctx, const struct cp_relay_cmd *cmd)
{
	struct cp_ctrl *c = ctx;
	if (cmd->action == CP_RELAY_MOVE)
		c->cnt.reroutes++;
	if (c->ops.relay)
		c->ops.relay(c->ops_ctx, cmd);
}

int cp_ctrl_send_cmd(struct cp_ctrl *c, unsigned lcore, uint32_t type, uint32_t link_id)
{
	struct cp_worker_cmd cmd = {.type = type, .link_id = link_id, .seq = ++c->cmd_seq};
	if (c->ops.worker_cmd) {
		int rc = c->ops.worker_cmd(c->ops_ctx, lcore, &cmd);
		c->cnt.cmds_sent++;
		if (rc)
			c->cnt.cmds_failed++;
		return rc;
	}
	struct cp_worker_chan *ch = cp_ctrl_worker(c, lcore);
	if (!ch)
		return -ENOENT;
	int rc = cp_spsc_push(ch->req, &cmd);
	if (rc) {
		c->cnt.cmds_full++;
		return rc;
	}
	c->cnt.cmds_sent++;
	return 0;
}

static void drain_responses(struct cp_ctrl *c)
{
	struct cp_worker_cmd r;
	for (unsigned w = 0; w < c->n_workers; w++)
		while (cp_spsc_pop(c->workers[w].resp, &r) == 0)
			if (r.status)
				c->cnt.cmds_failed++;
}

static int qkd_index(const struct cp_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_qkd_links; i++)
		if (!strcmp(cfg->qkd_links[i].name, name))
			return (int)i;
	return -1;
}

/* Local KM-link state from the key store / dataplane into rt[] and our LSA. */
static bool poll_local(struct cp_ctrl *c)
{
	const struct cp_config *cfg = c->cfg;
	struct cp_lsa l = {0};
	strcpy(l.origin, cfg->node_id);
	l.number = cfg->node_number;
	for (unsigned i = 0; i < cfg->n_km_links && l.n_links < CP_LSA_MAX_LINKS; i++) {
		const struct cp_cfg_km_link *km = &cfg->km_links[i];
		int q = qkd_index(cfg, km->qkd_link);
		struct cp_link_rt *rt = &c->rt[i];
		struct cp_link_stats st = {0};
		if (c->ops.link_stats && c->ops.link_stats(c->ops_ctx, km, &cfg->qkd_links[q], &st) < 0)
			st.up = false;
		if (!st.capacity_bits)
			st.capacity_bits = km->capacity;
		rt->delta = rt->have_prev ? (int64_t)st.avail_bits - (int64_t)rt->prev_avail : 0;
		rt->prev_avail = st.avail_bits;
		rt->have_prev = true;
		rt->auth_alarm = st.auth_failures > rt->prev_auth_failures;
		rt->prev_auth_failures = st.auth_failures;
		rt->st = st;
		struct cp_lsa_link *k = &l.links[l.n_links++];
		strcpy(k->peer, km->peer);
		k->attr.up = st.up && c->admin_up[q] && !cp_ctrl_number_mismatch(c, km);
		k->attr.avail = st.avail_bits;
		k->attr.max = st.capacity_bits;
		k->attr.delta = rt->delta;
		k->attr.low_water = km->low_water;
		k->rate_bps = st.skr_bps > 0 ? (uint64_t)st.skr_bps : 0;
	}
	/* originate when something routing-relevant changed, or to refresh before max age */
	bool changed = l.n_links != c->own.n_links || l.number != c->own.number;
	for (unsigned i = 0; !changed && i < l.n_links; i++) {
		const struct cp_lsa_link *a = &l.links[i], *b = &c->own.links[i];
		uint64_t step = a->attr.max / 32 + 1;
		uint64_t diff = a->attr.avail > b->attr.avail ? a->attr.avail - b->attr.avail
							      : b->attr.avail - a->attr.avail;
		changed = strcmp(a->peer, b->peer) || a->attr.up != b->attr.up || diff >= step ||
			  (a->attr.avail < a->attr.low_water) != (b->attr.avail < b->attr.low_water) ||
			  a->rate_bps / 64 != b->rate_bps / 64 || a->attr.max != b->attr.max;
	}
	uint64_t now = cp_now_ms();
	if (!changed && c->own.seq && now - c->own_originated_ms < c->cfg->lsa_refresh_s * 1000ull)
		return false;
	l.seq = c->own.seq + 1;
	c->own = l;
	c->own_originated_ms = now;
	c->cnt.lsa_originated++;
	cp_lsdb_install(&c->db, &c->own, now);
	cp_lsp_flood(c, &c->own, NULL);
	return true;
}

void cp_ctrl_recompute(struct cp_ctrl *c)
{
	drain_responses(c);
	bool changed = poll_local(c);
	bool central = cp_ctrl_central_poll(c, changed);
	if (cp_lsdb_expire(&c->db, cp_now_ms()))
		changed = true;
	if (central ? c->topo_dirty : (changed || c->topo_dirty || !c->lg.g)) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		struct cp_lsdb_graph lg;
		if (!central && cp_lsdb_build_graph(&c->db, &c->cfg->policy.cost, &lg) == 0) {
			cp_lsdb_graph_release(&c->lg);
			c->lg = lg;
			cp_spt_free(c->spt);
			c->spt = cp_spt_create(lg.n ? lg.n : 1);
		}
		c->topo_dirty = false;
		if (c->spt) {
			struct cp_route_view v = {&c->db, &c->lg, c->spt};
			cp_sessions_reroute(&c->sess, &v);
			cp_snapshot_publish(c);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		c->cnt.route_runs++;
		c->cnt.last_spf_us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
				     (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	}
	json_t *st = cp_ctrl_build_stats(c);
	pthread_mutex_lock(&c->stats_lock);
	json_t *old = c->stats;
	c->stats = st;
	pthread_mutex_unlock(&c->stats_lock);
	json_decref(old);
}

json_t *cp_ctrl_stats(struct cp_ctrl *c)
{
	pthread_mutex_lock(&c->stats_lock);
	json_t *s = c->stats ? json_deep_copy(c->stats) : json_object();
	pthread_mutex_unlock(&c->stats_lock);
	return s;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cp_ctrl *c = arg;
	if (!c->central)
		cp_lsp_connect_missing(c);
	uint64_t now = cp_now_ms();
	if (c->ops.housekeeping && now - c->housekeeping_ms >= CP_HOUSEKEEPING_MS) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		c->ops.housekeeping(c->ops_ctx, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
		c->housekeeping_ms = now;
	}
	cp_ctrl_recompute(c);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(((struct cp_ctrl *)arg)->base);
}

static void on_user(evutil_socket_t fd, short what, void *arg)
{
	struct cp_ctrl *c = arg;
	c->user_tick(c->user_ctx);
}

static void on_hup(evutil_socket_t fd, short what, void *arg)
{
	struct cp_ctrl *c = arg;
	char err[512];
	cp_ctrl_reload(c, c->cfg->path, err, sizeof(err));
}

static void set_tick(struct cp_ctrl *c)
{
	struct timeval tv = {c->cfg->routing_period_ms / 1000,
			     (int)(c->cfg->routing_period_ms % 1000) * 1000};
	event_del(c->tick_ev);
	event_add(c->tick_ev, &tv);
}

static int start_services(struct cp_ctrl *c, char *err, size_t errlen)
{
	bool central = c->cfg->routing.mode == CP_ROUTING_CENTRAL; /* no link-state protocol then */
	if ((!central && cp_lsp_start(c, err, errlen)) || cp_ctrl_central_start(c, err, errlen))
		return -EINVAL;
	if (c->cfg->control_socket[0]) {
		c->ctl = cp_ctl_server_create(c->base, c->cfg->control_socket, cp_ctrl_ctl_handler, c,
					      err, errlen);
		if (!c->ctl)
			return -EINVAL;
	}
	if (cp_metrics_start(c, err, errlen))
		return -EINVAL;
	if (c->cfg->manager.address[0]) {
		c->mk = cp_mk_agent_create(c, err, errlen);
		if (!c->mk)
			return -EINVAL;
	}
	return 0;
}

struct cp_ctrl *cp_ctrl_create(const struct cp_ctrl_opts *o, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, (void (*)(void))evthread_use_pthreads);
	struct cp_ctrl *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->stats_lock, NULL);
	if (o->config) {
		c->cfg = malloc(sizeof(*c->cfg));
		if (c->cfg)
			*c->cfg = *o->config;
	} else if (cp_config_load(o->config_path, &c->cfg, err, errlen)) {
		free(c);
		return NULL;
	}
	if (!c->cfg) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	if (o->ops)
		c->ops = *o->ops;
	c->ops_ctx = o->ops_ctx;
	c->handle_signals = o->handle_signals;
	for (unsigned i = 0; i < c->cfg->n_qkd_links; i++)
		c->admin_up[i] = true;
	c->n_workers = c->cfg->n_lcores;
	for (unsigned w = 0; w < c->n_workers; w++) {
		c->workers[w].lcore = c->cfg->lcores[w];
		c->workers[w].req = cp_spsc_create(RING_SIZE);
		c->workers[w].resp = cp_spsc_create(RING_SIZE);
	}
	cp_lsdb_init(&c->db, 0);
	cp_sessions_init(&c->sess, c->cfg->node_id, relay_cb, c);
	c->base = event_base_new();
	c->tick_ev = c->base ? event_new(c->base, -1, EV_PERSIST, on_tick, c) : NULL;
	c->stop_ev = c->base ? event_new(c->base, -1, 0, on_stop, c) : NULL;
	if (!c->tick_ev || !c->stop_ev) {
		snprintf(err, errlen, "libevent initialisation failed");
		cp_ctrl_free(c);
		return NULL;
	}
	if (c->handle_signals) {
		c->hup_ev = evsignal_new(c->base, SIGHUP, on_hup, c);
		c->int_ev = evsignal_new(c->base, SIGINT, on_stop, c);
		c->term_ev = evsignal_new(c->base, SIGTERM, on_stop, c);
		event_add(c->hup_ev, NULL);
		event_add(c->int_ev, NULL);
		event_add(c->term_ev, NULL);
	}
	if (o->tick) {
		c->user_tick = o->tick;
		c->user_ctx = o->tick_ctx;
		c->user_us = o->tick_us ? o->tick_us : 1000;
		c->user_ev = event_new(c->base, -1, EV_PERSIST, on_user, c);
	}
	if (start_services(c, err, errlen)) {
		cp_ctrl_free(c);
		return NULL;
	}
	cp_ctrl_recompute(c); /* first snapshot before any worker starts reading */
	for (unsigned i = 0; i < c->cfg->n_relays; i++) { /* routed once the LSDB has a path */
		const struct cp_cfg_relay *r = &c->cfg->relays[i];
		struct cp_route_view v = {&c->db, &c->lg, c->spt};
		cp_relay_add(&c->sess, c->spt ? &v : NULL, r->peer,
			     r->target ? r->target : c->cfg->policy.relay_target);
	}
	return c;
}

int cp_ctrl_run(struct cp_ctrl *c)
{
	/* a peer closing mid-write must give EPIPE, not kill the node: block SIGPIPE here (a blocked
	 * synchronous SIGPIPE is discarded with the write failing) */
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	set_tick(c);
	if (c->user_ev) {
		struct timeval tv = {c->user_us / 1000000, (int)(c->user_us % 1000000)};
		event_add(c->user_ev, &tv);
	}
	return event_base_dispatch(c->base) < 0 ? -EIO : 0;
}

static void *thread_main(void *arg)
{
	cp_ctrl_run(arg);
	return NULL;
}

int cp_ctrl_start(struct cp_ctrl *c)
{
	if (c->threaded)
		return -EBUSY;
	int rc = pthread_create(&c->thread, NULL, thread_main, c);
	if (rc)
		return -rc;
	pthread_setname_np(c->thread, "qkd-ctrl");
	c->threaded = true;
	return 0;
}

void cp_ctrl_stop(struct cp_ctrl *c)
{
	if (!c)
		return;
	event_active(c->stop_ev, 0, 0);
	if (c->threaded) {
		pthread_join(c->thread, NULL);
		c->threaded = false;
	}
}

void cp_ctrl_free(struct cp_ctrl *c)
{
	if (!c)
		return;
	if (c->threaded)
		cp_ctrl_stop(c);
	cp_mk_agent_free(c->mk);
	cp_ctrl_central_stop(c);
	cp_metrics_stop(c);
	cp_ctl_server_free(c->ctl);
	cp_lsp_stop(c);
	if (c->hup_ev)
		event_free(c->hup_ev);
	if (c->int_ev)
		event_free(c->int_ev);
	if (c->term_ev)
		event_free(c->term_ev);
	if (c->tick_ev)
		event_free(c->tick_ev);
	if (c->user_ev)
		event_free(c->user_ev);
	if (c->stop_ev)
		event_free(c->stop_ev);
	if (c->base)
		event_base_free(c->base);
	cp_snapshot_release_all(c);
	for (unsigned w = 0; w < c->n_workers; w++) {
		cp_spsc_free(c->workers[w].req);
		cp_spsc_free(c->workers[w].resp);
	}
	cp_sessions_clear(&c->sess);
	cp_lsdb_graph_release(&c->lg);
	cp_spt_free(c->spt);
	cp_lsdb_clear(&c->db);
	json_decref(c->stats);
	pthread_mutex_destroy(&c->stats_lock);
	cp_config_free(c->cfg);
	free(c);
}

struct cp_worker_chan *cp_ctrl_worker(struct cp_ctrl *c, unsigned lcore)
{
	for (unsigned w = 0; w < c->n_workers; w++)
		if (c->workers[w].lcore == lcore)
			return &c->workers[w];
	return NULL;
}

int cp_ctrl_reload(struct cp_ctrl *c, const char *path, char *err, size_t errlen)
{
	struct cp_config *n;
	if (cp_config_load(path, &n, err, errlen)) {
		c->cnt.reload_failures++;
		return -EINVAL;
	}
	const char *why = NULL;
	if (strcmp(n->node_id, c->cfg->node_id) || n->node_number != c->cfg->node_number)
		why = "node id and number cannot change on reload (restart the node)";
	else if (n->n_lcores != c->cfg->n_lcores ||
		 memcmp(n->lcores, c->cfg->lcores, n->n_lcores * sizeof(n->lcores[0])))
		why = "lcores cannot change on reload (restart the node)";
	else if (n->relay_lcore != c->cfg->relay_lcore ||
		 n->policy.relay_key_bits != c->cfg->policy.relay_key_bits ||
		 n->policy.relay_window != c->cfg->policy.relay_window)
		why = "relay_lcore, relay_key_bits and relay_window cannot change on reload (restart the node)";
	else if (strcmp(n->control_socket, c->cfg->control_socket) || strcmp(n->listen, c->cfg->listen) ||
		 strcmp(n->metrics, c->cfg->metrics) || strcmp(n->tls_ca, c->cfg->tls_ca) ||
		 strcmp(n->tls_cert, c->cfg->tls_cert) || strcmp(n->tls_key, c->cfg->tls_key) ||
		 memcmp(&n->manager, &c->cfg->manager, sizeof(n->manager)) ||
		 memcmp(&n->routing, &c->cfg->routing, sizeof(n->routing)))
		why = "listen, control_socket, metrics, tls_*, [manager] and [routing] cannot change on "
		      "reload";
	if (why) {
		snprintf(err, errlen, "%s: %s", path, why);
		cp_config_free(n);
		c->cnt.reload_failures++;
		return -EINVAL;
	}
	/* carry runtime state over by name; stored keys are the key store's and stay untouched */
	struct cp_link_rt rt[CP_CFG_MAX_LINKS] = {0};
	bool admin[CP_CFG_MAX_LINKS];
	for (unsigned i = 0; i < n->n_km_links; i++)
		for (unsigned j = 0; j < c->cfg->n_km_links; j++)
			if (!strcmp(n->km_links[i].name, c->cfg->km_links[j].name))
				rt[i] = c->rt[j];
	for (unsigned i = 0; i < n->n_qkd_links; i++) {
		admin[i] = true;
		int j = qkd_index(c->cfg, n->qkd_links[i].name);
		if (j >= 0)
			admin[i] = c->admin_up[j];
	}
	memcpy(c->rt, rt, sizeof(rt));
	memcpy(c->admin_up, admin, sizeof(admin));
	cp_config_free(c->cfg);
	c->cfg = n;
	c->topo_dirty = true;
	c->cnt.reloads++;
	set_tick(c);
	cp_ctrl_recompute(c);
	return 0;
}

uint16_t cp_ctrl_lsa_port(struct cp_ctrl *c)
{
	return c->lsp_port;
}

uint16_t cp_ctrl_metrics_port(struct cp_ctrl *c)
{
	return c->metrics_port;
}
