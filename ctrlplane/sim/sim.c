/* Simulated dataplane + key store behind cp_node_ops. The mutex guards the simulator's own
 * bookkeeping (it stands in for hardware and the key store); the worker threads still read the
 * published snapshot lock-free as QSBR readers and take commands only from their rings. */
#include "cp_sim.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

struct sim_link {
	struct cp_sim_link l;
	uint64_t capacity;
	uint64_t last_ns;
};

struct worker {
	struct cp_sim *s;
	struct cp_ctrl *c;
	struct cp_worker_chan *ch;
	pthread_t t;
};

struct cp_sim {
	pthread_mutex_t lock;
	unsigned n;
	struct sim_link links[CP_CFG_MAX_LINKS];
	struct cp_sim_counts counts;
	unsigned n_workers;
	struct worker workers[CP_CFG_MAX_LCORES];
	volatile int stop;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct cp_sim *cp_sim_create(const struct cp_config *cfg, double skr_bps)
{
	struct cp_sim *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	for (unsigned i = 0; i < cfg->n_km_links; i++) {
		struct sim_link *x = &s->links[s->n++];
		const struct cp_cfg_qkd_link *q = cp_config_qkd_link(cfg, cfg->km_links[i].qkd_link);
		strcpy(x->l.km_link, cfg->km_links[i].name);
		x->l.qkd_link_id = q ? q->id : 0;
		x->l.up = true;
		x->capacity = cfg->km_links[i].capacity;
		x->l.avail_bits = x->capacity / 2;
		x->l.skr_bps = skr_bps;
		x->l.qber = 0.02;
		x->l.relay_latency_us = 40;
		x->last_ns = now_ns();
	}
	return s;
}

void cp_sim_free(struct cp_sim *s)
{
	if (!s)
		return;
	cp_sim_stop_workers(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static struct sim_link *find(struct cp_sim *s, const char *km)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->links[i].l.km_link, km))
			return &s->links[i];
	return NULL;
}

/* Buffers fill at the key rate while the link is up. */
static void advance(struct sim_link *x)
{
	uint64_t t = now_ns();
	if (x->l.up) {
		double add = x->l.skr_bps * (double)(t - x->last_ns) / 1e9;
		uint64_t a = x->l.avail_bits + (uint64_t)add;
		x->l.avail_bits = a > x->capacity ? x->capacity : a;
	}
	x->last_ns = t;
}

