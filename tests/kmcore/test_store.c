/* Key store: put/get, KEK handling, resize with both ends agreeing, supply and fetch rules,
 * consume/preserve, TTL expiry, alarms, encryption at rest, dataplane descriptors, concurrent
 * consumers never sharing a key, and resync. Reference material comes from the test stream
 * (su_key), never from the store. */
#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>

#include "km_meter.h"
#include "store_util.h"

#define POOL KM_POOL_LINK(7)

static void test_uuid_text(void)
{
	/* RFC 9562 example layout */
	const uint8_t want[16] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
				  0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00};
	uint8_t id[16];
	char s[37];
	CU_ASSERT_EQUAL(km_uuid_parse("123e4567-E89B-12d3-a456-426614174000", id), 0);
	CU_ASSERT(memcmp(id, want, 16) == 0);
	km_uuid_format(want, s);
	CU_ASSERT_STRING_EQUAL(s, "123e4567-e89b-12d3-a456-426614174000");
	const char *bad[] = {"", "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400",
			     "123e4567-e89b-12d3-a456-4266141740000", "123e4567-e89b-12d3-a456_426614174000",
			     "123e4567-e89b-12d3-a456-42661417400g"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(km_uuid_parse(bad[i], id), -EINVAL);
	CU_ASSERT_EQUAL(km_uuid_random(id), 0);
	CU_ASSERT_EQUAL(id[6] >> 4, 4);
	CU_ASSERT_EQUAL(id[8] >> 6, 2);
}

