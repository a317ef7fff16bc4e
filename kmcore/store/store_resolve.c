/* km_store_resolve: the destination's side of relay resolution (km_relay.h), one transaction. */
#include <errno.h>
#include <string.h>

#include "store_internal.h"

/* A tombstone of 9 bytes (deletion time, 'G') marks an id resolved gone; prune keeps it. */
static int mark_gone(struct km_store *st, MDB_txn *txn, const uint8_t id[KM_KEY_ID_LEN])
{
	uint8_t val[9];
	be64_put(val, now_ns());
	val[8] = 'G';
	MDB_val k = {KM_KEY_ID_LEN, (void *)id}, v = {sizeof(val), val};
	return mdb_err(mdb_put(txn, st->db_tomb, &k, &v, 0));
}

int km_store_resolve(struct km_store *st, km_pool_id pool, const uint8_t id[KM_KEY_ID_LEN])
{
	if (!st || !id)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn = NULL;
	int rc = wtxn_begin(st, &txn), have = 0;
	struct rec r;
	if (rc == 0 && id_reserved(st, id)) {
		have = 1; /* being supplied right now */
	} else if (rc == 0 && (rc = rec_get(st, txn, id, &r)) == 0) {
		if (r.meta.pool != pool)
			rc = -EINVAL;
		else if (r.meta.state != KM_KEY_AVAILABLE)
			have = 1;
		else if ((rc = rec_delete(st, txn, &r)) == 0)
			rc = mark_gone(st, txn, id);
	} else if (rc == -ENOENT) {
		MDB_val k = {KM_KEY_ID_LEN, (void *)id}, v;
		rc = mdb_get(txn, st->db_tomb, &k, &v);
		if (rc == 0) /* stored once and gone since: used (or expired) unless we said gone */
			have = !(v.mv_size == 9 && ((const uint8_t *)v.mv_data)[8] == 'G');
		else
			rc = rc == MDB_NOTFOUND ? mark_gone(st, txn, id) : mdb_err(rc);
	}
	if (rc == 0)
		rc = wtxn_commit(st, txn);
	else if (txn)
		wtxn_abort(st, txn);
	store_unlock(st);
	return rc ? rc : have;
}
