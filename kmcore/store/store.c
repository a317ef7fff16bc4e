/* Store object: open/close, transactions, per-pool counters and alarms, record index upkeep. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "km_meter.h"
#include "store_internal.h"

static const char KEK_CHECK_PLAIN[32] = "qkdnode key store KEK check v1..";

void be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int mdb_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_MAP_FULL:
		return -ENOSPC;
	case ENOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

uint8_t *ct_scratch(struct km_store *st, size_t len)
{
	if (len <= st->ct_cap)
		return st->ct_buf;
	uint8_t *b = realloc(st->ct_buf, len);
	if (!b)
		return NULL;
	st->ct_buf = b;
	st->ct_cap = len;
	return b;
}

uint8_t *plain_get(struct km_store *st, uint32_t len)
{
	return len <= KM_CHUNK_BYTES ? st->chunk_buf : km_key_material_alloc(len);
}

void plain_put(struct km_store *st, uint8_t *p, uint32_t len)
{
	if (!p)
		return;
	if (p == st->chunk_buf)
		OPENSSL_cleanse(p, len);
	else
		km_key_material_free(p, len);
}

uint8_t *supply_buf(struct km_store *st, size_t len)
{
	if (len <= st->plain_cap)
		return st->plain_buf;
	if (len > KM_KEY_MAX_BYTES)
		return NULL;
	uint8_t *b = km_key_material_alloc((uint32_t)len);
	if (!b)
		return NULL;
	km_key_material_free(st->plain_buf, (uint32_t)st->plain_cap);
	st->plain_buf = b;
	st->plain_cap = len;
	return b;
}

/* ---- transactions ---- */
static bool in_batch(const struct km_store *st)
{
	return __atomic_load_n(&st->batch_active, __ATOMIC_ACQUIRE) &&
	       pthread_equal(st->batch_owner, pthread_self());
}

/* Inside this thread's group commit, reads must see the batch's own changes: they run in a
 * nested transaction that the caller aborts like a read transaction. */
int rtxn_begin(struct km_store *st, MDB_txn **txn)
{
	if (in_batch(st))
		return mdb_err(mdb_txn_begin(st->env, st->batch_txn, 0, txn));
	return mdb_err(mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn));
}

int wtxn_begin(struct km_store *st, MDB_txn **txn)
{
	if (!st->saved_pools) {
		st->saved_pools = malloc((st->cap_pools + 1) * sizeof(*st->saved_pools));
		if (!st->saved_pools)
			return -ENOMEM;
	}
	if (st->npools)
		memcpy(st->saved_pools, st->pools, st->npools * sizeof(*st->pools));
	st->saved_npools = st->npools;
	st->saved_seq = st->next_seq;
	st->saved_nevents = st->nevents;
	return mdb_err(mdb_txn_begin(st->env, st->batch_active ? st->batch_txn : NULL, 0, txn));
}

static void wtxn_restore(struct km_store *st)
{
	if (st->saved_npools)
		memcpy(st->pools, st->saved_pools, st->saved_npools * sizeof(*st->pools));
	st->npools = st->saved_npools;
	st->next_seq = st->saved_seq;
	st->nevents = st->saved_nevents;
}

int wtxn_commit(struct km_store *st, MDB_txn *txn)
{
	uint8_t seq[8];
	be64_put(seq, st->next_seq);
	MDB_val k = {4, (void *)"seq"}, v = {8, seq};
	int rc = st->next_seq != st->saved_seq ? mdb_put(txn, st->db_meta, &k, &v, 0) : 0;
	if (rc) {
		mdb_txn_abort(txn);
		wtxn_restore(st);
		return mdb_err(rc);
	}
	rc = mdb_txn_commit(txn);
	if (rc) {
		wtxn_restore(st);
		return mdb_err(rc);
	}
	return 0;
}

void wtxn_abort(struct km_store *st, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	wtxn_restore(st);
}

