/* Link resync on the relay lcore (dp_relay.h): sessions of km_resync over the KM link, started on
 * request, automatically when the link's pools look out of step (a message naming keys we lack,
 * a gap in the peer's sequence numbers), or by the neighbour. While a session runs the link is
 * paused in the km_relay (nothing sent on it, nothing taken in from it), so both ends' id sets
 * are snapshots nobody changes. A failed session is tried again with exponential backoff. */
#include <errno.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <string.h>
#include <time.h>

#include "relay_internal.h"

#define SESSION_TIMEOUT_MS 3000   /* a session not finished by then failed */
#define BACKOFF_MIN_MS 200        /* after the first failure; doubles up to BACKOFF_MAX_MS */
#define BACKOFF_MAX_MS 30000
#define RESYNC_SPACING_MS 1000    /* automatic sessions on a link at most once a second */

static uint64_t ms_tsc(uint64_t ms)
{
	return rte_get_tsc_hz() / 1000 * ms;
}

static void emit_resync(struct dp_relay_worker *w, unsigned p, int32_t kind, int32_t count,
			const uint8_t digest[32])
{
	struct dp_relay_event *ev = emit_slot(w);
	if (!ev)
		return;
	ev->cookie = w->sync[p].cookie;
	ev->kind = kind;
	ev->count = count;
	ev->neighbor = w->ports[p].neighbor;
	ev->fails = w->sync[p].fails;
	if (digest)
		memcpy(ev->digest, digest, 32);
}

static void session_drop(struct dp_relay_worker *w, unsigned p)
{
	struct link_sync *s = &w->sync[p];
	km_resync_free(s->rs);
	s->rs = NULL;
	s->cookie = 0;
	s->pump = false;
	km_relay_set_neighbor_paused(w->relay, w->ports[p].neighbor, false);
}

/* err 0: finish (verify the peer's confirm, discard, report); else the session failed. */
static void session_end(struct dp_relay_worker *w, unsigned p, int err)
{
	struct link_sync *s = &w->sync[p];
	uint8_t digest[32];
	int n = err ? err : km_resync_finish(s->rs, digest);
	uint64_t now = rte_get_tsc_cycles();
	if (n < 0) {
		w->stats.resync_errors++;
		s->fails++;
		s->want = true; /* still out of step: again after the backoff */
		unsigned shift = s->fails - 1 < 8 ? s->fails - 1 : 8;
		uint64_t ms = (uint64_t)BACKOFF_MIN_MS << shift;
		s->next_try_tsc = now + ms_tsc(ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS);
		emit_resync(w, p, DP_RELAY_EV_RESYNC_FAILED, n, NULL);
	} else {
		w->stats.resyncs++;
		s->fails = 0;
		s->want = false;
		s->next_try_tsc = now + ms_tsc(RESYNC_SPACING_MS);
		emit_resync(w, p, DP_RELAY_EV_RESYNCED, n, digest);
	}
	session_drop(w, p);
}

static void session_open(struct dp_relay_worker *w, unsigned p, struct km_resync *rs, uint64_t cookie)
{
	struct link_sync *s = &w->sync[p];
	s->rs = rs;
	s->cookie = cookie;
	s->pump = true;
	s->deadline_tsc = rte_get_tsc_cycles() + ms_tsc(SESSION_TIMEOUT_MS);
	km_relay_set_neighbor_paused(w->relay, w->ports[p].neighbor, true);
}

int resync_begin(struct dp_relay_worker *w, unsigned p, uint64_t cutoff_ns, uint64_t cookie)
{
	km_pool_id pool;
	struct km_resync *rs;
	int rc = km_relay_neighbor_pool(w->relay, w->ports[p].neighbor, &pool);
	if (rc == 0)
		rc = km_resync_start(km_relay_store(w->relay), pool, cutoff_ns, &rs);
	if (rc == 0)
		session_open(w, p, rs, cookie);
	return rc;
}

/* The neighbour's first message of a session: answer as responder. */
static void accept_peer(struct dp_relay_worker *w, unsigned p, const struct km_resync_info *in,
			const uint8_t *msg, size_t len)
{
	km_pool_id mine;
	struct km_resync *rs;
	int rc = km_relay_neighbor_pool(w->relay, w->ports[p].neighbor, &mine);
	if (rc == 0 && mine != in->pool)
		rc = -EINVAL;
	if (rc == 0)
		rc = km_resync_accept(km_relay_store(w->relay), msg, len, &rs);
	if (rc) {
		w->stats.resync_stray++;
		return;
	}
	session_open(w, p, rs, 0);
}

