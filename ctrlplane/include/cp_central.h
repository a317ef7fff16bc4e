/* The central QKDN controller (Y.3802 Amd. 1 clause 9.2, configuration 2: centralized QKDN; the
 * node-controller channel is its Ck reference point, clause 8.3) and the node's
 * side of it. Nodes connect over mutual TLS (the certificate CN must be the node id a node
 * claims), report their local link state (the content of their LSA, plus the links their relay
 * sessions hold); the controller keeps the network-wide link-state database, computes every node's
 * shortest-path tree with the routing library and pushes each node its "view": the tree's edges
 * and the held edges that are still usable, with the controller's costs. The node routes on that
 * view exactly as it would on its own graph (Dijkstra on the view reproduces the controller's
 * tree), so the snapshot, session and rerouting code is the same in both configurations.
 *
 * Wire format (docs/central.md): one JSON object per line each way.
 *   report   {"type":"report","node":"A","seq":7,
 *             "links":[{"peer":"B","up":true,"avail_bits":n,"capacity_bits":n,"delta_bits":n,
 *                       "low_water_bits":n,"rate_bps":n}, ...],
 *             "hold":[["A","B"],["B","C"], ...], "number":1}           node -> controller
 *   routes   {"type":"routes","node":"A","generation":3,
 *             "edges":[["A","B",1.5],["B","C",2.25], ...],
 *             "numbers":[["A",1],["B",2], ...]}                         controller -> node
 * "number" (optional, 1..0xfffffffe) is the node's relay-wire number ([node] number); a routes
 * message names the numbers of the nodes its tree reaches, for the node's name -> number map
 * (absent: unchanged since the last routes message on this connection).
 *   failure  {"type":"failure","reason":"one line"}                     either way, answers a
 *                                                                       message it refuses */
#ifndef CP_CENTRAL_H
#define CP_CENTRAL_H

#include <jansson.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_graph.h"
#include "cp_lsa.h"

#define CP_CEN_MAX_LINE (8u << 20) /* longest accepted message line */
#define CP_CEN_MAX_HOLD 4096      /* held edges per report */
#define CP_CEN_MAX_EDGES 262144   /* edges per routes message */
#define CP_CEN_REASON_MAX 256

enum cp_cen_type { CP_CEN_REPORT = 1, CP_CEN_ROUTES, CP_CEN_FAILURE };

/* A directed KM-link hop a -> b (cost: routes only). */
struct cp_cen_edge {
	char a[CP_NAME_MAX], b[CP_NAME_MAX];
	double cost;
};

/* A node's relay-wire number (routes). */
struct cp_cen_number {
	char name[CP_NAME_MAX];
	uint32_t number;
};

struct cp_cen_msg {
	enum cp_cen_type type;
	char node[CP_NAME_MAX];           /* report, routes */
	uint64_t seq;                     /* report: sequence number; routes: generation */
	struct cp_lsa lsa;                /* report: origin = node, seq, links */
	struct cp_cen_edge *edges;        /* report: hold; routes: the view (owned, malloc'd) */
	unsigned n_edges;
	struct cp_cen_number *numbers;    /* routes (owned, malloc'd) */
	unsigned n_numbers;
	bool numbers_present;             /* routes: "numbers" sent (absent = as last time) */
	char reason[CP_CEN_REASON_MAX];   /* failure */
};

/* Message as a compact JSON line without the newline (caller frees); NULL for invalid content. */
char *cp_cen_encode(const struct cp_cen_msg *m);
/* Parse one line. Returns 0, or -EPROTO with a one-line reason in why (bad JSON, unknown type, a
 * missing or ill-typed field, an invalid name, too many entries, a negative or non-finite cost). */
int cp_cen_decode(const char *line, size_t len, struct cp_cen_msg *m, char *why, size_t whylen);
void cp_cen_msg_clear(struct cp_cen_msg *m);

/* ---- route computation (controller side, no I/O) ---- */
struct cp_central {
	struct cp_lsdb_graph lg; /* network graph from the database */
	struct cp_spt *spt;
	uint32_t *number;        /* per graph node: its relay-wire number, 0 = none */
};
/* Rebuild the graph from the database with the given cost parameters. 0 or -errno. */
int cp_central_build(struct cp_central *x, const struct cp_lsdb *db, const struct cp_cost_params *p);
void cp_central_release(struct cp_central *x);
/* The view of node: its shortest-path tree edges (parent -> child, in node order), then the held
 * edges that exist with a finite cost and are not tree edges. *out grows as needed (*cap
 * entries). Returns the number of edges, or -ENOENT (node unknown) / -ENOMEM. */