/* ---- pools ---- */
struct pool_state *pool_get(struct km_store *st, km_pool_id pool, bool create)
{
	for (size_t i = 0; i < st->npools; i++)
		if (st->pools[i].pool == pool)
			return &st->pools[i];
	if (!create)
		return NULL;
	if (st->npools == st->cap_pools) {
		size_t cap = st->cap_pools ? 2 * st->cap_pools : 16;
		struct pool_state *p = realloc(st->pools, cap * sizeof(*p));
		struct pool_state *s = realloc(st->saved_pools, (cap + 1) * sizeof(*s));
		if (s)
			st->saved_pools = s;
		if (!p || !s) {
			if (p)
				st->pools = p;
			return NULL;
		}
		st->pools = p;
		st->cap_pools = cap;
	}
	struct pool_state *p = &st->pools[st->npools++];
	memset(p, 0, sizeof(*p));
	p->pool = pool;
	p->policy = st->default_policy;
	p->tx_seq = 1;
	return p;
}

void pool_account(struct km_store *st, struct pool_state *p, uint8_t state, uint32_t bits, int sign)
{
	if (state < 1 || state > 4)
		return;
	p->keys[state] += (uint64_t)(int64_t)sign;
	if (state == KM_KEY_AVAILABLE)
		p->avail_bits += (uint64_t)((int64_t)sign * (int64_t)bits);
}

static void queue_event(struct km_store *st, struct pool_state *p, enum km_alarm a, bool raised)
{
	if (st->nevents < MAX_ALARM_EVENTS)
		st->events[st->nevents++] = (struct alarm_event){p->pool, a, raised, p->avail_bits};
}

void pool_check_alarms(struct km_store *st, struct pool_state *p)
{
	const struct km_pool_policy *pol = &p->policy;
	bool low = pol->low_water_bits && p->avail_bits < pol->low_water_bits;
	bool high = pol->high_water_bits && p->avail_bits > pol->high_water_bits;
	if (low != p->low_alarm) {
		p->low_alarm = low;
		queue_event(st, p, KM_ALARM_LOW_WATER, low);
	}
	if (high != p->high_alarm) {
		p->high_alarm = high;
		queue_event(st, p, KM_ALARM_HIGH_WATER, high);
	}
}

void store_unlock(struct km_store *st)
{
	if (st->batch_active) { /* alarms wait for the group commit */
		pthread_mutex_unlock(&st->lock);
		return;
	}
	struct alarm_event ev[MAX_ALARM_EVENTS];
	unsigned n = st->nevents;
	km_alarm_fn fn = st->alarm_fn;
	void *ctx = st->alarm_ctx;
	memcpy(ev, st->events, n * sizeof(ev[0]));
	st->nevents = 0;
	pthread_mutex_unlock(&st->lock);
	for (unsigned i = 0; fn && i < n; i++)
		fn(ctx, ev[i].pool, ev[i].alarm, ev[i].raised, ev[i].bits);
}

int pool_save(struct km_store *st, MDB_txn *txn, const struct pool_state *p)
{
	struct pool_rec pr;
	memset(&pr, 0, sizeof(pr));
	pr.version = 1;
	pr.own_policy = p->own_policy;
	pr.policy = p->policy;
	pr.tx_limit = p->tx_limit;
	pr.rx_seq = p->rx_seq;
	uint8_t key[8];
	be64_put(key, p->pool);
	MDB_val k = {8, key}, v = {sizeof(pr), &pr};
	return mdb_err(mdb_put(txn, st->db_pools, &k, &v, 0));
}

bool id_reserved(const struct km_store *st, const uint8_t id[KM_KEY_ID_LEN])
{
	for (const struct open_take *t = st->takes; t; t = t->next)
		for (uint32_t i = 0; i < t->take.nsrc; i++)
			if (memcmp(t->take.src[i], id, KM_KEY_ID_LEN) == 0)
				return true;
	return false;
}

