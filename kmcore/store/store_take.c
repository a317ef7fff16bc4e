/* Takes: cutting bytes from a pool's keys (resize for SAEs, pads and tag keys for relay), and
 * handing keys to SAEs. Both ends of a link cut identical bytes from identical keys: sources are
 * used whole in order except the last, whose leftover becomes a key with a derived id. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "km_meter.h"
#include "store_internal.h"

/* Ids derived with SHA-256 and marked as RFC 9562 version 8 (custom) UUIDs. */
static void derive_id(const uint8_t *msg, size_t len, uint8_t id[KM_KEY_ID_LEN])
{
	uint8_t h[32];
	EVP_Digest(msg, len, h, NULL, EVP_sha256(), NULL);
	memcpy(id, h, KM_KEY_ID_LEN);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x80);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

void km_store_child_id(const struct km_take *t, uint32_t index, uint32_t bits,
		       uint8_t id[KM_KEY_ID_LEN])
{
	uint8_t m[49];
	memcpy(m, "km-child:", 9);
	/* the pool kind, not its number: relayed-key pools are named after the other node at each
	 * end (KM_POOL_PEER), and both ends must derive the same ids; src[0] is unique anyway */
	be64_put(m + 9, KM_POOL_KIND(t->pool));
	memcpy(m + 17, t->src[0], KM_KEY_ID_LEN);
	be64_put(m + 33, t->bytes);
	m[41] = (uint8_t)(index >> 24);
	m[42] = (uint8_t)(index >> 16);
	m[43] = (uint8_t)(index >> 8);
	m[44] = (uint8_t)index;
	m[45] = (uint8_t)(bits >> 24);
	m[46] = (uint8_t)(bits >> 16);
	m[47] = (uint8_t)(bits >> 8);
	m[48] = (uint8_t)bits;
	derive_id(m, 49, id);
}

void km_store_rest_id(const uint8_t src[KM_KEY_ID_LEN], uint32_t used_bytes,
		      uint8_t id[KM_KEY_ID_LEN])
{
	uint8_t m[8 + KM_KEY_ID_LEN + 4];
	memcpy(m, "km-rest:", 8);
	memcpy(m + 8, src, KM_KEY_ID_LEN);
	m[24] = (uint8_t)(used_bytes >> 24);
	m[25] = (uint8_t)(used_bytes >> 16);
	m[26] = (uint8_t)(used_bytes >> 8);
	m[27] = (uint8_t)used_bytes;
	derive_id(m, sizeof(m), id);
	/* the leftover stays on the same side of the origin split as its source */
	id[15] = (uint8_t)((id[15] & 0xfe) | (src[15] & 1));
}

void km_store_chunk_id(const uint8_t key[KM_KEY_ID_LEN], uint32_t index, uint8_t id[KM_KEY_ID_LEN])
{
	uint8_t m[9 + KM_KEY_ID_LEN + 4];
	memcpy(m, "km-chunk:", 9);
	memcpy(m + 9, key, KM_KEY_ID_LEN);
	m[25] = (uint8_t)(index >> 24);
	m[26] = (uint8_t)(index >> 16);
	m[27] = (uint8_t)(index >> 8);
	m[28] = (uint8_t)index;
	derive_id(m, sizeof(m), id);
	id[15] = (uint8_t)((id[15] & 0xfe) | (key[15] & 1));
}

static bool may_originate(uint8_t origin, const uint8_t id[KM_KEY_ID_LEN])
{
	if (origin == KM_ORIGIN_EVEN)
		return (id[15] & 1) == 0;
	if (origin == KM_ORIGIN_ODD)
		return (id[15] & 1) == 1;
	return true;
}

static bool expired(const struct km_key_meta *m, uint64_t now)
{
	return m->expire_ns && m->expire_ns <= now;
}

/* Sources of a take, decoded inside one transaction. */
struct sel {
	uint32_t n;
	uint32_t last_used;
	struct rec r[KM_TAKE_MAX_SRC];
};

