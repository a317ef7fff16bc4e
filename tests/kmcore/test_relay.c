/* Key relay over chains of simulated KMs (one store each, links with identical key streams at
 * both ends). The checks do not trust the relay code: the test knows every link's key stream, so
 * it decrypts the first hop's ciphertext itself, verifies every hop's Poly1305 tag with OpenSSL
 * directly, and checks that each hop's pad and tag key are the next unused bytes of that link's
 * stream (never reused, never skipped). */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "km_relay.h"
#include "store_util.h"

#define MAXN 6
#define LINK_KEYS 40
#define LINK_KEY_BYTES 512

struct net {
	int n;
	char dir[MAXN][256];
	struct km_store *st[MAXN];
	struct km_relay *r[MAXN];
	uint8_t *stream[MAXN]; /* reference bytes of link i (node i -> i+1) */
	size_t used[MAXN];     /* bytes of link i the test has seen consumed */
	size_t stream_len[MAXN];
	uint8_t key[KM_RELAY_KEY_MAX]; /* k as the test decrypted it from the first hop */
	uint32_t key_len;
};

static km_pool_id link_pool(int i)
{
	return KM_POOL_LINK(100 + i);
}

/* Node ids 10, 11, ... so they differ from indexes. */
static uint32_t node_id(int i)
{
	return 10u + (uint32_t)i;
}

