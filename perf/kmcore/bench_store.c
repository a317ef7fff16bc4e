/* Key store throughput with durability on: QKD keys stored per second (one commit per key, and
 * 32 keys per commit as km_store_drain does), and 256-bit keys supplied per second to an SAE
 * (enc_keys: cut, re-encrypt, commit). Each figure names its fsync policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "km_store.h"
#include "qkdperf.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct km_store *open_store(const char *dir, enum km_sync sync)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return NULL;
	setenv("QKDPERF_KM_KEK", "4242424242424242424242424242424242424242424242424242424242424242", 1);
	struct km_store_config cfg = {.path = dir, .kek_env = "QKDPERF_KM_KEK", .sync = sync, .map_size = 4ULL << 30};
	struct km_store *st = NULL;
	return km_store_open(&cfg, &st) == 0 ? st : NULL;
}

static void close_store(struct km_store *st, const char *dir)
{
	km_store_close(st);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return;
}

static const char *sync_name(enum km_sync s)
{
	return s == KM_SYNC_FULL ? "every commit" : "none";
}

/* Store n keys of 'bytes' bytes, 'batch' per commit. Returns keys/s or 0. */
static double put_rate(struct km_store *st, unsigned n, uint32_t bytes, unsigned batch)
{
	struct km_key_in *k = calloc(batch, sizeof(*k));
	uint8_t *mat = malloc(bytes);
	double rate = 0;
	if (!k || !mat)
		goto out;
	memset(mat, 0x5a, bytes);
	double t0 = now_s();
	for (unsigned done = 0; done < n; done += batch) {
		for (unsigned j = 0; j < batch; j++) {
			k[j] = (struct km_key_in){.pool = KM_POOL_LINK(1), .bits = bytes * 8, .type = KM_KEY_QKD,
						  .material = mat, .block_seq = done + j};
			km_uuid_random(k[j].id);
		}
		if (km_store_put(st, k, batch) != 0)
			goto out;
	}
	rate = n / (now_s() - t0);
out:
	free(k);
	free(mat);
	return rate;
}

static void bench_store_put(struct qp_run *r)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "/tmp/qkdperf-kmstore-%d", (int)getpid());
	/* one-chunk (30-kbit) blocks one at a time and as the drain does (32 per commit), and 1-Mbit blocks (a
	 * privacy-amplification output of a long-distance link) 32 per commit */
	static const struct {
		enum km_sync sync;
		unsigned batch;
		uint32_t bytes;
		unsigned n;
		const char *variant;
	} cfgs[] = {{KM_SYNC_FULL, 1, 3840, 320, "fsync-3840B-batch1"},
		    {KM_SYNC_FULL, 32, 3840, 6400, "fsync-3840B-batch32"},
		    {KM_SYNC_NONE, 32, 3840, 6400, "nosync-3840B-batch32"},
		    {KM_SYNC_FULL, 32, 131072, 640, "fsync-128KiB-batch32"},
		    {KM_SYNC_NONE, 32, 131072, 640, "nosync-128KiB-batch32"}};
	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		unsigned n = qp_quick(r) ? cfgs[i].n / 10 : cfgs[i].n;
		n = (n + cfgs[i].batch - 1) / cfgs[i].batch * cfgs[i].batch;
		struct km_store *st = open_store(dir, cfgs[i].sync);
		double rate = st ? put_rate(st, n, cfgs[i].bytes, cfgs[i].batch) : 0;
		close_store(st, dir);
		if (rate <= 0)
			continue;
		json_t *extra = json_pack("{s:s,s:i,s:i,s:f}", "fsync", sync_name(cfgs[i].sync), "batch",
					  (int)cfgs[i].batch, "key_bytes", (int)cfgs[i].bytes, "keys_per_s", rate);
		qp_report(r, "store_put", cfgs[i].variant, cfgs[i].bytes * 8, rate * cfgs[i].bytes * 8 / 1e6,
			  "Mbit/s", extra);
	}
}
QP_BENCH("store_put", "key store: QKD keys stored per second, durable (fsync policy named)", bench_store_put)

static void bench_store_supply(struct qp_run *r)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "/tmp/qkdperf-kmsupply-%d", (int)getpid());
	const uint32_t block = 1 << 16; /* 512-kbit source keys, cut into 256-bit SAE keys */
	static const enum km_sync syncs[] = {KM_SYNC_FULL, KM_SYNC_NONE};
	for (size_t i = 0; i < 2; i++) {
		unsigned n = qp_quick(r) ? 500 : 5000;
		struct km_store *st = open_store(dir, syncs[i]);
		if (!st || put_rate(st, n * 32 / block + 2, block, 1) <= 0) {
			close_store(st, dir);
			continue;
		}
		struct km_parties pa = {.master = "SAE_bench_master", .nslaves = 1, .local_mask = 1};
		strcpy(pa.slaves[0], "SAE_bench_slave");
		uint8_t id[1][KM_KEY_ID_LEN], key[32];
		struct km_take t;
		unsigned ok = 0;
		double t0 = now_s();
		for (; ok < n; ok++)
			if (km_store_supply_new(st, KM_POOL_LINK(1), &pa, 1, 256, id, key, &t) != 0)
				break;
		double rate = ok / (now_s() - t0);
		close_store(st, dir);
		if (ok < n)
			continue;
		json_t *extra = json_pack("{s:s,s:i,s:i}", "fsync", sync_name(syncs[i]), "key_bits", 256,
					  "source_key_bytes", (int)block);
		qp_report(r, "store_supply", syncs[i] == KM_SYNC_FULL ? "fsync" : "nosync", 256, rate / 1e3,
			  "kkeys/s", extra);
	}
}
QP_BENCH("store_supply", "key store: 256-bit keys supplied to an SAE per second, durable", bench_store_supply)
