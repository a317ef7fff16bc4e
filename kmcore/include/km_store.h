/* KMA key storage and key life cycle (ITU-T Y.3802 clause 7.2): a durable, crash-safe key store.
 *
 * Keys live in pools: one per QKD link (KM_POOL_LINK) and one per remote KM that keys were relayed
 * to or from (KM_POOL_PEER). Each key has a 16-byte id (a UUID, identical on both ends of a link),
 * metadata and secret material; the material is encrypted at rest with AES-256-GCM under a
 * key-encryption key (KEK) that is never stored with the database. Every state change is one LMDB
 * transaction: when a call returns success the change is durable (KM_SYNC_FULL) and a key id is
 * never handed out twice, across threads and across crashes.
 *
 * Life cycle: AVAILABLE (in the pool) -> RESERVED (set aside for an SAE pair or a relay) ->
 * SUPPLIED (handed to some of its parties) -> CONSUMED (every local party has it). A consumed key
 * is deleted, or preserved without being handed out again, per the pool's policy. A deleted id
 * leaves a tombstone so the same id is never stored again.
 *
 * Resize: applications ask for N keys of S bits. The store takes whole bytes from the oldest
 * available keys of the pool in order (combining small keys, splitting big ones); children and the
 * leftover of a split key get ids derived from their source ids, so the peer KM that holds the same
 * source keys derives byte-identical keys from a short km_take description (its source ids).
 *
 * Thread safety: every function may be called from any thread; writes serialise on one lock. */
#ifndef KM_STORE_H
#define KM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "km_key.h"

struct km_store;
struct km_meter;

/* Pools: the kind in the high 32 bits, the link or node id in the low 32 bits. */
typedef uint64_t km_pool_id;
#define KM_POOL_LINK(link_id) ((1ULL << 32) | (uint32_t)(link_id))
#define KM_POOL_PEER(node_id) ((2ULL << 32) | (uint32_t)(node_id))
#define KM_POOL_KIND(pool) ((uint32_t)((pool) >> 32))
#define KM_POOL_NUM(pool) ((uint32_t)(pool))

#define KM_SAE_ID_MAX 64      /* bytes of an SAE id including the NUL */
#define KM_SAE_SLAVES_MAX 8   /* slave SAEs of one key (ETSI 014 additional_slave_SAE_IDs + 1) */
#define KM_ROUTE_MAX 16       /* node ids in a relay route */
#define KM_TAKE_MAX_SRC 64    /* source keys one take may combine */
#define KM_KEY_MAX_BYTES (1u << 24) /* largest key the store accepts (128 Mbit) */
/* Keys longer than this are stored as chunks of this many bytes (the last one shorter): the first
 * chunk keeps the key's id, chunk i gets km_store_chunk_id(id, i). Both ends of a link chunk the
 * same way, and cutting a few bytes off a big key never re-encrypts more than one chunk. */
#define KM_CHUNK_BYTES 3840u

enum km_key_state {
	KM_KEY_AVAILABLE = 1,
	KM_KEY_RESERVED = 2,
	KM_KEY_SUPPLIED = 3,
	KM_KEY_CONSUMED = 4,
};

enum km_key_type {
	KM_KEY_QKD = 1,     /* from a QKD link (the dataplane's key rings) */
	KM_KEY_RELAYED = 2, /* end-to-end key delivered by key relay */
	KM_KEY_DERIVED = 3, /* produced by resizing (split/combine) */
};

/* What happens to a key once every local party has it. */
enum km_after_supply { KM_AFTER_DELETE = 0, KM_AFTER_PRESERVE = 1 };
/* What an aborted take does with keys it had reserved but never put on the wire. */
enum km_on_abort { KM_ABORT_RETURN = 0, KM_ABORT_DISCARD = 1 };
/* Which available keys this node may start a take from. Both ends of a link draw from the same
 * keys; giving each end one half (by the parity of the id's last byte) keeps them from taking the
 * same key at the same time. Takes named by the peer (km_store_take_named) may use any key. */
enum km_origin { KM_ORIGIN_ALL = 0, KM_ORIGIN_EVEN = 1, KM_ORIGIN_ODD = 2 };

