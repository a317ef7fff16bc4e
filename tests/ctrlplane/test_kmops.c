/* The control thread on the real key store: show keys reports exactly the bits put into each
 * link pool and the keys the meter counted; key flush discards exactly the available keys of the
 * named link (their ids are gone), leaves other links alone, and a refused flush changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cp_kmops.h"
#include "km_key.h"
#include "unit.h"

static const char *cfg_text = "[node]\nid = A\nlcores = 1\n"
			      "[qkd_link ab]\nid = 1\npeer = B\n[qkd_link ac]\nid = 2\npeer = C\n"
			      "[km_link kab]\npeer = B\nqkd_link = ab\ncapacity_bits = 1048576\n"
			      "[km_link kac]\npeer = C\nqkd_link = ac\ncapacity_bits = 1048576\n";

static int put(struct km_store *st, uint32_t link, unsigned n, uint32_t bits, uint8_t (*ids)[16])
{
	uint8_t mat[512];
	for (unsigned i = 0; i < n; i++) {
		unit_fill_random(mat, bits / 8, 1000 * link + i);
		struct km_key_in k = {.pool = KM_POOL_LINK(link), .bits = bits, .type = KM_KEY_QKD,
				      .block_seq = i, .material = mat};
		km_uuid_random(k.id);
		memcpy(ids[i], k.id, 16);
		int rc = km_store_put(st, &k, 1);
		if (rc)
			return rc;
	}
	return 0;
}

static json_t *cmd(struct cp_ctrl *c, const char *a, const char *b, const char *d, char *err)
{
	json_t *argv = json_pack("[s,s]", a, b);
	if (d)
		json_array_append_new(argv, json_string(d));
	json_t *res = NULL;
	int rc = cp_ctrl_command(c, argv, &res, err, 256);
	json_decref(argv);
	return rc ? NULL : res;
}

static json_int_t key_col(json_t *res, unsigned row, const char *col)
{
	return json_integer_value(json_object_get(json_array_get(json_object_get(res, "keys"), row), col));
}

static void test_store_backed(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "/tmp/ctrl-kmops-%d", (int)getpid());
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	setenv("CTRL_TEST_KEK", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1);
	struct km_store_config sc = {.path = dir, .kek_env = "CTRL_TEST_KEK", .sync = KM_SYNC_NONE};
	struct km_store *st = NULL;
	CU_ASSERT_EQUAL_FATAL(km_store_open(&sc, &st), 0);
	uint8_t ids_b[20][16], ids_c[5][16];
	CU_ASSERT_EQUAL(put(st, 1, 20, 2048, ids_b), 0);
	CU_ASSERT_EQUAL(put(st, 2, 5, 1024, ids_c), 0);
	struct km_meter *meter = km_meter_create();
	km_meter_add(meter, "sae1", KM_POOL_LINK(1), 3, 768);

	struct cp_config *cfg;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string(cfg_text, "t", &cfg, err, sizeof(err)), 0);
	struct cp_kmops k = {.store = st, .meter = meter};
	struct cp_ctrl_opts o = {.config = cfg, .ops = cp_kmops_ops(), .ops_ctx = &k};
	struct cp_ctrl *c = cp_ctrl_create(&o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	json_t *r = cmd(c, "show", "keys", NULL, err);
	CU_ASSERT_EQUAL(key_col(r, 0, "buffer_bits"), 20 * 2048);
	CU_ASSERT_EQUAL(key_col(r, 1, "buffer_bits"), 5 * 1024);
	CU_ASSERT_EQUAL(key_col(r, 0, "keys_supplied"), 3);
	CU_ASSERT_EQUAL(key_col(r, 1, "keys_supplied"), 0);
	json_decref(r);

	r = cmd(c, "key", "flush", "kab", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "bits")), 20 * 2048);
	json_decref(r);
	struct km_key_meta m;
	for (int i = 0; i < 20; i++)
		CU_ASSERT_EQUAL(km_store_get(st, ids_b[i], &m), -ENOENT);
	CU_ASSERT_EQUAL(km_store_get(st, ids_c[0], &m), 0);
	r = cmd(c, "show", "keys", NULL, err);
	CU_ASSERT_EQUAL(key_col(r, 0, "buffer_bits"), 0);
	CU_ASSERT_EQUAL(key_col(r, 1, "buffer_bits"), 5 * 1024);
	json_decref(r);
	/* an unknown link is refused and nothing is dropped */
	CU_ASSERT_PTR_NULL(cmd(c, "key", "flush", "kzz", err));
	CU_ASSERT_STRING_EQUAL(err, "no KM link named 'kzz'");
	CU_ASSERT_EQUAL(km_store_get(st, ids_c[4], &m), 0);
	/* flush everything */
	r = cmd(c, "key", "flush", NULL, err);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "bits")), 5 * 1024);
	json_decref(r);
	CU_ASSERT_EQUAL(km_store_get(st, ids_c[4], &m), -ENOENT);

	cp_ctrl_free(c);
	cp_config_free(cfg);
	km_meter_free(meter);
	km_store_close(st);
	char rm[200];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(rm), 0);
}

