/* Key life cycle and lookups: metadata, consume, discard, TTL expiry, statistics, policies, and
 * the per-link sequence numbers relay messages carry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int km_store_get(struct km_store *st, const uint8_t id[KM_KEY_ID_LEN], struct km_key_meta *meta)
{
	if (!st || !id || !meta)
		return -EINVAL;
	MDB_txn *txn;
	struct rec r;
	int rc = rtxn_begin(st, &txn);
	if (rc)
		return rc;
	rc = rec_get(st, txn, id, &r);
	mdb_txn_abort(txn);
	if (rc == 0)
		*meta = r.meta;
	return rc;
}

int km_store_consume(struct km_store *st, const uint8_t id[KM_KEY_ID_LEN])
{
	if (!st || !id)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn;
	struct rec r;
	int rc = wtxn_begin(st, &txn);
	if (rc == 0) {
		rc = id_reserved(st, id) ? -EBUSY : rec_get(st, txn, id, &r);
		if (rc == 0 && r.meta.state == KM_KEY_CONSUMED)
			rc = -ENOENT;
		if (rc == 0)
			rc = rec_set_state(st, txn, &r, KM_KEY_CONSUMED);
		if (rc)
			wtxn_abort(st, txn);
		else
			rc = wtxn_commit(st, txn);
	}
	store_unlock(st);
	return rc;
}

int km_store_discard(struct km_store *st, const uint8_t (*ids)[KM_KEY_ID_LEN], unsigned n)
{
	if (!st || (!ids && n))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn = NULL;
	int rc = wtxn_begin(st, &txn), count = 0;
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		struct rec r;
		if (id_reserved(st, ids[i]) || rec_get(st, txn, ids[i], &r))
			continue;
		if ((rc = rec_delete(st, txn, &r)) == 0)
			count++;
	}
	if (rc == 0)
		rc = wtxn_commit(st, txn);
	else if (txn)
		wtxn_abort(st, txn);
	store_unlock(st);
	return rc ? rc : count;
}

int km_store_expire(struct km_store *st, uint64_t now)
{
	return km_store_expire_visit(st, now, NULL, NULL);
}

int km_store_expire_visit(struct km_store *st, uint64_t now, km_key_visit_fn fn, void *ctx)
{
	if (!st)
		return -EINVAL;
	int total = 0;
	for (;;) {
		/* in batches so one sweep never holds a huge transaction */
		pthread_mutex_lock(&st->lock);
		MDB_txn *txn = NULL;
		int rc = wtxn_begin(st, &txn), n = 0;
		MDB_cursor *c = NULL;
		if (rc == 0 && mdb_cursor_open(txn, st->db_expiry, &c))
			rc = -EIO;
		uint8_t ids[256][KM_KEY_ID_LEN];
		struct {
			km_pool_id pool;
			uint32_t bits;
			uint8_t id[KM_KEY_ID_LEN];
		} gone[256];
		unsigned nid = 0;
		MDB_val k, v;
		for (int g = rc ? 1 : mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && nid < 256;
		     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			if (k.mv_size != 24 || be64_get(k.mv_data) > now)
				break;
			if (!id_reserved(st, (uint8_t *)k.mv_data + 8))
				memcpy(ids[nid++], (uint8_t *)k.mv_data + 8, KM_KEY_ID_LEN);
		}
		if (c)
			mdb_cursor_close(c);
		for (unsigned i = 0; rc == 0 && i < nid; i++) {
			struct rec r;
			if (rec_get(st, txn, ids[i], &r) || r.meta.state == KM_KEY_CONSUMED)
				continue;
			if ((rc = rec_delete(st, txn, &r)) == 0) {
				gone[n].pool = r.meta.pool;
				gone[n].bits = r.meta.bits;
				memcpy(gone[n].id, r.meta.id, KM_KEY_ID_LEN);
				n++;
			}
		}
		if (rc == 0)
			rc = wtxn_commit(st, txn);
		else if (txn)
			wtxn_abort(st, txn);
		store_unlock(st);
		if (rc)
			return rc;
		for (int i = 0; fn && i < n; i++) { /* after the commit: only what is really gone */
			struct km_key_meta m = {.pool = gone[i].pool, .bits = gone[i].bits};
			memcpy(m.id, gone[i].id, KM_KEY_ID_LEN);
			fn(ctx, &m);
		}
		total += n;
		if (nid < 256)
			return total;
	}
}

int km_store_prune_tombstones(struct km_store *st, uint64_t before_ns)
{
	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn = NULL;
	MDB_cursor *c = NULL;
	int rc = wtxn_begin(st, &txn), n = 0;
	if (rc == 0 && mdb_cursor_open(txn, st->db_tomb, &c))
		rc = -EIO;
	MDB_val k, v;
	for (int g = rc ? 1 : mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (v.mv_size != 8 || be64_get(v.mv_data) >= before_ns)
			continue;
		if ((rc = mdb_err(mdb_cursor_del(c, 0))))
			break;
		n++;
	}
	if (c)
		mdb_cursor_close(c);
	if (rc == 0)
		rc = wtxn_commit(st, txn);
	else if (txn)
		wtxn_abort(st, txn);
	store_unlock(st);
	return rc ? rc : n;
}

static void fill_stats(const struct pool_state *p, struct km_pool_stats *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->keys, p->keys, sizeof(s->keys));
	s->available_bits = p->avail_bits;
	s->low_alarm = p->low_alarm;
	s->high_alarm = p->high_alarm;
}