struct km_pool_policy {
	uint64_t ttl_ns;          /* expiry = generation time + ttl; 0: keys never expire */
	uint64_t low_water_bits;  /* alarm when available bits fall below (0: off) */
	uint64_t high_water_bits; /* alarm when available bits rise above (0: off) */
	uint64_t cap_bits;        /* puts beyond this many available bits get -ENOSPC (0: no cap) */
	uint8_t after_supply;     /* enum km_after_supply */
	uint8_t on_abort;         /* enum km_on_abort */
	uint8_t origin;           /* enum km_origin */
};

enum km_sync {
	KM_SYNC_FULL = 0, /* fsync on every commit: acknowledged means on disk (default) */
	KM_SYNC_NONE = 1, /* no fsync: survives a process crash, not a power loss */
};

struct km_store_config {
	const char *path;      /* database directory (created 0700 if missing) */
	const char *kek_file;  /* 32 raw bytes or 64 hex digits; must not be group/other accessible */
	const char *kek_env;   /* or: name of an environment variable holding 64 hex digits */
	uint64_t map_size;     /* LMDB map size in bytes (0: 1 GiB) */
	enum km_sync sync;
	struct km_pool_policy default_policy; /* for pools without their own policy */
};

/* Open (or create) the store. The KEK is checked against the one the store was created with.
 * Errors: -EINVAL bad config, -EPERM KEK file readable by group/other, -ENOENT no KEK,
 * -EKEYREJECTED wrong KEK, -EIO database error. On success *out owns the store. */
int km_store_open(const struct km_store_config *cfg, struct km_store **out);
/* Close and zeroize everything the store holds in memory. Accepts NULL. */
void km_store_close(struct km_store *st);

/* ---- metadata ---- */
struct km_parties {
	char master[KM_SAE_ID_MAX];
	char slaves[KM_SAE_SLAVES_MAX][KM_SAE_ID_MAX];
	uint8_t nslaves;
	/* Who fetches the key from THIS store: bit 0 the master, bit 1+i slave i. The key is consumed
	 * when all of them have fetched it. */
	uint16_t local_mask;
};

struct km_key_meta {
	uint8_t id[KM_KEY_ID_LEN];
	km_pool_id pool;
	uint32_t bits;
	uint8_t type;  /* enum km_key_type */
	uint8_t state; /* enum km_key_state */
	uint16_t fetched_mask; /* parties (same bits as local_mask) that fetched the key */
	uint64_t block_seq;
	uint64_t gen_ns;    /* generation time, CLOCK_REALTIME ns */
	uint64_t expire_ns; /* 0: never */
	uint8_t nroute;
	uint32_t route[KM_ROUTE_MAX]; /* node ids of the relay route (relayed keys) */
	struct km_parties parties;    /* set once the key is reserved for an SAE pair */
};

/* ---- putting keys ---- */
struct km_key_in {
	uint8_t id[KM_KEY_ID_LEN];
	km_pool_id pool;
	uint32_t bits;        /* 1 .. KM_KEY_MAX_BYTES*8 */
	uint8_t type;         /* enum km_key_type */
	uint64_t block_seq;
	uint64_t gen_ns;      /* 0: now */
	uint8_t nroute;
	const uint32_t *route;
	const uint8_t *material; /* (bits + 7) / 8 bytes */
};

/* Store n keys in one durable transaction (all or nothing); they become AVAILABLE. Errors:
 * -EINVAL bad argument, -EEXIST an id is (or was) already in the store, -ENOSPC pool cap. */
int km_store_put(struct km_store *st, const struct km_key_in *keys, unsigned n);
/* The dataplane's descriptors: QKD keys into KM_POOL_LINK(desc.link_id), in batches of 32.
 * Returns how many leading descriptors were stored (their material zeroized, freed with
 * km_key_material_free and set to NULL), or a negative error when none was; the rest are left
 * untouched for the caller to retry or discard. */
int km_store_put_desc(struct km_store *st, struct km_key_desc *descs, unsigned n);
/* Drain a ring-like source: call dequeue(ctx, buf, 32) until it returns 0 or max descriptors were
 * taken, storing each burst with km_store_put_desc. A burst that fails to store is zeroized and
 * freed and counted in *dropped (may be NULL). Returns the number of keys stored or a negative
 * error from dequeue. */
