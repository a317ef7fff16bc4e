/* KMA key relay over Kx-1 (ITU-T Y.3802 clause 7.2): hop-by-hop one-time pad.
 *
 * To share a fresh key k between KM A and KM C along a route A, B, ..., C chosen by the control
 * plane, A sends k ^ p_AB to B, B sends k ^ p_BC to C, and so on; every hop's pad p and its
 * Poly1305 one-time key come from the key pool of that hop's QKD link (km_store takes: both ends
 * cut the same bytes, each byte used once, then destroyed). Every message carries the link's
 * sequence number and a Wegman–Carter tag (Poly1305 over the whole message, OpenSSL EVP_MAC).
 *
 * The relayed material is k plus a 32-byte end-to-end key: C stores k (KM_POOL_PEER(A), id = the
 * relay id) and answers with an ACK authenticated by the end-to-end key; only then does A store
 * k. A hop that cannot forward (no key material, unknown neighbour) answers with a NACK and A
 * discards k, so k never ends up at A alone. NACKs and the resolution messages (resolve, have,
 * gone) are authenticated on every hop the same way as key messages (a 32-byte Poly1305 key from
 * the link's pool, the link's sequence number against replay; no pad); a forged, tampered or
 * replayed one fails with -EBADMSG / -EALREADY and is never acted on. Pads and tag keys that were reserved but never put on
 * the wire go back to the pool or are discarded per the pool's policy; any that went on the wire
 * are always destroyed.
 *
 * A struct km_relay belongs to one thread (a relay lcore); the store it uses is thread-safe. The
 * library is transport-free: it produces messages and the next hop's node id, the caller sends
 * them over the KM link (dataplane/relay does it with DPDK ports). */
#ifndef KM_RELAY_H
#define KM_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "km_store.h"

#define KM_RELAY_KEY_MAX 8192u /* bytes of one relayed key */
#define KM_RELAY_AUTH_LEN 32u  /* Poly1305 one-time key */
#define KM_RELAY_TAG_LEN 16u
#define KM_RELAY_E2E_LEN 32u   /* end-to-end ACK key relayed with k */
/* header + route + take description + ciphertext + tag */
#define KM_RELAY_MSG_MAX                                                                          \
	(64u + 4u * KM_ROUTE_MAX + 8u + KM_TAKE_MAX_SRC * KM_KEY_ID_LEN + KM_RELAY_KEY_MAX +      \
	 KM_RELAY_E2E_LEN + KM_RELAY_TAG_LEN)

struct km_relay;

struct km_relay_neighbor {
	uint32_t node;   /* neighbour KM's node id */
	km_pool_id pool; /* key pool of the QKD link to it */
};

struct km_relay_config {
	uint32_t node_id;
	struct km_store *store;
	const struct km_relay_neighbor *neighbors;
	unsigned nneighbors;
};

/* Each neighbour's link pool whose policy has origin KM_ORIGIN_ALL is given a half (stored in its
 * policy): the node with the smaller id originates pads from odd ids, the other from even ids, so
 * relays crossing on one link never draw the same key. */
int km_relay_create(const struct km_relay_config *cfg, struct km_relay **out);
/* Zeroizes keys of relays still pending at this origin. Accepts NULL. */
void km_relay_free(struct km_relay *r);

/* A message to send: to neighbour next_hop, len bytes (len 0: nothing to send). */
struct km_relay_out {
	uint32_t next_hop;
	uint32_t len;
	uint8_t msg[KM_RELAY_MSG_MAX];
};

enum km_relay_event {
	KM_RELAY_FORWARDED = 1, /* intermediate hop: re-encrypted for the next hop (out) */
	KM_RELAY_DELIVERED = 2, /* destination: k stored, ACK in out */
	KM_RELAY_CONFIRMED = 3, /* origin: ACK verified, k stored */
	KM_RELAY_FAILED = 4,    /* origin: a NACK arrived, k discarded */
	KM_RELAY_REJECTED = 5,  /* this hop could not forward or store: NACK in out (len 0 when the
				 * link back has no key material to authenticate it) */
	KM_RELAY_PASSED = 6,    /* intermediate hop passed a reply back or a resolve on (out) */
	KM_RELAY_ANSWERED = 7,  /* destination answered a resolve (out) */
};

/* Start relaying 'bytes' (1..KM_RELAY_KEY_MAX) of fresh random key along route[0..n-1] (route[0]
 * is this node, n >= 2, at most KM_ROUTE_MAX, no node twice). Writes the relay id (the key's id
 * at both ends) and the first message. -EAGAIN when the first link lacks key material,
 * -EHOSTUNREACH when route[1] is not a neighbour, -ENETDOWN when the link to it is down: nothing
 * changes in any of these cases. */
int km_relay_start(struct km_relay *r, const uint32_t *route, unsigned n, uint32_t bytes,
		   uint8_t relay_id[KM_KEY_ID_LEN], struct km_relay_out *out);
/* Handle a message from neighbour 'from'. Returns an enum km_relay_event (and fills out and
 * relay_id), or -EPROTO malformed, -EBADMSG failed authentication, -ENOKEY it names key ids this
 * end does not hold (the link's pools are out of step: resync them), -EALREADY replayed sequence
 * number, -ENOENT unknown relay, -EHOSTUNREACH not from a neighbour on the route or not to be
 * passed to one, -ESTALE an ACK that came after a resolve was sent (km_relay_resolve), -EAGAIN
 * from a neighbour whose link is paused (km_relay_set_neighbor_paused). On error nothing changes
 * and out->len is 0. */
