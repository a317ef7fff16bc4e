/* State owned by the control thread (one struct cp_ctrl per node). Only the stats copy is shared
 * with other threads (under stats_lock); workers see snapshots and rings only. */
#ifndef CTRL_INTERNAL_H
#define CTRL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cp_ctl.h"
#include "cp_ctrl.h"
#include "cp_lsa.h"

struct event_base;
struct event;
struct evconnlistener;
struct evhttp;
struct bufferevent;
struct cp_mk_agent;
struct cp_ctrl_central;

/* A link-state protocol neighbour connection. */
struct cp_nbr {
	struct cp_ctrl *c;
	struct bufferevent *bev;
	char peer[CP_NAME_MAX]; /* known after HELLO */
	char want[CP_NAME_MAX]; /* outgoing: the peer we dialled */
	bool outgoing;
	uint64_t lsa_rx, lsa_tx;
	struct cp_nbr *next;
};

/* Runtime state of one configured KM link (indexed like cfg->km_links). */
struct cp_link_rt {
	struct cp_link_stats st;
	uint64_t prev_avail;
	int64_t delta;
	bool have_prev;
	uint64_t prev_auth_failures;
	bool auth_alarm;
};

struct cp_ctrl_counters {
	uint64_t lsa_rx, lsa_tx, lsa_bad, lsa_originated;
	uint64_t route_runs, reroutes, snapshots;
	uint64_t cmds_sent, cmds_failed, cmds_full;
	uint64_t reloads, reload_failures;
	uint64_t ctl_requests;
	uint64_t mk_reports, mk_requests, mk_failures;
	double last_spf_us;
};

struct cp_ctrl {
	struct cp_config *cfg;
	struct cp_node_ops ops;
	void *ops_ctx;
	bool handle_signals;
	struct event_base *base;
	struct event *tick_ev, *stop_ev, *hup_ev, *int_ev, *term_ev, *user_ev;
	void (*user_tick)(void *ctx);
	void *user_ctx;
	unsigned user_us;
	pthread_t thread;
	bool threaded;

	unsigned n_workers;
	struct cp_worker_chan workers[CP_CFG_MAX_LCORES];
	uint64_t cmd_seq;

	struct cp_snapshot *snap; /* RCU-published */
	uint64_t generation;

	struct cp_lsdb db;
	struct cp_lsdb_graph lg;
	struct cp_spt *spt;
	struct cp_lsa own;
	uint64_t own_originated_ms;
	uint64_t housekeeping_ms; /* last store timer run (cp_now_ms) */
	bool topo_dirty;

	struct cp_link_rt rt[CP_CFG_MAX_LINKS];
	bool admin_up[CP_CFG_MAX_LINKS]; /* per cfg->qkd_links */

	struct cp_sessions sess;

	struct evconnlistener *lsp_lis;
	struct ssl_ctx_st *lsp_client_tls, *lsp_server_tls; /* NULL: plain TCP */
	uint16_t lsp_port;
	struct cp_nbr *nbrs;

	struct cp_ctl_server *ctl;
	struct evhttp *http;
	uint16_t metrics_port;
	struct cp_mk_agent *mk;
	struct cp_ctrl_central *central; /* [routing] mode = central, else NULL */

	pthread_mutex_t stats_lock;
	json_t *stats;
	struct cp_ctrl_counters cnt;
};

uint64_t cp_now_ms(void);

/* ctrl.c */
void cp_ctrl_recompute(struct cp_ctrl *c);  /* poll local state, originate, route, publish */
int cp_ctrl_send_cmd(struct cp_ctrl *c, unsigned lcore, uint32_t type, uint32_t link_id);
int cp_ctrl_reload(struct cp_ctrl *c, const char *path, char *err, size_t errlen);
json_t *cp_ctrl_build_stats(struct cp_ctrl *c);

/* snapshot.c */
int cp_snapshot_publish(struct cp_ctrl *c);
void cp_snapshot_release_all(struct cp_ctrl *c);

/* lsp.c: link-state protocol transport */
int cp_lsp_start(struct cp_ctrl *c, char *err, size_t errlen);
void cp_lsp_connect_missing(struct cp_ctrl *c);
void cp_lsp_flood(struct cp_ctrl *c, const struct cp_lsa *l, const struct cp_nbr *except);
void cp_lsp_stop(struct cp_ctrl *c);

/* metrics.c */
int cp_metrics_start(struct cp_ctrl *c, char *err, size_t errlen);
void cp_metrics_stop(struct cp_ctrl *c);

/* central.c: Y.3802 configuration 2 (routes from qkdctrl) */
int cp_ctrl_central_start(struct cp_ctrl *c, char *err, size_t errlen);
/* Report our link state when due; true in central mode (then the graph is the pushed view). */
bool cp_ctrl_central_poll(struct cp_ctrl *c, bool lsa_changed);
void cp_ctrl_central_stats(struct cp_ctrl *c, json_t *stats);
void cp_ctrl_central_stop(struct cp_ctrl *c);

/* commands.c */
int cp_ctrl_ctl_handler(void *ctx, json_t *argv, json_t **result, char *err, size_t errlen,
			const struct cp_ctl_token *tok);

#endif