/* Oldest available keys this node may originate from, until 'bytes' are covered. */
static int select_oldest(struct km_store *st, MDB_txn *txn, km_pool_id pool, uint32_t bytes,
			 struct sel *s, struct km_take *t)
{
	struct pool_state *p = pool_get(st, pool, false);
	if (!p || p->avail_bits / 8 < bytes)
		return -EAGAIN;
	MDB_cursor *c;
	if (mdb_cursor_open(txn, st->db_avail, &c))
		return -EIO;
	uint8_t start[16];
	be64_put(start, pool);
	be64_put(start + 8, 0);
	MDB_val k = {16, start}, v;
	uint64_t got = 0, now = now_ns();
	int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	s->n = 0;
	for (; rc == 0 && got < bytes; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16 || be64_get(k.mv_data) != pool)
			break;
		const uint8_t *id = v.mv_data;
		if (!may_originate(p->policy.origin, id) || id_reserved(st, id))
			continue;
		if (s->n == KM_TAKE_MAX_SRC) { /* before rec_get writes s->r[s->n] */
			mdb_cursor_close(c);
			return -E2BIG;
		}
		struct rec *r = &s->r[s->n];
		if (rec_get(st, txn, id, r) || r->meta.state != KM_KEY_AVAILABLE ||
		    expired(&r->meta, now) || r->meta.bits < 8)
			continue;
		got += r->meta.bits / 8;
		s->n++;
	}
	mdb_cursor_close(c);
	if (got < bytes)
		return -EAGAIN;
	uint32_t before = (uint32_t)(got - s->r[s->n - 1].meta.bits / 8);
	s->last_used = bytes - before;
	t->pool = pool;
	t->bytes = bytes;
	t->nsrc = s->n;
	for (uint32_t i = 0; i < s->n; i++)
		memcpy(t->src[i], s->r[i].meta.id, KM_KEY_ID_LEN);
	return 0;
}

/* The sources the peer named: each available, every byte of all but the last used. */
static int select_named(struct km_store *st, MDB_txn *txn, const struct km_take *t, struct sel *s)
{
	if (!t || t->nsrc == 0 || t->nsrc > KM_TAKE_MAX_SRC || t->bytes == 0)
		return -EPROTO;
	uint64_t got = 0, now = now_ns();
	for (uint32_t i = 0; i < t->nsrc; i++) {
		for (uint32_t j = 0; j < i; j++)
			if (memcmp(t->src[i], t->src[j], KM_KEY_ID_LEN) == 0)
				return -EPROTO;
		struct rec *r = &s->r[i];
		if (id_reserved(st, t->src[i]) || rec_get(st, txn, t->src[i], r) ||
		    r->meta.pool != t->pool || r->meta.state != KM_KEY_AVAILABLE ||
		    expired(&r->meta, now))
			return -ENOENT;
		if (i + 1 < t->nsrc)
			got += r->meta.bits / 8;
	}
	s->n = t->nsrc;
	uint32_t last = s->r[s->n - 1].meta.bits / 8;
	if (got >= t->bytes || got + last < t->bytes)
		return -EPROTO;
	s->last_used = (uint32_t)(t->bytes - got);
	return 0;
}

/* Decrypt the selected bytes into out (t->bytes long). */
static int sel_read(struct km_store *st, const struct sel *s, uint8_t *out)
{
	uint32_t off = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct rec *r = &s->r[i];
		uint32_t use = i + 1 < s->n ? r->meta.bits / 8 : s->last_used;
		if (use == r->ct_len) {
			int rc = rec_open(st, r, out + off);
			if (rc)
				return rc;
		} else {
			uint8_t *tmp = plain_get(st, r->ct_len);
			if (!tmp)
				return -ENOMEM;
			int rc = rec_open(st, r, tmp);
			if (rc == 0)
				memcpy(out + off, tmp, use);
			plain_put(st, tmp, r->ct_len);
			if (rc)
				return rc;
		}
		off += use;
	}
	return 0;
}

/* Consume the sources; the unused end of the last one becomes a new available key that keeps
 * its source's place in the age order. Records are re-read here because an earlier write in the
 * transaction invalidates the ciphertext pointers the selection holds. */
static int sel_consume(struct km_store *st, MDB_txn *txn, const struct sel *s)
{
	for (uint32_t i = 0; i < s->n; i++) {
		struct rec r;
		int rc = rec_get(st, txn, s->r[i].meta.id, &r);
		if (rc)
			return rc;
		uint32_t usable = r.meta.bits / 8;
		uint8_t *plain = NULL;
		bool rest = i + 1 == s->n && s->last_used < usable;
		if (rest) {
			if (!(plain = plain_get(st, r.ct_len)))
				return -ENOMEM;
			rc = rec_open(st, &r, plain);
		}
		if (rc == 0)
			rc = rec_delete(st, txn, &r);
		if (rc == 0 && rest) {
			struct rec n;
			memset(&n, 0, sizeof(n));
			n.meta = r.meta;
			memset(&n.meta.parties, 0, sizeof(n.meta.parties));
			km_store_rest_id(r.meta.id, s->last_used, n.meta.id);
			n.meta.type = KM_KEY_DERIVED;
			n.meta.state = KM_KEY_AVAILABLE;
			n.meta.bits = r.meta.bits - 8 * s->last_used;
			n.seq = r.seq;
			n.ct_len = (n.meta.bits + 7) / 8;
			uint8_t *ct = ct_scratch(st, n.ct_len);
			rc = ct ? rec_seal(st, &n, plain + s->last_used, ct) : -ENOMEM;
			if (rc == 0)
				rc = rec_insert(st, txn, &n);
		}
		plain_put(st, plain, r.ct_len);
		if (rc)
			return rc;
	}
	return 0;
}