/* ---- records and their indexes ---- */
int rec_get(struct km_store *st, MDB_txn *txn, const uint8_t id[KM_KEY_ID_LEN], struct rec *r)
{
	MDB_val k = {KM_KEY_ID_LEN, (void *)id}, v;
	int rc = mdb_get(txn, st->db_keys, &k, &v);
	if (rc)
		return mdb_err(rc);
	return rec_decode(id, &v, r);
}

static int rec_write(struct km_store *st, MDB_txn *txn, const struct rec *r, unsigned flags)
{
	size_t len;
	uint8_t *buf = rec_encode(r, &len);
	if (!buf)
		return -ENOMEM;
	MDB_val k = {KM_KEY_ID_LEN, (void *)r->meta.id}, v = {len, buf};
	int rc = mdb_put(txn, st->db_keys, &k, &v, flags);
	free(buf);
	return mdb_err(rc);
}

int rec_update(struct km_store *st, MDB_txn *txn, const struct rec *r)
{
	return rec_write(st, txn, r, 0);
}

static void avail_key(const struct rec *r, uint8_t k[16])
{
	be64_put(k, r->meta.pool);
	be64_put(k + 8, r->seq);
}

static void expiry_key(const struct rec *r, uint8_t k[8 + KM_KEY_ID_LEN])
{
	be64_put(k, r->meta.expire_ns);
	memcpy(k + 8, r->meta.id, KM_KEY_ID_LEN);
}

int rec_insert(struct km_store *st, MDB_txn *txn, struct rec *r)
{
	MDB_val tk = {KM_KEY_ID_LEN, r->meta.id}, tv;
	if (mdb_get(txn, st->db_tomb, &tk, &tv) == 0)
		return -EEXIST;
	struct pool_state *p = pool_get(st, r->meta.pool, true);
	if (!p)
		return -ENOMEM;
	if (!r->seq)
		r->seq = st->next_seq++;
	int rc = rec_write(st, txn, r, MDB_NOOVERWRITE);
	if (rc)
		return rc;
	if (r->meta.state == KM_KEY_AVAILABLE) {
		uint8_t ak[16];
		avail_key(r, ak);
		MDB_val k = {16, ak}, v = {KM_KEY_ID_LEN, r->meta.id};
		if ((rc = mdb_err(mdb_put(txn, st->db_avail, &k, &v, 0))))
			return rc;
	}
	if (r->meta.expire_ns && r->meta.state != KM_KEY_CONSUMED) {
		uint8_t ek[24];
		expiry_key(r, ek);
		MDB_val k = {24, ek}, v = {0, NULL};
		if ((rc = mdb_err(mdb_put(txn, st->db_expiry, &k, &v, 0))))
			return rc;
	}
	pool_account(st, p, r->meta.state, r->meta.bits, +1);
	pool_check_alarms(st, p);
	return 0;
}

static int unindex(struct km_store *st, MDB_txn *txn, const struct rec *r, uint8_t new_state)
{
	int rc;
	if (r->meta.state == KM_KEY_AVAILABLE && new_state != KM_KEY_AVAILABLE) {
		uint8_t ak[16];
		avail_key(r, ak);
		MDB_val k = {16, ak};
		if ((rc = mdb_del(txn, st->db_avail, &k, NULL)) && rc != MDB_NOTFOUND)
			return mdb_err(rc);
	}
	if (r->meta.expire_ns && r->meta.state != KM_KEY_CONSUMED && new_state == KM_KEY_CONSUMED) {
		uint8_t ek[24];
		expiry_key(r, ek);
		MDB_val k = {24, ek};
		if ((rc = mdb_del(txn, st->db_expiry, &k, NULL)) && rc != MDB_NOTFOUND)
			return mdb_err(rc);
	}
	return 0;
}

