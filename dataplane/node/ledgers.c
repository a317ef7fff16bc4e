/* qkdnode's authentication ledgers: persistence in the key store, rounds, publishing. */
#include "ledgers.h"

#include <errno.h>
#include <rte_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUSH_MAX (4 * DP_LEDGER_PEND_MAX)

/* The store address of one link's records. */
struct io_ctx {
	struct km_store *st;
	uint32_t link;
};

struct lk {
	uint16_t id;
	struct io_ctx io;
	struct dp_ledger *led;
	struct dp_link_port port;
	bool attached;
	size_t cap[DP_AUTH_STREAMS];
	/* agreed pads waiting to go to the lcores (after the commit that records them) */
	void *push[2][PUSH_MAX]; /* 0: sift ring, 1: distill ring */
	unsigned n_push[2];
	uint64_t confirmed, dropped;
};

struct qn_ledgers {
	struct qn_keyman *km;
	struct km_store *st;
	qn_key_sink sink;
	void *sink_ctx;
	unsigned n;
	struct lk links[DP_MAX_LINKS];
	struct lk *cur; /* the link being decided (sink callbacks) */
	bool broken;
};

/* ---- records in the key store ---- */
static int io_put(void *ctx, uint64_t rec, const uint8_t *d, size_t len)
{
	struct io_ctx *c = ctx;
	return km_store_auth_put(c->st, c->link, rec, d, len);
}

static int io_del(void *ctx, uint64_t rec)
{
	struct io_ctx *c = ctx;
	return km_store_auth_del(c->st, c->link, rec);
}

struct load {
	struct dp_ledger *l;
	const char *why;
	int rc;
};

static int load_rec(void *ctx, uint64_t rec, const uint8_t *d, size_t len)
{
	struct load *ld = ctx;
	ld->rc = dp_ledger_load_rec(ld->l, rec, d, len, &ld->why);
	return ld->rc != 0;
}

static struct lk *find(struct qn_ledgers *L, uint16_t id)
{
	for (unsigned i = 0; i < L->n; i++)
		if (L->links[i].id == id)
			return &L->links[i];
	return NULL;
}

static int open_link(struct qn_ledgers *L, const struct dp_link_cfg *c, char *err, size_t errlen)
{
	struct lk *k = &L->links[L->n];
	k->id = c->link_id;
	struct dp_ledger_io io = {0};
	if (L->st) {
		k->io = (struct io_ctx){L->st, c->link_id};
		io = (struct dp_ledger_io){io_put, io_del, &k->io};
		struct load ld = {dp_ledger_load_begin(c->link_id, &io), NULL, 0};
		if (!ld.l) {
			snprintf(err, errlen, "link %u: out of memory", c->link_id);
			return -ENOMEM;
		}
		int n = km_store_auth_list(L->st, c->link_id, load_rec, &ld);
		if (n < 0) {
			snprintf(err, errlen, "link %u: authentication state in the store: %s", c->link_id,
				 n == -EBADMSG ? "a record fails authentication (corrupt or truncated)" :
				 strerror(-n));
			dp_ledger_free(ld.l);
			return n;
		}
		if (n > 0) {
			if (!ld.rc)
				ld.rc = dp_ledger_load_end(ld.l, c->psk, c->psk_len, &ld.why);
			if (ld.rc) {
				snprintf(err, errlen, "link %u: %s", c->link_id, ld.why);
				dp_ledger_free(ld.l);
				return ld.rc;
			}
			k->led = ld.l;
			L->n++;
			return 0;
		}
		dp_ledger_free(ld.l);
	}
	/* first start: from the pre-shared secret, durable before any pad is used */
	const char *why = NULL;
	int rc = L->km ? qn_keyman_begin(L->km) : 0;
	k->led = rc ? NULL : dp_ledger_create(c->link_id, c->psk, c->psk_len, L->st ? &io : NULL, &why);
	if (L->km && (rc = qn_keyman_commit(L->km)) == 0 && !k->led)
		rc = -EINVAL;
	if (rc || !k->led) {
		snprintf(err, errlen, "link %u: authentication state: %s", c->link_id,
			 why ? why : strerror(rc ? -rc : EIO));
		dp_ledger_free(k->led);
		k->led = NULL;
		return rc ? rc : -EINVAL;
	}
	L->n++;
	return 0;
}