static void net_up(struct net *w, int n, int empty_link)
{
	/* links of LINK_KEYS keys, about half of them (odd ids) usable by each end as origin */
	memset(w, 0, sizeof(*w));
	w->n = n;
	for (int i = 0; i < n; i++) {
		su_tmpdir(w->dir[i], sizeof(w->dir[i]), "relay");
		w->st[i] = su_open(w->dir[i], KM_SYNC_NONE, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(w->st[i]);
	}
	for (int i = 0; i + 1 < n; i++) {
		uint32_t keys = i == empty_link ? 0 : LINK_KEYS;
		CU_ASSERT_EQUAL(su_put_stream(w->st[i], link_pool(i), 500 + (uint64_t)i, 0, keys, LINK_KEY_BYTES), 0);
		CU_ASSERT_EQUAL(su_put_stream(w->st[i + 1], link_pool(i), 500 + (uint64_t)i, 0, keys, LINK_KEY_BYTES), 0);
		/* km_relay_create gives the smaller node id (node i) the keys with odd ids to originate
		 * from: its pads are those keys' bytes in order */
		w->stream[i] = malloc((size_t)LINK_KEYS * LINK_KEY_BYTES);
		w->stream_len[i] = 0;
		uint8_t id[16], *mat = malloc(LINK_KEY_BYTES);
		for (uint32_t k = 0; k < LINK_KEYS; k++) {
			su_key(500 + (uint64_t)i, k, id, mat, LINK_KEY_BYTES);
			if (id[15] & 1) {
				memcpy(w->stream[i] + w->stream_len[i], mat, LINK_KEY_BYTES);
				w->stream_len[i] += LINK_KEY_BYTES;
			}
		}
		free(mat);
	}
	for (int i = 0; i < n; i++) {
		struct km_relay_neighbor nb[2];
		unsigned nn = 0;
		if (i > 0)
			nb[nn++] = (struct km_relay_neighbor){node_id(i - 1), link_pool(i - 1)};
		if (i + 1 < n)
			nb[nn++] = (struct km_relay_neighbor){node_id(i + 1), link_pool(i)};
		struct km_relay_config cfg = {node_id(i), w->st[i], nb, nn};
		CU_ASSERT_EQUAL_FATAL(km_relay_create(&cfg, &w->r[i]), 0);
	}
}

static void net_down(struct net *w)
{
	for (int i = 0; i < w->n; i++) {
		km_relay_free(w->r[i]);
		km_store_close(w->st[i]);
		su_rmdir(w->dir[i]);
		free(w->stream[i]);
	}
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Independent check of a key message sent over link i (from node i to i+1): parse the documented
 * layout, check the Poly1305 tag with OpenSSL using the link's next 32 stream bytes, decrypt with
 * the following pad bytes and compare with (or record) k. Returns 0 when all holds. */
static int check_key_msg(struct net *w, int link, const uint8_t *m, size_t len)
{
	unsigned nroute = m[7];
	size_t off = 24 + 4 * nroute;
	uint32_t key_len = rd32(m + off + 8);
	unsigned nsrc = m[off + 12];
	off += 13 + 16 * nsrc;
	uint32_t clen = key_len + 32;
	if (len != off + clen + 16)
		return -1;
	const uint8_t *auth = w->stream[link] + w->used[link], *pad = auth + 32;
	if (w->used[link] + 32 + clen > w->stream_len[link])
		return -2;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
	uint8_t tag[16];
	size_t tl = 0;
	int ok = EVP_MAC_init(c, auth, 32, NULL) == 1 && EVP_MAC_update(c, m, off + clen) == 1 &&
		 EVP_MAC_final(c, tag, &tl, 16) == 1 && tl == 16;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	if (!ok || memcmp(tag, m + off + clen, 16) != 0)
		return -3;
	uint8_t k[KM_RELAY_KEY_MAX + 32];
	for (uint32_t i = 0; i < clen; i++)
		k[i] = m[off + i] ^ pad[i];
	w->used[link] += 32 + clen;
	if (link == 0) {
		memcpy(w->key, k, key_len);
		w->key_len = key_len;
		return 0;
	}
	return key_len == w->key_len && memcmp(k, w->key, key_len) == 0 ? 0 : -4;
}

static int index_of(uint32_t node)
{
	return (int)node - 10;
}

/* Run a relay from node 0 to node n-1 to completion; returns the last event at node 0. */
static int relay_run(struct net *w, uint32_t bytes, uint8_t id[16], int *checks_failed)
{
	uint32_t route[MAXN];
	for (int i = 0; i < w->n; i++)
		route[i] = node_id(i);
	struct km_relay_out *out = malloc(sizeof(*out)), *next = malloc(sizeof(*next));
	int rc = km_relay_start(w->r[0], route, (unsigned)w->n, bytes, id, out);
	if (rc) {
		free(out);
		free(next);
		return rc;
	}
	int at = 0, ev = 0;
	for (int steps = 0; out->len && steps < 4 * MAXN; steps++) {
		int to = index_of(out->next_hop);
		if (out->msg[5] == 1 && to == at + 1 && check_key_msg(w, at, out->msg, out->len))
			(*checks_failed)++;
		uint8_t rid[16];
		ev = km_relay_receive(w->r[to], node_id(at), out->msg, out->len, next, rid);
		if (ev < 0)
			break;
		if (memcmp(rid, id, 16) != 0)
			(*checks_failed)++;
		at = to;
		struct km_relay_out *t = out;
		out = next;
		next = t;
	}
	free(out);
	free(next);
	return ev;
}

/* Material of a stored key via a one-source named take (aborted, so the key stays). */
static int stored_key(struct km_store *st, km_pool_id pool, const uint8_t id[16], uint32_t bytes,
		      uint8_t *out)
{
	struct km_take t = {.pool = pool, .bytes = bytes, .nsrc = 1};
	memcpy(t.src[0], id, 16);
	struct km_take_handle h;
	int rc = km_store_take_named(st, &t, out, &h);
	if (rc == 0)
		km_store_take_abort(st, &h, false);
	return rc;
}

static void chain(int n)
{
	struct net w;
	net_up(&w, n, -1);
	int bad = 0;
	for (int round = 0; round < 3; round++) {
		uint8_t id[16], at_a[300], at_c[300];
		uint32_t bytes = 100 + 97 * (uint32_t)round;
		CU_ASSERT_EQUAL(relay_run(&w, bytes, id, &bad), KM_RELAY_CONFIRMED);
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 0);
		/* both ends hold the key the test decrypted from the first hop, under the relay id */
		CU_ASSERT_EQUAL_FATAL(stored_key(w.st[0], KM_POOL_PEER(node_id(n - 1)), id, bytes, at_a), 0);
		CU_ASSERT_EQUAL_FATAL(stored_key(w.st[n - 1], KM_POOL_PEER(node_id(0)), id, bytes, at_c), 0);
		CU_ASSERT_EQUAL(w.key_len, bytes);
		CU_ASSERT(memcmp(at_a, w.key, bytes) == 0);
		CU_ASSERT(memcmp(at_c, w.key, bytes) == 0);
		struct km_key_meta m;
		CU_ASSERT_EQUAL(km_store_get(w.st[n - 1], id, &m), 0);
		CU_ASSERT_EQUAL(m.type, KM_KEY_RELAYED);
		CU_ASSERT_EQUAL(m.nroute, n);
		CU_ASSERT_EQUAL(m.route[n - 1], node_id(n - 1));
	}
	/* both ends of every link consumed exactly the bytes the messages used */
	for (int i = 0; i + 1 < n; i++) {
		struct km_pool_stats a, b;
		km_store_pool_stats(w.st[i], link_pool(i), &a);
		km_store_pool_stats(w.st[i + 1], link_pool(i), &b);
		CU_ASSERT_EQUAL(a.available_bits, b.available_bits);
		CU_ASSERT_EQUAL(a.available_bits, ((uint64_t)LINK_KEYS * LINK_KEY_BYTES - w.used[i]) * 8);
	}
	net_down(&w);
}

static void test_three_hops(void)
{
	chain(3);
}

static void test_five_hops(void)
{
	chain(5);
}

static void test_tampered_and_replayed_rejected(void)
{
	struct net w;
	net_up(&w, 3, -1);
	uint32_t route[3] = {node_id(0), node_id(1), node_id(2)};
	struct km_relay_out *out = malloc(sizeof(*out)), *fwd = malloc(sizeof(*fwd));
	uint8_t id[16], rid[16];
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 64, id, out), 0);
	struct km_pool_stats before, after;
	km_store_pool_stats(w.st[1], link_pool(0), &before);
	size_t ct_at = out->len - 16 - 40; /* a byte of the ciphertext */
	/* ciphertext, tag, relay id, sequence number: the tag fails; a source key id: a key B does
	 * not hold */
	size_t fields[] = {ct_at, out->len - 1, 8, 24 + 12 + 5, 24 + 12 + 13 + 5};
	const int want[] = {-EBADMSG, -EBADMSG, -EBADMSG, -EBADMSG, -ENOKEY};
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		out->msg[fields[f]] ^= 0x01;
		int rc = km_relay_receive(w.r[1], node_id(0), out->msg, out->len, fwd, rid);
		CU_ASSERT_EQUAL(rc, want[f]);
		CU_ASSERT_EQUAL(fwd->len, 0);
		out->msg[fields[f]] ^= 0x01;
	}
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), out->msg, out->len - 1, fwd, rid), -EPROTO);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(2), out->msg, out->len, fwd, rid), -EHOSTUNREACH);
	km_store_pool_stats(w.st[1], link_pool(0), &after);
	CU_ASSERT_EQUAL(after.available_bits, before.available_bits); /* nothing consumed */
	/* the genuine message still goes through, once */
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), out->msg, out->len, fwd, rid), KM_RELAY_FORWARDED);
	struct km_relay_out *scratch = malloc(sizeof(*scratch));
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), out->msg, out->len, scratch, rid), -EALREADY);
	CU_ASSERT_EQUAL(scratch->len, 0);
	free(scratch);
	/* a tampered ACK is refused by the origin, the genuine one confirms */
	CU_ASSERT_EQUAL(km_relay_receive(w.r[2], node_id(1), fwd->msg, fwd->len, out, rid), KM_RELAY_DELIVERED);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(2), out->msg, out->len, fwd, rid), KM_RELAY_PASSED);
	CU_ASSERT_FATAL(fwd->len > 16);
	fwd->msg[fwd->len - 3] ^= 0x80;
	CU_ASSERT_EQUAL(km_relay_receive(w.r[0], node_id(1), fwd->msg, fwd->len, out, rid), -EBADMSG);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 1);
	CU_ASSERT_FATAL(fwd->len > 16);
	fwd->msg[fwd->len - 3] ^= 0x80;
	CU_ASSERT_EQUAL(km_relay_receive(w.r[0], node_id(1), fwd->msg, fwd->len, out, rid), KM_RELAY_CONFIRMED);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 0);
	free(out);
	free(fwd);
	net_down(&w);
}