int km_store_pool_stats(struct km_store *st, km_pool_id pool, struct km_pool_stats *s)
{
	if (!st || !s)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	struct pool_state *p = pool_get(st, pool, false);
	if (p)
		fill_stats(p, s);
	else
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&st->lock);
	return p ? 0 : -ENOENT;
}

int km_store_pools(struct km_store *st, km_pool_visit_fn fn, void *ctx)
{
	if (!st || !fn)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	size_t n = st->npools;
	km_pool_id *ids = malloc((n ? n : 1) * sizeof(*ids));
	struct km_pool_stats *ss = malloc((n ? n : 1) * sizeof(*ss));
	if (!ids || !ss) {
		pthread_mutex_unlock(&st->lock);
		free(ids);
		free(ss);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		ids[i] = st->pools[i].pool;
		fill_stats(&st->pools[i], &ss[i]);
	}
	pthread_mutex_unlock(&st->lock);
	int visited = 0;
	for (size_t i = 0; i < n; i++, visited++)
		if (fn(ctx, ids[i], &ss[i]))
			break;
	free(ids);
	free(ss);
	return visited;
}

int km_store_list(struct km_store *st, km_pool_id pool, uint8_t state, km_key_visit_fn fn, void *ctx)
{
	if (!st || !fn || state > KM_KEY_CONSUMED)
		return -EINVAL;
	MDB_txn *txn;
	MDB_cursor *c;
	int rc = rtxn_begin(st, &txn);
	if (rc)
		return rc;
	if (mdb_cursor_open(txn, st->db_keys, &c)) {
		mdb_txn_abort(txn);
		return -EIO;
	}
	int n = 0;
	MDB_val k, v;
	for (int g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct rec r;
		if (k.mv_size != KM_KEY_ID_LEN || rec_decode(k.mv_data, &v, &r) || r.meta.pool != pool ||
		    (state && r.meta.state != state))
			continue;
		n++;
		if (fn(ctx, &r.meta))
			break;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return n;
}

int km_store_set_policy(struct km_store *st, km_pool_id pool, const struct km_pool_policy *pol)
{
	if (!st || !pol || pol->after_supply > KM_AFTER_PRESERVE || pol->on_abort > KM_ABORT_DISCARD ||
	    pol->origin > KM_ORIGIN_ODD || (KM_POOL_KIND(pool) != 1 && KM_POOL_KIND(pool) != 2) ||
	    (pol->low_water_bits && pol->high_water_bits && pol->low_water_bits > pol->high_water_bits))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn;
	int rc = wtxn_begin(st, &txn);
	if (rc == 0) {
		struct pool_state *p = pool_get(st, pool, true);
		if (!p) {
			rc = -ENOMEM;
		} else {
			p->policy = *pol;
			p->own_policy = true;
			pool_check_alarms(st, p);
			rc = pool_save(st, txn, p);
		}
		if (rc)
			wtxn_abort(st, txn);
		else
			rc = wtxn_commit(st, txn);
	}
	store_unlock(st);
	return rc;
}

int km_store_get_policy(struct km_store *st, km_pool_id pool, struct km_pool_policy *pol)
{
	if (!st || !pol)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	struct pool_state *p = pool_get(st, pool, false);
	*pol = p ? p->policy : st->default_policy;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* Sequence numbers are handed out from memory; the store durably records a limit ahead of them
 * (in steps of SEQ_STEP), and a restart continues from that limit, so none ever repeats. */
#define SEQ_STEP 4096

int km_store_seq_next(struct km_store *st, km_pool_id pool, uint64_t *seq)
{
	if (!st || !seq)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	int rc = 0;
	struct pool_state *p = pool_get(st, pool, true);
	if (!p)
		rc = -ENOMEM;
	else if (p->tx_seq >= p->tx_limit) {
		MDB_txn *txn;
		if ((rc = wtxn_begin(st, &txn)) == 0) {
			p = pool_get(st, pool, true);
			uint64_t old = p->tx_limit;
			p->tx_limit = p->tx_seq + SEQ_STEP;
			rc = pool_save(st, txn, p);
			if (rc)
				wtxn_abort(st, txn);
			else
				rc = wtxn_commit(st, txn);
			if (rc)
				p->tx_limit = old;
		}
	}
	if (rc == 0)
		*seq = p->tx_seq++;
	store_unlock(st);
	return rc;
}

/* The last sequence number received (rx) or sent (tx) on a pool; 0 for none. */
static int seq_last(struct km_store *st, km_pool_id pool, bool tx, uint64_t *seq)
{
	if (!st || !seq)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	struct pool_state *p = pool_get(st, pool, false);
	*seq = !p ? 0 : !tx ? p->rx_seq : p->tx_seq ? p->tx_seq - 1 : 0;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int km_store_seq_last_rx(struct km_store *st, km_pool_id pool, uint64_t *seq)
{
	return seq_last(st, pool, false, seq);
}

int km_store_seq_last_tx(struct km_store *st, km_pool_id pool, uint64_t *seq)
{
	return seq_last(st, pool, true, seq);
}

int km_store_seq_raise_rx(struct km_store *st, km_pool_id pool, uint64_t seq)
{
	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn;
	int rc = wtxn_begin(st, &txn);
	if (rc == 0) {
		struct pool_state *p = pool_get(st, pool, true);
		if (!p)
			rc = -ENOMEM;
		else if (seq > p->rx_seq) {
			p->rx_seq = seq;
			rc = pool_save(st, txn, p);
		}
		if (rc)
			wtxn_abort(st, txn);
		else
			rc = wtxn_commit(st, txn);
	}
	store_unlock(st);
	return rc;
}