typedef int (*km_desc_dequeue_fn)(void *ctx, struct km_key_desc *buf, unsigned max);
int km_store_drain(struct km_store *st, km_desc_dequeue_fn dequeue, void *ctx, unsigned max,
		   unsigned *dropped);

/* ---- taking material (resize, relay pads) ---- */
/* A take: 'bytes' bytes cut from the named source keys in order: all but the last are used whole,
 * the last from its start; what is left of the last becomes a new AVAILABLE key whose id is
 * km_store_rest_id(last, used). The description is what the peer needs to cut the same bytes. */
struct km_take {
	km_pool_id pool;
	uint32_t bytes;
	uint32_t nsrc;
	uint8_t src[KM_TAKE_MAX_SRC][KM_KEY_ID_LEN];
};
/* An open take: its source keys are RESERVED until commit or abort. */
struct km_take_handle {
	struct km_take take;
	uint64_t txid; /* internal */
};

/* Reserve 'bytes' from the oldest available keys this node may originate from; copy the bytes to
 * out (caller's buffer, ideally km_key_material_alloc'ed). Errors: -EAGAIN not enough key material
 * (nothing changes), -E2BIG more than KM_TAKE_MAX_SRC keys would be needed. */
int km_store_take_begin(struct km_store *st, km_pool_id pool, uint32_t bytes, uint8_t *out,
			struct km_take_handle *h);
/* Reserve exactly the bytes the peer described into out, which must hold t->bytes (check that
 * size against what the message should carry first). -ENOENT a source is unknown or not
 * available, -EPROTO the description does not fit the sources (sizes). */
int km_store_take_named(struct km_store *st, const struct km_take *t, uint8_t *out,
			struct km_take_handle *h);
/* Consume the reserved sources (material zeroized; rest key created). */
int km_store_take_commit(struct km_store *st, struct km_take_handle *h);
/* Give the reservation up: sources go back to AVAILABLE or are discarded (pool's on_abort, or
 * force_discard when the bytes were exposed, e.g. put on the wire). */
int km_store_take_abort(struct km_store *st, struct km_take_handle *h, bool force_discard);

/* ---- supplying keys to SAEs (KSA, ETSI GS QKD 014) ---- */
/* Master side (enc_keys): cut count keys of bits each (bits a multiple of 8) from the pool, assign
 * them to the parties and hand them to the master: ids to ids[count], material to
 * out[count * bits/8]. 't' describes the take for the peer KME (km_store_derive). The keys are
 * SUPPLIED (or CONSUMED when the master is the only local party). -EAGAIN when keys are short. */
int km_store_supply_new(struct km_store *st, km_pool_id pool, const struct km_parties *parties,
			uint32_t count, uint32_t bits, uint8_t (*ids)[KM_KEY_ID_LEN], uint8_t *out,
			struct km_take *t);
/* Peer side: cut the same keys from the same sources and keep them RESERVED for the parties
 * (local_mask says which fetch here). Writes the derived ids to ids[count] when not NULL. */
int km_store_derive(struct km_store *st, const struct km_take *t, const struct km_parties *parties,
		    uint32_t count, uint32_t bits, uint8_t (*ids)[KM_KEY_ID_LEN]);
/* Hand a reserved key to one party (dec_keys, or a local master fetching later). 'sae' must be a
 * party with its bit in local_mask that has not fetched it yet; when master is not NULL it must
 * equal the key's master. out gets the key's bytes, meta (may be NULL) its metadata.
 * -ENOENT unknown (or expired, deleted) id, -EACCES sae not an allowed party, -EALREADY sae already
 * fetched it. */
int km_store_fetch(struct km_store *st, const uint8_t id[KM_KEY_ID_LEN], const char *sae,
		   const char *master, uint8_t *out, size_t cap, struct km_key_meta *meta);
/* Ids of child keys a take produces (both ends compute the same). */
void km_store_child_id(const struct km_take *t, uint32_t index, uint32_t bits,
		       uint8_t id[KM_KEY_ID_LEN]);
void km_store_rest_id(const uint8_t src[KM_KEY_ID_LEN], uint32_t used_bytes,
		      uint8_t id[KM_KEY_ID_LEN]);
