/* The relay worker's state, shared by its frame path (relay_worker.c) and its link resync
 * (relay_resync.c). One thread owns all of it. */
#ifndef DP_RELAY_INTERNAL_H
#define DP_RELAY_INTERNAL_H

#include <rte_mbuf.h>

#include "dp_relay.h"

/* Everything one poll can produce: one message per request or received frame, and a burst of
 * resync messages per link. */
#define MAX_OUT (8 + 2 * DP_RELAY_BURST * DP_RELAY_MAX_PORTS)

struct tx_queue {
	unsigned n;
	struct rte_mbuf *m[MAX_OUT];
};

/* Bigger of the two kinds of message a KM link carries. */
#define MSG_MAX (KM_RELAY_MSG_MAX > KM_RESYNC_MSG_MAX ? KM_RELAY_MSG_MAX : KM_RESYNC_MSG_MAX)

/* A port's message being reassembled from its fragments (got == 0: none). */
struct rx_reasm {
	uint16_t proto, tag;
	uint32_t total, got;
	uint8_t buf[MSG_MAX];
};

/* One link's resync: the session running (at most one), and what asks for the next one. */
struct link_sync {
	struct km_resync *rs;
	uint64_t cookie;        /* of the request that started it (0: automatic or the peer's) */
	uint64_t deadline_tsc;  /* the session fails when it has not finished by then */
	bool pump;              /* it may have messages to send */
	bool want;              /* the pools look out of step: resync (again) when allowed */
	uint64_t next_try_tsc;  /* backoff: no automatic session before this */
	unsigned fails;         /* sessions failed in a row */
	uint64_t gaps_seen;     /* km_relay_neighbor_gaps already acted on */
};

struct dp_relay_worker {
	struct km_relay *relay;
	struct rte_ring *requests, *events;
	struct rte_mempool *pool;
	struct dp_relay_port ports[DP_RELAY_MAX_PORTS];
	unsigned nports;
	struct tx_queue tx[DP_RELAY_MAX_PORTS];
	uint16_t frag_max[DP_RELAY_MAX_PORTS]; /* message bytes one frame of the port carries */
	uint16_t tx_tag[DP_RELAY_MAX_PORTS];   /* tag of the next message sent on the port */
	struct rx_reasm reasm[DP_RELAY_MAX_PORTS];
	uint64_t ack_timeout_ns;
	bool resolve_overdue;
	uint64_t next_expiry_tsc, expiry_period_tsc;
	uint64_t resync_age_ns;                          /* automatic resyncs leave younger keys */
	volatile bool *quit;
	unsigned idle_sleep_us;
	struct dp_relay_stats stats;
	unsigned nev;
	struct dp_relay_event ev[MAX_OUT]; /* held until the burst's group commit */
	struct link_sync sync[DP_RELAY_MAX_PORTS];
	uint8_t rsmsg[KM_RESYNC_MSG_MAX];
	struct km_relay_out out;            /* one message being produced */
	uint8_t rx[DP_RELAY_HDR_LEN + MSG_MAX]; /* a multi-segment frame, linearised */
};

/* relay_worker.c */
/* Queue a message on port p as fragments (all or none: a drop is counted in tx_dropped). */
void queue_frame(struct dp_relay_worker *w, int p, uint16_t proto, const uint8_t *msg, size_t len);
struct dp_relay_event *emit_slot(struct dp_relay_worker *w); /* NULL: no room or no ring */

/* relay_resync.c */
/* A resync of link p as initiator (a request's cookie, or 0 for an automatic one). */
int resync_begin(struct dp_relay_worker *w, unsigned p, uint64_t cutoff_ns, uint64_t cookie);
/* A resync message that came in on port p. */
void resync_receive(struct dp_relay_worker *w, unsigned p, const uint8_t *msg, size_t len);
/* Send what the sessions have to send; finish those that are done. True when there was work
 * (inside the burst's group commit). */
void resync_pump(struct dp_relay_worker *w);
bool resync_pending(const struct dp_relay_worker *w);
/* The frame path saw a message naming keys we lack (-ENOKEY) on link p. */
void resync_mismatch(struct dp_relay_worker *w, unsigned p);
/* Every expiry period: sequence gaps, timeouts, due automatic sessions. */
void resync_tick(struct dp_relay_worker *w, uint64_t now_tsc);
void resync_free_all(struct dp_relay_worker *w);

#endif