static void maybe_finish(struct dp_relay_worker *w, unsigned p)
{
	if (w->sync[p].rs && km_resync_done(w->sync[p].rs))
		session_end(w, p, 0);
}

void resync_receive(struct dp_relay_worker *w, unsigned p, const uint8_t *msg, size_t len)
{
	struct link_sync *s = &w->sync[p];
	struct km_resync_info in;
	if (km_resync_peek(msg, len, &in)) {
		w->stats.resync_stray++;
		return;
	}
	bool same = s->rs && !memcmp(in.nonce, km_resync_nonce(s->rs), KM_RESYNC_NONCE_LEN);
	if (in.first && !same) {
		if (s->rs && km_resync_is_initiator(s->rs) &&
		    memcmp(in.nonce, km_resync_nonce(s->rs), KM_RESYNC_NONCE_LEN) < 0)
			return; /* both began: the larger nonce leads, ours; the peer answers it */
		if (s->rs) /* a newer session of the peer (it restarted its own, or leads ours) */
			session_drop(w, p);
		accept_peer(w, p, &in, msg, len);
		if (!s->rs)
			return;
	} else if (!same) {
		w->stats.resync_stray++; /* a session that is over */
		return;
	}
	/* a message the session cannot take (another session's, a duplicate, a stale or damaged
	 * frame) is dropped: only the confirm's verification decides, and the timeout bounds it */
	int rc = km_resync_receive(s->rs, msg, len);
	if (rc < 0) {
		w->stats.resync_stray++;
		return;
	}
	s->pump = true;
	maybe_finish(w, p);
}

void resync_pump(struct dp_relay_worker *w)
{
	for (unsigned p = 0; p < w->nports; p++) {
		struct link_sync *s = &w->sync[p];
		for (int i = 0; s->rs && s->pump && i < DP_RELAY_BURST; i++) {
			int len = km_resync_next(s->rs, w->rsmsg, sizeof(w->rsmsg));
			if (len < 0)
				session_end(w, p, len);
			else if (len == 0)
				s->pump = false;
			else
				queue_frame(w, (int)p, DP_RELAY_PROTO_RESYNC, w->rsmsg, (size_t)len);
		}
		maybe_finish(w, p);
	}
}

bool resync_pending(const struct dp_relay_worker *w)
{
	for (unsigned p = 0; p < w->nports; p++)
		if (w->sync[p].rs && w->sync[p].pump)
			return true;
	return false;
}

void resync_mismatch(struct dp_relay_worker *w, unsigned p)
{
	w->stats.rx_pool_mismatch++;
	w->sync[p].want = true;
}

void resync_tick(struct dp_relay_worker *w, uint64_t now_tsc)
{
	for (unsigned p = 0; p < w->nports; p++) {
		struct link_sync *s = &w->sync[p];
		uint64_t gaps;
		if (km_relay_neighbor_gaps(w->relay, w->ports[p].neighbor, &gaps) == 0 &&
		    gaps != s->gaps_seen) {
			w->stats.rx_seq_gaps += gaps - s->gaps_seen;
			s->gaps_seen = gaps;
			s->want = true; /* a message was lost: its sender's pool moved on */
		}
		if (s->rs && now_tsc > s->deadline_tsc) {
			session_end(w, p, -ETIMEDOUT);
			continue;
		}
		struct rte_eth_link link;
		if (s->rs || !s->want || now_tsc < s->next_try_tsc ||
		    rte_eth_link_get_nowait(w->ports[p].port_id, &link) != 0 ||
		    link.link_status != RTE_ETH_LINK_UP)
			continue; /* nobody to answer on a port that is down */
		/* keys younger than resync_age_ns may still be on their way into the peer's store */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		if (resync_begin(w, p, now - w->resync_age_ns, 0) == 0) {
			w->stats.resync_auto++;
		} else {
			s->fails++;
			s->next_try_tsc = now_tsc + ms_tsc(BACKOFF_MAX_MS);
		}
	}
}

void resync_free_all(struct dp_relay_worker *w)
{
	for (unsigned p = 0; p < w->nports; p++)
		km_resync_free(w->sync[p].rs);
}