/* Id of chunk 'index' (>= 1) of a key stored in chunks (same parity as the key's id). */
void km_store_chunk_id(const uint8_t key[KM_KEY_ID_LEN], uint32_t index, uint8_t id[KM_KEY_ID_LEN]);

/* ---- lookup, life cycle ---- */
/* Metadata only; -ENOENT when absent. */
int km_store_get(struct km_store *st, const uint8_t id[KM_KEY_ID_LEN], struct km_key_meta *meta);
/* Mark a key consumed now (delete or preserve per policy). -ENOENT absent or already consumed. */
int km_store_consume(struct km_store *st, const uint8_t id[KM_KEY_ID_LEN]);
/* Delete keys (any state), zeroizing material; ids are tombstoned. Returns the count deleted. */
int km_store_discard(struct km_store *st, const uint8_t (*ids)[KM_KEY_ID_LEN], unsigned n);
/* Relay resolution at the destination (km_relay.h): the origin of relayed key 'id' (pool = its
 * KM_POOL_PEER) never got the ACK and asks whether we hold it. In one transaction: an AVAILABLE key
 * nobody is taking is deleted -> 0 ("gone", the origin discards too); a key reserved, supplied,
 * being taken, or deleted since (used or expired) -> 1 ("have", the origin stores its copy); an
 * id never stored -> 0, and the id is tombstoned so the key can never be stored later. An id once
 * answered gone stays gone (its tombstone is marked and kept by the pruning). -EINVAL for a key
 * of another pool. */
int km_store_resolve(struct km_store *st, km_pool_id pool, const uint8_t id[KM_KEY_ID_LEN]);
/* Forget tombstones of ids deleted before before_ns (they keep an id from being stored again;
 * ids are random UUIDs, so only a replayed key could come back). Returns the count removed. */
int km_store_prune_tombstones(struct km_store *st, uint64_t before_ns);
/* Delete every key not yet consumed whose expiry is <= now_ns (keys in an open take are left for
 * its commit or abort). Returns the count. */
int km_store_expire(struct km_store *st, uint64_t now_ns);

struct km_pool_stats {
	uint64_t keys[5];        /* by state: index enum km_key_state */
	uint64_t available_bits;
	bool low_alarm, high_alarm;
};
int km_store_pool_stats(struct km_store *st, km_pool_id pool, struct km_pool_stats *s);
/* Visit every key of a pool in key id order (state 0: all states). The callback returns nonzero to
 * stop. Returns the number visited. */
typedef int (*km_key_visit_fn)(void *ctx, const struct km_key_meta *meta);
int km_store_list(struct km_store *st, km_pool_id pool, uint8_t state, km_key_visit_fn fn,
		  void *ctx);
/* km_store_expire that also shows fn the id, pool and bits of each key it deleted, once the
 * deletion is committed (fn's return value is ignored). */
int km_store_expire_visit(struct km_store *st, uint64_t now_ns, km_key_visit_fn fn, void *ctx);
/* Visit every pool that holds or held keys. */
typedef int (*km_pool_visit_fn)(void *ctx, km_pool_id pool, const struct km_pool_stats *s);
int km_store_pools(struct km_store *st, km_pool_visit_fn fn, void *ctx);

/* ---- policies, alarms, metering ---- */
int km_store_set_policy(struct km_store *st, km_pool_id pool, const struct km_pool_policy *p);
int km_store_get_policy(struct km_store *st, km_pool_id pool, struct km_pool_policy *p);

enum km_alarm { KM_ALARM_LOW_WATER = 1, KM_ALARM_HIGH_WATER = 2 };
/* Called after the change that crossed a threshold (raised) or went back (cleared), from the
 * thread that made it, with no store lock held. */
typedef void (*km_alarm_fn)(void *ctx, km_pool_id pool, enum km_alarm alarm, bool raised,
			    uint64_t available_bits);
void km_store_set_alarm(struct km_store *st, km_alarm_fn fn, void *ctx);
/* Every fetch/supply is counted in the meter (per SAE and per pool). NULL detaches. */
void km_store_set_meter(struct km_store *st, struct km_meter *m);

