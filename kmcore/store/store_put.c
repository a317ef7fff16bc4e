/* Putting keys: a batch is one transaction, so a batch is either entirely stored or not at all,
 * and success is returned only after the commit (fsync'ed with KM_SYNC_FULL). */
#include <errno.h>
#include <string.h>

#include "store_internal.h"

static int check_key(const struct km_key_in *k)
{
	if (!k->material || k->bits == 0 || k->bits > KM_KEY_MAX_BYTES * 8u ||
	    (KM_POOL_KIND(k->pool) != 1 && KM_POOL_KIND(k->pool) != 2) ||
	    k->type < KM_KEY_QKD || k->type > KM_KEY_DERIVED || k->nroute > KM_ROUTE_MAX ||
	    (k->nroute && !k->route))
		return -EINVAL;
	return 0;
}

/* One chunk of a key: 'bits' bits of material starting at 'plain'. */
static int put_chunk(struct km_store *st, MDB_txn *txn, const struct km_key_in *k,
		     const uint8_t id[KM_KEY_ID_LEN], uint32_t bits, const uint8_t *plain,
		     uint64_t gen, uint64_t expire)
{
	struct rec r;
	memset(&r, 0, sizeof(r));
	struct km_key_meta *m = &r.meta;
	memcpy(m->id, id, KM_KEY_ID_LEN);
	m->pool = k->pool;
	m->bits = bits;
	m->type = k->type;
	m->state = KM_KEY_AVAILABLE;
	m->block_seq = k->block_seq;
	m->gen_ns = gen;
	m->expire_ns = expire;
	m->nroute = k->nroute;
	if (k->nroute)
		memcpy(m->route, k->route, 4u * k->nroute);
	r.ct_len = (bits + 7) / 8;
	uint8_t *ct = ct_scratch(st, r.ct_len);
	if (!ct)
		return -ENOMEM;
	int rc = rec_seal(st, &r, plain, ct);
	return rc ? rc : rec_insert(st, txn, &r);
}

static int put_one(struct km_store *st, MDB_txn *txn, const struct km_key_in *k, uint64_t now)
{
	struct pool_state *p = pool_get(st, k->pool, true);
	if (!p)
		return -ENOMEM;
	if (p->policy.cap_bits && p->avail_bits + k->bits > p->policy.cap_bits)
		return -ENOSPC;
	uint64_t gen = k->gen_ns ? k->gen_ns : now;
	uint64_t expire = p->policy.ttl_ns ? gen + p->policy.ttl_ns : 0;
	uint32_t chunk_bits = KM_CHUNK_BYTES * 8;
	int rc = 0;
	for (uint32_t i = 0, off = 0; rc == 0 && off < k->bits; i++, off += chunk_bits) {
		uint8_t id[KM_KEY_ID_LEN];
		if (i == 0)
			memcpy(id, k->id, KM_KEY_ID_LEN);
		else
			km_store_chunk_id(k->id, i, id);
		uint32_t bits = k->bits - off < chunk_bits ? k->bits - off : chunk_bits;
		rc = put_chunk(st, txn, k, id, bits, k->material + off / 8, gen, expire);
	}
	return rc;
}

int km_store_put(struct km_store *st, const struct km_key_in *keys, unsigned n)
{
	if (!st || (!keys && n))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (check_key(&keys[i]))
			return -EINVAL;
	if (n == 0)
		return 0;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn;
	int rc = wtxn_begin(st, &txn);
	if (rc == 0) {
		uint64_t now = now_ns();
		for (unsigned i = 0; i < n && rc == 0; i++)
			rc = put_one(st, txn, &keys[i], now);
		if (rc)
			wtxn_abort(st, txn);
		else
			rc = wtxn_commit(st, txn);
	}
	store_unlock(st);
	return rc;
}

int km_store_put_desc(struct km_store *st, struct km_key_desc *descs, unsigned n)
{
	if (!st || (!descs && n))
		return -EINVAL;
	struct km_key_in in[32];
	for (unsigned done = 0; done < n;) {
		unsigned m = n - done < 32 ? n - done : 32;
		for (unsigned i = 0; i < m; i++) {
			const struct km_key_desc *d = &descs[done + i];
			in[i] = (struct km_key_in){.pool = KM_POOL_LINK(d->link_id),
						   .bits = d->bits,
						   .type = KM_KEY_QKD,
						   .block_seq = d->block_seq,
						   .gen_ns = d->gen_time_ns,
						   .material = d->material};
			memcpy(in[i].id, d->key_id, KM_KEY_ID_LEN);
		}
		int rc = km_store_put(st, in, m);
		if (rc)
			return done ? (int)done : rc;
		for (unsigned i = 0; i < m; i++) {
			struct km_key_desc *d = &descs[done + i];
			km_key_material_free(d->material, (d->bits + 7) / 8);
			d->material = NULL;
		}
		done += m;
	}
	return (int)n;
}

int km_store_drain(struct km_store *st, km_desc_dequeue_fn dequeue, void *ctx, unsigned max,
		   unsigned *dropped)
{
	if (!st || !dequeue)
		return -EINVAL;
	struct km_key_desc buf[32];
	unsigned stored = 0;
	if (dropped)
		*dropped = 0;
	while (stored < max) {
		unsigned want = max - stored < 32 ? max - stored : 32;
		int n = dequeue(ctx, buf, want);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		int rc = km_store_put_desc(st, buf, (unsigned)n);
		unsigned ok = rc > 0 ? (unsigned)rc : 0;
		for (unsigned i = ok; i < (unsigned)n; i++) { /* a refused key can never be stored: wipe it */
			km_key_material_free(buf[i].material, (buf[i].bits + 7) / 8);
			buf[i].material = NULL;
			if (dropped)
				(*dropped)++;
		}
		stored += ok;
	}
	return (int)stored;
}