static void test_failed_hop_never_half_delivers(void)
{
	struct net w;
	net_up(&w, 4, 2); /* link 2 (node 12 -> 13) has no keys */
	uint8_t id[16];
	int bad = 0;
	struct km_pool_stats l1_before, l1_after;
	km_store_pool_stats(w.st[1], link_pool(1), &l1_before);
	CU_ASSERT_EQUAL(relay_run(&w, 200, id, &bad), KM_RELAY_FAILED);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 0);
	struct km_key_meta m;
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(km_store_get(w.st[i], id, &m), -ENOENT);
	/* spent pads are gone at both ends of links 0 and 1, equally */
	for (int i = 0; i < 2; i++) {
		struct km_pool_stats a, b;
		km_store_pool_stats(w.st[i], link_pool(i), &a);
		km_store_pool_stats(w.st[i + 1], link_pool(i), &b);
		CU_ASSERT_EQUAL(a.available_bits, b.available_bits);
	}
	km_store_pool_stats(w.st[1], link_pool(1), &l1_after);
	/* the key message's Poly1305 key, pad (k | end-to-end key), and the NACK's Poly1305 key */
	CU_ASSERT_EQUAL(l1_before.available_bits - l1_after.available_bits, (32 + 200 + 32 + 32) * 8);
	/* origin-side failures change nothing */
	uint32_t bad_route[3] = {node_id(0), node_id(2), node_id(3)}, loop[3] = {node_id(0), node_id(1), node_id(0)};
	struct km_relay_out *out = malloc(sizeof(*out));
	struct km_pool_stats s0, s1;
	km_store_pool_stats(w.st[0], link_pool(0), &s0);
	CU_ASSERT_EQUAL(km_relay_start(w.r[0], bad_route, 3, 16, id, out), -EHOSTUNREACH);
	CU_ASSERT_EQUAL(km_relay_start(w.r[0], loop, 3, 16, id, out), -EINVAL);
	CU_ASSERT_EQUAL(km_relay_start(w.r[0], bad_route, 1, 16, id, out), -EINVAL);
	CU_ASSERT_EQUAL(km_relay_start(w.r[0], bad_route, 3, KM_RELAY_KEY_MAX + 1, id, out), -EINVAL);
	uint32_t dry[2] = {node_id(2), node_id(3)}, big[2] = {node_id(0), node_id(1)};
	CU_ASSERT_EQUAL(km_relay_start(w.r[2], dry, 2, 16, id, out), -EAGAIN);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[2]), 0);
	km_store_pool_stats(w.st[0], link_pool(0), &s1);
	CU_ASSERT_EQUAL(s0.available_bits, s1.available_bits);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 0);
	/* a pending relay nobody answers is expired and its key discarded */
	uint8_t started[16], expired[2][16];
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], big, 2, 16, started, out), 0);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 1);
	CU_ASSERT_EQUAL(km_relay_expire(w.r[0], UINT64_MAX, expired, 2), 0);
	CU_ASSERT_EQUAL(km_relay_expire(w.r[0], 0, expired, 2), 1);
	CU_ASSERT(memcmp(expired[0], started, 16) == 0);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 0);
	CU_ASSERT_EQUAL(km_relay_cancel(w.r[0], started), -ENOENT);
	free(out);
	net_down(&w);
}

/* A KM link taken down at the middle node (make-before-break drain): a relay whose key already
 * crossed it completes with its ACK; a new key message that would cross it is NACKed, so neither
 * end stores that key; starting over a down first link changes nothing; back up, relays flow. */
