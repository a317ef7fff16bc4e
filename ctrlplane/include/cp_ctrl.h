/* The node's control thread: one libevent loop owning topology (LSDB + link-state protocol with
 * the neighbours), routes, sessions, the QKDN-manager connection (Mk/Mc/Mq agent), the control
 * socket, the Prometheus endpoint and timers. It never touches worker data: it publishes
 * snapshots (cp_snapshot.h) and sends commands on per-worker rings (cp_ring.h). The node it
 * controls (dataplane + key store, or the simulator in cp_sim.h) is reached through cp_node_ops. */
#ifndef CP_CTRL_H
#define CP_CTRL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_config.h"
#include "cp_ring.h"
#include "cp_session.h"
#include "cp_snapshot.h"

/* State of one KM link and the QKD link feeding it, as the key store and dataplane see it. */
struct cp_link_stats {
	bool up;                 /* QKD link producing and KM link connected */
	uint64_t avail_bits;     /* key in the buffer */
	uint64_t capacity_bits;  /* 0 = use the configured capacity */
	double skr_bps;          /* secret key rate */
	double qber;             /* quantum bit error rate of the last blocks */
	double fill_rate_bps;    /* net change of the buffer (negative = draining) */
	uint64_t keys_supplied;  /* keys handed to SAEs (counter) */
	uint64_t ttl_expired;    /* keys dropped at TTL (counter) */
	uint64_t auth_failures;  /* failed authentications on the link (counter) */
	double relay_latency_us; /* mean relay hop latency */
	uint64_t resyncs;        /* KM-link pool resyncs that agreed (counter) */
	uint64_t resync_failures; /* resyncs that failed (counter) */
	bool resync_alarm;       /* the last CP_RESYNC_ALARM_FAILS resyncs all failed */
};
#define CP_RESYNC_ALARM_FAILS 3

/* Called on the control thread only. Any member may be NULL (then that feature is absent). */
struct cp_node_ops {
	int (*link_stats)(void *ctx, const struct cp_cfg_km_link *km,
			  const struct cp_cfg_qkd_link *qkd, struct cp_link_stats *out);
	/* Zeroize and drop a KM link's available keys (km and qkd NULL = every link); the bits
	 * dropped go to *bits. */
	int (*key_flush)(void *ctx, const struct cp_cfg_km_link *km,
			 const struct cp_cfg_qkd_link *qkd, uint64_t *bits);
	/* Establish / move (new epoch, make-before-break) / tear down a relay session. */
	void (*relay)(void *ctx, const struct cp_relay_cmd *cmd);
	/* A node with its own worker command rings (qkdnode's dp_node) takes the commands here;
	 * NULL: they go on the control thread's rings (cp_ctrl_worker). 0 or -errno. */
	int (*worker_cmd)(void *ctx, unsigned lcore, const struct cp_worker_cmd *cmd);
	/* Store timers (TTL expiry, tombstone pruning), every CP_HOUSEKEEPING_MS; now_ns is
	 * CLOCK_REALTIME. */
	void (*housekeeping)(void *ctx, uint64_t now_ns);
	/* The node's relay counters (an object, shown as "relay" in the statistics); caller decrefs. */
	json_t *(*relay_stats)(void *ctx);
};
#define CP_HOUSEKEEPING_MS 1000

struct cp_ctrl_opts {
	const char *config_path;
	const struct cp_config *config; /* used instead of config_path when set (copied) */
	const struct cp_node_ops *ops;
	void *ops_ctx;
	bool handle_signals; /* SIGHUP reloads, SIGINT/SIGTERM stop the loop (one ctrl per process) */
	/* Called every tick_us on the control thread (a daemon's main-loop body, e.g. draining key
	 * rings); NULL: none. */
	void (*tick)(void *ctx);
	void *tick_ctx;
	unsigned tick_us;
};

struct cp_ctrl;

struct cp_ctrl *cp_ctrl_create(const struct cp_ctrl_opts *o, char *err, size_t errlen);
/* Run the loop on a new thread (cp_ctrl_start) or on the calling one until cp_ctrl_stop. */
int cp_ctrl_start(struct cp_ctrl *c);
int cp_ctrl_run(struct cp_ctrl *c);
void cp_ctrl_stop(struct cp_ctrl *c); /* any thread; joins the thread cp_ctrl_start made */
void cp_ctrl_free(struct cp_ctrl *c);

/* Worker channel for an lcore of node.lcores, NULL for others. */
struct cp_worker_chan *cp_ctrl_worker(struct cp_ctrl *c, unsigned lcore);
/* Current snapshot (rcu_dereference; QSBR reader between quiescent states). */
const struct cp_snapshot *cp_ctrl_snapshot(struct cp_ctrl *c);
/* Copy of the latest statistics object (same counters as show stats, Mk and /metrics); any
 * thread; caller decrefs. */
json_t *cp_ctrl_stats(struct cp_ctrl *c);
/* Bound ports (useful when the configuration asks for port 0). */
uint16_t cp_ctrl_lsa_port(struct cp_ctrl *c);
uint16_t cp_ctrl_metrics_port(struct cp_ctrl *c);

/* Run one control-socket command (argv form) on the control thread's state; used by the socket
 * and by tests. Returns 0 with *result, or -errno with a one-line reason in err. Control thread
 * only. */
int cp_ctrl_command(struct cp_ctrl *c, json_t *argv, json_t **result, char *err, size_t errlen);

/* Numeric node id of a node name for the relay: [node] number for ourselves, [km_link]
 * peer_number for a neighbour (0 when its LSA announces another number), the LSA's number for
 * others; 0 = unknown. Control thread only. */
uint32_t cp_ctrl_node_number(const struct cp_ctrl *c, const char *name);
/* True when the neighbour of km announces a number other than km->peer_number. */
bool cp_ctrl_number_mismatch(const struct cp_ctrl *c, const struct cp_cfg_km_link *km);
/* The node's relay reports a session's progress (shown by show sessions, stats, Mk). -ENOENT
 * for an unknown session. Control thread only. */
int cp_ctrl_relay_progress(struct cp_ctrl *c, uint32_t id, const struct cp_relay_progress *p);

/* Prometheus text exposition of a statistics object (caller frees). */
char *cp_metrics_text(const json_t *stats);

#endif
