/* cp_node_ops on the real key manager: KM-link buffers from the key store's link pools
 * (km_store_pool_stats), keys supplied from the meter, key flush as discard of the pool's
 * available keys; the QKD-link side (state, SKR, QBER, authentication failures) and the relay
 * commands come from the dataplane through the two callbacks. qkdnode fills this in and passes
 * cp_kmops_ops() with it to cp_ctrl_create. */
#ifndef CP_KMOPS_H
#define CP_KMOPS_H

#include "cp_ctrl.h"
#include "km_meter.h"
#include "km_store.h"

struct cp_kmops {
	struct km_store *store;
	struct km_meter *meter; /* may be NULL */
	/* Dataplane view of QKD link link_id (up, skr_bps, qber, auth_failures, relay_latency_us);
	 * NULL: links count as up with unknown rates. */
	int (*qkd_link)(void *ctx, uint32_t link_id, struct cp_link_stats *out);
	void *qkd_ctx;
	void (*relay)(void *ctx, const struct cp_relay_cmd *cmd);
	void *relay_ctx;
	/* Bits dropped at TTL per link, if the caller counts km_store_expire results; NULL: the
	 * counts of cp_kmops_housekeeping below. */
	uint64_t (*ttl_expired)(void *ctx, uint32_t link_id);
	/* Keys expired by cp_kmops_housekeeping per link pool (written by it, zero-initialise). */
	unsigned n_expired;
	struct {
		uint32_t link_id;
		uint64_t keys;
	} expired[CP_CFG_MAX_LINKS];
	uint64_t expired_other; /* keys of other pools, or of links beyond the table */
	uint64_t tombstones_pruned;
};

/* How long a deleted key id stays tombstoned (a store refuses it) before housekeeping forgets it. */
#define CP_KMOPS_TOMBSTONE_NS (7ull * 86400 * 1000000000)

/* The control thread's store timer: delete keys past their TTL (counted per link pool) and forget
 * tombstones older than CP_KMOPS_TOMBSTONE_NS. Returns the keys expired or a negative error. */
int cp_kmops_housekeeping(struct cp_kmops *k, uint64_t now_ns);

/* ops_ctx for these ops is a struct cp_kmops *. */
const struct cp_node_ops *cp_kmops_ops(void);

#endif