static void test_link_down_drains(void)
{
	struct net w;
	net_up(&w, 3, -1);
	uint32_t route[3] = {node_id(0), node_id(1), node_id(2)};
	struct km_relay_out *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	uint8_t id1[16], id2[16], rid[16], mat[64];
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 64, id1, a), 0);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), a->msg, a->len, b, rid), KM_RELAY_FORWARDED);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[2], node_id(1), b->msg, b->len, a, rid), KM_RELAY_DELIVERED);
	/* the key is at node 2, its ACK on the way back when 11 -> 12 goes down */
	CU_ASSERT_EQUAL(km_relay_set_neighbor_up(w.r[1], node_id(2), false), 0);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(2), a->msg, a->len, b, rid), KM_RELAY_PASSED);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[0], node_id(1), b->msg, b->len, a, rid), KM_RELAY_CONFIRMED);
	CU_ASSERT_EQUAL(stored_key(w.st[0], KM_POOL_PEER(node_id(2)), id1, 64, mat), 0);
	CU_ASSERT_EQUAL(stored_key(w.st[2], KM_POOL_PEER(node_id(0)), id1, 64, mat), 0);
	/* a new relay reaches the down link: NACK, the origin discards, no end holds it */
	struct km_pool_stats l1_before, l1_after;
	km_store_pool_stats(w.st[1], link_pool(1), &l1_before);
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 64, id2, a), 0);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), a->msg, a->len, b, rid), KM_RELAY_REJECTED);
	CU_ASSERT_EQUAL(b->next_hop, node_id(0));
	CU_ASSERT_EQUAL(km_relay_receive(w.r[0], node_id(1), b->msg, b->len, a, rid), KM_RELAY_FAILED);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 0);
	struct km_key_meta m;
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(km_store_get(w.st[i], id2, &m), -ENOENT);
	km_store_pool_stats(w.st[1], link_pool(1), &l1_after);
	CU_ASSERT_EQUAL(l1_after.available_bits, l1_before.available_bits); /* no pad spent on it */
	/* starting over a down first link: refused, nothing spent */
	uint32_t short_route[2] = {node_id(1), node_id(2)};
	CU_ASSERT_EQUAL(km_relay_start(w.r[1], short_route, 2, 64, id2, a), -ENETDOWN);
	CU_ASSERT_EQUAL(a->len, 0);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[1]), 0);
	km_store_pool_stats(w.st[1], link_pool(1), &l1_after);
	CU_ASSERT_EQUAL(l1_after.available_bits, l1_before.available_bits);
	CU_ASSERT_EQUAL(km_relay_set_neighbor_up(w.r[1], node_id(5), false), -ENOENT);
	/* back up: relays cross it again, pads stay in step at both ends */
	CU_ASSERT_EQUAL(km_relay_set_neighbor_up(w.r[1], node_id(2), true), 0);
	CU_ASSERT_EQUAL(km_relay_start(w.r[1], short_route, 2, 64, id2, a), 0);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[2], node_id(1), a->msg, a->len, b, rid), KM_RELAY_DELIVERED);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(2), b->msg, b->len, a, rid), KM_RELAY_CONFIRMED);
	struct km_pool_stats x, y;
	km_store_pool_stats(w.st[1], link_pool(1), &x);
	km_store_pool_stats(w.st[2], link_pool(1), &y);
	CU_ASSERT_EQUAL(x.available_bits, y.available_bits);
	free(a);
	free(b);
	net_down(&w);
}

/* Hand the message in *m (sent by node 'at') to its next hop; the reply goes to *m. Returns the
 * event and sets *at to the receiver. */
static int step(struct net *w, int *at, struct km_relay_out **m, struct km_relay_out **spare)
{
	uint8_t rid[16];
	int to = index_of((*m)->next_hop);
	int ev = km_relay_receive(w->r[to], node_id(*at), (*m)->msg, (*m)->len, *spare, rid);
	struct km_relay_out *t = *m;
	*m = *spare;
	*spare = t;
	*at = to;
	return ev;
}

static struct km_relay_out *out_copy(const struct km_relay_out *o)
{
	struct km_relay_out *c = malloc(sizeof(*c));
	memcpy(c, o, sizeof(*c));
	return c;
}

/* Resync link i's pool between its two ends (both drop the keys only one of them holds). */
static int resync_link(struct net *w, int i)
{
	struct km_resync *a, *b;
	uint8_t da[32], db[32];
	int rc = su_resync_run(w->st[i], w->st[i + 1], link_pool(i), NULL, &a, &b) == 0 &&
			 km_resync_finish(a, da) >= 0 && km_resync_finish(b, db) >= 0 &&
			 memcmp(da, db, 32) == 0 ? 0 : -1;
	km_resync_free(a);
	km_resync_free(b);
	return rc;
}

/* Relays whose ACK never came are resolved with the destination, never left at one end only:
 * ACK lost, key untouched at C -> gone at both ends; ACK lost, key already reserved at C -> have,
 * A stores the same bytes, and asking again gets the same answer after C consumed it; key
 * message lost -> gone, and the late key message is refused at C; a late ACK after the resolve
 * was sent is ignored, C's answer decides. */