int cp_central_view(struct cp_central *x, const char *node, const struct cp_cen_edge *hold,
		    unsigned n_hold, struct cp_cen_edge **out, unsigned *cap);

/* Numbers of node and of every node its tree (the last cp_central_view of node) reaches, as far
 * as they are known. Returns the count or -ENOMEM. */
int cp_central_numbers(const struct cp_central *x, const char *node, struct cp_cen_number **out,
		       unsigned *cap);

/* ---- node side ---- */
/* Routing graph of a pushed view (self is always a node, even with no edges). 0, -EINVAL (an
 * edge with equal ends or a negative / non-finite cost) or -ENOMEM. */
int cp_central_view_graph(const char *self, const struct cp_cen_edge *e, unsigned n,
			  struct cp_lsdb_graph *out);

/* TLS client with reconnect (exponential backoff between min and max) and line framing. */
struct event_base;
struct cp_cen_client;
struct cp_cen_client_ops {
	void (*on_msg)(void *ctx, struct cp_cen_msg *m);       /* a decoded message */
	void (*on_state)(void *ctx, bool connected);           /* connection up / down */
	/* set: lines are handed over as they are (another protocol on the same transport) */
	void (*on_line)(void *ctx, const char *line, size_t len);
};
struct cp_cen_client_stats {
	bool connected;
	uint64_t connects, disconnects, rx, tx, rx_bad;
	uint64_t last_rx_ms; /* monotonic, 0 = never */
	unsigned backoff_ms; /* wait before the next attempt */
	char last_error[128];
};
/* ssl: client context (taken over). expect_cn: the CN the peer's certificate must carry (NULL:
 * any certificate of the CA). */
struct cp_cen_client *cp_cen_client_create(struct event_base *base, const char *addr,
					   const char *expect_cn, SSL_CTX *ssl,
					   const struct cp_cen_client_ops *ops, void *ctx,
					   unsigned backoff_min_ms, unsigned backoff_max_ms,
					   char *err, size_t errlen);
void cp_cen_client_free(struct cp_cen_client *cl);
/* Queue a message; -ENOTCONN when not connected, -EINVAL when it does not encode. */
int cp_cen_client_send(struct cp_cen_client *cl, const struct cp_cen_msg *m);
int cp_cen_client_send_line(struct cp_cen_client *cl, const char *line);
void cp_cen_client_stats(const struct cp_cen_client *cl, struct cp_cen_client_stats *out);

/* ---- the controller daemon's core (qkdctrl) ---- */
struct cp_cen_server;
struct cp_cen_server_opts {
	const char *listen, *ca, *cert, *key;
	struct cp_cost_params cost;
	unsigned batch_ms;  /* recompute this long after the first change (coalesces reports) */
	unsigned max_age_s; /* a disconnected node's last report is dropped after this */
	unsigned warmup_ms; /* after start, push only once every node named has reported, or after
			     * this long */
};
struct cp_cen_server *cp_cen_server_create(struct event_base *base,
					   const struct cp_cen_server_opts *o, char *err,
					   size_t errlen);
void cp_cen_server_free(struct cp_cen_server *s);
uint16_t cp_cen_server_port(const struct cp_cen_server *s);
/* The controller's status as Q.QKDN_Mk extension objects (Mc reference point): one "controller"
 * summary, one "node" per node of the database, and "alarm"s (node_disconnected, link_down,
 * link_one_way). Caller decrefs. */
json_t *cp_cen_server_status(struct cp_cen_server *s);
/* Report it to a QKDN manager (qkdmgr) every period_ms as component id and answer its status
 * requests; ssl taken over. */
struct cp_cen_mc;
struct cp_cen_mc *cp_cen_mc_create(struct event_base *base, struct cp_cen_server *s,
				   const char *addr, const char *id, SSL_CTX *ssl, unsigned period_ms,
				   char *err, size_t errlen);
void cp_cen_mc_free(struct cp_cen_mc *mc);
/* CLI commands (argv form) for the controller's control socket: show nodes|links|routes|stats,
 * show routes <node>, route show <from> <to> [k=n], help. 0 with *result or -errno with err. */
int cp_cen_server_command(struct cp_cen_server *s, json_t *argv, json_t **result, char *err,
			  size_t errlen);

#endif