struct qn_ledgers *qn_ledgers_open(struct qn_keyman *km, const struct dp_link_cfg *links,
				   unsigned n_links, qn_key_sink sink, void *sink_ctx, char *err,
				   size_t errlen)
{
	struct qn_ledgers *L = calloc(1, sizeof(*L));
	if (!L) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	L->km = km;
	L->st = qn_keyman_store(km);
	L->sink = sink;
	L->sink_ctx = sink_ctx;
	for (unsigned i = 0; i < n_links && i < DP_MAX_LINKS; i++) {
		if (open_link(L, &links[i], err, errlen)) {
			qn_ledgers_close(L);
			return NULL;
		}
	}
	return L;
}

const struct dp_ledger *qn_ledgers_get(struct qn_ledgers *L, uint16_t link_id)
{
	struct lk *k = L ? find(L, link_id) : NULL;
	return k ? k->led : NULL;
}

int qn_ledgers_attach(struct qn_ledgers *L, struct dp_node *n, uint16_t link_id)
{
	struct lk *k = find(L, link_id);
	if (!k)
		return -ENOENT;
	int rc = dp_node_link_port(n, link_id, &k->port);
	if (rc)
		return rc;
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++)
		k->cap[i] = k->port.streams[i]->cap;
	k->attached = true;
	return 0;
}

static void drop_push(struct lk *k)
{
	for (unsigned r = 0; r < 2; r++) {
		for (unsigned i = 0; i < k->n_push[r]; i++)
			km_key_material_free(k->push[r][i], 8 + 2 * *(uint32_t *)k->push[r][i]);
		k->n_push[r] = 0;
	}
}

void qn_ledgers_detach(struct qn_ledgers *L, uint16_t link_id)
{
	struct lk *k = find(L, link_id);
	if (!k || !k->attached)
		return;
	qn_ledgers_round(L); /* what the link handed over is recorded before it goes */
	/* pads not yet pushed are in the ledger's segments: a re-added link gets them from there */
	drop_push(k);
	k->attached = false;
}

/* ---- a round ---- */
static void on_apply(void *ctx, uint64_t block_seq, uint32_t part, const uint8_t *mat)
{
	struct qn_ledgers *L = ctx;
	struct lk *k = L->cur;
	(void)block_seq;
	/* sift parts (0, 1) to the RX lcore, distill parts (2, 3) to the worker */
	for (unsigned r = 0; r < 2; r++) {
		void *p = dp_node_pads_alloc(mat, part, 2 * r, 2 * r + 1);
		if (!p || k->n_push[r] == PUSH_MAX) {
			/* cannot happen with PUSH_MAX above what one round decides; never half-apply */
			fprintf(stderr, "qkdnode: link %u: cannot queue agreed pads\n", k->id);
			L->broken = true;
			km_key_material_free(p, p ? 8 + 2 * part : 0);
			continue;
		}
		k->push[r][k->n_push[r]++] = p;
	}
}

static void on_key(void *ctx, struct km_key_desc *key)
{
	struct qn_ledgers *L = ctx;
	L->cur->confirmed++;
	L->sink(L->sink_ctx, key);
}

static void on_drop(void *ctx, const struct km_key_desc *key)
{
	struct qn_ledgers *L = ctx;
	(void)key;
	L->cur->dropped++;
}