static void test_resolve_overdue(void)
{
	struct net w;
	net_up(&w, 3, -1);
	uint32_t route[3] = {node_id(0), node_id(1), node_id(2)};
	struct km_relay_out *m = malloc(sizeof(*m)), *sp = malloc(sizeof(*sp));
	uint8_t id[16], ids[4][16], a_key[32], c_key[32];
	struct km_key_meta meta;
	int at;

	/* 1. ACK lost, C untouched: gone */
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 32, id, m), 0);
	at = 0;
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_FORWARDED);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_DELIVERED);
	struct km_relay_out *lost_ack = out_copy(m);
	CU_ASSERT_EQUAL(km_relay_overdue(w.r[0], UINT64_MAX / 2, ids, 4), 0); /* not overdue yet */
	CU_ASSERT_EQUAL_FATAL(km_relay_overdue(w.r[0], 0, ids, 4), 1);
	CU_ASSERT(memcmp(ids[0], id, 16) == 0);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 1); /* listed, not discarded */
	CU_ASSERT_EQUAL_FATAL(km_relay_resolve(w.r[0], id, route, 3, m), 0);
	at = 0;
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_PASSED);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_ANSWERED);
	CU_ASSERT_EQUAL(m->msg[5], 6); /* gone */
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_PASSED);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_FAILED);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 0);
	CU_ASSERT_EQUAL(km_store_get(w.st[0], id, &meta), -ENOENT);
	CU_ASSERT_EQUAL(km_store_get(w.st[2], id, &meta), -ENOENT);
	at = 2; /* the lost ACK turns up at A after all: nothing to confirm */
	memcpy(m, lost_ack, sizeof(*m));
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_PASSED);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), -ENOENT);
	CU_ASSERT_EQUAL(km_store_get(w.st[0], id, &meta), -ENOENT);
	free(lost_ack);

	/* 2. ACK lost, C has already reserved the key: have, A stores the same bytes */
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 32, id, m), 0);
	at = 0;
	step(&w, &at, &m, &sp);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_DELIVERED);
	struct km_take_handle th;
	CU_ASSERT_EQUAL_FATAL(km_store_take_begin(w.st[2], KM_POOL_PEER(node_id(0)), 32, c_key, &th), 0);
	CU_ASSERT_EQUAL_FATAL(km_relay_resolve(w.r[0], id, route, 3, m), 0);
	struct km_relay_out *resolve = out_copy(m);
	at = 0;
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_PASSED);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_ANSWERED);
	CU_ASSERT_EQUAL(m->msg[5], 5); /* have */
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_PASSED);
	struct km_relay_out *answer = out_copy(m);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_CONFIRMED);
	CU_ASSERT_EQUAL_FATAL(stored_key(w.st[0], KM_POOL_PEER(node_id(2)), id, 32, a_key), 0);
	CU_ASSERT(memcmp(a_key, c_key, 32) == 0);
	CU_ASSERT_EQUAL(km_store_take_commit(w.st[2], &th), 0); /* C's SAE used it */
	/* the resolve and the answer replayed: refused on their links, nothing changes */
	at = 0;
	memcpy(m, resolve, sizeof(*m));
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), -EALREADY);
	at = 1;
	memcpy(m, answer, sizeof(*m));
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), -EALREADY);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 0);
	free(resolve);
	free(answer);

	/* 3. key message lost on link 0 (its pads are spent at A only: the link is resynced, as
	 * after a restart): gone, C bars the id, and the late key message is refused at B */
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 32, id, m), 0);
	struct km_relay_out *late_key = out_copy(m);
	CU_ASSERT_EQUAL_FATAL(resync_link(&w, 0), 0);
	CU_ASSERT_EQUAL_FATAL(km_relay_resolve(w.r[0], id, route, 3, m), 0);
	at = 0;
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_PASSED);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_ANSWERED);
	CU_ASSERT_EQUAL(m->msg[5], 6);
	step(&w, &at, &m, &sp);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_FAILED);
	at = 0;
	memcpy(m, late_key, sizeof(*m));
	CU_ASSERT(step(&w, &at, &m, &sp) < 0);
	CU_ASSERT_EQUAL(km_store_get(w.st[2], id, &meta), -ENOENT);
	CU_ASSERT_EQUAL(km_store_get(w.st[0], id, &meta), -ENOENT);
	free(late_key);

	/* 4. a late ACK after the resolve was sent is ignored; C's answer (gone) decides */
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 32, id, m), 0);
	at = 0;
	step(&w, &at, &m, &sp);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_DELIVERED);
	struct km_relay_out *ack = out_copy(m);
	CU_ASSERT_EQUAL_FATAL(km_relay_resolve(w.r[0], id, route, 3, m), 0);
	resolve = out_copy(m);
	at = 2;
	memcpy(m, ack, sizeof(*m));
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_PASSED);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), -ESTALE);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 1);
	at = 0;
	memcpy(m, resolve, sizeof(*m));
	step(&w, &at, &m, &sp);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_ANSWERED);
	step(&w, &at, &m, &sp);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_FAILED);
	CU_ASSERT_EQUAL(km_store_get(w.st[0], id, &meta), -ENOENT);
	CU_ASSERT_EQUAL(km_store_get(w.st[2], id, &meta), -ENOENT);
	free(ack);
	free(resolve);

	/* refusals */
	uint32_t elsewhere[2] = {node_id(0), node_id(1)};
	CU_ASSERT_EQUAL(km_relay_resolve(w.r[0], id, route, 3, m), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 32, id, m), 0);
	CU_ASSERT_EQUAL(km_relay_resolve(w.r[0], id, elsewhere, 2, m), -EINVAL);
	CU_ASSERT_EQUAL(km_relay_cancel(w.r[0], id), 0);
	free(m);
	free(sp);
	net_down(&w);
}

