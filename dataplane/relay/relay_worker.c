/* Relay lcore: requests ring + KM-link ports in, frames out, events ring back to control. */
#include <errno.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay_internal.h"

/* Message bytes one frame on a port carries: the frame after its Ethernet header stays within the
 * port's MTU, and the whole frame within one mbuf of the pool (never chained). */
static int frag_room(uint16_t port_id, struct rte_mempool *pool)
{
	uint16_t mtu;
	if (rte_eth_dev_get_mtu(port_id, &mtu) != 0)
		mtu = RTE_ETHER_MTU;
	uint32_t frame = (uint32_t)mtu + RTE_ETHER_HDR_LEN;
	uint32_t room = rte_pktmbuf_data_room_size(pool);
	room = room > RTE_PKTMBUF_HEADROOM ? room - RTE_PKTMBUF_HEADROOM : 0;
	if (room < frame)
		frame = room;
	return frame >= DP_RELAY_HDR_LEN + 64 ? (int)(frame - DP_RELAY_HDR_LEN) : -EINVAL;
}

int dp_relay_worker_create(const struct dp_relay_config *cfg, struct dp_relay_worker **out)
{
	if (!cfg || !out || !cfg->relay || !cfg->pool || cfg->nports > DP_RELAY_MAX_PORTS ||
	    (cfg->nports && !cfg->ports))
		return -EINVAL;
	uint16_t frag_max[DP_RELAY_MAX_PORTS];
	for (unsigned p = 0; p < cfg->nports; p++) {
		int room = frag_room(cfg->ports[p].port_id, cfg->pool);
		if (room < 0)
			return room;
		frag_max[p] = (uint16_t)room;
	}
	struct dp_relay_worker *w = rte_zmalloc("dp_relay_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);
	if (!w)
		return -ENOMEM;
	memcpy(w->frag_max, frag_max, sizeof(frag_max));
	w->relay = cfg->relay;
	w->requests = cfg->requests;
	w->events = cfg->events;
	w->pool = cfg->pool;
	w->nports = cfg->nports;
	memcpy(w->ports, cfg->ports, cfg->nports * sizeof(*w->ports));
	for (unsigned p = 0; p < cfg->nports; p++)
		w->sync[p].want = cfg->resync_at_start;
	w->ack_timeout_ns = cfg->ack_timeout_ns ? cfg->ack_timeout_ns : 1000000000ULL;
	w->resolve_overdue = cfg->resolve_overdue;
	w->expiry_period_tsc = rte_get_tsc_hz() / 10;
	w->next_expiry_tsc = rte_get_tsc_cycles() + w->expiry_period_tsc;
	w->quit = cfg->quit;
	w->idle_sleep_us = cfg->idle_sleep_us;
	w->resync_age_ns = cfg->resync_age_ns ? cfg->resync_age_ns : DP_RELAY_RESYNC_AGE_NS;
	*out = w;
	return 0;
}

void dp_relay_worker_free(struct dp_relay_worker *w)
{
	if (!w)
		return;
	resync_free_all(w);
	for (unsigned p = 0; p < w->nports; p++)
		rte_pktmbuf_free_bulk(w->tx[p].m, w->tx[p].n);
	km_relay_free(w->relay);
	rte_free(w);
}

const struct dp_relay_stats *dp_relay_stats(const struct dp_relay_worker *w)
{
	return &w->stats;
}

static int port_of(const struct dp_relay_worker *w, uint32_t neighbor)
{
	for (unsigned p = 0; p < w->nports; p++)
		if (w->ports[p].neighbor == neighbor)
			return (int)p;
	return -1;
}

static void tx_flush(struct dp_relay_worker *w, unsigned p)
{
	struct tx_queue *q = &w->tx[p];
	for (unsigned off = 0; off < q->n;) {
		uint16_t want = (uint16_t)(q->n - off < DP_RELAY_BURST ? q->n - off : DP_RELAY_BURST);
		uint16_t sent = rte_eth_tx_burst(w->ports[p].port_id, w->ports[p].queue, q->m + off, want);
		w->stats.tx_frames += sent;
		if (sent < want) {
			w->stats.tx_dropped += want - sent;
			rte_pktmbuf_free_bulk(q->m + off + sent, want - sent);
		}
		off += want;
	}
	q->n = 0;
}

/* The burst's group commit failed: nothing it produced may leave (its pads were not spent). */
static void drop_outputs(struct dp_relay_worker *w)
{
	for (unsigned p = 0; p < w->nports; p++) {
		w->stats.tx_dropped += w->tx[p].n;
		rte_pktmbuf_free_bulk(w->tx[p].m, w->tx[p].n);
		w->tx[p].n = 0;
	}
	w->stats.events_dropped += w->nev;
	w->nev = 0;
}

void queue_frame(struct dp_relay_worker *w, int p, uint16_t proto, const uint8_t *msg, size_t len)
{
	if (p < 0 || len > UINT16_MAX) {
		w->stats.tx_dropped++;
		return;
	}
	unsigned room = w->frag_max[p], nfrag = len ? (unsigned)((len + room - 1) / room) : 1;
	struct tx_queue *q = &w->tx[p];
	if (q->n + nfrag > MAX_OUT || rte_pktmbuf_alloc_bulk(w->pool, q->m + q->n, nfrag)) {
		w->stats.tx_dropped += nfrag;
		return;
	}
	uint16_t tag = w->tx_tag[p]++;
	for (unsigned i = 0; i < nfrag; i++) {
		size_t off = (size_t)i * room, c = len - off < room ? len - off : room;
		struct rte_mbuf *m = q->m[q->n++];
		uint8_t *f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_RELAY_HDR_LEN + c));
		dp_relay_frame_header(f, &w->ports[p].peer_mac, &w->ports[p].own_mac, proto, (uint16_t)len,
				      (uint16_t)off, tag);
		memcpy(f + DP_RELAY_HDR_LEN, msg + off, c);
	}
}