/* ---- group commit ----
 * From km_store_batch_begin to km_store_batch_end, this thread's write operations share one
 * transaction and one fsync; other threads' calls wait. Each operation still succeeds or fails
 * on its own (LMDB nested transactions), and reads in this thread see the batch's changes. None
 * of it is durable before km_store_batch_end returns 0: expose nothing (send no message that
 * spends a pad, acknowledge no key) before then. When it fails, the whole batch is undone.
 * A relay lcore wraps each burst in a batch: one fsync per burst instead of one per message. */
int km_store_batch_begin(struct km_store *st); /* -EBUSY when a batch is already open */
int km_store_batch_end(struct km_store *st);

/* ---- per-link sequence numbers (durable, for Kx-1 relay messages) ---- */
/* Next sequence number to send on a pool's link (starts at 1, never repeats across restarts). */
int km_store_seq_next(struct km_store *st, km_pool_id pool, uint64_t *seq);
/* Last sequence number accepted from the peer on a pool's link (0: none yet). */
int km_store_seq_last_rx(struct km_store *st, km_pool_id pool, uint64_t *seq);
/* Commit a named take only when seq is above the last accepted one, recording it atomically:
 * -EALREADY for a replayed or old sequence number (the take stays open). */
int km_store_take_commit_seq(struct km_store *st, struct km_take_handle *h, uint64_t seq);
/* Last sequence number handed out by km_store_seq_next on a pool's link (0: none). After a
 * restart it is just below the durable limit the numbers resume from. */
int km_store_seq_last_tx(struct km_store *st, km_pool_id pool, uint64_t *seq);
/* Accept nothing at or below seq from the peer any more (a resync: everything the peer sent
 * before it is obsolete). Never lowers the mark. */
int km_store_seq_raise_rx(struct km_store *st, km_pool_id pool, uint64_t seq);

/* ---- resync of a link's pool (Kx-1) ----
 * A lost relay message, a tampered one or a restart can leave the two ends of a link out of step:
 * the sender consumed keys the receiver still holds and made leftover keys (rest ids) the
 * receiver never made, so every later message names keys the receiver lacks. A resync makes them
 * agree again. The initiator (km_resync_start) and the responder (km_resync_accept, from the
 * initiator's first message) each send the ids of their AVAILABLE keys generated at or before
 * cutoff_ns (0: all) and keep the ids both hold.
 * The exchange is authenticated by the keys it agrees on: once an end holds both id sets it cuts
 * the first 64 bytes of the agreed keys (ascending id order; keys nobody but the two ends knows)
 * and sends a confirm tagged with Poly1305 over the transcript (pool, cutoff, both nonces,
 * SHA-256 of both id sets as each end sees them, its own last sent sequence number): the
 * initiator's under bytes 0-31, the responder's under 32-63. Those 64 bytes are consumed when the
 * confirm goes out. km_resync_finish discards nothing until the peer's confirm verifies, so a
 * forged, altered or replayed id set or confirm changes no key (-EBADMSG); it then discards the
 * keys only this end holds and raises the link's receive mark to the peer's last sent sequence
 * number (its messages from before the resync are obsolete). Both ends report the same digest.
 * Run it while the link's relays are paused (dp_relay does: no message out, none taken in). */
/* 80 ids: a message (1.4 KB with the relay header) fits a 1500-byte Ethernet frame and one
 * 2 KB mbuf, so it never travels as a chain of segments */
#define KM_RESYNC_IDS_PER_MSG 80
#define KM_RESYNC_MSG_MAX (128 + KM_RESYNC_IDS_PER_MSG * KM_KEY_ID_LEN)
#define KM_RESYNC_NONCE_LEN 16
#define KM_RESYNC_AUTH_BYTES 64 /* of agreed keys consumed by the two confirms */
struct km_resync;
int km_resync_start(struct km_store *st, km_pool_id pool, uint64_t cutoff_ns,
		    struct km_resync **out);
/* Responder: a session for the initiator's first ids message (then pass that message to
 * km_resync_receive). -EPROTO when msg is not an initiator's first ids message. */
