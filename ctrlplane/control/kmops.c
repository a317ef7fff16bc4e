/* cp_node_ops over km_store / km_meter (+ dataplane callbacks). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_kmops.h"

static int op_link_stats(void *ctx, const struct cp_cfg_km_link *km,
			 const struct cp_cfg_qkd_link *qkd, struct cp_link_stats *out)
{
	struct cp_kmops *k = ctx;
	memset(out, 0, sizeof(*out));
	out->up = true;
	if (k->qkd_link) {
		int rc = k->qkd_link(k->qkd_ctx, qkd->id, out);
		if (rc < 0)
			return rc;
	}
	struct km_pool_stats ps;
	int rc = km_store_pool_stats(k->store, KM_POOL_LINK(qkd->id), &ps);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	out->avail_bits = rc < 0 ? 0 : ps.available_bits;
	out->capacity_bits = km->capacity;
	struct km_meter_count mc;
	if (k->meter && km_meter_pool(k->meter, KM_POOL_LINK(qkd->id), &mc) == 0)
		out->keys_supplied = mc.keys;
	if (k->ttl_expired)
		out->ttl_expired = k->ttl_expired(k->qkd_ctx, qkd->id);
	else
		for (unsigned i = 0; i < k->n_expired; i++)
			if (k->expired[i].link_id == qkd->id)
				out->ttl_expired = k->expired[i].keys;
	return 0;
}

static int count_expired(void *ctx, const struct km_key_meta *m)
{
	struct cp_kmops *k = ctx;
	if (KM_POOL_KIND(m->pool) != KM_POOL_KIND(KM_POOL_LINK(0))) {
		k->expired_other++;
		return 0;
	}
	uint32_t link = KM_POOL_NUM(m->pool);
	unsigned i = 0;
	while (i < k->n_expired && k->expired[i].link_id != link)
		i++;
	if (i == k->n_expired) {
		if (i == CP_CFG_MAX_LINKS) {
			k->expired_other++;
			return 0;
		}
		k->expired[k->n_expired++] = (typeof(k->expired[0])){link, 0};
	}
	k->expired[i].keys++;
	return 0;
}

int cp_kmops_housekeeping(struct cp_kmops *k, uint64_t now_ns)
{
	if (!k->store)
		return 0;
	int n = km_store_expire_visit(k->store, now_ns, count_expired, k);
	if (now_ns > CP_KMOPS_TOMBSTONE_NS) {
		int p = km_store_prune_tombstones(k->store, now_ns - CP_KMOPS_TOMBSTONE_NS);
		if (p > 0)
			k->tombstones_pruned += (uint64_t)p;
	}
	return n;
}

struct collect {
	uint8_t (*ids)[KM_KEY_ID_LEN];
	unsigned n, cap;
	uint64_t bits;
	int err;
};

static int visit(void *ctx, const struct km_key_meta *m)
{
	struct collect *c = ctx;
	if (c->n == c->cap) {
		unsigned cap = c->cap ? 2 * c->cap : 256;
		void *p = realloc(c->ids, cap * sizeof(*c->ids));
		if (!p) {
			c->err = -ENOMEM;
			return 1;
		}
		c->ids = p;
		c->cap = cap;
	}
	memcpy(c->ids[c->n++], m->id, KM_KEY_ID_LEN);
	c->bits += m->bits;
	return 0;
}

/* Discard the available keys of one link pool; reserved and supplied keys belong to takes and
 * SAEs in flight and are left to their owners. */
static int flush_pool(struct cp_kmops *k, km_pool_id pool, uint64_t *bits)
{
	struct collect c = {0};
	int rc = km_store_list(k->store, pool, KM_KEY_AVAILABLE, visit, &c);
	if (rc >= 0 && c.err)
		rc = c.err;
	if (rc >= 0 && c.n)
		rc = km_store_discard(k->store, (const uint8_t(*)[KM_KEY_ID_LEN])c.ids, c.n);
	if (rc >= 0)
		*bits += c.bits;
	free(c.ids);
	return rc < 0 ? rc : 0;
}

struct pools {
	km_pool_id v[256];
	unsigned n;
};

static int pool_visit(void *ctx, km_pool_id pool, const struct km_pool_stats *s)
{
	struct pools *p = ctx;
	if (KM_POOL_KIND(pool) == KM_POOL_KIND(KM_POOL_LINK(0)) && p->n < 256)
		p->v[p->n++] = pool;
	return 0;
}

static int op_key_flush(void *ctx, const struct cp_cfg_km_link *km,
			const struct cp_cfg_qkd_link *qkd, uint64_t *bits)
{
	struct cp_kmops *k = ctx;
	*bits = 0;
	if (qkd)
		return flush_pool(k, KM_POOL_LINK(qkd->id), bits);
	struct pools p = {.n = 0};
	int rc = km_store_pools(k->store, pool_visit, &p);
	for (unsigned i = 0; rc >= 0 && i < p.n; i++)
		rc = flush_pool(k, p.v[i], bits);
	return rc < 0 ? rc : 0;
}

static void op_relay(void *ctx, const struct cp_relay_cmd *cmd)
{
	struct cp_kmops *k = ctx;
	if (k->relay)
		k->relay(k->relay_ctx, cmd);
}

static void op_housekeeping(void *ctx, uint64_t now_ns)
{
	cp_kmops_housekeeping(ctx, now_ns);
}

static const struct cp_node_ops kmops = {op_link_stats, op_key_flush, op_relay, NULL,
					 op_housekeeping, NULL};

const struct cp_node_ops *cp_kmops_ops(void)
{
	return &kmops;
}