static void test_kek_rules(void)
{
	char dir[256], kek[300];
	su_tmpdir(dir, sizeof(dir), "kek");
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	snprintf(kek, sizeof(kek), "%s.kek", dir);
	struct km_store_config cfg = {.path = dir, .kek_file = kek};
	struct km_store *st = NULL;
	CU_ASSERT_EQUAL(km_store_open(&cfg, &st), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(su_write_kek(kek, TEST_KEK_HEX, 0644), 0);
	CU_ASSERT_EQUAL(km_store_open(&cfg, &st), -EPERM);
	CU_ASSERT_EQUAL_FATAL(su_write_kek(kek, TEST_KEK_HEX, 0640), 0);
	CU_ASSERT_EQUAL(km_store_open(&cfg, &st), -EPERM);
	CU_ASSERT_EQUAL_FATAL(su_write_kek(kek, "abcd", 0600), 0);
	CU_ASSERT_EQUAL(km_store_open(&cfg, &st), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(su_write_kek(kek, TEST_KEK_HEX, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(km_store_open(&cfg, &st), 0);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 1, 0, 3, 64), 0);
	km_store_close(st);
	/* same KEK from the environment opens it; a different KEK is refused */
	st = su_open(dir, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL(st);
	km_store_close(st);
	CU_ASSERT_EQUAL_FATAL(
		su_write_kek(kek, "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0600), 0);
	CU_ASSERT_EQUAL(km_store_open(&cfg, &st), -EKEYREJECTED);
	unlink(kek);
	su_rmdir(dir);
}

static void test_put_get_and_duplicates(void)
{
	char dir[256];
	su_tmpdir(dir, sizeof(dir), "put");
	struct km_store *st = su_open(dir, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 2, 0, 5, 100), 0);
	uint8_t id[16], mat[100];
	su_key(2, 3, id, mat, sizeof(mat));
	struct km_key_meta m;
	CU_ASSERT_EQUAL_FATAL(km_store_get(st, id, &m), 0);
	CU_ASSERT_EQUAL(m.bits, 800);
	CU_ASSERT_EQUAL(m.pool, POOL);
	CU_ASSERT_EQUAL(m.state, KM_KEY_AVAILABLE);
	CU_ASSERT_EQUAL(m.type, KM_KEY_QKD);
	CU_ASSERT_EQUAL(m.block_seq, 3);
	CU_ASSERT_EQUAL(m.gen_ns, 1000000003ULL);
	/* a batch with one id already stored is refused as a whole */
	struct km_key_in k[2] = {{.pool = POOL, .bits = 800, .type = KM_KEY_QKD, .material = mat},
				 {.pool = POOL, .bits = 800, .type = KM_KEY_QKD, .material = mat}};
	su_key(2, 99, k[0].id, mat, sizeof(mat));
	memcpy(k[1].id, id, 16);
	CU_ASSERT_EQUAL(km_store_put(st, k, 2), -EEXIST);
	CU_ASSERT_EQUAL(km_store_get(st, k[0].id, &m), -ENOENT);
	struct km_pool_stats s;
	CU_ASSERT_EQUAL(km_store_pool_stats(st, POOL, &s), 0);
	CU_ASSERT_EQUAL(s.keys[KM_KEY_AVAILABLE], 5);
	CU_ASSERT_EQUAL(s.available_bits, 4000);
	/* bad input changes nothing */
	k[0].bits = 0;
	CU_ASSERT_EQUAL(km_store_put(st, k, 1), -EINVAL);
	k[0].bits = 8;
	k[0].pool = 5ULL << 32;
	CU_ASSERT_EQUAL(km_store_put(st, k, 1), -EINVAL);
	/* a deleted id never comes back */
	CU_ASSERT_EQUAL(km_store_discard(st, (const uint8_t(*)[16])id, 1), 1);
	k[0].pool = POOL;
	k[0].bits = 800;
	memcpy(k[0].id, id, 16);
	CU_ASSERT_EQUAL(km_store_put(st, k, 1), -EEXIST);
	CU_ASSERT_EQUAL(km_store_pool_stats(st, POOL, &s), 0);
	CU_ASSERT_EQUAL(s.keys[KM_KEY_AVAILABLE], 4);
	/* once its tombstone is pruned the id may be stored again */
	CU_ASSERT_EQUAL(km_store_prune_tombstones(st, 1000), 0); /* deleted after 1970 + 1 us */
	CU_ASSERT_EQUAL(km_store_prune_tombstones(st, UINT64_MAX), 1);
	CU_ASSERT_EQUAL(km_store_put(st, k, 1), 0);
	km_store_close(st);
	su_rmdir(dir);
}

/* Reference: the concatenation of whole bytes of stream keys first..first+n-1. */
static uint8_t *stream_bytes(uint64_t seed, uint32_t first, uint32_t n, uint32_t bytes)
{
	uint8_t *out = malloc((size_t)n * bytes), id[16];
	for (uint32_t i = 0; i < n; i++)
		su_key(seed, first + i, id, out + (size_t)i * bytes, bytes);
	return out;
}

/* km_store_resolve (relay resolution at the destination), by definition: available -> deleted,
 * gone; never stored -> gone and the id barred; used since -> have; a gone answer stays gone and
 * its tombstone survives pruning; another pool's key is refused. */
static void test_resolve(void)
{
	char dir[256];
	su_tmpdir(dir, sizeof(dir), "resolve");
	struct km_store *st = su_open(dir, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	km_pool_id peer = KM_POOL_PEER(7);
	CU_ASSERT_EQUAL_FATAL(su_put_stream(st, peer, 42, 0, 3, 32), 0);
	uint8_t id[3][KM_KEY_ID_LEN], mat[32], fresh[KM_KEY_ID_LEN];
	for (uint32_t i = 0; i < 3; i++)
		su_key(42, i, id[i], mat, sizeof(mat));
	struct km_key_meta m;
	CU_ASSERT_EQUAL(km_store_resolve(st, KM_POOL_PEER(8), id[0]), -EINVAL);
	CU_ASSERT_EQUAL(km_store_resolve(st, peer, id[0]), 0); /* available: deleted */
	CU_ASSERT_EQUAL(km_store_get(st, id[0], &m), -ENOENT);
	CU_ASSERT_EQUAL(km_store_resolve(st, peer, id[0]), 0); /* asked again: still gone */
	CU_ASSERT_EQUAL(km_store_consume(st, id[1]), 0);       /* used by an SAE */
	CU_ASSERT_EQUAL(km_store_resolve(st, peer, id[1]), 1);
	struct km_take_handle h;
	uint8_t out[32];
	CU_ASSERT_EQUAL_FATAL(km_store_take_begin(st, peer, 32, out, &h), 0); /* being taken */
	CU_ASSERT_EQUAL(km_store_resolve(st, peer, id[2]), 1);
	CU_ASSERT_EQUAL(km_store_take_abort(st, &h, false), 0);
	memset(fresh, 0x5a, sizeof(fresh));
	CU_ASSERT_EQUAL(km_store_resolve(st, peer, fresh), 0); /* never stored: barred */
	struct km_key_in k = {.pool = peer, .bits = 256, .type = KM_KEY_RELAYED, .material = mat};
	memcpy(k.id, fresh, KM_KEY_ID_LEN);
	CU_ASSERT_EQUAL(km_store_put(st, &k, 1), -EEXIST);
	CU_ASSERT_EQUAL(km_store_prune_tombstones(st, UINT64_MAX), 1); /* id[1]'s, not the gone ones */
	CU_ASSERT_EQUAL(km_store_put(st, &k, 1), -EEXIST);
	CU_ASSERT_EQUAL(km_store_resolve(st, peer, id[0]), 0);
	km_store_close(st);
	su_rmdir(dir);
}

static void test_take_both_ends_agree(void)
{
	char da[256], db[256];
	su_tmpdir(da, sizeof(da), "ta");
	su_tmpdir(db, sizeof(db), "tb");
	struct km_store *a = su_open(da, KM_SYNC_NONE, NULL), *b = su_open(db, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(su_put_stream(a, POOL, 3, 0, 4, 50), 0);
	CU_ASSERT_EQUAL(su_put_stream(b, POOL, 3, 0, 4, 50), 0);
	uint8_t *ref = stream_bytes(3, 0, 4, 50);
	/* 120 bytes: keys 0 and 1 whole, 20 bytes of key 2 */
	uint8_t got_a[120], got_b[120];
	struct km_take_handle ha, hb;
	CU_ASSERT_EQUAL_FATAL(km_store_take_begin(a, POOL, 120, got_a, &ha), 0);
	CU_ASSERT_EQUAL(ha.take.nsrc, 3);
	CU_ASSERT(memcmp(got_a, ref, 120) == 0);
	/* reserved sources are not offered again */
	uint8_t more[100];
	struct km_take_handle hx;
	CU_ASSERT_EQUAL(km_store_take_begin(a, POOL, 90, more, &hx), -EAGAIN);
	CU_ASSERT_EQUAL_FATAL(km_store_take_named(b, &ha.take, got_b, &hb), 0);
	CU_ASSERT(memcmp(got_b, ref, 120) == 0);
	CU_ASSERT_EQUAL(km_store_take_commit(a, &ha), 0);
	CU_ASSERT_EQUAL(km_store_take_commit(b, &hb), 0);
	/* the leftover of key 2 exists on both ends under the same derived id */
	uint8_t id2[16], rest[16], mat[50];
	su_key(3, 2, id2, mat, 50);
	km_store_rest_id(id2, 20, rest);
	struct km_key_meta m;
	CU_ASSERT_EQUAL(km_store_get(a, rest, &m), 0);
	CU_ASSERT_EQUAL(m.bits, 240);
	CU_ASSERT_EQUAL(km_store_get(b, rest, &m), 0);
	CU_ASSERT_EQUAL(km_store_get(a, id2, &m), -ENOENT);
	/* next take continues with the leftover, then key 3 */
	uint8_t next[40];
	CU_ASSERT_EQUAL_FATAL(km_store_take_begin(a, POOL, 40, next, &ha), 0);
	CU_ASSERT(memcmp(next, ref + 120, 40) == 0);
	CU_ASSERT_EQUAL(km_store_take_abort(a, &ha, false), 0); /* default policy: returned */
	CU_ASSERT_EQUAL_FATAL(km_store_take_begin(a, POOL, 40, next, &ha), 0);
	CU_ASSERT(memcmp(next, ref + 120, 40) == 0);
	CU_ASSERT_EQUAL(km_store_take_abort(a, &ha, true), 0); /* exposed: discarded */
	CU_ASSERT_EQUAL(km_store_get(a, rest, &m), -ENOENT);
	/* a take naming keys that are gone, or sizes that do not fit, is refused */
	CU_ASSERT_EQUAL(km_store_take_named(b, &hb.take, got_b, &hx), -ENOENT);
	struct km_take bad = {.pool = POOL, .bytes = 60, .nsrc = 1};
	memcpy(bad.src[0], rest, 16);
	CU_ASSERT_EQUAL(km_store_take_named(b, &bad, got_b, &hx), -EPROTO);
	free(ref);
	km_store_close(a);
	km_store_close(b);
	su_rmdir(da);
	su_rmdir(db);
}

static void test_big_keys_stored_in_chunks(void)
{
	char d[256];
	su_tmpdir(d, sizeof(d), "chunk");
	struct km_store *st = su_open(d, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	enum { B = 2 * KM_CHUNK_BYTES + 1000 };
	uint8_t *mat = malloc(B), *out = malloc(B), id[16];
	su_key(12, 0, id, mat, B);
	struct km_key_in k = {.pool = POOL, .bits = B * 8 - 3, .type = KM_KEY_QKD, .material = mat};
	memcpy(k.id, id, 16);
	CU_ASSERT_EQUAL_FATAL(km_store_put(st, &k, 1), 0);
	struct km_pool_stats s;
	km_store_pool_stats(st, POOL, &s);
	CU_ASSERT_EQUAL(s.keys[KM_KEY_AVAILABLE], 3);
	CU_ASSERT_EQUAL(s.available_bits, B * 8 - 3);
	struct km_key_meta m;
	uint8_t c2[16];
	km_store_chunk_id(id, 2, c2);
	CU_ASSERT_EQUAL(c2[15] & 1, id[15] & 1);
	CU_ASSERT_EQUAL(km_store_get(st, id, &m), 0);
	CU_ASSERT_EQUAL(m.bits, KM_CHUNK_BYTES * 8);
	CU_ASSERT_EQUAL(km_store_get(st, c2, &m), 0);
	CU_ASSERT_EQUAL(m.bits, 1000 * 8 - 3);
	/* the chunks read back in order give the key's whole bytes */
	struct km_take_handle h;
	CU_ASSERT_EQUAL_FATAL(km_store_take_begin(st, POOL, B - 1, out, &h), 0);
	CU_ASSERT_EQUAL(h.take.nsrc, 3);
	CU_ASSERT(memcmp(out, mat, B - 1) == 0);
	CU_ASSERT_EQUAL(km_store_take_commit(st, &h), 0);
	/* chunk ids are tombstoned with the key: the same key cannot be stored twice */
	CU_ASSERT_EQUAL(km_store_put(st, &k, 1), -EEXIST);
	free(mat);
	free(out);
	km_store_close(st);
	su_rmdir(d);
}

static struct km_parties parties(const char *master, const char *slave, uint16_t local)
{
	struct km_parties p;
	memset(&p, 0, sizeof(p));
	strcpy(p.master, master);
	strcpy(p.slaves[0], slave);
	p.nslaves = 1;
	p.local_mask = local;
	return p;
}

static void test_supply_derive_fetch(void)
{
	char da[256], db[256];
	su_tmpdir(da, sizeof(da), "sa");
	su_tmpdir(db, sizeof(db), "sb");
	struct km_store *a = su_open(da, KM_SYNC_NONE, NULL), *b = su_open(db, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	struct km_meter *ma = km_meter_create(), *mb = km_meter_create();
	km_store_set_meter(a, ma);
	km_store_set_meter(b, mb);
	CU_ASSERT_EQUAL(su_put_stream(a, POOL, 4, 0, 3, 100), 0);
	CU_ASSERT_EQUAL(su_put_stream(b, POOL, 4, 0, 3, 100), 0);
	uint8_t *ref = stream_bytes(4, 0, 3, 100);
	/* master on A, slave on B: 5 keys of 256 bits = 160 bytes, combining keys 0 and 1 */
	struct km_parties pa = parties("SAE_A", "SAE_B", 1), pb = parties("SAE_A", "SAE_B", 2);
	uint8_t ids[5][16], ids_b[5][16], out[160];
	struct km_take t;
	CU_ASSERT_EQUAL_FATAL(km_store_supply_new(a, POOL, &pa, 5, 256, ids, out, &t), 0);
	CU_ASSERT(memcmp(out, ref, 160) == 0);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < i; j++)
			CU_ASSERT(memcmp(ids[i], ids[j], 16) != 0);
	CU_ASSERT_EQUAL_FATAL(km_store_derive(b, &t, &pb, 5, 256, ids_b), 0);
	CU_ASSERT(memcmp(ids, ids_b, sizeof(ids)) == 0);
	/* A: master was the only local party and the policy deletes: gone */
	struct km_key_meta m;
	CU_ASSERT_EQUAL(km_store_get(a, ids[0], &m), -ENOENT);
	CU_ASSERT_EQUAL(km_store_get(b, ids[0], &m), 0);
	CU_ASSERT_EQUAL(m.state, KM_KEY_RESERVED);
	CU_ASSERT_STRING_EQUAL(m.parties.master, "SAE_A");
	uint8_t k[32];
	CU_ASSERT_EQUAL(km_store_fetch(b, ids[2], "SAE_X", NULL, k, 32, NULL), -EACCES);
	CU_ASSERT_EQUAL(km_store_fetch(b, ids[2], "SAE_A", NULL, k, 32, NULL), -EACCES); /* not local */
	CU_ASSERT_EQUAL(km_store_fetch(b, ids[2], "SAE_B", "SAE_Z", k, 32, NULL), -EACCES);
	CU_ASSERT_EQUAL(km_store_fetch(b, ids[2], "SAE_B", "SAE_A", k, 16, NULL), -ENOSPC);
	CU_ASSERT_EQUAL_FATAL(km_store_fetch(b, ids[2], "SAE_B", "SAE_A", k, 32, &m), 0);
	CU_ASSERT(memcmp(k, ref + 64, 32) == 0);
	CU_ASSERT_EQUAL(m.bits, 256);
	CU_ASSERT_EQUAL(km_store_fetch(b, ids[2], "SAE_B", "SAE_A", k, 32, NULL), -ENOENT);
	uint8_t unknown[16] = {1};
	CU_ASSERT_EQUAL(km_store_fetch(b, unknown, "SAE_B", NULL, k, 32, NULL), -ENOENT);
	/* metering: 5 keys / 1280 bits to SAE_A on A, 1 key to SAE_B on B */
	struct km_meter_count c;
	CU_ASSERT_EQUAL(km_meter_sae(ma, "SAE_A", &c), 0);
	CU_ASSERT_EQUAL(c.keys, 5);
	CU_ASSERT_EQUAL(c.bits, 1280);
	CU_ASSERT_EQUAL(km_meter_pool(mb, POOL, &c), 0);
	CU_ASSERT_EQUAL(c.keys, 1);
	CU_ASSERT_EQUAL(c.bits, 256);
	json_t *j = km_meter_json(ma);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(json_object_get(j, "links"), "7"), "bits")), 1280);
	json_decref(j);
	/* wrong sizes are refused without change */
	CU_ASSERT_EQUAL(km_store_supply_new(a, POOL, &pa, 1, 12, ids, out, &t), -EINVAL);
	CU_ASSERT_EQUAL(km_store_supply_new(a, POOL, &pa, 0, 256, ids, out, &t), -EINVAL);
	CU_ASSERT_EQUAL(km_store_supply_new(a, POOL, &pa, 10, 256, ids, out, &t), -EAGAIN);
	struct km_pool_stats s;
	CU_ASSERT_EQUAL(km_store_pool_stats(a, POOL, &s), 0);
	CU_ASSERT_EQUAL(s.available_bits, 140 * 8);
	km_store_set_meter(a, NULL);
	km_store_set_meter(b, NULL);
	km_meter_free(ma);
	km_meter_free(mb);
	free(ref);
	km_store_close(a);
	km_store_close(b);
	su_rmdir(da);
	su_rmdir(db);
}

static void test_same_kme_and_preserve(void)
{
	char d[256];
	su_tmpdir(d, sizeof(d), "pr");
	struct km_pool_policy pol = {.after_supply = KM_AFTER_PRESERVE};
	struct km_store *st = su_open(d, KM_SYNC_NONE, &pol);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 5, 0, 1, 64), 0);
	uint8_t *ref = stream_bytes(5, 0, 1, 64);
	/* master and slave on the same KME */
	struct km_parties p = parties("M", "S", 3);
	uint8_t ids[2][16], out[64], k[32];
	struct km_take t;
	CU_ASSERT_EQUAL_FATAL(km_store_supply_new(st, POOL, &p, 2, 256, ids, out, &t), 0);
	struct km_key_meta m;
	CU_ASSERT_EQUAL(km_store_get(st, ids[1], &m), 0);
	CU_ASSERT_EQUAL(m.state, KM_KEY_SUPPLIED);
	CU_ASSERT_EQUAL(km_store_fetch(st, ids[1], "M", NULL, k, 32, NULL), -EALREADY);
	CU_ASSERT_EQUAL(km_store_fetch(st, ids[1], "S", "M", k, 32, NULL), 0);
	CU_ASSERT(memcmp(k, ref + 32, 32) == 0);
	/* preserved: still stored, consumed, never handed out again */
	CU_ASSERT_EQUAL(km_store_get(st, ids[1], &m), 0);
	CU_ASSERT_EQUAL(m.state, KM_KEY_CONSUMED);
	CU_ASSERT_EQUAL(km_store_fetch(st, ids[1], "S", "M", k, 32, NULL), -ENOENT);
	CU_ASSERT_EQUAL(km_store_consume(st, ids[0]), 0);
	CU_ASSERT_EQUAL(km_store_consume(st, ids[0]), -ENOENT);
	struct km_pool_stats s;
	km_store_pool_stats(st, POOL, &s);
	CU_ASSERT_EQUAL(s.keys[KM_KEY_CONSUMED], 2);
	free(ref);
	km_store_close(st);
	su_rmdir(d);
}

static void test_expiry(void)
{
	char d[256];
	su_tmpdir(d, sizeof(d), "ex");
	struct km_pool_policy pol = {.ttl_ns = 1000};
	struct km_store *st = su_open(d, KM_SYNC_NONE, &pol);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	/* keys generated at 1e9 + i ns expire at 1e9 + i + 1000 */
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 6, 0, 10, 16), 0);
	CU_ASSERT_EQUAL(km_store_expire(st, 1000000000ULL + 1000 + 4), 5);
	struct km_pool_stats s;
	km_store_pool_stats(st, POOL, &s);
	CU_ASSERT_EQUAL(s.keys[KM_KEY_AVAILABLE], 5);
	uint8_t id[16], mat[16];
	su_key(6, 4, id, mat, 16);
	struct km_key_meta m;
	CU_ASSERT_EQUAL(km_store_get(st, id, &m), -ENOENT);
	su_key(6, 5, id, mat, 16);
	CU_ASSERT_EQUAL(km_store_get(st, id, &m), 0);
	CU_ASSERT_EQUAL(m.expire_ns, 1000000000ULL + 5 + 1000);
	/* wall-clock now is far past: a take finds nothing usable, the sweep removes the rest */
	uint8_t out[16];
	struct km_take_handle h;
	CU_ASSERT_EQUAL(km_store_take_begin(st, POOL, 16, out, &h), -EAGAIN);
	CU_ASSERT_EQUAL(km_store_expire(st, UINT64_MAX), 5);
	km_store_close(st);
	su_rmdir(d);
}