int km_resync_accept(struct km_store *st, const uint8_t *msg, size_t len, struct km_resync **out);
/* Write the next message to send (at most KM_RESYNC_MSG_MAX bytes) to buf and return its
 * length: ids messages, then the confirm once the peer's whole set arrived; 0 when there is
 * nothing to send now. -ENOSPC cap too small; -EAGAIN the agreed keys hold fewer than
 * KM_RESYNC_AUTH_BYTES (the link cannot be resynced: re-provision it). */
int km_resync_next(struct km_resync *rs, uint8_t *buf, size_t cap);
/* A message of the peer: 0 taken, 1 the peer's confirm arrived (everything it sends), -EALREADY
 * one already taken (a duplicate: ignore it), -EPROTO malformed or out of order, -EINVAL another
 * pool or cutoff, -ESRCH another session (nonce); nothing changes on error. */
int km_resync_receive(struct km_resync *rs, const uint8_t *msg, size_t len);
/* True once this end sent its confirm and holds the peer's. */
bool km_resync_done(const struct km_resync *rs);
/* Verify the peer's confirm, discard own keys the peer lacks, raise the receive mark; digest =
 * SHA-256 of the agreed ids in ascending order. Returns the count discarded; -EAGAIN when not
 * done, -EBADMSG when the peer's confirm does not verify (nothing discarded). */
int km_resync_finish(struct km_resync *rs, uint8_t digest[32]);
void km_resync_free(struct km_resync *rs);
/* What a resync message is (for the receiver to find or start its session). */
struct km_resync_info {
	km_pool_id pool;
	uint64_t cutoff_ns;
	bool from_responder;
	bool first; /* the initiator's first ids message: starts a session */
	uint8_t nonce[KM_RESYNC_NONCE_LEN]; /* the initiator's: names the session */
};
/* -EPROTO when it is not a resync message. */
int km_resync_peek(const uint8_t *msg, size_t len, struct km_resync_info *info);
bool km_resync_is_initiator(const struct km_resync *rs);
/* The session's name (the initiator's nonce). */
const uint8_t *km_resync_nonce(const struct km_resync *rs);

/* ---- authentication material of the QKD links ----
 * The dataplane's Wegman-Carter pad pools, persisted so a restarted node never reuses a pad:
 * opaque records addressed by (link, rec), sealed with AES-256-GCM under the KEK with the address
 * as associated data. They live outside every key pool and are never supplied, relayed or resynced.
 * Writes join this thread's group commit like any other write. */
#define KM_AUTH_REC_MAX (1u << 20) /* bytes of one record */
int km_store_auth_put(struct km_store *st, uint32_t link, uint64_t rec, const uint8_t *data,
		      size_t len);
/* The record's bytes in *data (km_key_material_alloc'ed, free with km_key_material_free(*data,
 * *len ? *len : 1)). -ENOENT absent, -EBADMSG truncated or altered (fails authentication). */
int km_store_auth_get(struct km_store *st, uint32_t link, uint64_t rec, uint8_t **data, size_t *len);
int km_store_auth_del(struct km_store *st, uint32_t link, uint64_t rec); /* -ENOENT absent */
/* Visit a link's records in rec order (the bytes are wiped after the callback; nonzero stops).
 * Returns the count visited, -EBADMSG when a record fails authentication. */
typedef int (*km_auth_visit_fn)(void *ctx, uint64_t rec, const uint8_t *data, size_t len);
int km_store_auth_list(struct km_store *st, uint32_t link, km_auth_visit_fn fn, void *ctx);
/* Delete every record of a link; returns the count. */
int km_store_auth_clear(struct km_store *st, uint32_t link);

/* How many km_key_material_alloc() blocks could not be mlock'ed (RLIMIT_MEMLOCK exhausted). */
unsigned long km_key_material_unlocked(void);

/* ---- key ids ---- */
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (36 chars + NUL). */
void km_uuid_format(const uint8_t id[KM_KEY_ID_LEN], char out[37]);
/* Parse the canonical form (either case). -EINVAL when malformed. */
int km_uuid_parse(const char *s, uint8_t id[KM_KEY_ID_LEN]);
/* A random version-4 UUID from the OpenSSL DRBG. */
int km_uuid_random(uint8_t id[KM_KEY_ID_LEN]);

#endif
