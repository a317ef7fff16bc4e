/* qkdnode's key relay driven by the control thread (relay.h). The worker runs on its own lcore
 * or is polled from the control thread's tick (relays are paced by the sessions' windows, so a
 * low-rate node needs no lcore for them); either way only one thread touches its data. */
#include "relay.h"

#include <errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp_eal.h"
#include "dp_relay.h"
#include "km_relay.h"

#define MAX_SESS 64
#define BACKOFF_NS 50000000ull /* after a refused start (no key material, link down) */
#define PORT_RING 512          /* descriptors of a relay port's queues */

struct sess {
	uint32_t id;
	bool active;
	uint32_t epoch;
	uint64_t target_bits;
	unsigned hops;
	char path[CP_PATH_MAX_HOPS + 1][CP_NAME_MAX];
	uint32_t route[KM_ROUTE_MAX]; /* numbers of path, resolved for route_epoch */
	uint8_t nroute;
	uint32_t route_epoch; /* 0: not resolved (yet) */
	int first_link;       /* links[] index of route[1] */
	unsigned requested;   /* on the request ring, not yet STARTED or refused */
	uint64_t backoff_until;
	double latency_sum_us;
	struct cp_relay_progress prog;
};

struct flight {
	bool used;
	uint8_t id[KM_KEY_ID_LEN];
	uint32_t sess;
	int link;
	uint64_t t0;
	unsigned resolves;
	uint8_t nroute;
	uint32_t route[KM_ROUTE_MAX]; /* the route it was started on */
};

struct link {
	uint32_t qkd_id, neighbor;
	uint16_t port;
	double latency_sum_us;
	uint64_t confirmed;
	uint64_t resyncs, resync_failures;
	unsigned resync_fails; /* in a row */
};

struct qn_relay {
	struct km_store *st;
	struct rte_mempool *pool;
	struct rte_ring *req, *ev;
	struct dp_relay_worker *w;
	unsigned nlinks, nsess;
	struct link links[DP_RELAY_MAX_PORTS];
	struct sess sess[MAX_SESS];
	uint32_t key_bytes;  /* of one relayed key */
	unsigned window;     /* relays in flight per session */
	int lcore;           /* -1: polled from the tick */
	volatile bool quit;  /* stops the lcore */
	unsigned nflight, flight_hw; /* capacity; slots below flight_hw may be used */
	struct flight *fl;
	uint64_t start_refused, unmatched_events, requests_full, given_up;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int port_by_name(const char *name, uint16_t *port)
{
	return rte_eth_dev_get_port_by_name(name, port);
}

bool qn_relay_owns_port(const struct cp_config *cfg, uint16_t port_id)
{
	for (unsigned i = 0; cfg && i < cfg->n_km_links; i++) {
		uint16_t p;
		if (cfg->km_links[i].port[0] && port_by_name(cfg->km_links[i].port, &p) == 0 && p == port_id)
			return true;
	}
	return false;
}

static int port_start(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) ||
	    rte_eth_rx_queue_setup(port, 0, PORT_RING, rte_eth_dev_socket_id(port), NULL, pool) ||
	    rte_eth_tx_queue_setup(port, 0, PORT_RING, rte_eth_dev_socket_id(port), NULL) ||
	    dp_port_start(port, DP_PORT_START_WAIT_MS))
		return -EIO;
	return 0;
}

static int add_links(struct qn_relay *r, const struct cp_config *cfg, struct dp_relay_port *ports,
		     struct km_relay_neighbor *nb, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->n_km_links; i++) {
		const struct cp_cfg_km_link *km = &cfg->km_links[i];
		if (!km->port[0])
			continue;
		if (r->nlinks == DP_RELAY_MAX_PORTS) {
			snprintf(err, errlen, "more than %d KM links with a relay port", DP_RELAY_MAX_PORTS);
			return -EINVAL;
		}
		const struct cp_cfg_qkd_link *q = cp_config_qkd_link(cfg, km->qkd_link);
		uint16_t port;
		if (port_by_name(km->port, &port)) {
			snprintf(err, errlen, "[km_link %s] no DPDK port named '%s' (give it with --vdev)",
				 km->name, km->port);
			return -EINVAL;
		}
		if (port_start(port, r->pool)) {
			snprintf(err, errlen, "[km_link %s] cannot start port %s", km->name, km->port);
			return -EIO;
		}
		struct link *l = &r->links[r->nlinks];
		*l = (struct link){.qkd_id = q->id, .neighbor = km->peer_number, .port = port};
		struct dp_relay_port *p = &ports[r->nlinks];
		*p = (struct dp_relay_port){.neighbor = km->peer_number, .port_id = port, .queue = 0};
		rte_eth_macaddr_get(port, &p->own_mac);
		memset(&p->peer_mac, 0xff, sizeof(p->peer_mac)); /* point-to-point KM link */
		nb[r->nlinks] = (struct km_relay_neighbor){km->peer_number, KM_POOL_LINK(q->id)};
		r->nlinks++;
	}
	return 0;
}