struct alarm_log {
	int n;
	enum km_alarm a[8];
	bool raised[8];
};

static void on_alarm(void *ctx, km_pool_id pool, enum km_alarm a, bool raised, uint64_t bits)
{
	struct alarm_log *l = ctx;
	if (pool == POOL && l->n < 8) {
		l->a[l->n] = a;
		l->raised[l->n++] = raised;
	}
}

static void test_alarms_and_cap(void)
{
	char d[256];
	su_tmpdir(d, sizeof(d), "al");
	struct km_store *st = su_open(d, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	struct km_pool_policy pol = {.low_water_bits = 1000, .high_water_bits = 3000, .cap_bits = 3500};
	struct alarm_log log = {0};
	km_store_set_alarm(st, on_alarm, &log);
	CU_ASSERT_EQUAL(km_store_set_policy(st, POOL, &pol), 0);
	CU_ASSERT_EQUAL(log.n, 1); /* empty pool: below low water */
	CU_ASSERT_EQUAL(log.a[0], KM_ALARM_LOW_WATER);
	CU_ASSERT(log.raised[0]);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 7, 0, 2, 100), 0); /* 1600 bits */
	CU_ASSERT_EQUAL(log.n, 2);
	CU_ASSERT_EQUAL(log.a[1], KM_ALARM_LOW_WATER);
	CU_ASSERT(!log.raised[1]);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 7, 2, 2, 100), 0); /* 3200 bits */
	CU_ASSERT_EQUAL(log.n, 3);
	CU_ASSERT_EQUAL(log.a[2], KM_ALARM_HIGH_WATER);
	CU_ASSERT(log.raised[2]);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 7, 4, 1, 100), -ENOSPC); /* cap 3500 */
	struct km_pool_stats s;
	km_store_pool_stats(st, POOL, &s);
	CU_ASSERT_EQUAL(s.available_bits, 3200);
	CU_ASSERT(s.high_alarm);
	/* policies are durable */
	km_store_close(st);
	st = su_open(d, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	struct km_pool_policy got;
	km_store_get_policy(st, POOL, &got);
	CU_ASSERT_EQUAL(got.cap_bits, 3500);
	km_store_pool_stats(st, POOL, &s);
	CU_ASSERT(s.high_alarm);
	CU_ASSERT_EQUAL(s.keys[KM_KEY_AVAILABLE], 4);
	km_store_close(st);
	su_rmdir(d);
}