int rec_delete(struct km_store *st, MDB_txn *txn, const struct rec *r)
{
	int rc = unindex(st, txn, r, KM_KEY_CONSUMED);
	if (rc)
		return rc;
	MDB_val k = {KM_KEY_ID_LEN, (void *)r->meta.id};
	if ((rc = mdb_del(txn, st->db_keys, &k, NULL)))
		return mdb_err(rc);
	uint8_t when[8];
	be64_put(when, now_ns());
	MDB_val v = {8, when};
	if ((rc = mdb_put(txn, st->db_tomb, &k, &v, 0)))
		return mdb_err(rc);
	struct pool_state *p = pool_get(st, r->meta.pool, true);
	if (!p)
		return -ENOMEM;
	pool_account(st, p, r->meta.state, r->meta.bits, -1);
	pool_check_alarms(st, p);
	return 0;
}

int rec_set_state(struct km_store *st, MDB_txn *txn, struct rec *r, uint8_t state)
{
	struct pool_state *p = pool_get(st, r->meta.pool, true);
	if (!p)
		return -ENOMEM;
	if (state == KM_KEY_CONSUMED && p->policy.after_supply == KM_AFTER_DELETE)
		return rec_delete(st, txn, r);
	/* r->ct points into the database: keep a copy across the index deletes */
	uint8_t *ct = r->ct_len ? malloc(r->ct_len) : NULL;
	if (r->ct_len && !ct)
		return -ENOMEM;
	if (ct)
		memcpy(ct, r->ct, r->ct_len);
	r->ct = ct;
	int rc = unindex(st, txn, r, state);
	if (rc == 0) {
		pool_account(st, p, r->meta.state, r->meta.bits, -1);
		r->meta.state = state;
		pool_account(st, p, r->meta.state, r->meta.bits, +1);
		pool_check_alarms(st, p);
		rc = rec_update(st, txn, r);
	}
	free(ct);
	r->ct = NULL;
	return rc;
}

/* ---- open / close ---- */
static int load_pools(struct km_store *st, MDB_txn *txn)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, st->db_pools, &c);
	if (rc)
		return mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct pool_rec pr;
		if (k.mv_size != 8 || v.mv_size != sizeof(pr))
			continue;
		memcpy(&pr, v.mv_data, sizeof(pr));
		struct pool_state *p = pool_get(st, be64_get(k.mv_data), true);
		if (!p) {
			mdb_cursor_close(c);
			return -ENOMEM;
		}
		p->own_policy = pr.own_policy;
		if (pr.own_policy)
			p->policy = pr.policy;
		p->tx_seq = pr.tx_limit ? pr.tx_limit : 1;
		p->tx_limit = pr.tx_limit;
		p->rx_seq = pr.rx_seq;
	}
	mdb_cursor_close(c);
	if (mdb_cursor_open(txn, st->db_keys, &c))
		return -EIO;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct rec r;
		if (k.mv_size != KM_KEY_ID_LEN || rec_decode(k.mv_data, &v, &r))
			continue;
		struct pool_state *p = pool_get(st, r.meta.pool, true);
		if (!p) {
			mdb_cursor_close(c);
			return -ENOMEM;
		}
		pool_account(st, p, r.meta.state, r.meta.bits, +1);
	}
	mdb_cursor_close(c);
	for (size_t i = 0; i < st->npools; i++) {
		struct pool_state *p = &st->pools[i];
		p->low_alarm = p->policy.low_water_bits && p->avail_bits < p->policy.low_water_bits;
		p->high_alarm = p->policy.high_water_bits && p->avail_bits > p->policy.high_water_bits;
	}
	return 0;
}

/* The store remembers a GCM encryption of a constant under its KEK: a different KEK fails to
 * open it, so a misconfigured node refuses to start instead of writing keys nobody can read. */