static int launch(struct qn_relay *r, int lcore, char *err, size_t errlen)
{
	if (!rte_lcore_is_enabled((unsigned)lcore) || (unsigned)lcore == rte_get_main_lcore()) {
		snprintf(err, errlen, "relay_lcore %d is not an EAL worker lcore (see --lcores)", lcore);
		return -EINVAL;
	}
	if (rte_eal_remote_launch(dp_relay_lcore_main, r->w, (unsigned)lcore)) {
		snprintf(err, errlen, "relay_lcore %d is already used by the dataplane", lcore);
		return -EBUSY;
	}
	r->lcore = lcore;
	return 0;
}

struct qn_relay *qn_relay_create(const struct cp_config *cfg, struct km_store *st,
				 unsigned idle_sleep_us, char *err, size_t errlen)
{
	err[0] = 0;
	bool any = false;
	for (unsigned i = 0; i < cfg->n_km_links; i++)
		any |= cfg->km_links[i].port[0] != 0;
	if (!any)
		return NULL;
	if (!st) {
		snprintf(err, errlen, "KM links with a relay port need the key store (--store)");
		return NULL;
	}
	struct qn_relay *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->st = st;
	r->lcore = -1;
	r->key_bytes = cfg->policy.relay_key_bits / 8;
	r->window = cfg->policy.relay_window;
	r->nflight = MAX_SESS * r->window;
	r->fl = calloc(r->nflight, sizeof(*r->fl));
	r->pool = rte_pktmbuf_pool_create("qn_relay_pool", 4095, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	r->req = rte_ring_create_elem("qn_relay_req", sizeof(struct dp_relay_request), 1024,
				      SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	r->ev = rte_ring_create_elem("qn_relay_ev", sizeof(struct dp_relay_event), 4096, SOCKET_ID_ANY,
				     RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!r->pool || !r->req || !r->ev || !r->fl) {
		snprintf(err, errlen, "cannot allocate the relay's mbuf pool or rings");
		qn_relay_free(r);
		return NULL;
	}
	struct dp_relay_port ports[DP_RELAY_MAX_PORTS];
	struct km_relay_neighbor nb[DP_RELAY_MAX_PORTS];
	if (add_links(r, cfg, ports, nb, err, errlen)) {
		qn_relay_free(r);
		return NULL;
	}
	struct km_relay_config kc = {cfg->node_number, st, nb, r->nlinks};
	struct km_relay *kr;
	int rc = km_relay_create(&kc, &kr);
	if (rc) {
		snprintf(err, errlen, "relay: %s", strerror(-rc));
		qn_relay_free(r);
		return NULL;
	}
	struct dp_relay_config dc = {.relay = kr, .requests = r->req, .events = r->ev, .pool = r->pool,
				     .ports = ports, .nports = r->nlinks,
				     .ack_timeout_ns = QN_RELAY_ACK_TIMEOUT_NS, .resolve_overdue = true,
				     .quit = &r->quit, .idle_sleep_us = idle_sleep_us,
				     .resync_at_start = true};
	rc = dp_relay_worker_create(&dc, &r->w);
	if (rc) {
		km_relay_free(kr);
		snprintf(err, errlen, "relay worker: %s", strerror(-rc));
		qn_relay_free(r);
		return NULL;
	}
	if (cfg->relay_lcore >= 0 && launch(r, cfg->relay_lcore, err, errlen)) {
		qn_relay_free(r);
		return NULL;
	}
	return r;
}

void qn_relay_free(struct qn_relay *r)
{
	if (!r)
		return;
	if (r->lcore >= 0) {
		r->quit = true;
		rte_eal_wait_lcore((unsigned)r->lcore);
	}
	dp_relay_worker_free(r->w); /* zeroizes the keys of relays still waiting for their ACK */
	for (unsigned i = 0; i < r->nlinks; i++)
		rte_eth_dev_stop(r->links[i].port);
	free(r->fl);
	rte_ring_free(r->req);
	rte_ring_free(r->ev);
	rte_mempool_free(r->pool);
	free(r);
}

static struct sess *sess_find(struct qn_relay *r, uint32_t id)
{
	for (unsigned i = 0; i < r->nsess; i++)
		if (r->sess[i].id == id)
			return &r->sess[i];
	return NULL;
}

void qn_relay_session(struct qn_relay *r, const struct cp_relay_cmd *cmd)
{
	const struct cp_relay_session *s = cmd->s;
	struct sess *x = sess_find(r, s->id);
	if (cmd->action == CP_RELAY_TEARDOWN) {
		if (x)
			x->active = false; /* relays in flight finish on their own */
		return;
	}
	if (!x) {
		if (r->nsess == MAX_SESS)
			return;
		x = &r->sess[r->nsess++];
		memset(x, 0, sizeof(*x));
		x->id = s->id;
	}
	x->active = true;
	x->epoch = s->epoch;
	x->target_bits = s->target_bits;
	x->hops = s->hops;
	memcpy(x->path, s->path, sizeof(x->path));
	x->route_epoch = 0;
	x->backoff_until = 0;
}

static int link_of(const struct qn_relay *r, uint32_t neighbor)
{
	for (unsigned i = 0; i < r->nlinks; i++)
		if (r->links[i].neighbor == neighbor)
			return (int)i;
	return -1;
}

/* The path's node numbers for the current epoch; false while some node's number is unknown. */
static bool resolve(struct qn_relay *r, struct cp_ctrl *c, struct sess *x)
{
	if (x->route_epoch == x->epoch)
		return true;
	if (x->hops + 1 > KM_ROUTE_MAX)
		return false;
	for (unsigned i = 0; i <= x->hops; i++)
		if (!(x->route[i] = cp_ctrl_node_number(c, x->path[i])))
			return false;
	x->first_link = link_of(r, x->route[1]);
	if (x->first_link < 0)
		return false;
	x->nroute = (uint8_t)(x->hops + 1);
	x->route_epoch = x->epoch;
	return true;
}

/* cookie: session id | first-hop link index | epoch (low 24 bits) */
static uint64_t cookie_of(const struct sess *x)
{
	return (uint64_t)x->id << 32 | (uint64_t)(x->first_link & 0xff) << 24 | (x->epoch & 0xffffff);
}

static void top_up(struct qn_relay *r, struct sess *x, uint64_t now)
{
	struct km_pool_stats ps;
	if (km_store_pool_stats(r->st, KM_POOL_PEER(x->route[x->nroute - 1]), &ps))
		ps.available_bits = 0;
	x->prog.buffered_bits = ps.available_bits;
	if (!x->active || now < x->backoff_until)
		return;
	uint64_t key_bits = (uint64_t)r->key_bytes * 8;
	while (x->prog.in_flight + x->requested < r->window &&
	       ps.available_bits + (x->prog.in_flight + x->requested) * key_bits < x->target_bits) {
		struct dp_relay_request q = {.cookie = cookie_of(x), .bytes = r->key_bytes,
					     .nroute = x->nroute, .kind = DP_RELAY_REQ_RELAY};
		memcpy(q.route, x->route, sizeof(q.route[0]) * x->nroute);
		if (rte_ring_enqueue_elem(r->req, &q, sizeof(q))) {
			r->requests_full++;
			return;
		}
		x->requested++;
	}
}

static struct flight *flight_find(struct qn_relay *r, const uint8_t id[KM_KEY_ID_LEN])
{
	for (unsigned i = 0; i < r->flight_hw; i++)
		if (r->fl[i].used && !memcmp(r->fl[i].id, id, KM_KEY_ID_LEN))
			return &r->fl[i];
	return NULL;
}

static void started(struct qn_relay *r, const struct dp_relay_event *e, uint64_t now)
{
	struct sess *x = sess_find(r, (uint32_t)(e->cookie >> 32));
	if (!x) {
		r->unmatched_events++;
		return;
	}
	if (x->requested)
		x->requested--;
	for (unsigned i = 0; i < r->nflight; i++) {
		struct flight *f = &r->fl[i];
		if (f->used)
			continue;
		if (i >= r->flight_hw)
			r->flight_hw = i + 1;
		*f = (struct flight){.used = true, .sess = x->id, .link = (int)(e->cookie >> 24 & 0xff),
				     .t0 = now, .nroute = x->nroute};
		memcpy(f->id, e->relay_id, KM_KEY_ID_LEN);
		memcpy(f->route, x->route, sizeof(f->route));
		x->prog.in_flight++;
		return;
	}
	r->unmatched_events++; /* cannot happen: the window bounds the flights */
}

/* ACK, NACK or timeout at the origin: the relay is over, one way or the other. */
static void finished(struct qn_relay *r, const struct dp_relay_event *e, uint64_t now)
{
	struct flight *f = flight_find(r, e->relay_id);
	if (!f) {
		r->unmatched_events++;
		return;
	}
	struct sess *x = sess_find(r, f->sess);
	if (x) {
		x->prog.in_flight--;
		if (e->kind == KM_RELAY_CONFIRMED) {
			double us = (double)(now - f->t0) / 1e3;
			x->prog.keys_relayed++;
			x->prog.bits_relayed += (uint64_t)r->key_bytes * 8;
			x->latency_sum_us += us;
			x->prog.latency_us = x->latency_sum_us / (double)x->prog.keys_relayed;
			if (f->link >= 0 && (unsigned)f->link < r->nlinks) {
				r->links[f->link].latency_sum_us += us;
				r->links[f->link].confirmed++;
			}
		} else {
			x->prog.keys_failed++;
		}
	}
	f->used = false;
	while (r->flight_hw && !r->fl[r->flight_hw - 1].used)
		r->flight_hw--;
}

/* No answer yet: ask the destination along the session's current route (or the relay's own
 * when the session is gone or has no route now), or give up after QN_RELAY_RESOLVE_TRIES. */
static void overdue(struct qn_relay *r, const struct dp_relay_event *e)
{
	struct flight *f = flight_find(r, e->relay_id);
	if (!f) {
		r->unmatched_events++;
		return;
	}
	struct dp_relay_request q = {.kind = DP_RELAY_REQ_RESOLVE, .nroute = f->nroute};
	memcpy(q.relay_id, f->id, KM_KEY_ID_LEN);
	memcpy(q.route, f->route, sizeof(q.route));
	const struct sess *x = sess_find(r, f->sess);
	if (x && x->active && x->route_epoch == x->epoch &&
	    x->route[x->nroute - 1] == f->route[f->nroute - 1]) {
		q.nroute = x->nroute;
		memcpy(q.route, x->route, sizeof(q.route));
	}
	if (++f->resolves > QN_RELAY_RESOLVE_TRIES) {
		q.kind = DP_RELAY_REQ_CANCEL; /* reported back as EXPIRED */
		r->given_up++;
	}
	if (rte_ring_enqueue_elem(r->req, &q, sizeof(q)))
		r->requests_full++; /* asked again at the next timeout */
}

/* A link's pool resync ended (the worker starts them by itself): count it, say it once. */
static void resynced(struct qn_relay *r, const struct dp_relay_event *e)
{
	int i = link_of(r, e->neighbor);
	if (i < 0) {
		r->unmatched_events++;
		return;
	}
	struct link *l = &r->links[i];
	if (e->kind == DP_RELAY_EV_RESYNCED) {
		l->resyncs++;
		if (l->resync_fails >= CP_RESYNC_ALARM_FAILS)
			fprintf(stderr, "qkdnode: KM link to node %u: key pool resync succeeded again\n",
				e->neighbor);
		l->resync_fails = 0;
		fprintf(stderr, "qkdnode: KM link to node %u: key pool resynced, %d keys only here "
				"discarded, agreed ids %02x%02x%02x%02x...\n", e->neighbor, e->count,
			e->digest[0], e->digest[1], e->digest[2], e->digest[3]);
		return;
	}
	l->resync_failures++;
	l->resync_fails = e->fails;
	fprintf(stderr, "qkdnode: KM link to node %u: key pool resync failed: %s (%u in a row)\n",
		e->neighbor, strerror(-e->count), e->fails);
}

static void handle_event(struct qn_relay *r, const struct dp_relay_event *e, uint64_t now)
{
	switch (e->kind) {
	case DP_RELAY_EV_OVERDUE:
		overdue(r, e);
		break;
	case DP_RELAY_EV_STARTED:
		started(r, e, now);
		break;
	case KM_RELAY_CONFIRMED:
	case KM_RELAY_FAILED:
	case DP_RELAY_EV_EXPIRED:
		finished(r, e, now);
		break;
	case KM_RELAY_DELIVERED: /* destination, transit: the worker counts them */
	case KM_RELAY_FORWARDED:
	case KM_RELAY_REJECTED:
	case KM_RELAY_PASSED:
		break;
	case DP_RELAY_EV_RESYNCED:
	case DP_RELAY_EV_RESYNC_FAILED:
		resynced(r, e);
		break;
	default:
		if (e->kind < 0 && e->cookie >> 32) { /* a relay request refused at the start */
			struct sess *x = sess_find(r, (uint32_t)(e->cookie >> 32));
			r->start_refused++;
			if (x) {
				if (x->requested)
					x->requested--;
				x->backoff_until = now + BACKOFF_NS;
			}
		}
		break;
	}
}

void qn_relay_tick(struct qn_relay *r, struct cp_ctrl *c)
{
	if (!r)
		return;
	for (int i = 0; r->lcore < 0 && i < 8 && dp_relay_poll(r->w); i++)
		;
	uint64_t now = now_ns();
	struct dp_relay_event ev[32];
	unsigned n;
	while ((n = rte_ring_dequeue_burst_elem(r->ev, ev, sizeof(ev[0]), 32, NULL)) > 0)
		for (unsigned i = 0; i < n; i++)
			handle_event(r, &ev[i], now);
	for (unsigned i = 0; i < r->nsess;) {
		struct sess *x = &r->sess[i];
		if (x->active && resolve(r, c, x))
			top_up(r, x, now);
		int rc = cp_ctrl_relay_progress(c, x->id, &x->prog);
		if (rc == -ENOENT && !x->active && !x->prog.in_flight && !x->requested) {
			*x = r->sess[--r->nsess]; /* deleted and drained */
			continue;
		}
		i++;
	}
}

static struct link *link_by_qkd(struct qn_relay *r, uint32_t qkd_link_id)
{
	for (unsigned i = 0; r && i < r->nlinks; i++)
		if (r->links[i].qkd_id == qkd_link_id)
			return &r->links[i];
	return NULL;
}

int qn_relay_link_admin(struct qn_relay *r, uint32_t qkd_link_id, bool up)
{
	struct link *l = link_by_qkd(r, qkd_link_id);
	if (!l)
		return -ENOENT;
	struct dp_relay_request q = {.kind = DP_RELAY_REQ_LINK, .up = up, .neighbor = l->neighbor};
	return rte_ring_enqueue_elem(r->req, &q, sizeof(q)) ? -EAGAIN : 0;
}

int qn_relay_link_info(struct qn_relay *r, uint32_t qkd_link_id, struct qn_relay_link_info *out)
{
	struct link *l = link_by_qkd(r, qkd_link_id);
	if (!l)
		return -ENOENT;
	struct rte_eth_link st;
	out->port_up = rte_eth_link_get_nowait(l->port, &st) == 0 && st.link_status == RTE_ETH_LINK_UP;
	out->latency_us = l->confirmed ? l->latency_sum_us / (double)l->confirmed : 0;
	out->resyncs = l->resyncs;
	out->resync_failures = l->resync_failures;
	out->resync_fails_in_row = l->resync_fails;
	return 0;
}

json_t *qn_relay_stats(const struct qn_relay *r)
{
	const struct dp_relay_stats *s = dp_relay_stats(r->w);
	json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "started",
			 (json_int_t)s->started, "confirmed", (json_int_t)s->confirmed, "failed",
			 (json_int_t)s->failed, "expired", (json_int_t)s->expired, "delivered",
			 (json_int_t)s->delivered, "forwarded", (json_int_t)s->forwarded, "rejected",
			 (json_int_t)s->rejected, "passed", (json_int_t)s->passed, "rx_bad_auth",
			 (json_int_t)s->rx_bad_auth, "rx_replayed", (json_int_t)s->rx_replayed,
			 "tx_dropped", (json_int_t)s->tx_dropped, "commit_failed",
			 (json_int_t)s->commit_failed, "start_refused", (json_int_t)r->start_refused,
			 "unmatched_events", (json_int_t)r->unmatched_events, "requests_full",
			 (json_int_t)r->requests_full);
	json_object_update_new(j, json_pack("{s:I,s:I,s:I,s:I,s:I}", "overdue",
					    (json_int_t)s->overdue, "resolves", (json_int_t)s->resolves,
					    "answered", (json_int_t)s->answered, "late_acks",
					    (json_int_t)s->rx_late, "given_up", (json_int_t)r->given_up));
	json_object_update_new(j, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "resyncs",
					    (json_int_t)s->resyncs, "resync_errors",
					    (json_int_t)s->resync_errors, "resync_auto",
					    (json_int_t)s->resync_auto, "resync_stray",
					    (json_int_t)s->resync_stray, "rx_pool_mismatch",
					    (json_int_t)s->rx_pool_mismatch, "rx_seq_gaps",
					    (json_int_t)s->rx_seq_gaps, "rx_paused",
					    (json_int_t)s->rx_paused));
	json_object_update_new(j, json_pack("{s:I,s:I,s:I,s:I,s:I}", "rx_frames", (json_int_t)s->rx_frames,
					    "tx_frames", (json_int_t)s->tx_frames, "rx_malformed",
					    (json_int_t)s->rx_malformed, "rx_other",
					    (json_int_t)s->rx_other, "rx_incomplete",
					    (json_int_t)s->rx_incomplete));
	return j;
}
