/* The control thread on qkdnode's main lcore: QKD-link state from dp_node_link_report, worker
 * commands mapped onto dp_node (stop = remove the link, start = add it again from its
 * authentication ledger, zeroize = the worker's DP_CMD_ZEROIZE),
 * statistics exported as DPDK telemetry. With a key store (--store) KM-link buffers, keys
 * supplied and key flush come from it through cp_kmops; without one, buffers read empty. KM links
 * with a relay port run the key relay (relay.h): sessions drive it, link up|down reaches it, and
 * a KM link whose QKD link is not run by this dataplane (key pools provisioned beforehand) is up
 * while its relay port is. */
#include "control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_ctrl.h"
#include "cp_kmops.h"
#include "dp_telemetry.h"
#include "relay.h"

struct link_rate {
	uint16_t id;
	uint64_t secret_bits, qber_errors, qber_bits;
	double t;
	double skr, qber;
};

struct qn_control {
	struct dp_node *node;
	struct qn_ledgers *ledgers;
	struct cp_ctrl *ctrl;
	unsigned n_links;
	struct dp_link_cfg links[DP_MAX_LINKS]; /* without their secrets: never re-added */
	struct link_rate rate[DP_MAX_LINKS];
	struct cp_kmops km; /* km.store NULL: no key store */
	struct qn_relay *relay; /* NULL: no KM link has a relay port */
	void (*user_tick)(void *);
	void *user_ctx;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int find(const struct qn_control *q, uint32_t id)
{
	for (unsigned i = 0; i < q->n_links; i++)
		if (q->links[i].link_id == id)
			return (int)i;
	return -1;
}

static int op_link_stats(void *ctx, const struct cp_cfg_km_link *km,
			 const struct cp_cfg_qkd_link *qkd, struct cp_link_stats *out)
{
	struct qn_control *q = ctx;
	memset(out, 0, sizeof(*out));
	int i = find(q, qkd->id);
	struct dp_link_report r;
	if (i < 0 || qkd->id > UINT16_MAX || !q->node ||
	    dp_node_link_report(q->node, (uint16_t)qkd->id, &r))
		return 0; /* not running here: down */
	out->up = true;
	/* a block whose transcript tags differed saw a forged message past its short tag: an
	 * authentication failure for the manager's alarm as much as a failed tag */
	out->auth_failures = r.auth_failures + r.transcript_failures;
	struct link_rate *lr = &q->rate[i];
	double t = now_s();
	if (lr->t > 0 && t > lr->t) { /* rates over the routing period */
		lr->skr = (double)(r.secret_bits - lr->secret_bits) / (t - lr->t);
		uint64_t bits = r.qber_bits - lr->qber_bits;
		if (bits)
			lr->qber = (double)(r.qber_errors - lr->qber_errors) / (double)bits;
	} else if (r.qber_bits) {
		lr->qber = (double)r.qber_errors / (double)r.qber_bits;
	}
	lr->t = t;
	lr->secret_bits = r.secret_bits;
	lr->qber_errors = r.qber_errors;
	lr->qber_bits = r.qber_bits;
	out->skr_bps = lr->skr;
	out->qber = lr->qber;
	return 0;
}

static int op_worker_cmd(void *ctx, unsigned lcore, const struct cp_worker_cmd *cmd)
{
	struct qn_control *q = ctx;
	/* the KM link's relay drains first (make-before-break), whatever the QKD side does */
	int relay = -ENOENT;
	if (cmd->type == CP_CMD_LINK_STOP || cmd->type == CP_CMD_LINK_START)
		relay = qn_relay_link_admin(q->relay, cmd->link_id, cmd->type == CP_CMD_LINK_START);
	int i = find(q, cmd->link_id);
	if (i < 0)
		return relay == -ENOENT ? -ENOENT : relay; /* a provisioned link: relay only */
	struct dp_link_report r;
	bool present = dp_node_link_report(q->node, (uint16_t)cmd->link_id, &r) == 0;
	switch (cmd->type) {
	case CP_CMD_LINK_STOP:
	case CP_CMD_DRAIN:
		if (!present)
			return 0;
		qn_ledgers_detach(q->ledgers, (uint16_t)cmd->link_id);
		return dp_node_link_remove(q->node, (uint16_t)cmd->link_id);
	case CP_CMD_LINK_START: {
		/* re-added from its ledger: the streams resume above every pad already reserved */
		if (present)
			return 0;
		struct dp_link_cfg lc = q->links[i];
		lc.ledger = qn_ledgers_get(q->ledgers, lc.link_id);
		if (!lc.ledger)
			return -EPERM;
		const char *why = NULL;
		int rc = dp_node_link_add(q->node, &lc, &why);
		if (rc == 0 && (rc = qn_ledgers_attach(q->ledgers, q->node, lc.link_id)))
			dp_node_link_remove(q->node, lc.link_id);
		return rc;
	}
	case CP_CMD_ZEROIZE: {
		struct dp_cmd c = {DP_CMD_ZEROIZE, cmd->link_id};
		struct dp_cmd_resp resp;
		int rc = dp_node_worker_cmd(q->node, q->links[i].worker, &c, &resp);
		return rc ? rc : resp.rc;
	}
	}
	return -EINVAL;
}

static const struct cp_node_ops ops = {op_link_stats, NULL, NULL, op_worker_cmd, NULL, NULL};

/* With a key store: buffers and flush from cp_kmops, the QKD-link side and worker commands as above. */
static int km_qkd_link(void *ctx, uint32_t link_id, struct cp_link_stats *out)
{
	struct qn_control *q = ctx;
	struct cp_cfg_qkd_link qkd = {.id = link_id};
	int rc = op_link_stats(ctx, NULL, &qkd, out);
	struct qn_relay_link_info li;
	if (rc == 0 && qn_relay_link_info(q->relay, link_id, &li) == 0) {
		bool qkd_here = find(q, link_id) >= 0;
		out->up = (qkd_here ? out->up : true) && li.port_up;
		out->relay_latency_us = li.latency_us;
		out->resyncs = li.resyncs;
		out->resync_failures = li.resync_failures;
		out->resync_alarm = li.resync_fails_in_row >= CP_RESYNC_ALARM_FAILS;
	}
	return rc;
}

static int km_link_stats(void *ctx, const struct cp_cfg_km_link *km,
			 const struct cp_cfg_qkd_link *qkd, struct cp_link_stats *out)
{
	struct qn_control *q = ctx;
	return cp_kmops_ops()->link_stats(&q->km, km, qkd, out);
}

static int km_key_flush(void *ctx, const struct cp_cfg_km_link *km,
			const struct cp_cfg_qkd_link *qkd, uint64_t *bits)
{
	struct qn_control *q = ctx;
	return cp_kmops_ops()->key_flush(&q->km, km, qkd, bits);
}

static void km_housekeeping(void *ctx, uint64_t now_ns)
{
	struct qn_control *q = ctx;
	cp_kmops_housekeeping(&q->km, now_ns);
}

static void km_relay(void *ctx, const struct cp_relay_cmd *cmd)
{
	struct qn_control *q = ctx;
	if (q->relay)
		qn_relay_session(q->relay, cmd);
}

static json_t *km_relay_stats(void *ctx)
{
	struct qn_control *q = ctx;
	return q->relay ? qn_relay_stats(q->relay) : json_object();
}

static const struct cp_node_ops km_ops = {km_link_stats, km_key_flush, km_relay, op_worker_cmd,
					  km_housekeeping, km_relay_stats};

/* The daemon's loop body, then the relay (events, session top-up, progress). */
static void control_tick(void *arg)
{
	struct qn_control *q = arg;
	if (q->user_tick)
		q->user_tick(q->user_ctx);
	if (q->ctrl)
		qn_relay_tick(q->relay, q->ctrl);
}

static json_t *stats(void *ctx)
{
	return cp_ctrl_stats(ctx);
}

struct qn_control *qn_control_create(struct dp_node *n, const struct qn_options *o,
				     const struct cp_config *cfg, struct qn_ledgers *ledgers,
				     struct km_store *store,
				     struct km_meter *meter, void (*tick)(void *), void *tick_ctx,
				     char *err, size_t errlen)
{
	struct qn_control *q = calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->node = n;
	q->user_tick = tick;
	q->user_ctx = tick_ctx;
	q->relay = qn_relay_create(cfg, store, o->node.idle_sleep_us, err, errlen);
	if (!q->relay && err[0]) {
		free(q);
		return NULL;
	}
	q->ledgers = ledgers;
	for (unsigned i = 0; i < o->n_links; i++) {
		q->links[q->n_links] = o->links[i].cfg;
		q->links[q->n_links].psk = NULL;
		q->links[q->n_links].psk_len = 0;
		q->rate[q->n_links++].id = o->links[i].cfg.link_id;
	}
	q->km = (struct cp_kmops){.store = store, .meter = meter, .qkd_link = km_qkd_link, .qkd_ctx = q};
	struct cp_ctrl_opts co = {.config = cfg, .ops = store ? &km_ops : &ops, .ops_ctx = q,
				  .handle_signals = true, .tick = control_tick, .tick_ctx = q,
				  .tick_us = 1000};
	q->ctrl = cp_ctrl_create(&co, err, errlen);
	if (!q->ctrl) {
		qn_relay_free(q->relay);
		free(q);
		return NULL;
	}
	dp_telemetry_register(stats, q->ctrl);
	return q;
}

int qn_control_run(struct qn_control *q)
{
	return cp_ctrl_run(q->ctrl);
}

void qn_control_stop(struct qn_control *q)
{
	cp_ctrl_stop(q->ctrl);
}

void qn_control_free(struct qn_control *q)
{
	if (!q)
		return;
	dp_telemetry_register(NULL, NULL);
	cp_ctrl_free(q->ctrl);
	qn_relay_free(q->relay);
	free(q);
}