static uint64_t avail_bits(struct km_store *st, km_pool_id pool)
{
	struct km_pool_stats ps;
	km_store_pool_stats(st, pool, &ps);
	return ps.available_bits;
}

/* Variants of a genuine control message from node 'from' to node 'to' that must all be refused
 * with nothing spent at 'to': tag, body/seq and kind bytes flipped, the tag replaced by
 * Poly1305 under a key of the attacker's, a source id unknown to 'to', and the body-less
 * unauthenticated form. Returns how many were accepted. */
static int forgeries_accepted(struct net *w, int from, int to, int link, const struct km_relay_out *g)
{
	struct km_relay_out *f = malloc(sizeof(*f)), *o = malloc(sizeof(*o));
	uint64_t before = avail_bits(w->st[to], link_pool(link));
	unsigned nroute = g->msg[7];
	size_t head = 24 + 4 * nroute, accepted = 0;
	size_t flips[] = {g->len - 1, g->len - 16, g->len - 17, head + 7, 5, 8};
	uint8_t rid[16];
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(f, g, sizeof(*f));
		f->msg[flips[i]] ^= i == 4 ? 0x03 : 0x01; /* kind 6 (gone) <-> 5 (have), 3 (nack) -> 0 */
		accepted += km_relay_receive(w->r[to], node_id(from), f->msg, f->len, o, rid) >= 0;
	}
	uint8_t key[32];
	memset(key, 0x5a, sizeof(key));
	memcpy(f, g, sizeof(*f));
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
	size_t tl = 0;
	CU_ASSERT(EVP_MAC_init(c, key, 32, NULL) == 1 && EVP_MAC_update(c, f->msg, f->len - 16) == 1 &&
		  EVP_MAC_final(c, f->msg + f->len - 16, &tl, 16) == 1);
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	accepted += km_relay_receive(w->r[to], node_id(from), f->msg, f->len, o, rid) >= 0;
	memcpy(f, g, sizeof(*f));
	f->msg[head + 9] ^= 0x40; /* first source id */
	accepted += km_relay_receive(w->r[to], node_id(from), f->msg, f->len, o, rid) >= 0;
	accepted += km_relay_receive(w->r[to], node_id(from), g->msg, head, o, rid) >= 0;
	CU_ASSERT_EQUAL(o->len, 0);
	CU_ASSERT_EQUAL(avail_bits(w->st[to], link_pool(link)), before);
	free(f);
	free(o);
	return (int)accepted;
}

/* NACK, resolve and its answers are authenticated on every hop with the link's pads and
 * sequence numbers: forged, tampered and replayed ones are refused and change nothing (the
 * origin's relay stays pending, the stores keep their keys); the genuine ones still work. */
static void test_control_messages_authenticated(void)
{
	struct net w;
	net_up(&w, 3, -1);
	uint32_t route[3] = {node_id(0), node_id(1), node_id(2)};
	struct km_relay_out *m = malloc(sizeof(*m)), *sp = malloc(sizeof(*sp));
	uint8_t id[16], rid[16];
	struct km_key_meta meta;
	int at;

	/* NACK: B cannot forward (its link to C is down) */
	CU_ASSERT_EQUAL(km_relay_set_neighbor_up(w.r[1], node_id(2), false), 0);
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 32, id, m), 0);
	at = 0;
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_REJECTED);
	CU_ASSERT_EQUAL_FATAL(m->msg[5], 3);
	CU_ASSERT_EQUAL(forgeries_accepted(&w, 1, 0, 0, m), 0);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 1);
	struct km_relay_out *nack = out_copy(m);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_FAILED);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 0);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[0], node_id(1), nack->msg, nack->len, m, rid), -EALREADY);
	free(nack);
	CU_ASSERT_EQUAL(km_relay_set_neighbor_up(w.r[1], node_id(2), true), 0);

	/* resolve and gone: the key reached C, its ACK was lost */
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 32, id, m), 0);
	at = 0;
	step(&w, &at, &m, &sp);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_DELIVERED);
	CU_ASSERT_EQUAL_FATAL(km_relay_resolve(w.r[0], id, route, 3, m), 0);
	CU_ASSERT_EQUAL(forgeries_accepted(&w, 0, 1, 0, m), 0);
	at = 0;
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_PASSED);
	CU_ASSERT_EQUAL(forgeries_accepted(&w, 1, 2, 1, m), 0);
	CU_ASSERT_EQUAL(km_store_get(w.st[2], id, &meta), 0); /* C still holds it, untouched */
	CU_ASSERT_EQUAL(meta.state, KM_KEY_AVAILABLE);
	struct km_relay_out *resolve = out_copy(m);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_ANSWERED);
	CU_ASSERT_EQUAL_FATAL(m->msg[5], 6);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[2], node_id(1), resolve->msg, resolve->len, sp, rid), -EALREADY);
	free(resolve);
	/* a forged "have" (the gone answer with its kind changed) is among the variants */
	CU_ASSERT_EQUAL(forgeries_accepted(&w, 2, 1, 1, m), 0);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_PASSED);
	CU_ASSERT_EQUAL(forgeries_accepted(&w, 1, 0, 0, m), 0);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 1);
	CU_ASSERT_EQUAL(km_store_get(w.st[0], id, &meta), -ENOENT);
	struct km_relay_out *gone = out_copy(m);
	CU_ASSERT_EQUAL(step(&w, &at, &m, &sp), KM_RELAY_FAILED);
	CU_ASSERT_EQUAL(km_relay_pending(w.r[0]), 0);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[0], node_id(1), gone->msg, gone->len, m, rid), -EALREADY);
	free(gone);
	CU_ASSERT_EQUAL(km_store_get(w.st[0], id, &meta), -ENOENT);
	CU_ASSERT_EQUAL(km_store_get(w.st[2], id, &meta), -ENOENT);
	/* both ends of each link spent the same bytes */
	for (int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(avail_bits(w.st[i], link_pool(i)), avail_bits(w.st[i + 1], link_pool(i)));
	free(m);
	free(sp);
	net_down(&w);
}