static int kek_check(struct km_store *st, MDB_txn *txn)
{
	MDB_val k = {9, (void *)"kek_check"}, v;
	struct rec r;
	memset(&r, 0, sizeof(r));
	r.ct_len = sizeof(KEK_CHECK_PLAIN);
	int rc = mdb_get(txn, st->db_meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		uint8_t buf[GCM_NONCE_LEN + GCM_TAG_LEN + sizeof(KEK_CHECK_PLAIN)];
		if ((rc = rec_seal(st, &r, (const uint8_t *)KEK_CHECK_PLAIN, buf + GCM_NONCE_LEN + GCM_TAG_LEN)))
			return rc;
		memcpy(buf, r.nonce, GCM_NONCE_LEN);
		memcpy(buf + GCM_NONCE_LEN, r.tag, GCM_TAG_LEN);
		v.mv_size = sizeof(buf);
		v.mv_data = buf;
		return mdb_err(mdb_put(txn, st->db_meta, &k, &v, 0));
	}
	if (rc)
		return mdb_err(rc);
	if (v.mv_size != GCM_NONCE_LEN + GCM_TAG_LEN + sizeof(KEK_CHECK_PLAIN))
		return -EIO;
	memcpy(r.nonce, v.mv_data, GCM_NONCE_LEN);
	memcpy(r.tag, (uint8_t *)v.mv_data + GCM_NONCE_LEN, GCM_TAG_LEN);
	r.ct = (uint8_t *)v.mv_data + GCM_NONCE_LEN + GCM_TAG_LEN;
	uint8_t plain[sizeof(KEK_CHECK_PLAIN)];
	if (rec_open(st, &r, plain) || memcmp(plain, KEK_CHECK_PLAIN, sizeof(plain)))
		return -EKEYREJECTED;
	return 0;
}

static int open_dbs(struct km_store *st)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return mdb_err(rc);
	struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {{"keys", &st->db_keys},   {"avail", &st->db_avail}, {"expiry", &st->db_expiry},
		   {"tomb", &st->db_tomb},   {"pools", &st->db_pools}, {"meta", &st->db_meta},
		   {"auth", &st->db_auth}};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		if ((rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbs[i].dbi))) {
			mdb_txn_abort(txn);
			return mdb_err(rc);
		}
	}
	if ((rc = kek_check(st, txn))) {
		mdb_txn_abort(txn);
		return rc;
	}
	MDB_val k = {4, (void *)"seq"}, v;
	st->next_seq = 1;
	if (mdb_get(txn, st->db_meta, &k, &v) == 0 && v.mv_size == 8)
		st->next_seq = be64_get(v.mv_data);
	if ((rc = load_pools(st, txn))) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_err(mdb_txn_commit(txn));
}

int km_store_open(const struct km_store_config *cfg, struct km_store **out)
{
	if (!cfg || !cfg->path || !out || (!cfg->kek_file && !cfg->kek_env) ||
	    cfg->default_policy.after_supply > KM_AFTER_PRESERVE ||
	    cfg->default_policy.on_abort > KM_ABORT_DISCARD ||
	    cfg->default_policy.origin > KM_ORIGIN_ODD)
		return -EINVAL;
	*out = NULL;
	if (mkdir(cfg->path, 0700) != 0 && errno != EEXIST)
		return -EIO;
	struct km_store *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&st->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	st->sync = cfg->sync;
	st->default_policy = cfg->default_policy;
	int rc = -ENOMEM;
	if (!(st->kek = km_key_material_alloc(KEK_LEN)) ||
	    !(st->chunk_buf = km_key_material_alloc(KM_CHUNK_BYTES)))
		goto fail;
	if ((rc = kek_load(cfg, st->kek)))
		goto fail;
	rc = -EIO;
	st->enc = EVP_CIPHER_CTX_new();
	st->dec = EVP_CIPHER_CTX_new();
	if (!st->enc || !st->dec ||
	    EVP_EncryptInit_ex(st->enc, EVP_aes_256_gcm(), NULL, st->kek, NULL) != 1 ||
	    EVP_DecryptInit_ex(st->dec, EVP_aes_256_gcm(), NULL, st->kek, NULL) != 1)
		goto fail;
	if (mdb_env_create(&st->env))
		goto fail;
	mdb_env_set_maxdbs(st->env, 8);
	mdb_env_set_maxreaders(st->env, 256);
	if (mdb_env_set_mapsize(st->env, cfg->map_size ? cfg->map_size : (1ULL << 30)))
		goto fail;
	unsigned flags = MDB_NOTLS | (cfg->sync == KM_SYNC_NONE ? MDB_NOSYNC : 0);
	int mrc = mdb_env_open(st->env, cfg->path, flags, 0600);
	if (mrc) {
		rc = mrc == EACCES ? -EACCES : -EIO;
		goto fail;
	}
	int dead;
	mdb_reader_check(st->env, &dead); /* slots of a killed process */
	if ((rc = open_dbs(st)))
		goto fail;
	*out = st;
	return 0;
fail:
	km_store_close(st);
	return rc;
}