static void send_out(struct dp_relay_worker *w)
{
	queue_frame(w, port_of(w, w->out.next_hop), DP_RELAY_PROTO, w->out.msg, w->out.len);
}

struct dp_relay_event *emit_slot(struct dp_relay_worker *w)
{
	if (!w->events || w->nev == MAX_OUT)
		return NULL;
	struct dp_relay_event *ev = &w->ev[w->nev++];
	memset(ev, 0, sizeof(*ev));
	return ev;
}

static void emit(struct dp_relay_worker *w, uint64_t cookie, int32_t kind, const uint8_t id[KM_KEY_ID_LEN])
{
	struct dp_relay_event *ev = emit_slot(w);
	if (!ev)
		return;
	ev->cookie = cookie;
	ev->kind = kind;
	if (id)
		memcpy(ev->relay_id, id, KM_KEY_ID_LEN);
}

static void flush_events(struct dp_relay_worker *w)
{
	if (!w->nev)
		return;
	unsigned n = rte_ring_enqueue_burst_elem(w->events, w->ev, sizeof(w->ev[0]), w->nev, NULL);
	w->stats.events_dropped += w->nev - n;
	w->nev = 0;
}

static void do_requests(struct dp_relay_worker *w, const struct dp_relay_request *req, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (req[i].kind == DP_RELAY_REQ_LINK) {
			int rc = km_relay_set_neighbor_up(w->relay, req[i].neighbor, req[i].up != 0);
			if (rc)
				emit(w, req[i].cookie, rc, NULL);
			else
				w->stats.link_changes++;
			continue;
		}
		if (req[i].kind == DP_RELAY_REQ_RESOLVE) {
			int rc = km_relay_resolve(w->relay, req[i].relay_id, req[i].route, req[i].nroute,
						  &w->out);
			if (rc == 0) {
				w->stats.resolves++;
				send_out(w);
			} else {
				emit(w, req[i].cookie, rc, req[i].relay_id);
			}
			continue;
		}
		if (req[i].kind == DP_RELAY_REQ_CANCEL) {
			if (km_relay_cancel(w->relay, req[i].relay_id) == 0) {
				w->stats.cancelled++;
				emit(w, 0, DP_RELAY_EV_EXPIRED, req[i].relay_id);
			}
			continue;
		}
		if (req[i].kind == DP_RELAY_REQ_RESYNC) {
			int p = port_of(w, req[i].neighbor);
			int rc = p < 0 ? -EHOSTUNREACH : w->sync[p].rs ? -EBUSY : resync_begin(w, (unsigned)p, req[i].cutoff_ns, req[i].cookie);
			if (rc)
				emit(w, req[i].cookie, rc, NULL);
			continue;
		}
		uint8_t id[KM_KEY_ID_LEN];
		int rc = km_relay_start(w->relay, req[i].route, req[i].nroute, req[i].bytes, id, &w->out);
		if (rc == 0) {
			w->stats.started++;
			send_out(w);
			emit(w, req[i].cookie, DP_RELAY_EV_STARTED, id);
		} else {
			emit(w, req[i].cookie, rc, NULL);
		}
	}
}

