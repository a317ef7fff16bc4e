/* Authentication-material records of the key store: round trips (bytes equal to what was put,
 * listed in record order per link, other links untouched), durability across a reopen and a group
 * commit, and tampering: a record whose sealed bytes were altered or truncated on disk, or copied
 * to another address, fails to open with -EBADMSG; a record is never listed among a pool's keys. */
#include <lmdb.h>

#include "store_util.h"

static int visit_key(void *ctx, const struct km_key_meta *m)
{
	(void)m;
	(*(int *)ctx)++;
	return 0;
}

struct seen {
	unsigned n;
	uint64_t recs[8];
	size_t lens[8];
	uint8_t first[8];
};

static int visit_auth(void *ctx, uint64_t rec, const uint8_t *data, size_t len)
{
	struct seen *s = ctx;
	if (s->n < 8) {
		s->recs[s->n] = rec;
		s->lens[s->n] = len;
		s->first[s->n] = len ? data[0] : 0;
	}
	s->n++;
	return 0;
}

static void test_round_trip(void)
{
	char dir[128];
	su_tmpdir(dir, sizeof(dir), "auth");
	struct km_store *st = su_open(dir, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	uint8_t a[5000], b[16];
	unit_fill_random(a, sizeof(a), 1);
	unit_fill_random(b, sizeof(b), 2);
	CU_ASSERT_EQUAL(km_store_auth_put(st, 7, 3, a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(km_store_auth_put(st, 7, 1, b, sizeof(b)), 0);
	CU_ASSERT_EQUAL(km_store_auth_put(st, 8, 0, b, 4), 0);
	CU_ASSERT_EQUAL(km_store_auth_put(st, 6, UINT64_MAX, b, 0), 0);
	CU_ASSERT_EQUAL(km_store_auth_put(st, 7, 9, a, KM_AUTH_REC_MAX + 1), -EINVAL);
	/* group commit: records written inside a batch are there after it */
	CU_ASSERT_EQUAL(km_store_batch_begin(st), 0);
	CU_ASSERT_EQUAL(km_store_auth_put(st, 7, 2, a + 100, 32), 0);
	CU_ASSERT_EQUAL(km_store_batch_end(st), 0);
	km_store_close(st);

	st = su_open(dir, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	uint8_t *d = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL(km_store_auth_get(st, 7, 3, &d, &len), 0);
	CU_ASSERT_EQUAL(len, sizeof(a));
	CU_ASSERT(d && memcmp(d, a, sizeof(a)) == 0);
	km_key_material_free(d, (uint32_t)len);
	CU_ASSERT_EQUAL(km_store_auth_get(st, 7, 4, &d, &len), -ENOENT);
	CU_ASSERT_PTR_NULL(d);
	struct seen s = {0};
	CU_ASSERT_EQUAL(km_store_auth_list(st, 7, visit_auth, &s), 3);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_EQUAL(s.recs[0], 1);
	CU_ASSERT_EQUAL(s.recs[1], 2);
	CU_ASSERT_EQUAL(s.recs[2], 3);
	CU_ASSERT_EQUAL(s.lens[0], 16);
	CU_ASSERT_EQUAL(s.first[0], b[0]);
	CU_ASSERT_EQUAL(s.lens[1], 32);
	CU_ASSERT_EQUAL(s.first[1], a[100]);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(km_store_auth_list(st, 6, visit_auth, &s), 1);
	CU_ASSERT_EQUAL(s.recs[0], UINT64_MAX);
	CU_ASSERT_EQUAL(s.lens[0], 0);
	/* never in a key pool */
	int keys = 0;
	CU_ASSERT_EQUAL(km_store_list(st, KM_POOL_LINK(7), 0, visit_key, &keys), 0);
	CU_ASSERT_EQUAL(keys, 0);
	CU_ASSERT_EQUAL(km_store_auth_del(st, 7, 2), 0);
	CU_ASSERT_EQUAL(km_store_auth_del(st, 7, 2), -ENOENT);
	CU_ASSERT_EQUAL(km_store_auth_clear(st, 7), 2);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(km_store_auth_list(st, 7, visit_auth, &s), 0);
	CU_ASSERT_EQUAL(km_store_auth_list(st, 8, visit_auth, &s), 1);
	km_store_close(st);
	su_rmdir(dir);
}

/* Damage the stored value of (link, rec) in the raw database: 0 flip a bit, 1 cut 3 bytes,
 * 2 shorter than nonce + tag. */
static int raw_edit(const char *dir, uint32_t link, uint64_t rec, int how)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) || mdb_env_open(env, dir, 0, 0600))
		return -1;
	int rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "auth", 0, &dbi);
	uint8_t k[12] = {(uint8_t)(link >> 24), (uint8_t)(link >> 16), (uint8_t)(link >> 8),
			 (uint8_t)link};
	for (int i = 0; i < 8; i++)
		k[4 + i] = (uint8_t)(rec >> (56 - 8 * i));
	MDB_val kv = {12, k}, v;
	if (!rc)
		rc = mdb_get(txn, dbi, &kv, &v);
	uint8_t buf[256];
	if (!rc && v.mv_size <= sizeof(buf)) {
		memcpy(buf, v.mv_data, v.mv_size);
		MDB_val nv = {v.mv_size, buf};
		if (how == 0)
			buf[v.mv_size - 1] ^= 1; /* flip a ciphertext bit */
		else if (how == 1)
			nv.mv_size -= 3; /* truncate */
		else
			nv.mv_size = 10; /* shorter than nonce + tag */
		rc = mdb_put(txn, dbi, &kv, &nv, 0);
	}
	if (!rc)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

static void test_tampered(void)
{
	char dir[128];
	su_tmpdir(dir, sizeof(dir), "authx");
	struct km_store *st = su_open(dir, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	uint8_t a[64];
	unit_fill_random(a, sizeof(a), 3);
	for (uint64_t r = 0; r < 3; r++)
		CU_ASSERT_EQUAL(km_store_auth_put(st, 5, r, a, sizeof(a)), 0);
	km_store_close(st);
	for (int how = 0; how < 3; how++)
		CU_ASSERT_EQUAL(raw_edit(dir, 5, (uint64_t)how, how), 0);
	st = su_open(dir, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	for (uint64_t r = 0; r < 3; r++) {
		uint8_t *d = (uint8_t *)1;
		size_t len = 7;
		CU_ASSERT_EQUAL(km_store_auth_get(st, 5, r, &d, &len), -EBADMSG);
		CU_ASSERT_PTR_NULL(d);
		CU_ASSERT_EQUAL(len, 0);
	}
	struct seen s = {0};
	CU_ASSERT_EQUAL(km_store_auth_list(st, 5, visit_auth, &s), -EBADMSG);
	/* an intact record sealed for link 5 slot 0, copied to slot 9 of link 5, does not open */
	CU_ASSERT_EQUAL(km_store_auth_put(st, 5, 0, a, sizeof(a)), 0);
	km_store_close(st);
	{
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
		mdb_env_set_maxdbs(env, 8);
		CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, 0, 0600), 0);
		CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &txn), 0);
		CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "auth", 0, &dbi), 0);
		uint8_t k0[12] = {0, 0, 0, 5}, k9[12] = {0, 0, 0, 5};
		k9[11] = 9;
		MDB_val kv = {12, k0}, v, kv9 = {12, k9};
		CU_ASSERT_EQUAL(mdb_get(txn, dbi, &kv, &v), 0);
		uint8_t copy[256];
		memcpy(copy, v.mv_data, v.mv_size);
		MDB_val nv = {v.mv_size, copy};
		CU_ASSERT_EQUAL(mdb_put(txn, dbi, &kv9, &nv, 0), 0);
		CU_ASSERT_EQUAL(mdb_txn_commit(txn), 0);
		mdb_env_close(env);
	}
	st = su_open(dir, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	uint8_t *d = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL(km_store_auth_get(st, 5, 0, &d, &len), 0);
	CU_ASSERT(d && len == sizeof(a) && memcmp(d, a, sizeof(a)) == 0);
	km_key_material_free(d, (uint32_t)len);
	CU_ASSERT_EQUAL(km_store_auth_get(st, 5, 9, &d, &len), -EBADMSG);
	km_store_close(st);
	su_rmdir(dir);
}

int main(void)
{
	CU_TestInfo tests[] = {{"round trip, reopen, batch, list, delete", test_round_trip},
			       {"altered, truncated or moved records refused", test_tampered},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"store_auth", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
	return unit_run(suites);
}
