/* Authentication material of the QKD links (the dataplane's Wegman-Carter pad pools): opaque
 * records in their own database, never part of a key pool, so nothing here can reach an SAE or a
 * relay. Each value is nonce | tag | AES-256-GCM ciphertext under the KEK, with the record's
 * address ("KMAU" | link | rec) as associated data: a record cannot be moved to another link or
 * slot, and a truncated or altered one fails to open (-EBADMSG). */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define AUTH_KEY_LEN 12
#define AUTH_OVERHEAD (GCM_NONCE_LEN + GCM_TAG_LEN)

static void auth_key(uint32_t link, uint64_t rec, uint8_t k[AUTH_KEY_LEN])
{
	k[0] = (uint8_t)(link >> 24);
	k[1] = (uint8_t)(link >> 16);
	k[2] = (uint8_t)(link >> 8);
	k[3] = (uint8_t)link;
	be64_put(k + 4, rec);
}

static void auth_aad(const uint8_t k[AUTH_KEY_LEN], uint8_t aad[4 + AUTH_KEY_LEN])
{
	memcpy(aad, "KMAU", 4);
	memcpy(aad + 4, k, AUTH_KEY_LEN);
}

/* Seal plain into out (AUTH_OVERHEAD + len bytes). Caller holds st->lock. */
static int auth_seal(struct km_store *st, const uint8_t k[AUTH_KEY_LEN], const uint8_t *plain,
		     size_t len, uint8_t *out)
{
	uint8_t aad[4 + AUTH_KEY_LEN];
	int n = 0, f = 0;
	auth_aad(k, aad);
	if (RAND_bytes(out, GCM_NONCE_LEN) != 1)
		return -EIO;
	EVP_CIPHER_CTX *c = st->enc;
	if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, out) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, aad, sizeof(aad)) != 1 ||
	    EVP_EncryptUpdate(c, out + AUTH_OVERHEAD, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, out + AUTH_OVERHEAD + n, &f) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, out + GCM_NONCE_LEN) != 1)
		return -EIO;
	return 0;
}

/* Open a stored value into plain (v->mv_size - AUTH_OVERHEAD bytes). Caller holds st->lock. */
static int auth_open(struct km_store *st, const uint8_t k[AUTH_KEY_LEN], const MDB_val *v,
		     uint8_t *plain)
{
	if (v->mv_size < AUTH_OVERHEAD)
		return -EBADMSG;
	const uint8_t *p = v->mv_data;
	uint8_t aad[4 + AUTH_KEY_LEN], tag[GCM_TAG_LEN];
	int n = 0, f = 0;
	auth_aad(k, aad);
	memcpy(tag, p + GCM_NONCE_LEN, GCM_TAG_LEN);
	EVP_CIPHER_CTX *c = st->dec;
	if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, p) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &n, aad, sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(c, plain, &n, p + AUTH_OVERHEAD, (int)(v->mv_size - AUTH_OVERHEAD)) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(c, plain + n, &f) != 1) {
		OPENSSL_cleanse(plain, v->mv_size - AUTH_OVERHEAD);
		return -EBADMSG;
	}
	return 0;
}

int km_store_auth_put(struct km_store *st, uint32_t link, uint64_t rec, const uint8_t *data,
		      size_t len)
{
	if (!st || (!data && len) || len > KM_AUTH_REC_MAX)
		return -EINVAL;
	uint8_t k[AUTH_KEY_LEN];
	auth_key(link, rec, k);
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn = NULL;
	int rc = wtxn_begin(st, &txn);
	uint8_t *ct = rc ? NULL : ct_scratch(st, AUTH_OVERHEAD + len);
	if (rc == 0 && !ct)
		rc = -ENOMEM;
	if (rc == 0)
		rc = auth_seal(st, k, data, len, ct);
	if (rc == 0) {
		MDB_val kv = {AUTH_KEY_LEN, k}, v = {AUTH_OVERHEAD + len, ct};
		rc = mdb_err(mdb_put(txn, st->db_auth, &kv, &v, 0));
	}
	if (rc == 0)
		rc = wtxn_commit(st, txn);
	else if (txn)
		wtxn_abort(st, txn);
	store_unlock(st);
	return rc;
}

