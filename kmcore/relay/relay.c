/* Kx-1 relay state machine: originate, forward, deliver, acknowledge.
 *
 * Message (big-endian), common head:
 *   "KX1R" | version 1 | kind (1 key, 2 ack, 3 nack) | hop | nroute | relay id (16) |
 *   route (4 * nroute)
 * key:  seq (8) | key length (4) | nsrc (1) | source ids (16 * nsrc) | ciphertext | tag (16);
 *       the hop's take is 32 bytes Poly1305 key + pad (key length + 32), the tag covers every
 *       byte before it.
 * ack:  tag (16) = Poly1305(end-to-end key, "ack" | relay id | route); passed on unchanged
 * nack (body: reason, 4, an errno value), resolve (origin -> destination, 4), have (5) and gone
 *       (6) (destination -> origin; no body): seq (8) | nsrc (1) | source ids (16 * nsrc) | body |
 *       tag (16), authenticated on each hop like a key message: the take is the 32-byte Poly1305
 *       key only, the tag covers every byte before it, and each KM verifies and tags again for
 *       the next hop. A resolve's route may differ from the relay's (the current route to the
 *       same destination).
 * 'hop' is the route index of the node the message is sent to. Sequence numbers are per link and
 * direction, shared by all kinds: one not above the last accepted is a replay. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "km_relay.h"
#include "km_xor.h"

enum { KIND_KEY = 1, KIND_ACK = 2, KIND_NACK = 3, KIND_RESOLVE = 4, KIND_HAVE = 5, KIND_GONE = 6 };
#define HEAD_FIXED 24

struct pending {
	uint8_t id[KM_KEY_ID_LEN];
	uint32_t route[KM_ROUTE_MAX];
	uint8_t nroute;
	uint32_t key_len;
	uint8_t *material; /* key_len + E2E bytes, locked */
	uint64_t started_ns;
	uint64_t report_ns; /* overdue: next time km_relay_overdue lists it */
	uint32_t rroute[KM_ROUTE_MAX]; /* route of the last resolve sent */
	uint8_t nrroute;
	struct pending *next;
};

struct km_relay {
	uint32_t node;
	struct km_store *store;
	struct km_relay_neighbor *nb;
	bool *down;   /* per neighbour: administratively down */
	bool *paused; /* per neighbour: its link's pool is being resynced */
	uint64_t *gaps; /* per neighbour: sequence numbers skipped by accepted messages */
	unsigned nnb;
	struct km_relay_mac *mac;
	uint8_t *work; /* locked: Poly1305 key + pad of the incoming hop, then of the outgoing hop */
	uint8_t *plain; /* locked: k | e2e key */
	struct pending *pending;
	unsigned npending;
};

#define WORK_LEN (KM_RELAY_AUTH_LEN + KM_RELAY_KEY_MAX + KM_RELAY_E2E_LEN)