static int take_open(struct km_store *st, struct km_take_handle *h, const struct sel *s)
{
	struct open_take *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->txid = ++st->next_txid;
	o->take = h->take;
	o->last_used = s->last_used;
	o->next = st->takes;
	st->takes = o;
	h->txid = o->txid;
	return 0;
}

static int take_begin(struct km_store *st, km_pool_id pool, uint32_t bytes, const struct km_take *named,
		      uint8_t *out, struct km_take_handle *h)
{
	struct sel *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn;
	int rc = rtxn_begin(st, &txn);
	if (rc == 0) {
		if (named) {
			rc = select_named(st, txn, named, s);
			if (rc == 0)
				h->take = *named;
		} else {
			rc = select_oldest(st, txn, pool, bytes, s, &h->take);
		}
		bool wrote = false;
		if (rc == 0) {
			wrote = true;
			rc = sel_read(st, s, out);
		}
		if (rc == 0)
			rc = take_open(st, h, s);
		if (rc && wrote) /* only a validated take wrote into out (its size is known good) */
			OPENSSL_cleanse(out, named ? named->bytes : bytes);
		mdb_txn_abort(txn);
	}
	store_unlock(st);
	free(s);
	return rc;
}

int km_store_take_begin(struct km_store *st, km_pool_id pool, uint32_t bytes, uint8_t *out,
			struct km_take_handle *h)
{
	if (!st || !out || !h || bytes == 0 || bytes > KM_KEY_MAX_BYTES)
		return -EINVAL;
	return take_begin(st, pool, bytes, NULL, out, h);
}

int km_store_take_named(struct km_store *st, const struct km_take *t, uint8_t *out,
			struct km_take_handle *h)
{
	if (!st || !t || !out || !h)
		return -EINVAL;
	if (t->bytes == 0 || t->bytes > KM_KEY_MAX_BYTES)
		return -EPROTO;
	return take_begin(st, t->pool, t->bytes, t, out, h);
}

static struct open_take *take_unlink(struct km_store *st, uint64_t txid)
{
	for (struct open_take **pp = &st->takes; *pp; pp = &(*pp)->next) {
		if ((*pp)->txid == txid) {
			struct open_take *o = *pp;
			*pp = o->next;
			return o;
		}
	}
	return NULL;
}

static void take_relink(struct km_store *st, struct open_take *o)
{
	o->next = st->takes;
	st->takes = o;
}

/* Commit an open take, recording rx_seq when seq != 0. */
static int take_commit(struct km_store *st, struct km_take_handle *h, uint64_t seq)
{
	if (!st || !h)
		return -EINVAL;
	struct sel *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&st->lock);
	struct open_take *o = take_unlink(st, h->txid);
	int rc = o ? 0 : -ENOENT;
	MDB_txn *txn = NULL;
	if (rc == 0 && (rc = wtxn_begin(st, &txn)) == 0) {
		struct pool_state *p = pool_get(st, o->take.pool, true);
		if (!p)
			rc = -ENOMEM;
		else if (seq && seq <= p->rx_seq)
			rc = -EALREADY;
		if (rc == 0)
			rc = select_named(st, txn, &o->take, s);
		if (rc == 0)
			rc = sel_consume(st, txn, s);
		if (rc == 0 && seq) {
			p = pool_get(st, o->take.pool, true);
			p->rx_seq = seq;
			rc = pool_save(st, txn, p);
		}
		if (rc)
			wtxn_abort(st, txn);
		else
			rc = wtxn_commit(st, txn);
	}
	if (o) {
		if (rc == -EALREADY)
			take_relink(st, o);
		else
			free(o);
	}
	if (rc == 0)
		h->txid = 0;
	store_unlock(st);
	free(s);
	return rc;
}

int km_store_take_commit(struct km_store *st, struct km_take_handle *h)
{
	return take_commit(st, h, 0);
}

int km_store_take_commit_seq(struct km_store *st, struct km_take_handle *h, uint64_t seq)
{
	if (seq == 0)
		return -EINVAL;
	return take_commit(st, h, seq);
}