int km_store_auth_get(struct km_store *st, uint32_t link, uint64_t rec, uint8_t **data, size_t *len)
{
	if (!st || !data || !len)
		return -EINVAL;
	*data = NULL;
	*len = 0;
	uint8_t k[AUTH_KEY_LEN];
	auth_key(link, rec, k);
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn = NULL;
	int rc = rtxn_begin(st, &txn);
	MDB_val kv = {AUTH_KEY_LEN, k}, v;
	if (rc == 0)
		rc = mdb_err(mdb_get(txn, st->db_auth, &kv, &v));
	if (rc == 0 && (v.mv_size < AUTH_OVERHEAD || v.mv_size - AUTH_OVERHEAD > KM_AUTH_REC_MAX))
		rc = -EBADMSG;
	uint8_t *plain = NULL;
	size_t n = rc ? 0 : v.mv_size - AUTH_OVERHEAD;
	if (rc == 0 && !(plain = km_key_material_alloc((uint32_t)(n ? n : 1))))
		rc = -ENOMEM;
	if (rc == 0)
		rc = auth_open(st, k, &v, plain);
	if (txn)
		mdb_txn_abort(txn);
	pthread_mutex_unlock(&st->lock);
	if (rc) {
		km_key_material_free(plain, (uint32_t)(n ? n : 1));
		return rc;
	}
	*data = plain;
	*len = n;
	return 0;
}

int km_store_auth_del(struct km_store *st, uint32_t link, uint64_t rec)
{
	if (!st)
		return -EINVAL;
	uint8_t k[AUTH_KEY_LEN];
	auth_key(link, rec, k);
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn = NULL;
	int rc = wtxn_begin(st, &txn);
	MDB_val kv = {AUTH_KEY_LEN, k};
	if (rc == 0)
		rc = mdb_err(mdb_del(txn, st->db_auth, &kv, NULL));
	if (rc == 0)
		rc = wtxn_commit(st, txn);
	else if (txn)
		wtxn_abort(st, txn);
	store_unlock(st);
	return rc;
}

/* Call step on every record of a link (cursor positioned on it) until it returns nonzero (a
 * negative errno stops with that error). Returns the count visited or the error. */
typedef int (*walk_fn)(struct km_store *st, MDB_cursor *c, const MDB_val *k, const MDB_val *v,
		       void *ctx);
static int walk_link(struct km_store *st, MDB_txn *txn, uint32_t link, walk_fn step, void *ctx)
{
	uint8_t k0[AUTH_KEY_LEN];
	auth_key(link, 0, k0);
	MDB_cursor *c = NULL;
	if (mdb_cursor_open(txn, st->db_auth, &c))
		return -EIO;
	MDB_val k = {AUTH_KEY_LEN, k0}, v;
	int n = 0, rc = 0;
	for (int g = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); g == 0 && rc == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != AUTH_KEY_LEN || memcmp(k.mv_data, k0, 4))
			break;
		n++;
		rc = step(st, c, &k, &v, ctx);
	}
	mdb_cursor_close(c);
	return rc < 0 ? rc : n;
}

struct list_ctx {
	km_auth_visit_fn fn;
	void *ctx;
	uint8_t *plain;
	size_t cap;
};

static int list_step(struct km_store *st, MDB_cursor *c, const MDB_val *k, const MDB_val *v,
		     void *ctx)
{
	struct list_ctx *l = ctx;
	(void)c;
	size_t len = v->mv_size >= AUTH_OVERHEAD ? v->mv_size - AUTH_OVERHEAD : 0;
	if (v->mv_size < AUTH_OVERHEAD || len > KM_AUTH_REC_MAX)
		return -EBADMSG;
	if (len + 1 > l->cap) {
		km_key_material_free(l->plain, (uint32_t)l->cap);
		l->cap = len + 1;
		if (!(l->plain = km_key_material_alloc((uint32_t)l->cap))) {
			l->cap = 0;
			return -ENOMEM;
		}
	}
	uint8_t kk[AUTH_KEY_LEN];
	memcpy(kk, k->mv_data, AUTH_KEY_LEN);
	int rc = auth_open(st, kk, v, l->plain);
	if (rc)
		return rc;
	int stop = l->fn(l->ctx, be64_get(kk + 4), l->plain, len);
	OPENSSL_cleanse(l->plain, len);
	return stop != 0;
}

int km_store_auth_list(struct km_store *st, uint32_t link, km_auth_visit_fn fn, void *ctx)
{
	if (!st || !fn)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn = NULL;
	struct list_ctx l = {fn, ctx, NULL, 0};
	int rc = rtxn_begin(st, &txn);
	if (rc == 0)
		rc = walk_link(st, txn, link, list_step, &l);
	km_key_material_free(l.plain, (uint32_t)l.cap);
	if (txn)
		mdb_txn_abort(txn);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

static int clear_step(struct km_store *st, MDB_cursor *c, const MDB_val *k, const MDB_val *v,
		      void *ctx)
{
	(void)st, (void)k, (void)v, (void)ctx;
	return mdb_err(mdb_cursor_del(c, 0));
}

int km_store_auth_clear(struct km_store *st, uint32_t link)
{
	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	MDB_txn *txn = NULL;
	int rc = wtxn_begin(st, &txn);
	int n = rc ? rc : walk_link(st, txn, link, clear_step, NULL);
	if (n >= 0)
		rc = wtxn_commit(st, txn);
	else if (txn)
		wtxn_abort(st, txn);
	store_unlock(st);
	return n < 0 ? n : rc ? rc : n;
}