int km_relay_create(const struct km_relay_config *cfg, struct km_relay **out)
{
	if (!cfg || !cfg->store || !out || (cfg->nneighbors && !cfg->neighbors))
		return -EINVAL;
	struct km_relay *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->node = cfg->node_id;
	r->store = cfg->store;
	r->nnb = cfg->nneighbors;
	r->nb = calloc(cfg->nneighbors ? cfg->nneighbors : 1, sizeof(*r->nb));
	r->down = calloc(cfg->nneighbors ? cfg->nneighbors : 1, sizeof(*r->down));
	r->paused = calloc(cfg->nneighbors ? cfg->nneighbors : 1, sizeof(*r->paused));
	r->gaps = calloc(cfg->nneighbors ? cfg->nneighbors : 1, sizeof(*r->gaps));
	r->mac = km_relay_mac_new();
	r->work = km_key_material_alloc(WORK_LEN);
	r->plain = km_key_material_alloc(WORK_LEN);
	if (!r->nb || !r->down || !r->paused || !r->gaps || !r->mac || !r->work || !r->plain) {
		km_relay_free(r);
		return -ENOMEM;
	}
	if (cfg->nneighbors)
		memcpy(r->nb, cfg->neighbors, cfg->nneighbors * sizeof(*r->nb));
	/* Both ends of a link relay in both directions from the same keys: unless the pool already
	 * splits them, the node with the smaller id originates from odd ids, the other from even. */
	for (unsigned i = 0; i < r->nnb; i++) {
		struct km_pool_policy pol;
		int rc = km_store_get_policy(r->store, r->nb[i].pool, &pol);
		if (rc == 0 && pol.origin == KM_ORIGIN_ALL && r->nb[i].node != r->node) {
			pol.origin = r->node < r->nb[i].node ? KM_ORIGIN_ODD : KM_ORIGIN_EVEN;
			rc = km_store_set_policy(r->store, r->nb[i].pool, &pol);
		}
		if (rc) {
			km_relay_free(r);
			return rc;
		}
	}
	*out = r;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void pending_drop(struct pending *p)
{
	km_key_material_free(p->material, p->key_len + KM_RELAY_E2E_LEN);
	free(p);
}

void km_relay_free(struct km_relay *r)
{
	if (!r)
		return;
	while (r->pending) {
		struct pending *p = r->pending;
		r->pending = p->next;
		pending_drop(p);
	}
	km_relay_mac_free(r->mac);
	km_key_material_free(r->work, WORK_LEN);
	km_key_material_free(r->plain, WORK_LEN);
	free(r->nb);
	free(r->down);
	free(r->paused);
	free(r->gaps);
	free(r);
}

struct km_store *km_relay_store(const struct km_relay *r)
{
	return r ? r->store : NULL;
}

unsigned km_relay_pending(const struct km_relay *r)
{
	return r ? r->npending : 0;
}

static const struct km_relay_neighbor *neighbor(const struct km_relay *r, uint32_t node)
{
	for (unsigned i = 0; i < r->nnb; i++)
		if (r->nb[i].node == node)
			return &r->nb[i];
	return NULL;
}

int km_relay_set_neighbor_up(struct km_relay *r, uint32_t node, bool up)
{
	const struct km_relay_neighbor *nb = r ? neighbor(r, node) : NULL;
	if (!nb)
		return -ENOENT;
	r->down[nb - r->nb] = !up;
	return 0;
}

static bool neighbor_down(const struct km_relay *r, const struct km_relay_neighbor *nb)
{
	return r->down[nb - r->nb];
}

int km_relay_set_neighbor_paused(struct km_relay *r, uint32_t node, bool paused)
{
	const struct km_relay_neighbor *nb = r ? neighbor(r, node) : NULL;
	if (!nb)
		return -ENOENT;
	r->paused[nb - r->nb] = paused;
	return 0;
}

int km_relay_neighbor_gaps(const struct km_relay *r, uint32_t node, uint64_t *gaps)
{
	const struct km_relay_neighbor *nb = r && gaps ? neighbor(r, node) : NULL;
	if (!nb)
		return -ENOENT;
	*gaps = r->gaps[nb - r->nb];
	return 0;
}

int km_relay_neighbor_pool(const struct km_relay *r, uint32_t node, km_pool_id *pool)
{
	const struct km_relay_neighbor *nb = r && pool ? neighbor(r, node) : NULL;
	if (!nb)
		return -ENOENT;
	*pool = nb->pool;
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Common head; returns its length. */
static size_t head_put(uint8_t *m, uint8_t kind, uint8_t hop, const uint32_t *route, uint8_t n,
		       const uint8_t id[KM_KEY_ID_LEN])
{
	memcpy(m, "KX1R", 4);
	m[4] = 1;
	m[5] = kind;
	m[6] = hop;
	m[7] = n;
	memcpy(m + 8, id, KM_KEY_ID_LEN);
	for (unsigned i = 0; i < n && i < KM_ROUTE_MAX; i++)
		put32(m + HEAD_FIXED + 4 * i, route[i]);
	return HEAD_FIXED + 4u * n;
}

struct head {
	uint8_t kind, hop, nroute;
	uint8_t id[KM_KEY_ID_LEN];
	uint32_t route[KM_ROUTE_MAX];
	size_t len;
};

static bool route_ok(const uint32_t *route, unsigned n)
{
	if (n < 2 || n > KM_ROUTE_MAX)
		return false;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (route[i] == route[j])
				return false;
	return true;
}

static int head_get(const uint8_t *m, size_t len, struct head *h)
{
	if (len < HEAD_FIXED || memcmp(m, "KX1R", 4) || m[4] != 1 || m[5] < KIND_KEY ||
	    m[5] > KIND_GONE || m[7] < 2 || m[7] > KM_ROUTE_MAX || m[6] >= m[7] ||
	    len < HEAD_FIXED + 4u * m[7])
		return -EPROTO;
	h->kind = m[5];
	h->hop = m[6];
	h->nroute = m[7];
	memcpy(h->id, m + 8, KM_KEY_ID_LEN);
	for (unsigned i = 0; i < h->nroute; i++)
		h->route[i] = get32(m + HEAD_FIXED + 4 * i);
	if (!route_ok(h->route, h->nroute))
		return -EPROTO;
	h->len = HEAD_FIXED + 4u * h->nroute;
	return 0;
}

/* Start a message of 'kind' to route[hop]: take 'take_len' bytes of the link's pool for it into
 * r->work (Poly1305 key first, then any pad), write the head and the link's next sequence number
 * to m; *off is where the kind's own fields go. Key messages never go out on a down link. */
static int msg_begin(struct km_relay *r, uint8_t kind, const uint32_t *route, uint8_t n, uint8_t hop,
		     const uint8_t id[KM_KEY_ID_LEN], uint32_t take_len, struct km_take_handle *th,
		     uint8_t *m, size_t *off)
{
	const struct km_relay_neighbor *nb = neighbor(r, route[hop]);
	if (!nb)
		return -EHOSTUNREACH;
	if (kind == KIND_KEY && neighbor_down(r, nb))
		return -ENETDOWN;
	if (r->paused[nb - r->nb])
		return -EAGAIN; /* its pool is being resynced: nothing may be taken from it */
	int rc = km_store_take_begin(r->store, nb->pool, take_len, r->work, th);
	if (rc)
		return rc == -E2BIG ? -EAGAIN : rc;
	uint64_t seq;
	if ((rc = km_store_seq_next(r->store, nb->pool, &seq))) {
		km_store_take_abort(r->store, th, false);
		OPENSSL_cleanse(r->work, take_len);
		return rc;
	}
	*off = head_put(m, kind, hop, route, n, id);
	put64(m + *off, seq);
	*off += 8;
	return 0;
}

/* nsrc (1) | source ids of the take; returns the bytes written. */
static size_t srcs_put(uint8_t *m, const struct km_take *t)
{
	m[0] = (uint8_t)t->nsrc;
	for (uint32_t i = 0; i < t->nsrc; i++)
		memcpy(m + 1 + i * KM_KEY_ID_LEN, t->src[i], KM_KEY_ID_LEN);
	return 1 + (size_t)t->nsrc * KM_KEY_ID_LEN;
}

/* After the tag was computed (rc): commit the take (the bytes are spent before they reach the
 * wire) or give them back, and wipe them. */
static int take_finish(struct km_relay *r, struct km_take_handle *th, uint32_t take_len, int rc)
{
	if (rc == 0)
		rc = km_store_take_commit(r->store, th);
	else
		km_store_take_abort(r->store, th, false);
	OPENSSL_cleanse(r->work, take_len);
	return rc;
}

/* Encrypt plain (len bytes) for the hop to route[hop]: take its pad and Poly1305 key from the
 * link pool, commit the take, tag. */
static int seal_for_hop(struct km_relay *r, const uint32_t *route, uint8_t n, uint8_t hop,
			const uint8_t id[KM_KEY_ID_LEN], const uint8_t *plain, uint32_t key_len,
			struct km_relay_out *out)
{
	uint32_t len = key_len + KM_RELAY_E2E_LEN, take_len = KM_RELAY_AUTH_LEN + len;
	struct km_take_handle h;
	uint8_t *m = out->msg;
	size_t off;
	int rc = msg_begin(r, KIND_KEY, route, n, hop, id, take_len, &h, m, &off);
	if (rc)
		return rc;
	put32(m + off, key_len);
	off += 4;
	off += srcs_put(m + off, &h.take);
	rc = km_relay_seal(r->mac, r->work, m, off, m + off, plain, r->work + KM_RELAY_AUTH_LEN, len,
			   m + off + len);
	if ((rc = take_finish(r, &h, take_len, rc)))
		return rc;
	out->next_hop = route[hop];
	out->len = (uint32_t)(off + len + KM_RELAY_TAG_LEN);
	return 0;
}

/* A control message (nack, resolve, have, gone) for the hop to route[hop], authenticated on that
 * link like a key message but with a take of the Poly1305 key only:
 * head | seq (8) | nsrc (1) | source ids | body | tag. It goes out on a down link too (replies
 * drain it; resolve and transit check the state themselves). */
static int seal_ctl(struct km_relay *r, uint8_t kind, const uint32_t *route, uint8_t n, uint8_t hop,
		    const uint8_t id[KM_KEY_ID_LEN], const uint8_t *body, size_t blen,
		    struct km_relay_out *out)
{
	out->len = 0;
	struct km_take_handle h;
	uint8_t *m = out->msg;
	size_t off;
	int rc = msg_begin(r, kind, route, n, hop, id, KM_RELAY_AUTH_LEN, &h, m, &off);
	if (rc)
		return rc;
	off += srcs_put(m + off, &h.take);
	if (blen)
		memcpy(m + off, body, blen);
	off += blen;
	rc = km_relay_mac(r->mac, r->work, m, off, NULL, 0, m + off);
	if ((rc = take_finish(r, &h, KM_RELAY_AUTH_LEN, rc)))
		return rc;
	out->next_hop = route[hop];
	out->len = (uint32_t)(off + KM_RELAY_TAG_LEN);
	return 0;
}

/* Receiving side of both: refuse a sequence number not above the last accepted on the link
 * (replay), take the named bytes into r->work, check the tag over the 'maclen' bytes before it,
 * and commit the take with the sequence number. On error nothing changes (the named keys go
 * back: nothing was revealed by them) and r->work is wiped; on success the caller wipes it.
 * Keys we do not hold (-ENOKEY): the peer's pool is out of step with ours (a lost message, a
 * restart) or the message is not from the peer; a resync settles either. A sequence number
 * more than one above the last is a message lost on the way (counted in gaps). */
static int open_named(struct km_relay *r, const struct km_relay_neighbor *nb, const struct km_take *t,
		      uint64_t seq, const uint8_t *msg, size_t maclen)
{
	uint64_t last;
	km_store_seq_last_rx(r->store, t->pool, &last);
	if (seq <= last)
		return -EALREADY;
	struct km_take_handle th;
	int rc = km_store_take_named(r->store, t, r->work, &th);
	if (rc)
		return rc == -ENOENT ? -ENOKEY : rc;
	uint8_t want[KM_RELAY_TAG_LEN];
	rc = km_relay_mac(r->mac, r->work, msg, maclen, NULL, 0, want);
	if (rc == 0 && CRYPTO_memcmp(want, msg + maclen, KM_RELAY_TAG_LEN) != 0)
		rc = -EBADMSG;
	if (rc == 0)
		rc = km_store_take_commit_seq(r->store, &th, seq);
	if (rc) {
		km_store_take_abort(r->store, &th, false);
		OPENSSL_cleanse(r->work, t->bytes);
	} else if (seq > last + 1) {
		r->gaps[nb - r->nb]++;
	}
	return rc;
}

/* Verify a control message from neighbour 'from' whose body is blen bytes. */
static int open_ctl(struct km_relay *r, uint32_t from, const uint8_t *msg, size_t len,
		    const struct head *h, size_t blen)
{
	const struct km_relay_neighbor *nb = neighbor(r, from);
	if (!nb)
		return -EHOSTUNREACH;
	size_t off = h->len;
	if (len < off + 9)
		return -EPROTO;
	uint64_t seq = get64(msg + off);
	unsigned nsrc = msg[off + 8];
	off += 9;
	if (nsrc == 0 || nsrc > KM_TAKE_MAX_SRC || seq == 0 ||
	    len != off + (size_t)nsrc * KM_KEY_ID_LEN + blen + KM_RELAY_TAG_LEN)
		return -EPROTO;
	struct km_take t = {.pool = nb->pool, .bytes = KM_RELAY_AUTH_LEN, .nsrc = nsrc};
	for (unsigned i = 0; i < nsrc; i++)
		memcpy(t.src[i], msg + off + i * KM_KEY_ID_LEN, KM_KEY_ID_LEN);
	int rc = open_named(r, nb, &t, seq, msg, len - KM_RELAY_TAG_LEN);
	if (rc == 0)
		OPENSSL_cleanse(r->work, KM_RELAY_AUTH_LEN);
	return rc;
}

int km_relay_start(struct km_relay *r, const uint32_t *route, unsigned n, uint32_t bytes,
		   uint8_t relay_id[KM_KEY_ID_LEN], struct km_relay_out *out)
{
	if (!r || !route || !relay_id || !out || bytes == 0 || bytes > KM_RELAY_KEY_MAX ||
	    !route_ok(route, n) || route[0] != r->node)
		return -EINVAL;
	out->len = 0;
	const struct km_relay_neighbor *first = neighbor(r, route[1]);
	if (!first)
		return -EHOSTUNREACH;
	if (neighbor_down(r, first))
		return -ENETDOWN;
	struct pending *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->key_len = bytes;
	p->nroute = (uint8_t)n;
	memcpy(p->route, route, 4u * n);
	p->material = km_key_material_alloc(bytes + KM_RELAY_E2E_LEN);
	int rc = p->material ? 0 : -ENOMEM;
	if (rc == 0 && (km_uuid_random(p->id) || RAND_priv_bytes(p->material, (int)(bytes + KM_RELAY_E2E_LEN)) != 1))
		rc = -EIO;
	if (rc == 0)
		rc = seal_for_hop(r, route, (uint8_t)n, 1, p->id, p->material, bytes, out);
	if (rc) {
		out->len = 0;
		if (p->material)
			pending_drop(p);
		else
			free(p);
		return rc;
	}
	memcpy(relay_id, p->id, KM_KEY_ID_LEN);
	p->started_ns = mono_ns();
	p->next = r->pending;
	r->pending = p;
	r->npending++;
	return 0;
}

/* NACK towards the origin; when the link back lacks key material to authenticate it, nothing
 * is sent (out->len 0) and the origin resolves the relay later. */
static void nack_put(struct km_relay *r, struct km_relay_out *out, const struct head *h,
		     uint8_t to_hop, int reason)
{
	uint8_t body[4];
	put32(body, (uint32_t)(reason < 0 ? -reason : reason));
	seal_ctl(r, KIND_NACK, h->route, h->nroute, to_hop, h->id, body, sizeof(body), out);
}

static void ack_tag_input(const struct head *h, uint8_t *buf, size_t *len)
{
	memcpy(buf, "ack", 3);
	memcpy(buf + 3, h->id, KM_KEY_ID_LEN);
	for (unsigned i = 0; i < h->nroute && i < KM_ROUTE_MAX; i++)
		put32(buf + 3 + KM_KEY_ID_LEN + 4 * i, h->route[i]);
	*len = 3 + KM_KEY_ID_LEN + 4u * h->nroute;
}

/* Destination: store k under the relay id in the pool of the origin KM, then ACK. */
static int deliver(struct km_relay *r, const struct head *h, uint32_t key_len, struct km_relay_out *out)
{
	struct km_key_in k = {.pool = KM_POOL_PEER(h->route[0]), .bits = key_len * 8,
			      .type = KM_KEY_RELAYED, .nroute = h->nroute, .route = h->route,
			      .material = r->plain};
	memcpy(k.id, h->id, KM_KEY_ID_LEN);
	int rc = km_store_put(r->store, &k, 1);
	if (rc) {
		nack_put(r, out, h, (uint8_t)(h->hop - 1), rc);
		return KM_RELAY_REJECTED;
	}
	uint8_t in[3 + KM_KEY_ID_LEN + 4 * KM_ROUTE_MAX];
	size_t inlen;
	ack_tag_input(h, in, &inlen);
	size_t off = head_put(out->msg, KIND_ACK, (uint8_t)(h->hop - 1), h->route, h->nroute, h->id);
	rc = km_relay_mac(r->mac, r->plain + key_len, in, inlen, NULL, 0, out->msg + off);
	if (rc)
		return rc;
	out->len = (uint32_t)(off + KM_RELAY_TAG_LEN);
	out->next_hop = h->route[h->hop - 1];
	return KM_RELAY_DELIVERED;
}

static int on_key(struct km_relay *r, uint32_t from, const uint8_t *msg, size_t len,
		  const struct head *h, struct km_relay_out *out)
{
	if (h->hop == 0 || h->route[h->hop - 1] != from)
		return -EHOSTUNREACH;
	const struct km_relay_neighbor *nb = neighbor(r, from);
	if (!nb)
		return -EHOSTUNREACH;
	size_t off = h->len;
	if (len < off + 13)
		return -EPROTO;
	uint64_t seq = get64(msg + off);
	uint32_t key_len = get32(msg + off + 8);
	unsigned nsrc = msg[off + 12];
	off += 13;
	if (key_len == 0 || key_len > KM_RELAY_KEY_MAX || nsrc == 0 || nsrc > KM_TAKE_MAX_SRC || seq == 0)
		return -EPROTO;
	uint32_t clen = key_len + KM_RELAY_E2E_LEN;
	if (len != off + (size_t)nsrc * KM_KEY_ID_LEN + clen + KM_RELAY_TAG_LEN)
		return -EPROTO;
	struct km_take t = {.pool = nb->pool, .bytes = KM_RELAY_AUTH_LEN + clen, .nsrc = nsrc};
	for (unsigned i = 0; i < nsrc; i++, off += KM_KEY_ID_LEN)
		memcpy(t.src[i], msg + off, KM_KEY_ID_LEN);
	const uint8_t *ct = msg + off;
	int rc = open_named(r, nb, &t, seq, msg, off + clen);
	if (rc)
		return rc;
	km_xor(r->plain, ct, r->work + KM_RELAY_AUTH_LEN, clen);
	OPENSSL_cleanse(r->work, t.bytes);
	if (h->hop + 1 == h->nroute) { /* a key resolved gone earlier: its id is tombstoned, NACK */
		rc = deliver(r, h, key_len, out);
	} else {
		rc = seal_for_hop(r, h->route, h->nroute, (uint8_t)(h->hop + 1), h->id, r->plain, key_len, out);
		if (rc == 0) {
			rc = KM_RELAY_FORWARDED;
		} else {
			nack_put(r, out, h, (uint8_t)(h->hop - 1), rc);
			rc = KM_RELAY_REJECTED;
		}
	}
	OPENSSL_cleanse(r->plain, clen);
	return rc;
}

static struct pending *pending_find(struct km_relay *r, const uint8_t id[KM_KEY_ID_LEN],
				    struct pending ***link)
{
	for (struct pending **pp = &r->pending; *pp; pp = &(*pp)->next) {
		if (memcmp((*pp)->id, id, KM_KEY_ID_LEN) == 0) {
			*link = pp;
			return *pp;
		}
	}
	return NULL;
}

static void pending_remove(struct km_relay *r, struct pending **link)
{
	struct pending *p = *link;
	*link = p->next;
	r->npending--;
	pending_drop(p);
}

/* The destination holds k: store it here too (under the relay's own route). */
static int store_confirmed(struct km_relay *r, const struct head *h, struct pending **link)
{
	struct pending *p = *link;
	struct km_key_in k = {.pool = KM_POOL_PEER(h->route[h->nroute - 1]), .bits = p->key_len * 8,
			      .type = KM_KEY_RELAYED, .nroute = p->nroute, .route = p->route,
			      .material = p->material};
	memcpy(k.id, p->id, KM_KEY_ID_LEN);
	int rc = km_store_put(r->store, &k, 1);
	if (rc)
		return rc;
	pending_remove(r, link);
	return KM_RELAY_CONFIRMED;
}

/* ACK, NACK, HAVE or GONE travelling back towards the origin. The ACK carries the end-to-end
 * tag and is passed as it is; the others are verified on the link they came from and tagged
 * again for the next (so a forged or replayed one is dropped at the first KM it reaches). */
static int on_reply(struct km_relay *r, uint32_t from, const uint8_t *msg, size_t len,
		    const struct head *h, struct km_relay_out *out)
{
	if (h->route[h->hop + 1] != from)
		return -EHOSTUNREACH;
	if (h->kind == KIND_ACK && len != h->len + KM_RELAY_TAG_LEN)
		return -EPROTO;
	if (h->hop > 0 && !neighbor(r, h->route[h->hop - 1]))
		return -EHOSTUNREACH; /* cannot be passed back: dropped */
	size_t blen = h->kind == KIND_NACK ? 4 : 0;
	if (h->kind != KIND_ACK) {
		int rc = open_ctl(r, from, msg, len, h, blen);
		if (rc)
			return rc;
	}
	if (h->hop > 0) {
		if (h->kind != KIND_ACK) {
			int rc = seal_ctl(r, h->kind, h->route, h->nroute, (uint8_t)(h->hop - 1), h->id,
					  msg + len - KM_RELAY_TAG_LEN - blen, blen, out);
			return rc ? rc : KM_RELAY_PASSED;
		}
		memcpy(out->msg, msg, len);
		out->msg[6] = (uint8_t)(h->hop - 1);
		out->len = (uint32_t)len;
		out->next_hop = h->route[h->hop - 1];
		return KM_RELAY_PASSED;
	}
	struct pending **link, *p = pending_find(r, h->id, &link);
	if (p && (h->kind == KIND_HAVE || h->kind == KIND_GONE)) {
		if (p->nrroute != h->nroute || memcmp(p->rroute, h->route, 4u * h->nroute))
			return -ENOENT;
		if (h->kind == KIND_GONE) {
			pending_remove(r, link);
			return KM_RELAY_FAILED;
		}
		return store_confirmed(r, h, link);
	}
	if (!p || p->nroute != h->nroute || memcmp(p->route, h->route, 4u * h->nroute))
		return -ENOENT;
	if (h->kind == KIND_ACK && p->nrroute)
		return -ESTALE; /* resolving: the destination's answer decides, not a late ACK */
	if (h->kind == KIND_NACK) {
		pending_remove(r, link);
		return KM_RELAY_FAILED;
	}
	uint8_t in[3 + KM_KEY_ID_LEN + 4 * KM_ROUTE_MAX], want[KM_RELAY_TAG_LEN];
	size_t inlen;
	ack_tag_input(h, in, &inlen);
	int rc = km_relay_mac(r->mac, p->material + p->key_len, in, inlen, NULL, 0, want);
	if (rc)
		return rc;
	if (CRYPTO_memcmp(want, msg + h->len, KM_RELAY_TAG_LEN) != 0)
		return -EBADMSG;
	return store_confirmed(r, h, link);
}

/* Destination of a resolve: the origin never got our ACK; the store decides (km_store_resolve). */
static int on_resolve(struct km_relay *r, uint32_t from, const uint8_t *msg, size_t len,
		      const struct head *h, struct km_relay_out *out)
{
	if (h->hop == 0 || h->route[h->hop - 1] != from)
		return -EHOSTUNREACH;
	int rc = open_ctl(r, from, msg, len, h, 0);
	if (rc)
		return rc;
	if (h->hop + 1 < h->nroute) { /* transit: on towards the destination */
		const struct km_relay_neighbor *nb = neighbor(r, h->route[h->hop + 1]);
		if (!nb || neighbor_down(r, nb))
			return -EHOSTUNREACH; /* dropped: the origin asks again on another route */
		rc = seal_ctl(r, KIND_RESOLVE, h->route, h->nroute, (uint8_t)(h->hop + 1), h->id, NULL, 0, out);
		return rc ? rc : KM_RELAY_PASSED;
	}
	rc = km_store_resolve(r->store, KM_POOL_PEER(h->route[0]), h->id);
	if (rc < 0)
		return rc;
	rc = seal_ctl(r, rc ? KIND_HAVE : KIND_GONE, h->route, h->nroute, (uint8_t)(h->hop - 1), h->id,
		      NULL, 0, out);
	return rc ? rc : KM_RELAY_ANSWERED;
}

int km_relay_overdue(struct km_relay *r, uint64_t max_age_ns, uint8_t (*ids)[KM_KEY_ID_LEN],
		     unsigned max)
{
	if (!r || (!ids && max))
		return -EINVAL;
	uint64_t now = mono_ns();
	unsigned n = 0;
	for (struct pending *p = r->pending; p && n < max; p = p->next) {
		if (now - p->started_ns <= max_age_ns || now < p->report_ns)
			continue;
		memcpy(ids[n++], p->id, KM_KEY_ID_LEN);
		p->report_ns = now + max_age_ns;
	}
	return (int)n;
}

int km_relay_resolve(struct km_relay *r, const uint8_t relay_id[KM_KEY_ID_LEN],
		     const uint32_t *route, unsigned n, struct km_relay_out *out)
{
	if (!r || !relay_id || !route || !out || !route_ok(route, n) || route[0] != r->node)
		return -EINVAL;
	out->len = 0;
	struct pending **link, *p = pending_find(r, relay_id, &link);
	if (!p)
		return -ENOENT;
	if (route[n - 1] != p->route[p->nroute - 1])
		return -EINVAL;
	const struct km_relay_neighbor *nb = neighbor(r, route[1]);
	if (!nb)
		return -EHOSTUNREACH;
	if (neighbor_down(r, nb))
		return -ENETDOWN;
	int rc = seal_ctl(r, KIND_RESOLVE, route, (uint8_t)n, 1, relay_id, NULL, 0, out);
	if (rc)
		return rc;
	memcpy(p->rroute, route, 4u * n);
	p->nrroute = (uint8_t)n;
	return 0;
}

int km_relay_receive(struct km_relay *r, uint32_t from, const uint8_t *msg, size_t len,
		     struct km_relay_out *out, uint8_t relay_id[KM_KEY_ID_LEN])
{
	if (!r || !msg || !out || !relay_id)
		return -EINVAL;
	out->len = 0;
	struct head h;
	int rc = head_get(msg, len, &h);
	if (rc)
		return rc;
	const struct km_relay_neighbor *nb = neighbor(r, from);
	if (h.route[h.hop] != r->node || !nb)
		return -EHOSTUNREACH;
	if (r->paused[nb - r->nb])
		return -EAGAIN; /* sent before the resync: obsolete once it ends */
	if (h.kind == KIND_KEY)
		rc = on_key(r, from, msg, len, &h, out);
	else if (h.kind == KIND_RESOLVE)
		rc = on_resolve(r, from, msg, len, &h, out);
	else if (h.hop + 1 < h.nroute)
		rc = on_reply(r, from, msg, len, &h, out);
	else
		rc = -EPROTO;
	if (rc < 0)
		out->len = 0;
	else
		memcpy(relay_id, h.id, KM_KEY_ID_LEN);
	return rc;
}

int km_relay_cancel(struct km_relay *r, const uint8_t relay_id[KM_KEY_ID_LEN])
{
	if (!r || !relay_id)
		return -EINVAL;
	struct pending **link, *p = pending_find(r, relay_id, &link);
	if (!p)
		return -ENOENT;
	pending_remove(r, link);
	return 0;
}

int km_relay_expire(struct km_relay *r, uint64_t max_age_ns, uint8_t (*ids)[KM_KEY_ID_LEN],
		    unsigned max)
{
	if (!r || (!ids && max))
		return -EINVAL;
	uint64_t now = mono_ns();
	unsigned n = 0;
	for (struct pending **pp = &r->pending; *pp && n < max;) {
		if (now - (*pp)->started_ns > max_age_ns) {
			memcpy(ids[n++], (*pp)->id, KM_KEY_ID_LEN);
			pending_remove(r, pp);
		} else {
			pp = &(*pp)->next;
		}
	}
	return (int)n;
}