int km_store_take_abort(struct km_store *st, struct km_take_handle *h, bool force_discard)
{
	if (!st || !h)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	struct open_take *o = take_unlink(st, h->txid);
	int rc = o ? 0 : -ENOENT;
	if (o) {
		struct pool_state *p = pool_get(st, o->take.pool, false);
		bool discard = force_discard || (p && p->policy.on_abort == KM_ABORT_DISCARD);
		MDB_txn *txn;
		if (discard && (rc = wtxn_begin(st, &txn)) == 0) {
			for (uint32_t i = 0; i < o->take.nsrc && rc == 0; i++) {
				struct rec r;
				if (rec_get(st, txn, o->take.src[i], &r) == 0)
					rc = rec_delete(st, txn, &r);
			}
			if (rc)
				wtxn_abort(st, txn);
			else
				rc = wtxn_commit(st, txn);
		}
		if (rc)
			take_relink(st, o); /* still reserved: the caller may retry */
		else
			free(o);
	}
	if (rc == 0)
		h->txid = 0;
	store_unlock(st);
	return rc;
}

/* ---- SAE supply ---- */
static int check_parties(const struct km_parties *pa)
{
	if (!pa || pa->nslaves > KM_SAE_SLAVES_MAX || pa->local_mask == 0 ||
	    pa->local_mask >> (pa->nslaves + 1) || !memchr(pa->master, 0, KM_SAE_ID_MAX) ||
	    pa->master[0] == 0)
		return -EINVAL;
	for (unsigned i = 0; i < pa->nslaves; i++)
		if (!memchr(pa->slaves[i], 0, KM_SAE_ID_MAX) || pa->slaves[i][0] == 0)
			return -EINVAL;
	return 0;
}

/* Create the children of a take (material in plain, count * bits/8 bytes). */
static int make_children(struct km_store *st, MDB_txn *txn, const struct km_take *t,
			 const struct km_parties *pa, uint32_t count, uint32_t bits,
			 uint16_t fetched, const struct sel *s, const uint8_t *plain,
			 uint8_t (*ids)[KM_KEY_ID_LEN])
{
	uint32_t bytes = bits / 8;
	uint8_t *ct = ct_scratch(st, bytes);
	if (!ct)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		struct rec r;
		memset(&r, 0, sizeof(r));
		km_store_child_id(t, i, bits, r.meta.id);
		r.meta.pool = t->pool;
		r.meta.bits = bits;
		r.meta.type = KM_KEY_DERIVED;
		r.meta.state = fetched == pa->local_mask ? KM_KEY_CONSUMED
			       : fetched ? KM_KEY_SUPPLIED : KM_KEY_RESERVED;
		r.meta.fetched_mask = fetched;
		r.meta.block_seq = s->r[0].meta.block_seq;
		r.meta.gen_ns = s->r[0].meta.gen_ns;
		r.meta.expire_ns = s->r[0].meta.expire_ns;
		r.meta.nroute = s->r[0].meta.nroute;
		memcpy(r.meta.route, s->r[0].meta.route, sizeof(r.meta.route));
		r.meta.parties = *pa;
		r.ct_len = bytes;
		int rc = rec_seal(st, &r, plain + (size_t)i * bytes, ct);
		if (rc == 0)
			rc = rec_insert(st, txn, &r);
		if (rc == 0 && r.meta.state == KM_KEY_CONSUMED) {
			struct pool_state *p = pool_get(st, t->pool, true);
			if (p && p->policy.after_supply == KM_AFTER_DELETE)
				rc = rec_delete(st, txn, &r);
		}
		if (rc)
			return rc;
		if (ids)
			memcpy(ids[i], r.meta.id, KM_KEY_ID_LEN);
	}
	return 0;
}