void km_store_close(struct km_store *st)
{
	if (!st)
		return;
	if (st->batch_active)
		mdb_txn_abort(st->batch_txn);
	if (st->env)
		mdb_env_close(st->env);
	EVP_CIPHER_CTX_free(st->enc);
	EVP_CIPHER_CTX_free(st->dec);
	if (st->kek)
		km_key_material_free(st->kek, KEK_LEN);
	km_key_material_free(st->chunk_buf, KM_CHUNK_BYTES);
	km_key_material_free(st->plain_buf, (uint32_t)st->plain_cap);
	while (st->takes) {
		struct open_take *t = st->takes;
		st->takes = t->next;
		free(t);
	}
	free(st->pools);
	free(st->saved_pools);
	free(st->ct_buf);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* ---- alarms and meter ---- */
void km_store_set_alarm(struct km_store *st, km_alarm_fn fn, void *ctx)
{
	pthread_mutex_lock(&st->lock);
	st->alarm_fn = fn;
	st->alarm_ctx = ctx;
	pthread_mutex_unlock(&st->lock);
}

void km_store_set_meter(struct km_store *st, struct km_meter *m)
{
	pthread_mutex_lock(&st->lock);
	st->meter = m;
	pthread_mutex_unlock(&st->lock);
}

/* ---- group commit ---- */
int km_store_batch_begin(struct km_store *st)
{
	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	if (st->batch_active) {
		pthread_mutex_unlock(&st->lock);
		return -EBUSY;
	}
	int rc = mdb_err(mdb_txn_begin(st->env, NULL, 0, &st->batch_txn));
	if (rc) {
		pthread_mutex_unlock(&st->lock);
		return rc;
	}
	st->batch_owner = pthread_self();
	__atomic_store_n(&st->batch_active, true, __ATOMIC_RELEASE);
	return 0; /* the lock stays held until km_store_batch_end */
}

/* After a failed group commit the counters describe changes that never reached the disk:
 * rebuild them from the database. */
static void reload_counters(struct km_store *st)
{
	for (size_t i = 0; i < st->npools; i++) {
		struct pool_state *p = &st->pools[i];
		memset(p->keys, 0, sizeof(p->keys));
		p->avail_bits = 0;
	}
	MDB_txn *txn;
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) == 0) {
		load_pools(st, txn);
		mdb_txn_abort(txn);
	}
}

int km_store_batch_end(struct km_store *st)
{
	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	if (!st->batch_active || !pthread_equal(st->batch_owner, pthread_self())) {
		pthread_mutex_unlock(&st->lock);
		return -EINVAL;
	}
	__atomic_store_n(&st->batch_active, false, __ATOMIC_RELEASE);
	int rc = mdb_err(mdb_txn_commit(st->batch_txn));
	st->batch_txn = NULL;
	if (rc) {
		st->nevents = 0;
		reload_counters(st);
	}
	pthread_mutex_unlock(&st->lock); /* the hold taken by km_store_batch_begin */
	store_unlock(st);                /* this call's lock; reports the batch's alarms */
	return rc;
}
