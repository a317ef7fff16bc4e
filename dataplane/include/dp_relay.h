/* Key relay worker (Kx-1) on a DPDK lcore: relay requests arrive on an rte_ring from the control
 * thread, relay messages arrive on KM-link ports; the worker runs the kmcore relay state machine
 * (km_relay.h: pad XOR with km_xor, Poly1305 tags, store takes) and sends what it produces on the
 * port of the next hop. Results go back on an event ring.
 *
 * Frame on a KM-link port: Ethernet (dst, src, EtherType 0x88B7 "OUI extended") | OUI 00-00-00 |
 * protocol 0x4B33 ("K3": a km_relay message) or 0x4B34 ("K4": a km_resync message) | fragment
 * header: message length, this fragment's offset in it, message tag (16 bits each, big endian) |
 * fragment. A message longer than one frame goes as consecutive fragments of one tag, each in one
 * mbuf: a frame never exceeds the port's MTU (a NIC at 1500 bytes drops longer ones) nor one mbuf
 * (DPDK 22.11's memif corrupted chained frames). The receiver reassembles per port; a fragment out
 * of sequence drops the message it belongs to (rx_incomplete), which the relay's loss handling
 * (resolve, resync) then treats like a lost frame. (Protocols 0x4B31/0x4B32, the unfragmented
 * frames of earlier versions, are refused as rx_not_relay.)
 *
 * Resync (km_resync in km_store.h: authenticated by the keys both ends agree on): a lost or
 * tampered message or a restart leaves a link's pools out of step, and every later message on
 * it names keys the receiver lacks. The worker starts a resync of the link by itself when a
 * message from it names keys we lack (-ENOKEY, rx_pool_mismatch) or skips sequence numbers (a
 * message lost on the way, or the peer's restart: rx_seq_gaps), and on a DP_RELAY_REQ_RESYNC
 * request; the neighbour's worker answers on its own (if both begin at once, the larger nonce
 * leads). While it runs the link is paused (km_relay_set_neighbor_paused: relay starts through
 * it fail with -EAGAIN, its frames are dropped and counted in rx_paused), so both id sets are
 * snapshots; both ends then discard the keys only they hold and report DP_RELAY_EV_RESYNCED
 * with the count discarded and the digest of the agreed set (equal at both ends). Relays lost
 * meanwhile are resolved by their origins as usual. Automatic resyncs leave keys younger than
 * resync_age_ns alone (they may still be on their way into the peer's store). A session that
 * Automatic sessions start only while the port's link is up. A session that
 * fails (no answer within 3 s, a confirm that does not verify, too little key in common)
 * reports DP_RELAY_EV_RESYNC_FAILED with the failures in a row, and is tried again after
 * 0.2 s, doubling up to 30 s; automatic ones at most once a second per link.
 * One worker per lcore owns its km_relay; nothing it touches is locked except the key store
 * (thread-safe).
 */
#ifndef DP_RELAY_H
#define DP_RELAY_H

#include <rte_ether.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "km_relay.h"

#define DP_RELAY_ETHERTYPE 0x88B7
#define DP_RELAY_PROTO 0x4B33
#define DP_RELAY_PROTO_RESYNC 0x4B34
#define DP_RELAY_HDR_LEN (RTE_ETHER_HDR_LEN + 5 + 6)
#define DP_RELAY_BURST 32
#define DP_RELAY_MAX_PORTS 16

/* A KM link: the neighbour KM reached through a port. */
struct dp_relay_port {
	uint32_t neighbor;
	uint16_t port_id;
	uint16_t queue;
	struct rte_ether_addr own_mac, peer_mac;
};

/* LINK: the KM link to 'neighbor' goes administratively down (up = 0) or up again
 * (km_relay_set_neighbor_up: while down no key message is sent on it, replies still pass). */
/* RESOLVE: ask the destination of overdue relay relay_id about it along route (km_relay_resolve);
 * CANCEL: give relay relay_id up (km_relay_cancel; reported as EXPIRED). */
enum dp_relay_request_kind {
	DP_RELAY_REQ_RELAY = 0,
	DP_RELAY_REQ_RESYNC = 1,
	DP_RELAY_REQ_LINK = 2,
	DP_RELAY_REQ_RESOLVE = 3,
	DP_RELAY_REQ_CANCEL = 4,
};

/* Control thread -> worker (by value through the request ring, rte_ring_create_elem). */
struct dp_relay_request {
	uint64_t cookie; /* echoed in the STARTED / RESYNCED event */
	uint32_t bytes;
	uint8_t nroute;
	uint8_t kind;     /* enum dp_relay_request_kind */
	uint8_t up;       /* link: the new state */
	uint32_t route[KM_ROUTE_MAX];
	uint32_t neighbor;  /* resync, link: the neighbour whose link is meant */
	uint64_t cutoff_ns; /* resync: keys generated after this are left alone (0: all) */
	uint8_t relay_id[KM_KEY_ID_LEN]; /* resolve, cancel */
};

