/* Private to kmcore/store: the store object, the on-disk record and helpers shared by its files. */
#ifndef KM_STORE_INTERNAL_H
#define KM_STORE_INTERNAL_H

#include <lmdb.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "km_store.h"

#define KEK_LEN 32
#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN 16
#define REC_MAGIC 0x4b4d5231u /* "KMR1" */

/* In-memory view of one pool: counters rebuilt from the database at open. */
struct pool_state {
	km_pool_id pool;
	struct km_pool_policy policy;
	bool own_policy;
	uint64_t keys[5];
	uint64_t avail_bits;
	bool low_alarm, high_alarm;
	uint64_t tx_seq, tx_limit, rx_seq;
};

/* A take between begin and commit/abort: its sources are reserved in memory only, so a crash
 * simply leaves them available (callers commit before exposing the bytes). */
struct open_take {
	uint64_t txid;
	struct km_take take;
	uint32_t last_used; /* bytes of the last source the take uses */
	uint32_t last_bits; /* bits of the last source */
	struct open_take *next;
};

struct alarm_event {
	km_pool_id pool;
	enum km_alarm alarm;
	bool raised;
	uint64_t bits;
};
#define MAX_ALARM_EVENTS 16

struct km_store {
	MDB_env *env;
	MDB_dbi db_keys;   /* id -> record */
	MDB_dbi db_avail;  /* pool BE | seq BE -> id: available keys in age order */
	MDB_dbi db_expiry; /* expire BE | id -> "" */
	MDB_dbi db_tomb;   /* id -> deletion time: ids that must never come back */
	MDB_dbi db_pools;  /* pool -> struct pool_rec */
	MDB_dbi db_meta;   /* "kek_check", "seq" */
	MDB_dbi db_auth;   /* link BE32 | rec BE64 -> sealed authentication material */
	pthread_mutex_t lock; /* recursive: a group commit holds it across calls */
	MDB_txn *batch_txn;   /* open group commit (km_store_batch_begin), owned by batch_owner */
	pthread_t batch_owner;
	bool batch_active;
	uint8_t *kek; /* KEK_LEN bytes of locked memory */
	EVP_CIPHER_CTX *enc, *dec; /* AES-256-GCM keyed with the KEK */
	enum km_sync sync;
	struct km_pool_policy default_policy;
	struct pool_state *pools, *saved_pools; /* saved: snapshot taken at wtxn_begin */
	size_t npools, cap_pools, saved_npools;
	uint64_t saved_seq;
	uint8_t *ct_buf;
	size_t ct_cap;
	uint8_t *chunk_buf;  /* locked, KM_CHUNK_BYTES: one record's plaintext (used under lock) */
	uint8_t *plain_buf;  /* locked, grows: a supply's plaintext (used under lock) */
	size_t plain_cap;
	struct open_take *takes;
	uint64_t next_txid;
	uint64_t next_seq;
	km_alarm_fn alarm_fn;
	void *alarm_ctx;
	struct km_meter *meter;
	struct alarm_event events[MAX_ALARM_EVENTS];
	unsigned nevents, saved_nevents;
};

/* Persisted per pool. */
struct pool_rec {
	uint32_t version;
	uint8_t own_policy;
	uint8_t pad[3];
	struct km_pool_policy policy;
	uint64_t tx_limit, rx_seq; /* tx sequence numbers below tx_limit may have been used */
};

/* The fixed head of a key record; followed by route[nroute] (u32), the master SAE id and nslaves
 * slave ids (each NUL-terminated), then ct_len bytes of ciphertext. */
struct rec_hdr {
	uint32_t magic;
	uint8_t type, state, nroute, nslaves;
	uint16_t local_mask, fetched_mask;
	uint32_t bits;
	uint32_t ct_len;
	uint32_t reserved0;
	uint64_t pool;
	uint64_t seq;
	uint64_t block_seq;
	uint64_t gen_ns;
	uint64_t expire_ns;
	uint8_t nonce[GCM_NONCE_LEN];
	uint8_t tag[GCM_TAG_LEN];
};

/* A decoded record: metadata plus a pointer to its ciphertext inside the LMDB value. */
struct rec {
	struct km_key_meta meta;
	uint64_t seq;
	uint32_t ct_len;
	uint8_t nonce[GCM_NONCE_LEN];
	uint8_t tag[GCM_TAG_LEN];
	const uint8_t *ct;
};

/* store_record.c */
int rec_decode(const uint8_t id[KM_KEY_ID_LEN], const MDB_val *v, struct rec *r);
/* Encode metadata + ciphertext into a new buffer; *len set. */
uint8_t *rec_encode(const struct rec *r, size_t *len);
int rec_seal(struct km_store *st, struct rec *r, const uint8_t *plain, uint8_t *ct);
int rec_open(struct km_store *st, const struct rec *r, uint8_t *plain);

/* store_kek.c */
int kek_load(const struct km_store_config *cfg, uint8_t kek[KEK_LEN]);

/* store.c: shared pieces of the write path (caller holds st->lock and a write txn). */
uint64_t now_ns(void);
struct pool_state *pool_get(struct km_store *st, km_pool_id pool, bool create);
void pool_account(struct km_store *st, struct pool_state *p, uint8_t state, uint32_t bits, int sign);
void pool_check_alarms(struct km_store *st, struct pool_state *p);
/* Release st->lock, then report the alarms the finished operation raised or cleared. */
void store_unlock(struct km_store *st);
int rec_get(struct km_store *st, MDB_txn *txn, const uint8_t id[KM_KEY_ID_LEN], struct rec *r);
/* Rewrite an existing record (metadata change). */
int rec_update(struct km_store *st, MDB_txn *txn, const struct rec *r);
/* Remove a key's index entries, its record, tombstone the id; adjusts counters. */
int rec_delete(struct km_store *st, MDB_txn *txn, const struct rec *r);
/* Move a key to a new state (CONSUMED follows the pool's after_supply policy). */
int rec_set_state(struct km_store *st, MDB_txn *txn, struct rec *r, uint8_t state);
/* Write transactions snapshot the in-memory counters so an abort restores them. The caller holds
 * st->lock from wtxn_begin to wtxn_commit/wtxn_abort. */
int wtxn_begin(struct km_store *st, MDB_txn **txn);
int wtxn_commit(struct km_store *st, MDB_txn *txn);
void wtxn_abort(struct km_store *st, MDB_txn *txn);
int rtxn_begin(struct km_store *st, MDB_txn **txn);
/* Insert a new record (and its index entries); -EEXIST when the id exists or was deleted. */
int rec_insert(struct km_store *st, MDB_txn *txn, struct rec *r);
/* Locked plaintext scratch for one record (the chunk buffer when it fits, else a fresh
 * allocation); release with plain_put, which zeroizes it. Caller holds st->lock. */
uint8_t *plain_get(struct km_store *st, uint32_t len);
void plain_put(struct km_store *st, uint8_t *p, uint32_t len);
/* Locked plaintext buffer for a whole supply (grows, kept); zeroize after use. */
uint8_t *supply_buf(struct km_store *st, size_t len);
/* Grow the ciphertext scratch buffer. */
uint8_t *ct_scratch(struct km_store *st, size_t len);
int mdb_err(int rc);
bool id_reserved(const struct km_store *st, const uint8_t id[KM_KEY_ID_LEN]);
void be64_put(uint8_t *p, uint64_t v);
uint64_t be64_get(const uint8_t *p);
int pool_save(struct km_store *st, MDB_txn *txn, const struct pool_state *p);

/* Value of one hex digit (either case), or -1. */
int km_hex_nibble(char c);

#endif