static int op_link_stats(void *ctx, const struct cp_cfg_km_link *km,
			 const struct cp_cfg_qkd_link *qkd, struct cp_link_stats *out)
{
	struct cp_sim *s = ctx;
	pthread_mutex_lock(&s->lock);
	struct sim_link *x = find(s, km->name);
	if (!x) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	advance(x);
	*out = (struct cp_link_stats){x->l.up, x->l.avail_bits, x->capacity, x->l.up ? x->l.skr_bps : 0,
				      x->l.qber, 0, x->l.keys_supplied, x->l.ttl_expired,
				      x->l.auth_failures, x->l.relay_latency_us, x->l.resyncs,
				      x->l.resync_failures, x->l.resync_alarm};
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int op_key_flush(void *ctx, const struct cp_cfg_km_link *kl,
			const struct cp_cfg_qkd_link *qkd, uint64_t *bits)
{
	const char *km = kl ? kl->name : NULL;
	struct cp_sim *s = ctx;
	*bits = 0;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n; i++)
		if (!km || !strcmp(s->links[i].l.km_link, km)) {
			*bits += s->links[i].l.avail_bits;
			s->links[i].l.avail_bits = 0;
			s->links[i].last_ns = now_ns();
		}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void op_relay(void *ctx, const struct cp_relay_cmd *cmd)
{
	struct cp_sim *s = ctx;
	pthread_mutex_lock(&s->lock);
	s->counts.relay_establish += cmd->action == CP_RELAY_ESTABLISH;
	s->counts.relay_move += cmd->action == CP_RELAY_MOVE;
	s->counts.relay_teardown += cmd->action == CP_RELAY_TEARDOWN;
	s->counts.last_relay_id = cmd->s->id;
	s->counts.last_relay_epoch = cmd->s->epoch;
	pthread_mutex_unlock(&s->lock);
}

static const struct cp_node_ops sim_ops = {op_link_stats, op_key_flush, op_relay, NULL, NULL, NULL};

const struct cp_node_ops *cp_sim_ops(void)
{
	return &sim_ops;
}

static void execute(struct cp_sim *s, const struct cp_worker_cmd *c)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n; i++) {
		struct sim_link *x = &s->links[i];
		if (x->l.qkd_link_id != c->link_id)
			continue;
		advance(x);
		if (c->type == CP_CMD_LINK_START)
			x->l.up = true;
		else if (c->type == CP_CMD_LINK_STOP || c->type == CP_CMD_DRAIN)
			x->l.up = false;
	}
	if (c->type <= CP_CMD_ZEROIZE)
		s->counts.cmds[c->type]++;
	pthread_mutex_unlock(&s->lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	rcu_register_thread();
	uint64_t seen = 0;
	while (!w->s->stop) {
		/* read side: one dereference per iteration, then a quiescent state */
		const struct cp_snapshot *snap = cp_ctrl_snapshot(w->c);
		if (snap && snap->generation != seen) {
			seen = snap->generation;
			pthread_mutex_lock(&w->s->lock);
			w->s->counts.snapshots_seen++;
			w->s->counts.last_generation = seen;
			pthread_mutex_unlock(&w->s->lock);
		}
		struct cp_worker_cmd cmd;
		while (cp_worker_poll(w->ch, &cmd) == 0) {
			execute(w->s, &cmd);
			while (cp_worker_done(w->ch, &cmd, 0) == -ENOSPC && !w->s->stop)
				usleep(100);
		}
		rcu_quiescent_state();
		rcu_thread_offline(); /* idle: do not hold up grace periods while sleeping */
		usleep(500);
		rcu_thread_online();
	}
	rcu_unregister_thread();
	return NULL;
}

int cp_sim_start_workers(struct cp_sim *s, struct cp_ctrl *c)
{
	s->stop = 0;
	for (unsigned l = 0; l < 1024 && s->n_workers < CP_CFG_MAX_LCORES; l++) {
		struct cp_worker_chan *ch = cp_ctrl_worker(c, l);
		if (!ch)
			continue;
		struct worker *w = &s->workers[s->n_workers];
		*w = (struct worker){s, c, ch, 0};
		if (pthread_create(&w->t, NULL, worker_main, w))
			return -EAGAIN;
		s->n_workers++;
	}
	return 0;
}

void cp_sim_stop_workers(struct cp_sim *s)
{
	s->stop = 1;
	for (unsigned i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i].t, NULL);
	s->n_workers = 0;
}

int cp_sim_get(struct cp_sim *s, const char *km_link, struct cp_sim_link *out)
{
	pthread_mutex_lock(&s->lock);
	struct sim_link *x = find(s, km_link);
	if (x) {
		advance(x);
		*out = x->l;
	}
	pthread_mutex_unlock(&s->lock);
	return x ? 0 : -ENOENT;
}

int cp_sim_set(struct cp_sim *s, const char *km_link, const struct cp_sim_link *in)
{
	pthread_mutex_lock(&s->lock);
	struct sim_link *x = find(s, km_link);
	if (x) {
		uint32_t id = x->l.qkd_link_id;
		x->l = *in;
		strcpy(x->l.km_link, km_link);
		x->l.qkd_link_id = id;
		x->last_ns = now_ns();
	}
	pthread_mutex_unlock(&s->lock);
	return x ? 0 : -ENOENT;
}

void cp_sim_counts(struct cp_sim *s, struct cp_sim_counts *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->counts;
	pthread_mutex_unlock(&s->lock);
}
