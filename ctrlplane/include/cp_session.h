/* Session control (Y.3802 7.3): relay sessions between end KMs and application sessions between
 * SAEs with a QoS (key rate, key size, TTL). This module decides; the key manager's relay does the
 * moving: every route change is a command with a new epoch (make-before-break, so the relay never
 * loses or duplicates keys). Pure logic on a routing graph, driven by the control thread. */
#ifndef CP_SESSION_H
#define CP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "cp_config.h"
#include "cp_lsa.h"

#define CP_PATH_MAX_HOPS 64
#define CP_GROUP_MAX 8

enum cp_relay_state {
	CP_RELAY_ACTIVE = 1, /* routed, relay keeps its buffer filled to target */
	CP_RELAY_UNROUTABLE, /* no usable path: waits for one, alarm raised */
};

/* What the node's relay reports back about a session (cp_ctrl_relay_progress). */
struct cp_relay_progress {
	uint64_t keys_relayed;  /* confirmed end to end (ACK) since the session opened */
	uint64_t bits_relayed;
	uint64_t keys_failed;   /* NACKed or timed out: discarded at both ends */
	uint64_t buffered_bits; /* key shared with dst available in the store */
	unsigned in_flight;     /* relays started and not yet confirmed or failed */
	double latency_us;      /* mean start-to-ACK time of the confirmed relays */
};

struct cp_relay_session {
	uint32_t id;
	char src[CP_NAME_MAX], dst[CP_NAME_MAX];
	enum cp_relay_state state;
	uint32_t epoch;      /* bumped on every route change */
	uint64_t target_bits;
	double cost;
	unsigned hops;       /* path has hops + 1 nodes */
	char path[CP_PATH_MAX_HOPS + 1][CP_NAME_MAX];
	unsigned users;      /* application sessions riding on it */
	uint64_t reserved_bps; /* their key rate, reserved along the path */
	uint64_t reroutes;
	struct cp_relay_progress progress;
};

struct cp_app_session {
	uint32_t id;
	unsigned n_saes;               /* 2 = pair, more = group keyed from saes[0]'s node */
	char saes[CP_GROUP_MAX][CP_NAME_MAX];
	uint64_t rate_bps;
	uint32_t key_bits;
	uint32_t ttl_s;
	uint32_t relay[CP_GROUP_MAX];  /* relay session per remote member (0 = same node) */
};

/* What the relay is told to do; the control thread turns it into a key-manager call. */
enum cp_relay_action { CP_RELAY_ESTABLISH = 1, CP_RELAY_MOVE, CP_RELAY_TEARDOWN };
struct cp_relay_cmd {
	enum cp_relay_action action;
	const struct cp_relay_session *s;
};
typedef void (*cp_relay_cb)(void *ctx, const struct cp_relay_cmd *cmd);

struct cp_sessions {
	char self[CP_NAME_MAX];
	struct cp_relay_session *relay;
	unsigned n_relay, cap_relay;
	struct cp_app_session *app;
	unsigned n_app, cap_app;
	uint32_t next_id;
	cp_relay_cb cb;
	void *cb_ctx;
	/* rate reserved per directed link "a>b" by application sessions */
	struct cp_reservation {
		char a[CP_NAME_MAX], b[CP_NAME_MAX];
		uint64_t bps;
	} *resv;
	unsigned n_resv, cap_resv;
};

void cp_sessions_init(struct cp_sessions *s, const char *self, cp_relay_cb cb, void *ctx);
void cp_sessions_clear(struct cp_sessions *s);

/* Route view the decisions are made on: the graph from the LSDB and one SPT workspace. */
struct cp_route_view {
	const struct cp_lsdb *db;
	const struct cp_lsdb_graph *lg;
	struct cp_spt *spt; /* sized for lg->n */
};

/* Open a relay session self -> dst (routed now if possible; unroutable sessions wait).
 * Returns the id or -EINVAL (bad/own destination), -ENOMEM. */
int cp_relay_add(struct cp_sessions *s, const struct cp_route_view *v, const char *dst,
		 uint64_t target_bits);
int cp_relay_del(struct cp_sessions *s, uint32_t id);
struct cp_relay_session *cp_relay_find(struct cp_sessions *s, uint32_t id);

/* Re-examine every relay session on a new view: a session whose path has a down, starved or
 * vanished link moves to the current shortest path (epoch + 1) or becomes unroutable; an
 * unroutable one is established when a path appears. Sessions on good paths stay put.
 * Returns the number of sessions whose route changed. */
unsigned cp_sessions_reroute(struct cp_sessions *s, const struct cp_route_view *v);

/* Admission control. On success returns the new id; on refusal -EINVAL/-ENOSPC/-EHOSTUNREACH
 * with a one-line reason ("no route from A to C", "insufficient key rate on A-B: ...") in why. */
struct cp_app_request {
	unsigned n_saes;
	const char *saes[CP_GROUP_MAX];
	uint64_t rate_bps;
	uint32_t key_bits;
	uint32_t ttl_s;
};
int cp_app_add(struct cp_sessions *s, const struct cp_route_view *v, const struct cp_config *cfg,
	       const struct cp_app_request *r, char *why, size_t whylen);
int cp_app_del(struct cp_sessions *s, uint32_t id);
/* Rate already reserved on the directed link a->b. */
uint64_t cp_reserved_bps(const struct cp_sessions *s, const char *a, const char *b);

#endif
