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
	/* Bits dropped at TTL per link, if the caller counts km_store_expire results; may be NULL. */
	uint64_t (*ttl_expired)(void *ctx, uint32_t link_id);
};

/* ops_ctx for these ops is a struct cp_kmops *. */
const struct cp_node_ops *cp_kmops_ops(void);

#endif