static void count_result(struct dp_relay_worker *w, int rc)
{
	struct dp_relay_stats *s = &w->stats;
	switch (rc) {
	case KM_RELAY_FORWARDED: s->forwarded++; break;
	case KM_RELAY_DELIVERED: s->delivered++; break;
	case KM_RELAY_CONFIRMED: s->confirmed++; break;
	case KM_RELAY_FAILED: s->failed++; break;
	case KM_RELAY_REJECTED: s->rejected++; break;
	case KM_RELAY_PASSED: s->passed++; break;
	case KM_RELAY_ANSWERED: s->answered++; break;
	case -EBADMSG: s->rx_bad_auth++; break;
	case -ENOKEY: break; /* resync_mismatch counts it */
	case -EAGAIN: s->rx_paused++; break;
	case -EPROTO: s->rx_malformed++; break;
	case -EALREADY: s->rx_replayed++; break;
	case -ESTALE: s->rx_late++; break;
	default: s->rx_other++; break;
	}
}

/* Add a fragment to port p's message; the whole message once its last fragment is in, else NULL.
 * Fragments come in order (one sender, one link): anything else loses the message. */
static const uint8_t *reassemble(struct dp_relay_worker *w, unsigned p, uint16_t proto,
				 uint16_t total, uint16_t off, uint16_t tag, const uint8_t *frag,
				 size_t n)
{
	struct rx_reasm *a = &w->reasm[p];
	if (off == 0) {
		w->stats.rx_incomplete += a->got != 0; /* the one before never finished */
		a->proto = proto; /* (not a compound literal: that would zero the 9.6 KB buffer too) */
		a->tag = tag;
		a->total = total;
		a->got = 0;
	} else if (!a->got || a->proto != proto || a->tag != tag || a->total != total || a->got != off) {
		w->stats.rx_incomplete++;
		a->got = 0;
		return NULL;
	}
	memcpy(a->buf + off, frag, n);
	a->got += (uint32_t)n;
	if (a->got < total)
		return NULL;
	a->got = 0;
	return a->buf;
}

static void handle_frame(struct dp_relay_worker *w, unsigned p, struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	if (len < DP_RELAY_HDR_LEN || len > sizeof(w->rx)) {
		w->stats.rx_not_relay++;
		return;
	}
	const uint8_t *f = rte_pktmbuf_read(m, 0, len, w->rx);
	const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)f;
	uint16_t proto = (uint16_t)(f[17] << 8 | f[18]);
	if (eh->ether_type != rte_cpu_to_be_16(DP_RELAY_ETHERTYPE) || f[14] || f[15] || f[16] ||
	    (proto != DP_RELAY_PROTO && proto != DP_RELAY_PROTO_RESYNC)) {
		w->stats.rx_not_relay++;
		return;
	}
	uint16_t total = (uint16_t)(f[19] << 8 | f[20]), off = (uint16_t)(f[21] << 8 | f[22]);
	uint16_t tag = (uint16_t)(f[23] << 8 | f[24]);
	const uint8_t *msg = f + DP_RELAY_HDR_LEN;
	size_t n = len - DP_RELAY_HDR_LEN;
	if (n == 0 || total > MSG_MAX || (size_t)off + n > total) {
		w->stats.rx_malformed++;
		return;
	}
	if (off != 0 || n != total) {
		msg = reassemble(w, p, proto, total, off, tag, msg, n);
		if (!msg)
			return;
	} else if (w->reasm[p].got) {
		w->stats.rx_incomplete++; /* a whole message in the middle of another one */
		w->reasm[p].got = 0;
	}
	if (proto == DP_RELAY_PROTO_RESYNC) {
		resync_receive(w, p, msg, total);
		return;
	}
	uint8_t id[KM_KEY_ID_LEN];
	int rc = km_relay_receive(w->relay, w->ports[p].neighbor, msg, total, &w->out, id);
	count_result(w, rc);
	if (rc == -ENOKEY)
		resync_mismatch(w, p);
	if (rc < 0)
		return;
	if (w->out.len)
		send_out(w);
	if (rc != KM_RELAY_FORWARDED && rc != KM_RELAY_PASSED)
		emit(w, 0, rc, id);
}