static void test_no_plaintext_on_disk(void)
{
	char d[256], f[300];
	su_tmpdir(d, sizeof(d), "enc");
	struct km_store *st = su_open(d, KM_SYNC_FULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	enum { N = 200, B = 256 };
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 8, 0, N, B), 0);
	/* and derived keys */
	struct km_parties p = parties("M", "S", 3);
	uint8_t ids[4][16], out[128];
	struct km_take t;
	CU_ASSERT_EQUAL(km_store_supply_new(st, POOL, &p, 4, 256, ids, out, &t), 0);
	km_store_close(st);
	snprintf(f, sizeof(f), "%s/data.mdb", d);
	FILE *fp = fopen(f, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fseek(fp, 0, SEEK_END);
	long len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	uint8_t *db = malloc((size_t)len);
	CU_ASSERT_EQUAL_FATAL(fread(db, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	uint8_t *ref = stream_bytes(8, 0, N, B);
	int found = 0, ids_found = 0;
	for (size_t off = 0; off + 12 <= (size_t)N * B; off += 12) /* every 12-byte window */
		found += memmem(db, (size_t)len, ref + off, 12) != NULL;
	for (int i = 0; i < N; i++) { /* ids are metadata, stored in the clear: the search works */
		uint8_t id[16], mat[B];
		su_key(8, (uint32_t)i, id, mat, B);
		ids_found += memmem(db, (size_t)len, id, 16) != NULL;
	}
	CU_ASSERT_EQUAL(found, 0);
	CU_ASSERT(ids_found >= N - 1); /* key 0 was consumed by the supply */
	free(ref);
	free(db);
	su_rmdir(d);
}

struct fake_ring {
	struct km_key_desc d[100];
	unsigned n, pos;
};

static int fake_dequeue(void *ctx, struct km_key_desc *buf, unsigned max)
{
	struct fake_ring *r = ctx;
	unsigned n = 0;
	while (n < max && r->pos < r->n)
		buf[n++] = r->d[r->pos++];
	return (int)n;
}

static void test_dataplane_descriptors(void)
{
	char d[256];
	su_tmpdir(d, sizeof(d), "desc");
	struct km_store *st = su_open(d, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	struct fake_ring *r = calloc(1, sizeof(*r));
	r->n = 70;
	uint8_t mat[125];
	for (unsigned i = 0; i < r->n; i++) {
		struct km_key_desc *k = &r->d[i];
		su_key(9, i, k->key_id, mat, sizeof(mat));
		k->link_id = 3;
		k->bits = 997; /* not a whole number of bytes */
		k->block_seq = i;
		k->gen_time_ns = 5000 + i;
		k->material = km_key_material_alloc(125);
		CU_ASSERT_PTR_NOT_NULL_FATAL(k->material);
		memcpy(k->material, mat, 125);
	}
	unsigned dropped = 9;
	CU_ASSERT_EQUAL(km_store_drain(st, fake_dequeue, r, 1000, &dropped), 70);
	CU_ASSERT_EQUAL(dropped, 0);
	struct km_pool_stats s;
	CU_ASSERT_EQUAL(km_store_pool_stats(st, KM_POOL_LINK(3), &s), 0);
	CU_ASSERT_EQUAL(s.keys[KM_KEY_AVAILABLE], 70);
	CU_ASSERT_EQUAL(s.available_bits, 70 * 997);
	/* whole bytes of keys 0 and 1 in order: 124 + 124 */
	uint8_t out[248], m0[125], m1[125], id[16];
	su_key(9, 0, id, m0, 125);
	su_key(9, 1, id, m1, 125);
	struct km_take_handle h;
	CU_ASSERT_EQUAL_FATAL(km_store_take_begin(st, KM_POOL_LINK(3), 248, out, &h), 0);
	CU_ASSERT(memcmp(out, m0, 124) == 0);
	CU_ASSERT(memcmp(out + 124, m1, 124) == 0);
	CU_ASSERT_EQUAL(km_store_take_commit(st, &h), 0);
	/* replayed descriptors are refused and wiped */
	r->pos = 0;
	r->n = 2;
	for (unsigned i = 0; i < 2; i++) {
		r->d[i].material = km_key_material_alloc(125);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r->d[i].material);
	}
	CU_ASSERT_EQUAL(km_store_drain(st, fake_dequeue, r, 1000, &dropped), 0);
	CU_ASSERT_EQUAL(dropped, 2);
	free(r);
	km_store_close(st);
	su_rmdir(d);
}

/* ---- concurrent consumers ---- */
#define CC_THREADS 4
#define CC_KEYS 300 /* stream keys of 64 bytes = 600 children of 32 bytes */
struct cc_arg {
	struct km_store *st;
	uint8_t (*ids)[16];
	uint8_t *mat;
	int n;
};

static void *cc_worker(void *p)
{
	struct cc_arg *a = p;
	struct km_parties pa = parties("M", "S", 1);
	struct km_take t;
	for (;;) {
		int rc = km_store_supply_new(a->st, POOL, &pa, 1, 256, &a->ids[a->n], a->mat + 32 * a->n, &t);
		if (rc)
			break;
		a->n++;
	}
	return NULL;
}

static int cmp16(const void *x, const void *y)
{
	return memcmp(x, y, 16);
}

static int cmp32(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

static void test_concurrent_consumers_never_share(void)
{
	char d[256];
	su_tmpdir(d, sizeof(d), "cc");
	struct km_store *st = su_open(d, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 10, 0, CC_KEYS, 64), 0);
	struct cc_arg a[CC_THREADS];
	pthread_t th[CC_THREADS];
	for (int i = 0; i < CC_THREADS; i++) {
		a[i] = (struct cc_arg){st, calloc(2 * CC_KEYS, 16), calloc(2 * CC_KEYS, 32), 0};
		pthread_create(&th[i], NULL, cc_worker, &a[i]);
	}
	int total = 0;
	for (int i = 0; i < CC_THREADS; i++) {
		pthread_join(th[i], NULL);
		total += a[i].n;
	}
	CU_ASSERT_EQUAL(total, 2 * CC_KEYS);
	/* every 32-byte half of the reference stream handed out exactly once, ids all distinct */
	uint8_t *got = malloc((size_t)total * 32), *want = stream_bytes(10, 0, CC_KEYS, 64);
	uint8_t(*ids)[16] = malloc((size_t)total * 16);
	int k = 0;
	for (int i = 0; i < CC_THREADS; i++) {
		memcpy(got + 32 * k, a[i].mat, 32 * (size_t)a[i].n);
		memcpy(ids[k], a[i].ids, 16 * (size_t)a[i].n);
		k += a[i].n;
	}
	qsort(got, (size_t)total, 32, cmp32);
	qsort(want, (size_t)total, 32, cmp32);
	CU_ASSERT(memcmp(got, want, (size_t)total * 32) == 0);
	qsort(ids, (size_t)total, 16, cmp16);
	int dup = 0;
	for (int i = 1; i < total; i++)
		dup += memcmp(ids[i - 1], ids[i], 16) == 0;
	CU_ASSERT_EQUAL(dup, 0);
	for (int i = 0; i < CC_THREADS; i++) {
		free(a[i].ids);
		free(a[i].mat);
	}
	free(got);
	free(want);
	free(ids);
	km_store_close(st);
	su_rmdir(d);
}

/* ---- resync ---- */
static int count_avail(struct km_store *st)
{
	struct km_pool_stats s;
	return km_store_pool_stats(st, POOL, &s) ? -1 : (int)s.keys[KM_KEY_AVAILABLE];
}

static bool holds(struct km_store *st, uint64_t seed, uint32_t i)
{
	uint8_t id[16], mat[8];
	struct km_key_meta m;
	su_key(seed, i, id, mat, 8);
	return km_store_get(st, id, &m) == 0;
}

static int list_ids(void *ctx, const struct km_key_meta *m)
{
	uint8_t **p = ctx;
	memcpy(*p, m->id, 16);
	*p += 16;
	return 0;
}

/* Both stores' available ids of POOL, in id order, are the same. */
static bool same_ids(struct km_store *a, struct km_store *b)
{
	int n = count_avail(a);
	if (n < 0 || n != count_avail(b))
		return false;
	uint8_t *x = malloc((size_t)n * 16 + 1), *y = malloc((size_t)n * 16 + 1), *px = x, *py = y;
	km_store_list(a, POOL, KM_KEY_AVAILABLE, list_ids, &px);
	km_store_list(b, POOL, KM_KEY_AVAILABLE, list_ids, &py);
	bool eq = memcmp(x, y, (size_t)n * 16) == 0;
	free(x);
	free(y);
	return eq;
}

static int tamper_at = -1, tamper_dir, tamper_off;
static void tamper(uint8_t *msg, int len, int dir, int index)
{
	(void)index;
	if (dir == tamper_dir && tamper_at >= 0 && tamper_at-- == 0)
		msg[tamper_off < 0 ? len + tamper_off : tamper_off] ^= 0x10;
}

struct rs_pair {
	char da[256], db[256];
	struct km_store *a, *b;
};

/* A holds 0..2499, B holds 100..2599 minus 500..509: 2390 in common (several messages); both
 * restarted before the resync. */
static void pair_open(struct rs_pair *p)
{
	su_tmpdir(p->da, sizeof(p->da), "ra");
	su_tmpdir(p->db, sizeof(p->db), "rb");
	p->a = su_open(p->da, KM_SYNC_NONE, NULL);
	p->b = su_open(p->db, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->b);
	CU_ASSERT_EQUAL(su_put_stream(p->a, POOL, 11, 0, 2500, 8), 0);
	CU_ASSERT_EQUAL(su_put_stream(p->b, POOL, 11, 100, 400, 8), 0);
	CU_ASSERT_EQUAL(su_put_stream(p->b, POOL, 11, 510, 2090, 8), 0);
	km_store_close(p->a);
	km_store_close(p->b);
	p->a = su_open(p->da, KM_SYNC_NONE, NULL);
	p->b = su_open(p->db, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->b);
}

static void pair_close(struct rs_pair *p)
{
	km_store_close(p->a);
	km_store_close(p->b);
	su_rmdir(p->da);
	su_rmdir(p->db);
}

static void test_resync_agrees(void)
{
	struct rs_pair p;
	pair_open(&p);
	uint64_t seq;
	for (int i = 0; i < 5; i++) /* A sent 5 messages on the link, B accepted 2 of them */
		CU_ASSERT_EQUAL(km_store_seq_next(p.a, POOL, &seq), 0);
	CU_ASSERT_EQUAL(km_store_seq_last_tx(p.a, POOL, &seq), 0);
	CU_ASSERT_EQUAL(seq, 5);
	struct km_resync *ra, *rb;
	uint8_t dig_a[32], dig_b[32];
	CU_ASSERT_EQUAL_FATAL(su_resync_run(p.a, p.b, POOL, NULL, &ra, &rb), 0);
	CU_ASSERT_TRUE(km_resync_is_initiator(ra));
	CU_ASSERT_FALSE(km_resync_is_initiator(rb));
	CU_ASSERT(memcmp(km_resync_nonce(ra), km_resync_nonce(rb), KM_RESYNC_NONCE_LEN) == 0);
	CU_ASSERT_EQUAL(km_resync_finish(ra, dig_a), 100 + 10);
	CU_ASSERT_EQUAL(km_resync_finish(rb, dig_b), 100);
	CU_ASSERT(memcmp(dig_a, dig_b, 32) == 0);
	/* 2390 agreed, the first 64 bytes of them (eight 8-byte keys) spent on the two confirms */
	CU_ASSERT_EQUAL(count_avail(p.a), 2390 - 8);
	CU_ASSERT_TRUE(same_ids(p.a, p.b));
	CU_ASSERT_FALSE(holds(p.a, 11, 505));
	CU_ASSERT_FALSE(holds(p.b, 11, 2550));
	CU_ASSERT_FALSE(holds(p.a, 11, 50));
	CU_ASSERT_TRUE(holds(p.a, 11, 2499) && holds(p.b, 11, 2499));
	/* B accepts nothing A sent before the resync any more */
	CU_ASSERT_EQUAL(km_store_seq_last_rx(p.b, POOL, &seq), 0);
	CU_ASSERT_EQUAL(seq, 5);
	/* the digest is SHA-256 of the agreed ids, ascending */
	uint8_t *ids = malloc(2390 * 16), *q = ids, md[32];
	for (uint32_t i = 100; i < 2500; i++) {
		if (i >= 500 && i < 510)
			continue;
		uint8_t mat[8];
		su_key(11, i, q, mat, 8);
		q += 16;
	}
	qsort(ids, 2390, 16, cmp16);
	SHA256(ids, 2390 * 16, md);
	CU_ASSERT(memcmp(md, dig_a, 32) == 0);
	free(ids);
	km_resync_free(ra);
	km_resync_free(rb);
	pair_close(&p);
}

/* An id altered on the way (A's set as B sees it) or a confirm altered: the tags do not verify,
 * and the end that cannot verify discards nothing. */
static void test_resync_tampered(void)
{
	for (int which = 0; which < 3; which++) {
		struct rs_pair p;
		pair_open(&p);
		/* 0: an id in A's first ids message; 1: B's confirm tag; 2: A's confirm sequence
		 * number. Each end sends its ids in 32 messages (2500 and 2490 ids, 80 a message),
		 * then its confirm. */
		tamper_dir = which == 1 ? 1 : 0;
		tamper_at = which == 0 ? 0 : (2500 + KM_RESYNC_IDS_PER_MSG - 1) / KM_RESYNC_IDS_PER_MSG;
		tamper_off = which == 0 ? 72 + 16 * 7 + 3 : which == 1 ? -1 : 56 + 7;
		struct km_resync *ra, *rb;
		uint8_t da[32], db[32];
		int rc = su_resync_run(p.a, p.b, POOL, tamper, &ra, &rb);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(tamper_at, -1); /* the hook hit the message meant */
		int fa = km_resync_finish(ra, da), fb = km_resync_finish(rb, db);
		if (which == 0) {
			CU_ASSERT_EQUAL(fa, -EBADMSG);
			CU_ASSERT_EQUAL(fb, -EBADMSG);
		} else if (which == 1) {
			CU_ASSERT_EQUAL(fa, -EBADMSG);
			CU_ASSERT_EQUAL(fb, 100);
		} else {
			CU_ASSERT_EQUAL(fa, 110);
			CU_ASSERT_EQUAL(fb, -EBADMSG);
		}
		/* what only one end holds is still there wherever the check failed */
		if (fa < 0)
			CU_ASSERT_TRUE(holds(p.a, 11, 50) && holds(p.a, 11, 505));
		if (fb < 0)
			CU_ASSERT_TRUE(holds(p.b, 11, 2550));
		km_resync_free(ra);
		km_resync_free(rb);
		pair_close(&p);
	}
	tamper_at = -1;
}

/* Messages of another session, of the own role, another pool, malformed ones; too little key
 * in common to authenticate the exchange. */
static void test_resync_refused(void)
{
	struct rs_pair p;
	pair_open(&p);
	struct km_resync *ra, *rb, *old;
	CU_ASSERT_EQUAL_FATAL(km_resync_start(p.a, POOL, 0, &old), 0);
	uint8_t *buf = malloc(KM_RESYNC_MSG_MAX), *first = malloc(KM_RESYNC_MSG_MAX);
	int n0 = km_resync_next(old, first, KM_RESYNC_MSG_MAX);
	CU_ASSERT_FATAL(n0 > 72);
	struct km_resync_info in;
	CU_ASSERT_EQUAL(km_resync_peek(first, (size_t)n0, &in), 0);
	CU_ASSERT_TRUE(in.first);
	CU_ASSERT_FALSE(in.from_responder);
	CU_ASSERT_EQUAL(in.pool, POOL);
	CU_ASSERT_EQUAL(km_resync_start(p.a, POOL, 0, &ra), 0);
	int n = km_resync_next(ra, buf, KM_RESYNC_MSG_MAX);
	CU_ASSERT_EQUAL_FATAL(km_resync_accept(p.b, buf, (size_t)n, &rb), 0);
	CU_ASSERT_EQUAL(km_resync_receive(rb, buf, (size_t)n), 0);
	CU_ASSERT_EQUAL(km_resync_receive(rb, first, (size_t)n0), -ESRCH); /* the old session's */
	CU_ASSERT_EQUAL(km_resync_receive(ra, buf, (size_t)n), -EPROTO);  /* its own, reflected */
	CU_ASSERT_EQUAL(km_resync_receive(rb, buf, (size_t)n), -EALREADY); /* a duplicate */
	CU_ASSERT_EQUAL(km_resync_receive(rb, buf, (size_t)n - 1), -EPROTO);
	CU_ASSERT_EQUAL(km_resync_accept(p.b, buf + 1, (size_t)n - 1, &old), -EPROTO);
	n = km_resync_next(rb, buf, KM_RESYNC_MSG_MAX); /* B's first ids message */
	CU_ASSERT_FATAL(n > 72);
	buf[15] ^= 1; /* another pool */
	CU_ASSERT_EQUAL(km_resync_receive(ra, buf, (size_t)n), -EINVAL);
	buf[0] = 'X';
	CU_ASSERT_EQUAL(km_resync_receive(ra, buf, (size_t)n), -EPROTO);
	CU_ASSERT_EQUAL(km_resync_next(ra, buf, 10), -ENOSPC);
	CU_ASSERT_EQUAL(km_resync_finish(ra, buf), -EAGAIN);
	km_resync_free(old);
	km_resync_free(ra);
	km_resync_free(rb);
	pair_close(&p);
	/* seven 8-byte keys in common: 56 bytes cannot pay for the two 32-byte tag keys */
	pair_open(&p);
	CU_ASSERT_EQUAL(su_put_stream(p.a, KM_POOL_LINK(8), 12, 0, 7, 8), 0);
	CU_ASSERT_EQUAL(su_put_stream(p.b, KM_POOL_LINK(8), 12, 0, 9, 8), 0);
	CU_ASSERT_EQUAL(su_resync_run(p.a, p.b, KM_POOL_LINK(8), NULL, &ra, &rb), -EAGAIN);
	struct km_pool_stats s;
	km_store_pool_stats(p.b, KM_POOL_LINK(8), &s);
	CU_ASSERT_EQUAL(s.keys[KM_KEY_AVAILABLE], 9); /* nothing spent, nothing discarded */
	km_resync_free(ra);
	km_resync_free(rb);
	free(buf);
	free(first);
	pair_close(&p);
}

static void test_group_commit(void)
{
	char d[256];
	su_tmpdir(d, sizeof(d), "batch");
	struct km_store *st = su_open(d, KM_SYNC_FULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 13, 0, 2, 64), 0);
	uint8_t *ref = stream_bytes(13, 0, 4, 64);
	CU_ASSERT_EQUAL_FATAL(km_store_batch_begin(st), 0);
	CU_ASSERT_EQUAL(km_store_batch_begin(st), -EBUSY);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 13, 2, 2, 64), 0);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 13, 0, 1, 64), -EEXIST); /* fails alone */
	/* reads and takes inside the batch see its own changes */
	uint8_t id[16], mat[64], out[200];
	su_key(13, 3, id, mat, 64);
	struct km_key_meta m;
	CU_ASSERT_EQUAL(km_store_get(st, id, &m), 0);
	struct km_take_handle h1, h2;
	CU_ASSERT_EQUAL_FATAL(km_store_take_begin(st, POOL, 100, out, &h1), 0);
	CU_ASSERT(memcmp(out, ref, 100) == 0);
	CU_ASSERT_EQUAL(km_store_take_commit(st, &h1), 0);
	CU_ASSERT_EQUAL_FATAL(km_store_take_begin(st, POOL, 100, out, &h2), 0);
	CU_ASSERT(memcmp(out, ref + 100, 100) == 0); /* starts in the rest key made above */
	CU_ASSERT_EQUAL(km_store_take_commit(st, &h2), 0);
	CU_ASSERT_EQUAL(km_store_batch_end(st), 0);
	CU_ASSERT_EQUAL(km_store_batch_end(st), -EINVAL);
	km_store_close(st);
	st = su_open(d, KM_SYNC_FULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	struct km_pool_stats s;
	km_store_pool_stats(st, POOL, &s);
	CU_ASSERT_EQUAL(s.available_bits, (4 * 64 - 200) * 8);
	CU_ASSERT_EQUAL_FATAL(km_store_take_begin(st, POOL, 56, out, &h1), 0);
	CU_ASSERT(memcmp(out, ref + 200, 56) == 0);
	km_store_take_abort(st, &h1, false);
	free(ref);
	km_store_close(st);
	su_rmdir(d);
}