/* The store timer: keys past their pool's TTL are deleted and counted per link (show keys), keys
 * of a pool without TTL stay; a tombstone older than CP_KMOPS_TOMBSTONE_NS is forgotten (the id
 * can be stored again), a recent one is kept (the id is refused). */
static void test_housekeeping(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "/tmp/ctrl-kmops-hk-%d", (int)getpid());
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	setenv("CTRL_TEST_KEK", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1);
	struct km_store_config sc = {.path = dir, .kek_env = "CTRL_TEST_KEK", .sync = KM_SYNC_NONE};
	struct km_store *st = NULL;
	CU_ASSERT_EQUAL_FATAL(km_store_open(&sc, &st), 0);
	const uint64_t sec = 1000000000ull;
	struct km_pool_policy ttl = {.ttl_ns = 10 * sec};
	CU_ASSERT_EQUAL(km_store_set_policy(st, KM_POOL_LINK(1), &ttl), 0);
	uint8_t ids_b[6][16], ids_c[3][16];
	CU_ASSERT_EQUAL(put(st, 1, 6, 256, ids_b), 0);
	CU_ASSERT_EQUAL(put(st, 2, 3, 256, ids_c), 0);
	struct km_key_meta m;
	CU_ASSERT_EQUAL_FATAL(km_store_get(st, ids_b[0], &m), 0);
	uint64_t t0 = m.gen_ns;

	struct cp_config *cfg;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string(cfg_text, "t", &cfg, err, sizeof(err)), 0);
	struct cp_kmops k = {.store = st};
	/* before the TTL nothing goes; 11 s after generation all six keys of link 1 do */
	CU_ASSERT_EQUAL(cp_kmops_housekeeping(&k, t0 + 5 * sec), 0);
	CU_ASSERT_EQUAL(cp_kmops_housekeeping(&k, t0 + 11 * sec), 6);
	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(km_store_get(st, ids_b[i], &m), -ENOENT);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(km_store_get(st, ids_c[i], &m), 0);
	CU_ASSERT_EQUAL(k.n_expired, 1);
	CU_ASSERT_EQUAL(k.expired[0].link_id, 1);
	CU_ASSERT_EQUAL(k.expired[0].keys, 6);

	struct cp_ctrl_opts o = {.config = cfg, .ops = cp_kmops_ops(), .ops_ctx = &k};
	struct cp_ctrl *c = cp_ctrl_create(&o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	json_t *r = cmd(c, "show", "keys", NULL, err);
	CU_ASSERT_EQUAL(key_col(r, 0, "ttl_expired"), 6);
	CU_ASSERT_EQUAL(key_col(r, 1, "ttl_expired"), 0);
	json_decref(r);
	cp_ctrl_free(c);

	/* tombstones: the expired ids are refused while recent, accepted once pruned */
	uint8_t mat[32] = {1};
	struct km_key_in again = {.pool = KM_POOL_LINK(1), .bits = 256, .type = KM_KEY_QKD,
				  .material = mat};
	memcpy(again.id, ids_b[0], 16);
	CU_ASSERT_EQUAL(km_store_put(st, &again, 1), -EEXIST);
	CU_ASSERT_EQUAL(cp_kmops_housekeeping(&k, t0 + 20 * sec), 0);
	CU_ASSERT_EQUAL(k.tombstones_pruned, 0);
	CU_ASSERT_EQUAL(km_store_put(st, &again, 1), -EEXIST);
	/* the wall clock is used for the tombstones' deletion time: prune well past it */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t wall = (uint64_t)ts.tv_sec * sec + (uint64_t)ts.tv_nsec;
	CU_ASSERT_EQUAL(cp_kmops_housekeeping(&k, wall + CP_KMOPS_TOMBSTONE_NS + 60 * sec), 0);
	CU_ASSERT_EQUAL(k.tombstones_pruned, 6);
	again.gen_ns = wall;
	CU_ASSERT_EQUAL(km_store_put(st, &again, 1), 0);

	cp_config_free(cfg);
	km_store_close(st);
	char rm[200];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(rm), 0);
}

int main(void)
{
	CU_TestInfo tests[] = {{"key store backed show keys / key flush", test_store_backed},
			       {"housekeeping: TTL expiry per link, tombstone pruning", test_housekeeping},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"kmops", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
	return unit_run(suites);
}