static void do_expiry(struct dp_relay_worker *w)
{
	uint64_t now = rte_get_tsc_cycles();
	if (now < w->next_expiry_tsc)
		return;
	w->next_expiry_tsc = now + w->expiry_period_tsc;
	resync_tick(w, now);
	uint8_t ids[16][KM_KEY_ID_LEN];
	if (w->resolve_overdue) {
		int n = km_relay_overdue(w->relay, w->ack_timeout_ns, ids, 16);
		for (int i = 0; i < n; i++) {
			w->stats.overdue++;
			emit(w, 0, DP_RELAY_EV_OVERDUE, ids[i]);
		}
		return;
	}
	int n = km_relay_expire(w->relay, w->ack_timeout_ns, ids, 16);
	for (int i = 0; i < n; i++) {
		w->stats.expired++;
		emit(w, 0, DP_RELAY_EV_EXPIRED, ids[i]);
	}
}

/* Gather a burst, handle it inside one group commit of the key store, and only then let its
 * frames and events out: a crash before the commit leaves no pad spent on the wire. */
unsigned dp_relay_poll(struct dp_relay_worker *w)
{
	struct dp_relay_request req[8];
	struct rte_mbuf *m[DP_RELAY_MAX_PORTS][DP_RELAY_BURST];
	uint16_t n[DP_RELAY_MAX_PORTS];
	unsigned nreq = 0, work = 0;
	if (w->requests)
		nreq = rte_ring_dequeue_burst_elem(w->requests, req, sizeof(req[0]), 8, NULL);
	work = nreq;
	for (unsigned p = 0; p < w->nports; p++) {
		n[p] = rte_eth_rx_burst(w->ports[p].port_id, w->ports[p].queue, m[p], DP_RELAY_BURST);
		w->stats.rx_frames += n[p];
		work += n[p];
	}
	work += resync_pending(w);
	if (work) {
		struct km_store *st = km_relay_store(w->relay);
		bool batch = km_store_batch_begin(st) == 0;
		do_requests(w, req, nreq);
		for (unsigned p = 0; p < w->nports; p++) {
			for (uint16_t i = 0; i < n[p]; i++) {
				handle_frame(w, p, m[p][i]);
				rte_pktmbuf_free(m[p][i]);
			}
		}
		resync_pump(w);
		if (batch && km_store_batch_end(st) != 0) {
			w->stats.commit_failed++;
			drop_outputs(w);
		}
		for (unsigned p = 0; p < w->nports; p++)
			tx_flush(w, p);
		flush_events(w);
	}
	do_expiry(w);
	flush_events(w);
	return work;
}

int dp_relay_lcore_main(void *arg)
{
	struct dp_relay_worker *w = arg;
	unsigned idle = 0;
	while (!w->quit || !*w->quit) {
		if (dp_relay_poll(w)) {
			idle = 0;
		} else if (w->idle_sleep_us && ++idle >= 256) {
			idle = 0;
			usleep(w->idle_sleep_us);
		}
	}
	return 0;
}