enum dp_relay_event_kind {
	DP_RELAY_EV_STARTED = 100, /* a request was accepted: relay_id is its key id */
	DP_RELAY_EV_EXPIRED = 101, /* origin gave up waiting for the ACK: key discarded */
	DP_RELAY_EV_RESYNCED = 102, /* a link's resync finished: count discarded, digest agreed */
	DP_RELAY_EV_RESYNC_FAILED = 103, /* count holds the negative errno */
	DP_RELAY_EV_OVERDUE = 104, /* resolve mode: no ACK within the timeout (relay_id); send a
				    * RESOLVE (again every timeout while it lasts) or a CANCEL */
	/* otherwise an enum km_relay_event, or a negative errno for a request that failed */
};

/* Worker -> control thread. */
struct dp_relay_event {
	uint64_t cookie;
	int32_t kind;
	int32_t count;    /* resync: keys discarded here, or the error */
	uint32_t neighbor; /* resync: the link's neighbour */
	uint8_t relay_id[KM_KEY_ID_LEN];
	uint8_t digest[32]; /* resync: SHA-256 of the agreed ids */
	uint32_t fails;     /* resync: sessions of this link failed in a row (0 after a success) */
};

struct dp_relay_stats {
	uint64_t rx_frames, tx_frames, tx_dropped;
	uint64_t started, forwarded, delivered, confirmed, failed, rejected, passed, expired;
	uint64_t rx_not_relay; /* wrong EtherType / too short */
	uint64_t rx_bad_auth;  /* -EBADMSG */
	uint64_t rx_malformed; /* -EPROTO */
	uint64_t rx_replayed;  /* -EALREADY */
	uint64_t rx_late;      /* -ESTALE: an ACK after its relay went to resolution */
	uint64_t rx_other;     /* unknown relay, wrong hop, store errors */
	uint64_t events_dropped;
	uint64_t commit_failed; /* bursts whose group commit failed (their output was dropped) */
	uint64_t resyncs, resync_errors;
	uint64_t resync_auto;      /* sessions the worker began by itself */
	uint64_t resync_stray;     /* resync messages of no session (over, unknown, malformed) */
	uint64_t rx_pool_mismatch; /* -ENOKEY: a message named keys we lack */
	uint64_t rx_seq_gaps;      /* accepted messages that skipped sequence numbers */
	uint64_t rx_paused;        /* -EAGAIN: dropped while the link was being resynced */
	uint64_t rx_incomplete;    /* messages lost to a missing or out-of-sequence fragment */
	uint64_t link_changes;
	uint64_t overdue, resolves, answered, cancelled;
};

struct dp_relay_config {
	struct km_relay *relay;        /* owned by the worker from now on (freed with it) */
	struct rte_ring *requests;     /* elements: struct dp_relay_request (may be NULL) */
	struct rte_ring *events;       /* elements: struct dp_relay_event (may be NULL) */
	struct rte_mempool *pool;      /* mbufs for transmitted frames (one per fragment: a frame is
					* at most min(port MTU, one mbuf's data room)) */
	const struct dp_relay_port *ports;
	unsigned nports;
	uint64_t ack_timeout_ns;       /* pending relays older than this are expired (0: 1 s) */
	bool resolve_overdue;          /* instead: report them (EV_OVERDUE) for the control thread to
					* resolve with the destination (km_relay_resolve) or cancel */
	volatile bool *quit;           /* dp_relay_lcore_main returns when *quit is true */
	unsigned idle_sleep_us;        /* dp_relay_lcore_main: sleep this long after 256 idle polls
					* (0: busy poll) */
	uint64_t resync_age_ns;        /* automatic resyncs: cutoff = now - this (0: 1 s) */
	bool resync_at_start;          /* resync every link once its port is up (after a restart
					* the pools may be out of step with messages lost in the
					* kill) */
};
#define DP_RELAY_RESYNC_AGE_NS 1000000000ull

/* The header of one fragment (DP_RELAY_HDR_LEN bytes) of a message of msg_len bytes. */
static inline void dp_relay_frame_header(uint8_t *h, const struct rte_ether_addr *dst,
					 const struct rte_ether_addr *src, uint16_t proto,
					 uint16_t msg_len, uint16_t offset, uint16_t tag)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)h;
	eh->dst_addr = *dst;
	eh->src_addr = *src;
	eh->ether_type = rte_cpu_to_be_16(DP_RELAY_ETHERTYPE);
	const uint16_t f[4] = {proto, msg_len, offset, tag};
	h[14] = h[15] = h[16] = 0;
	for (int i = 0; i < 4; i++) {
		h[17 + 2 * i] = (uint8_t)(f[i] >> 8);
		h[18 + 2 * i] = (uint8_t)f[i];
	}
}

struct dp_relay_worker;

int dp_relay_worker_create(const struct dp_relay_config *cfg, struct dp_relay_worker **out);
void dp_relay_worker_free(struct dp_relay_worker *w);
/* One loop iteration: up to 8 requests and an rx burst from every port, handled inside one
 * group commit of the key store (one fsync per burst), then the frames and events they produced
 * go out. Returns the number of requests and frames handled (0: idle). */
unsigned dp_relay_poll(struct dp_relay_worker *w);
/* lcore entry (rte_eal_remote_launch): polls until *cfg.quit. */
int dp_relay_lcore_main(void *worker);
const struct dp_relay_stats *dp_relay_stats(const struct dp_relay_worker *w);

#endif