static int supply(struct km_store *st, km_pool_id pool, const struct km_take *named,
		  const struct km_parties *pa, uint32_t count, uint32_t bits,
		  uint8_t (*ids)[KM_KEY_ID_LEN], uint8_t *out, struct km_take *t)
{
	if (!st || count == 0 || bits == 0 || bits % 8 || check_parties(pa) ||
	    (uint64_t)count * bits / 8 > KM_KEY_MAX_BYTES)
		return -EINVAL;
	if (!named && (!(pa->local_mask & 1) || !out || !ids || !t))
		return -EINVAL;
	uint32_t total = count * (bits / 8);
	if (named && named->bytes != total)
		return -EPROTO;
	struct sel *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	struct km_take tk;
	pthread_mutex_lock(&st->lock);
	uint8_t *plain = supply_buf(st, total);
	MDB_txn *txn;
	int rc = plain ? wtxn_begin(st, &txn) : -ENOMEM;
	if (rc == 0) {
		if (named) {
			tk = *named;
			rc = select_named(st, txn, named, s);
		} else {
			rc = select_oldest(st, txn, pool, total, s, &tk);
		}
		if (rc == 0)
			rc = sel_read(st, s, plain);
		if (rc == 0)
			rc = make_children(st, txn, &tk, pa, count, bits, named ? 0 : 1, s, plain, ids);
		if (rc == 0)
			rc = sel_consume(st, txn, s);
		if (rc)
			wtxn_abort(st, txn);
		else
			rc = wtxn_commit(st, txn);
	}
	if (rc == 0 && !named) {
		memcpy(out, plain, total);
		*t = tk;
		if (st->meter)
			km_meter_add(st->meter, pa->master, pool, count, (uint64_t)count * bits);
	}
	if (plain)
		OPENSSL_cleanse(plain, total);
	store_unlock(st);
	free(s);
	return rc;
}

int km_store_supply_new(struct km_store *st, km_pool_id pool, const struct km_parties *parties,
			uint32_t count, uint32_t bits, uint8_t (*ids)[KM_KEY_ID_LEN], uint8_t *out,
			struct km_take *t)
{
	return supply(st, pool, NULL, parties, count, bits, ids, out, t);
}

int km_store_derive(struct km_store *st, const struct km_take *t, const struct km_parties *parties,
		    uint32_t count, uint32_t bits, uint8_t (*ids)[KM_KEY_ID_LEN])
{
	if (!t)
		return -EINVAL;
	return supply(st, t->pool, t, parties, count, bits, ids, NULL, NULL);
}

static int party_bit(const struct km_parties *pa, const char *sae)
{
	if (strncmp(pa->master, sae, KM_SAE_ID_MAX) == 0)
		return 0;
	for (unsigned i = 0; i < pa->nslaves; i++)
		if (strncmp(pa->slaves[i], sae, KM_SAE_ID_MAX) == 0)
			return (int)i + 1;
	return -1;
}

int km_store_fetch(struct km_store *st, const uint8_t id[KM_KEY_ID_LEN], const char *sae,
		   const char *master, uint8_t *out, size_t cap, struct km_key_meta *meta)
{
	if (!st || !id || !sae || !out)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn;
	struct rec r;
	memset(&r, 0, sizeof(r));
	int rc = wtxn_begin(st, &txn);
	if (rc) {
		store_unlock(st);
		return rc;
	}
	rc = rec_get(st, txn, id, &r);
	if (rc == 0 && (r.meta.state == KM_KEY_AVAILABLE || r.meta.state == KM_KEY_CONSUMED))
		rc = -ENOENT;
	if (rc == 0 && expired(&r.meta, now_ns())) {
		rc = rec_delete(st, txn, &r);
		if (rc == 0)
			rc = wtxn_commit(st, txn);
		else
			wtxn_abort(st, txn);
		store_unlock(st);
		return rc ? rc : -ENOENT;
	}
	int bit = rc ? -1 : party_bit(&r.meta.parties, sae);
	if (rc == 0 && (bit < 0 || !(r.meta.parties.local_mask & (1u << bit)) ||
			(master && strncmp(master, r.meta.parties.master, KM_SAE_ID_MAX) != 0)))
		rc = -EACCES;
	if (rc == 0 && (r.meta.fetched_mask & (1u << bit)))
		rc = -EALREADY;
	if (rc == 0 && cap < r.ct_len)
		rc = -ENOSPC;
	if (rc == 0)
		rc = rec_open(st, &r, out);
	if (rc == 0) {
		r.meta.fetched_mask = (uint16_t)(r.meta.fetched_mask | (1u << bit));
		uint8_t next = r.meta.fetched_mask == r.meta.parties.local_mask ? KM_KEY_CONSUMED
										 : KM_KEY_SUPPLIED;
		if (next == r.meta.state)
			rc = rec_update(st, txn, &r);
		else
			rc = rec_set_state(st, txn, &r, next);
	}
	if (rc == 0)
		rc = wtxn_commit(st, txn);
	else
		wtxn_abort(st, txn);
	if (rc == 0) {
		if (meta)
			*meta = r.meta;
		if (st->meter)
			km_meter_add(st->meter, sae, r.meta.pool, 1, r.meta.bits);
	} else if (rc != -ENOSPC) {
		OPENSSL_cleanse(out, cap < r.ct_len ? cap : r.ct_len);
	}
	store_unlock(st);
	return rc;
}