/* Thousands of corrupted variants of a genuine message (bit flips, byte overwrites, truncation,
 * extension): every one is refused and B's key pool never changes; the genuine one still works. */
static void test_mutated_messages_refused(void)
{
	struct net w;
	net_up(&w, 3, -1);
	uint32_t route[3] = {node_id(0), node_id(1), node_id(2)};
	struct km_relay_out *out = malloc(sizeof(*out)), *fwd = malloc(sizeof(*fwd));
	uint8_t *bad = malloc(KM_RELAY_MSG_MAX + 64), id[16], rid[16];
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 48, id, out), 0);
	struct km_pool_stats before, after;
	km_store_pool_stats(w.st[1], link_pool(0), &before);
	uint64_t rnd = 12345;
	int accepted = 0;
	for (int i = 0; i < 3000; i++) {
		size_t len = out->len;
		memcpy(bad, out->msg, len);
		uint64_t r = unit_rand(&rnd);
		switch (r % 4) {
		case 0: /* flip one bit */
			bad[(r >> 8) % len] ^= (uint8_t)(1u << ((r >> 40) & 7));
			break;
		case 1: /* overwrite a byte with a different value */
			bad[(r >> 8) % len] ^= (uint8_t)(1 + (r >> 40) % 255);
			break;
		case 2: /* truncate */
			len = (r >> 8) % len;
			break;
		default: /* extend with garbage */
			for (size_t k = 0; k < 1 + (r >> 8) % 60; k++)
				bad[len++] = (uint8_t)unit_rand(&rnd);
			break;
		}
		int rc = km_relay_receive(w.r[1], node_id(0), bad, len, fwd, rid);
		accepted += rc >= 0;
	}
	CU_ASSERT_EQUAL(accepted, 0);
	km_store_pool_stats(w.st[1], link_pool(0), &after);
	CU_ASSERT_EQUAL(after.available_bits, before.available_bits);
	CU_ASSERT_EQUAL(after.keys[KM_KEY_AVAILABLE], before.keys[KM_KEY_AVAILABLE]);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), out->msg, out->len, fwd, rid), KM_RELAY_FORWARDED);
	free(bad);
	free(out);
	free(fwd);
	net_down(&w);
}

/* Relays started at both ends of one link at the same time draw from different halves of its
 * keys (km_relay_create's origin split), so both go through. */
static void test_crossing_relays(void)
{
	struct net w;
	net_up(&w, 2, -1);
	struct km_pool_policy p0, p1;
	km_store_get_policy(w.st[0], link_pool(0), &p0);
	km_store_get_policy(w.st[1], link_pool(0), &p1);
	CU_ASSERT_EQUAL(p0.origin, KM_ORIGIN_ODD);
	CU_ASSERT_EQUAL(p1.origin, KM_ORIGIN_EVEN);
	uint32_t ab[2] = {node_id(0), node_id(1)}, ba[2] = {node_id(1), node_id(0)};
	struct km_relay_out *m1 = malloc(sizeof(*m1)), *m2 = malloc(sizeof(*m2)), *a1 = malloc(sizeof(*a1)),
			   *a2 = malloc(sizeof(*a2));
	uint8_t id1[16], id2[16], rid[16];
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], ab, 2, 200, id1, m1), 0);
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[1], ba, 2, 200, id2, m2), 0);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), m1->msg, m1->len, a1, rid), KM_RELAY_DELIVERED);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[0], node_id(1), m2->msg, m2->len, a2, rid), KM_RELAY_DELIVERED);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[0], node_id(1), a1->msg, a1->len, m1, rid), KM_RELAY_CONFIRMED);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), a2->msg, a2->len, m2, rid), KM_RELAY_CONFIRMED);
	struct km_pool_stats s0, s1;
	km_store_pool_stats(w.st[0], link_pool(0), &s0);
	km_store_pool_stats(w.st[1], link_pool(0), &s1);
	CU_ASSERT_EQUAL(s0.available_bits, s1.available_bits);
	CU_ASSERT_EQUAL(s0.available_bits, ((uint64_t)LINK_KEYS * LINK_KEY_BYTES - 2 * (32 + 200 + 32)) * 8);
	free(m1);
	free(m2);
	free(a1);
	free(a2);
	net_down(&w);
}

static uint64_t link_bits(struct km_store *st, km_pool_id p)
{
	struct km_pool_stats s;
	return km_store_pool_stats(st, p, &s) ? 0 : s.available_bits;
}

/* What tells a relay worker that a link needs a resync, and the pause it runs under: a message
 * lost A -> B makes A's next one name a leftover key B never made (-ENOKEY, nothing consumed);
 * after the resync the next one goes through without a gap (B's mark was raised to A's last
 * sequence number). A paused link takes nothing and sends nothing. A's restart (its sequence
 * numbers resume above a durable limit) shows as one gap. */