/* Random garbage for the two message parsers that take peer input: a resync message and a take
 * description. Every one is refused and the pool does not change. */
static void test_garbage_refused(void)
{
	char d[256];
	su_tmpdir(d, sizeof(d), "garbage");
	struct km_store *st = su_open(d, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(su_put_stream(st, POOL, 14, 0, 20, 64), 0);
	struct km_resync *rs;
	CU_ASSERT_EQUAL_FATAL(km_resync_start(st, POOL, 0, &rs), 0);
	uint8_t *msg = malloc(KM_RESYNC_MSG_MAX), out[256];
	uint64_t rnd = 99;
	int accepted = 0;
	for (int i = 0; i < 2000; i++) {
		size_t len = unit_rand(&rnd) % 200;
		unit_fill_random(msg, len, unit_rand(&rnd));
		if (i % 2 && len >= 8)
			memcpy(msg, "KMRS\x02\x01\x00\x00", 8); /* get past the magic */
		accepted += km_resync_receive(rs, msg, len) >= 0;
		struct km_take t;
		unit_fill_random(&t, sizeof(t), unit_rand(&rnd));
		t.pool = POOL;
		t.bytes %= sizeof(out) + 1; /* out must hold t.bytes */
		if (i % 3 == 0)
			t.nsrc %= 4;
		struct km_take_handle h;
		accepted += km_store_take_named(st, &t, out, &h) == 0;
	}
	CU_ASSERT_EQUAL(accepted, 0);
	struct km_pool_stats s;
	km_store_pool_stats(st, POOL, &s);
	CU_ASSERT_EQUAL(s.keys[KM_KEY_AVAILABLE], 20);
	km_resync_free(rs);
	free(msg);
	km_store_close(st);
	su_rmdir(d);
}

static void test_seq_numbers_never_repeat(void)
{
	char d[256];
	su_tmpdir(d, sizeof(d), "seq");
	struct km_store *st = su_open(d, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	uint64_t s1, s2, last = 0;
	CU_ASSERT_EQUAL(km_store_seq_next(st, POOL, &s1), 0);
	CU_ASSERT_EQUAL(s1, 1);
	CU_ASSERT_EQUAL(km_store_seq_next(st, POOL, &s2), 0);
	CU_ASSERT_EQUAL(s2, 2);
	km_store_close(st); /* a restart must not reuse 1 or 2 */
	st = su_open(d, KM_SYNC_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(km_store_seq_next(st, POOL, &s1), 0);
	CU_ASSERT(s1 > 2);
	CU_ASSERT_EQUAL(km_store_seq_last_rx(st, POOL, &last), 0);
	CU_ASSERT_EQUAL(last, 0);
	km_store_close(st);
	su_rmdir(d);
}

static int count_sae(void *ctx, const char *sae, const struct km_meter_count *c)
{
	uint64_t *sum = ctx;
	sum[0] += c->keys;
	sum[1] += c->bits;
	return 0;
}

static void test_meter(void)
{
	struct km_meter *m = km_meter_create();
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(km_meter_add(m, "A", KM_POOL_LINK(1), 2, 512), 0);
	CU_ASSERT_EQUAL(km_meter_add(m, "B", KM_POOL_LINK(1), 1, 256), 0);
	CU_ASSERT_EQUAL(km_meter_add(m, "A", KM_POOL_PEER(9), 3, 3000), 0);
	CU_ASSERT_EQUAL(km_meter_add(m, "", KM_POOL_LINK(1), 1, 1), -EINVAL);
	char longid[KM_SAE_ID_MAX + 1];
	memset(longid, 'x', KM_SAE_ID_MAX);
	longid[KM_SAE_ID_MAX] = 0;
	CU_ASSERT_EQUAL(km_meter_add(m, longid, KM_POOL_LINK(1), 1, 1), -EINVAL);
	struct km_meter_count c;
	CU_ASSERT_EQUAL(km_meter_sae(m, "A", &c), 0);
	CU_ASSERT_EQUAL(c.keys, 5);
	CU_ASSERT_EQUAL(c.bits, 3512);
	CU_ASSERT_EQUAL(km_meter_pool(m, KM_POOL_LINK(1), &c), 0);
	CU_ASSERT_EQUAL(c.keys, 3);
	CU_ASSERT_EQUAL(c.bits, 768);
	CU_ASSERT_EQUAL(km_meter_sae(m, "C", &c), -ENOENT);
	CU_ASSERT_EQUAL(c.keys, 0);
	uint64_t sum[2] = {0, 0};
	CU_ASSERT_EQUAL(km_meter_foreach_sae(m, count_sae, sum), 2);
	CU_ASSERT_EQUAL(sum[0], 6);
	CU_ASSERT_EQUAL(sum[1], 3768);
	json_t *j = km_meter_json(m);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(json_object_get(j, "sae"), "B"), "keys")), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(json_object_get(j, "peers"), "9"), "bits")), 3000);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(json_object_get(j, "links"), "1"), "bits")), 768);
	json_decref(j);
	km_meter_reset(m);
	CU_ASSERT_EQUAL(km_meter_sae(m, "A", &c), 0);
	CU_ASSERT_EQUAL(c.keys, 0);
	km_meter_free(m);
	km_meter_free(NULL);
}

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static long vm_locked_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void test_key_memory_locked(void)
{
	long before = vm_locked_kb();
	uint8_t *p = km_key_material_alloc(3 * 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	int zero = 1;
	for (int i = 0; i < 3 * 4096; i++)
		zero &= p[i] == 0;
	CU_ASSERT(zero);
	long during = vm_locked_kb();
	/* AddressSanitizer turns mlock into a no-op, so VmLck only moves in normal builds */
	bool lock_visible = km_key_material_unlocked() == 0 && !SANITIZED;
	if (lock_visible)
		CU_ASSERT(during - before >= 12); /* the three pages are locked */
	memset(p, 0xAB, 3 * 4096);
	km_key_material_free(p, 3 * 4096);
	if (lock_visible)
		CU_ASSERT(vm_locked_kb() <= during - 12);
	CU_ASSERT_PTR_NULL(km_key_material_alloc(0));
	km_key_material_free(NULL, 10);
}

static CU_TestInfo store_tests[] = {
	{"UUID text form", test_uuid_text},
	{"KEK file permissions and wrong KEK", test_kek_rules},
	{"put, get, duplicates, tombstones", test_put_get_and_duplicates},
	{"resolve: relay resolution at the destination", test_resolve},
	{"take: both ends cut the same bytes", test_take_both_ends_agree},
	{"big keys stored in chunks", test_big_keys_stored_in_chunks},
	{"supply, derive on the peer, fetch rules, metering", test_supply_derive_fetch},
	{"same-KME master and slave, preserve policy", test_same_kme_and_preserve},
	{"TTL expiry", test_expiry},
	{"low/high-water alarms and cap", test_alarms_and_cap},
	{"no plaintext key bytes on disk", test_no_plaintext_on_disk},
	{"dataplane descriptors drained into the store", test_dataplane_descriptors},
	{"concurrent consumers never share a key", test_concurrent_consumers_never_share},
	{"resync after restart: both ends keep the common ids", test_resync_agrees},
	{"resync: altered ids or confirm discard nothing", test_resync_tampered},
	{"resync: other sessions, roles, pools refused; too little in common", test_resync_refused},
	{"relay sequence numbers never repeat", test_seq_numbers_never_repeat},
	{"group commit: one transaction, operations fail alone", test_group_commit},
	{"metering per SAE and per pool", test_meter},
	{"garbage resync messages and takes refused", test_garbage_refused},
	{"key memory is locked and zeroed", test_key_memory_locked},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"km_store", NULL, NULL, NULL, NULL, store_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