static int round_link(struct qn_ledgers *L, struct lk *k)
{
	struct dp_link_port *p = &k->port;
	void *obj;
	while (rte_ring_dequeue(p->finished, &obj) == 0) {
		struct dp_refill *r = obj;
		int rc = dp_ledger_finished(k->led, r);
		if (rc == -ENOSPC || rc == -EINVAL) {
			k->dropped += r->key.material != NULL; /* never claimed: the peer drops it too */
			dp_refill_free(r);
		} else if (rc) {
			dp_refill_free(r);
			free(r);
			return rc;
		}
		free(r);
	}
	uint64_t next[DP_AUTH_STREAMS], want[DP_AUTH_STREAMS], max_head = UINT64_MAX;
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++) {
		next[i] = __atomic_load_n(&p->streams[i]->next_seq, __ATOMIC_ACQUIRE);
		want[i] = __atomic_load_n(&p->streams[i]->want, __ATOMIC_RELAXED);
		uint64_t room = next[i] * dp_auth_stream_unit(i) + k->cap[i];
		if (room < max_head)
			max_head = room;
	}
	struct dp_claim peer;
	dp_claim_slot_read(p->peer, &peer.upto, &peer.held);
	int decided = 0;
	if (dp_ledger_pending(k->led)) {
		struct dp_ledger_sink s = {on_apply, on_key, on_drop, L};
		L->cur = k;
		decided = dp_ledger_decide(k->led, &peer, max_head, &s);
		if (decided < 0)
			return decided;
	}
	int rc = dp_ledger_reserve(k->led, next, want, __atomic_load_n(p->block_in_use, __ATOMIC_RELAXED));
	return rc < 0 ? rc : decided;
}

static void publish(struct lk *k)
{
	struct dp_claim c = dp_ledger_claim(k->led);
	dp_claim_slot_write(k->port.own, c.upto, c.held);
	struct rte_ring *rings[2] = {k->port.apply_sift, k->port.apply_distill};
	for (unsigned r = 0; r < 2; r++) {
		unsigned done = 0;
		while (done < k->n_push[r] && rte_ring_enqueue(rings[r], k->push[r][done]) == 0)
			done++;
		memmove(k->push[r], k->push[r] + done, (k->n_push[r] - done) * sizeof(void *));
		k->n_push[r] -= done;
	}
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++)
		if ((k->port.send_mask >> i) & 1)
			__atomic_store_n(&k->port.streams[i]->limit, dp_ledger_reserved(k->led, i),
					 __ATOMIC_RELEASE);
}

int qn_ledgers_round(struct qn_ledgers *L)
{
	if (!L || L->broken)
		return L ? -EIO : 0;
	bool batch = L->km && qn_keyman_begin(L->km) == 0;
	int total = 0, err = 0;
	for (unsigned i = 0; i < L->n && !err; i++) {
		if (!L->links[i].attached)
			continue;
		int rc = round_link(L, &L->links[i]);
		if (rc < 0)
			err = rc;
		else
			total += rc;
	}
	if (L->km && (!batch || qn_keyman_commit(L->km)))
		err = err ? err : -EIO;
	if (err || L->broken) {
		/* records and memory may now differ: publish nothing more, the links stall */
		fprintf(stderr, "qkdnode: authentication state could not be recorded (%s): "
				"links stop using pads\n", strerror(-err));
		L->broken = true;
		return -EIO;
	}
	for (unsigned i = 0; i < L->n; i++)
		if (L->links[i].attached)
			publish(&L->links[i]);
	return total;
}

int qn_ledgers_report(struct qn_ledgers *L, uint16_t link_id, struct qn_ledger_report *r)
{
	struct lk *k = L ? find(L, link_id) : NULL;
	if (!k)
		return -ENOENT;
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++) {
		r->reserved[i] = dp_ledger_reserved(k->led, i);
		r->next_seq[i] = k->attached ? __atomic_load_n(&k->port.streams[i]->next_seq,
							       __ATOMIC_ACQUIRE) : r->reserved[i];
	}
	r->head = dp_ledger_head(k->led);
	r->block_next = dp_ledger_block_next(k->led);
	r->pending = dp_ledger_pending(k->led);
	r->confirmed = k->confirmed;
	r->dropped = k->dropped;
	return 0;
}

void qn_ledgers_close(struct qn_ledgers *L)
{
	if (!L)
		return;
	for (unsigned i = 0; i < L->n; i++) {
		drop_push(&L->links[i]);
		dp_ledger_free(L->links[i].led);
	}
	free(L);
}