static void test_mismatch_pause_gaps(void)
{
	struct net w;
	net_up(&w, 3, -1);
	uint32_t route[3] = {node_id(0), node_id(1), node_id(2)};
	struct km_relay_out *m = malloc(sizeof(*m)), *o = malloc(sizeof(*o));
	uint8_t id[16], rid[16];
	uint64_t gaps;
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 64, id, m), 0); /* lost */
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 64, id, m), 0);
	uint64_t before = link_bits(w.st[1], link_pool(0));
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), m->msg, m->len, o, rid), -ENOKEY);
	CU_ASSERT_EQUAL(o->len, 0);
	CU_ASSERT_EQUAL(link_bits(w.st[1], link_pool(0)), before);
	CU_ASSERT_EQUAL(km_relay_neighbor_gaps(w.r[1], node_id(0), &gaps), 0);
	CU_ASSERT_EQUAL(gaps, 0);
	CU_ASSERT_EQUAL(km_relay_neighbor_gaps(w.r[1], 99, &gaps), -ENOENT);

	/* paused: nothing sent on the link, nothing taken from a message that arrives on it */
	CU_ASSERT_EQUAL(km_relay_set_neighbor_paused(w.r[0], node_id(1), true), 0);
	CU_ASSERT_EQUAL(km_relay_set_neighbor_paused(w.r[0], 99, true), -ENOENT);
	before = link_bits(w.st[0], link_pool(0));
	CU_ASSERT_EQUAL(km_relay_start(w.r[0], route, 3, 64, id, m), -EAGAIN);
	CU_ASSERT_EQUAL(m->len, 0);
	CU_ASSERT_EQUAL(km_relay_resolve(w.r[0], id, route, 3, m), -EAGAIN);
	CU_ASSERT_EQUAL(link_bits(w.st[0], link_pool(0)), before);
	CU_ASSERT_EQUAL(km_relay_set_neighbor_paused(w.r[1], node_id(0), true), 0);
	CU_ASSERT_EQUAL(km_relay_start(w.r[1], (uint32_t[]){node_id(1), node_id(2)}, 2, 16, rid, o), 0);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[2], node_id(1), o->msg, o->len, m, rid), KM_RELAY_DELIVERED);
	/* the ACK back to B goes on a link that is not paused; B's paused link refuses A's frames */
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(2), m->msg, m->len, o, rid), KM_RELAY_CONFIRMED);
	km_relay_set_neighbor_paused(w.r[1], node_id(0), false);
	km_relay_set_neighbor_paused(w.r[0], node_id(1), false);

	/* the resync puts the pools in step: A's next message goes through, without a gap */
	CU_ASSERT_EQUAL_FATAL(resync_link(&w, 0), 0);
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 64, id, m), 0);
	CU_ASSERT_EQUAL(km_relay_set_neighbor_paused(w.r[1], node_id(0), true), 0);
	before = link_bits(w.st[1], link_pool(0));
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), m->msg, m->len, o, rid), -EAGAIN);
	CU_ASSERT_EQUAL(link_bits(w.st[1], link_pool(0)), before);
	km_relay_set_neighbor_paused(w.r[1], node_id(0), false);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), m->msg, m->len, o, rid), KM_RELAY_FORWARDED);
	CU_ASSERT_EQUAL(km_relay_neighbor_gaps(w.r[1], node_id(0), &gaps), 0);
	CU_ASSERT_EQUAL(gaps, 0);

	/* A restarts: its next sequence number is above a durable limit, B counts one gap */
	km_relay_free(w.r[0]);
	km_store_close(w.st[0]);
	w.st[0] = su_open(w.dir[0], KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w.st[0]);
	struct km_relay_neighbor nb = {node_id(1), link_pool(0)};
	struct km_relay_config cfg = {node_id(0), w.st[0], &nb, 1};
	CU_ASSERT_EQUAL_FATAL(km_relay_create(&cfg, &w.r[0]), 0);
	CU_ASSERT_EQUAL_FATAL(km_relay_start(w.r[0], route, 3, 64, id, m), 0);
	CU_ASSERT_EQUAL(km_relay_receive(w.r[1], node_id(0), m->msg, m->len, o, rid), KM_RELAY_FORWARDED);
	CU_ASSERT_EQUAL(km_relay_neighbor_gaps(w.r[1], node_id(0), &gaps), 0);
	CU_ASSERT_EQUAL(gaps, 1);
	free(m);
	free(o);
	net_down(&w);
}

static CU_TestInfo relay_tests[] = {
	{"lost message: mismatch, pause, resync, gaps", test_mismatch_pause_gaps},
	{"link down drains: in-flight completes, new keys NACKed", test_link_down_drains},
	{"overdue relays resolved with the destination", test_resolve_overdue},
	{"NACK, resolve, have/gone: forged, tampered, replayed refused", test_control_messages_authenticated},
	{"A -> B -> C: C recovers exactly A's key", test_three_hops},
	{"5-hop chain: every hop's pad and tag key used once", test_five_hops},
	{"tampered, misrouted and replayed messages rejected", test_tampered_and_replayed_rejected},
	{"failed hop aborts, nothing half-delivered", test_failed_hop_never_half_delivers},
	{"3000 mutated messages refused, pool unchanged", test_mutated_messages_refused},
	{"relays crossing on one link use disjoint keys", test_crossing_relays},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"km_relay", NULL, NULL, NULL, NULL, relay_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