int km_relay_receive(struct km_relay *r, uint32_t from, const uint8_t *msg, size_t len,
		     struct km_relay_out *out, uint8_t relay_id[KM_KEY_ID_LEN]);
/* The origin gives up waiting (timeout): k is discarded. -ENOENT when not pending. */
int km_relay_cancel(struct km_relay *r, const uint8_t relay_id[KM_KEY_ID_LEN]);
/* Cancel pending relays started more than max_age_ns ago (CLOCK_MONOTONIC): their ids go to
 * ids[max] and their keys are discarded. Returns the count. */
int km_relay_expire(struct km_relay *r, uint64_t max_age_ns, uint8_t (*ids)[KM_KEY_ID_LEN],
		    unsigned max);
/* Administrative state of the KM link to a neighbour (all start up). While down, no key message
 * is sent on it: km_relay_start refuses a route through it (-ENETDOWN, nothing changes) and a
 * hop that would forward onto it answers with a NACK, so the origin discards the key and no end
 * stores it. ACKs and NACKs still pass, so relays already beyond the link complete
 * (make-before-break: the control plane moves the session first, then the old path drains).
 * -ENOENT when 'node' is not a neighbour. */
int km_relay_set_neighbor_up(struct km_relay *r, uint32_t node, bool up);
/* Resolution of relays whose ACK did not come (it may be lost with k already stored at the
 * destination, which a timeout alone would leave there). km_relay_overdue lists, without
 * discarding, the pending relays started more than max_age_ns ago, each at most once per
 * max_age_ns. km_relay_resolve sends the destination a resolve for one of them along 'route'
 * (route[0] this node, its last node the relay's destination; any path, e.g. the current one
 * after a reroute). The destination answers from its store (km_store_resolve, durable): a key it
 * holds that nobody has taken is discarded there ("gone": the origin discards too,
 * KM_RELAY_FAILED); one reserved, supplied or used since stays ("have": the origin stores its
 * copy, KM_RELAY_CONFIRMED); a key it never got is "gone" and its id tombstoned, so its key
 * message is NACKed should it still arrive. Asked again, it gives the same answer. Once a resolve
 * is sent, a late ACK is ignored (-ESTALE): the destination's answer decides. Resolve and its
 * answers, like NACKs, are tagged on each hop with a Poly1305 key from that link's pool and carry
 * its sequence number: a KM of the route verifies and tags again (the KMs of a route are trusted
 * nodes, as for k itself), an attacker on a link can neither forge nor replay them. A hop that
 * lacks key material to tag a reply drops it. No answer: resolve again later (the origin keeps k
 * meanwhile), or give up with km_relay_cancel (then k may remain at the destination alone).
 * km_relay_resolve returns -ENOENT when the relay is not pending, -EINVAL for a route that does not
 * end at its destination, -EHOSTUNREACH / -ENETDOWN for an unknown or down first link, -EAGAIN
 * when that link lacks the 32 bytes to authenticate the resolve (nothing changes). */
int km_relay_overdue(struct km_relay *r, uint64_t max_age_ns, uint8_t (*ids)[KM_KEY_ID_LEN],
		     unsigned max);
int km_relay_resolve(struct km_relay *r, const uint8_t relay_id[KM_KEY_ID_LEN],
		     const uint32_t *route, unsigned n, struct km_relay_out *out);
/* While a link's pool is resynced (km_resync_*) nothing may be taken from it or consumed by a
 * message from it: a paused neighbour gets no message (starts and resolves through it fail with
 * -EAGAIN, a hop forwarding onto it NACKs, replies onto it are dropped) and its messages are
 * refused (-EAGAIN). -ENOENT when 'node' is not a neighbour. */
int km_relay_set_neighbor_paused(struct km_relay *r, uint32_t node, bool paused);
/* How many times a message from 'node' was accepted with a sequence number more than one above
 * the last accepted (messages lost on the way, or the peer's restart): the link's pools may be
 * out of step. -ENOENT when 'node' is not a neighbour. */
int km_relay_neighbor_gaps(const struct km_relay *r, uint32_t node, uint64_t *gaps);
/* The key pool of the link to a neighbour; -ENOENT when 'node' is not a neighbour. */
int km_relay_neighbor_pool(const struct km_relay *r, uint32_t node, km_pool_id *pool);
/* The key store this relay takes pads from (for km_store_batch_begin around a burst). */
struct km_store *km_relay_store(const struct km_relay *r);
/* Relays started here and not yet confirmed or failed. */
unsigned km_relay_pending(const struct km_relay *r);

/* The per-hop kernel: ct = in ^ pad (len bytes), tag = Poly1305(auth_key, head || ct). Exposed
 * for the dataplane's worker and the benchmarks. ctx from km_relay_mac_new(). */
struct km_relay_mac;
struct km_relay_mac *km_relay_mac_new(void);
void km_relay_mac_free(struct km_relay_mac *m);
int km_relay_seal(struct km_relay_mac *m, const uint8_t auth_key[KM_RELAY_AUTH_LEN],
		  const uint8_t *head, size_t head_len, uint8_t *ct, const uint8_t *in,
		  const uint8_t *pad, size_t len, uint8_t tag[KM_RELAY_TAG_LEN]);
/* Poly1305 of (a || b) under a one-time key. */
int km_relay_mac(struct km_relay_mac *m, const uint8_t key[KM_RELAY_AUTH_LEN], const uint8_t *a,
		 size_t alen, const uint8_t *b, size_t blen, uint8_t tag[KM_RELAY_TAG_LEN]);

#endif
