/* The read-mostly view workers use: links (id, owner lcore, admin state), the route table (next
 * hop per destination KM) and the policy. Immutable once published; the control thread builds a
 * new one, swaps the pointer with rcu_xchg_pointer and frees the old one after a grace period of
 * the QSBR flavour (workers are registered liburcu-qsbr threads and report a quiescent state once
 * per loop iteration). Readers: p = cp_ctrl_snapshot(ctrl) between quiescent states. */
#ifndef CP_SNAPSHOT_H
#define CP_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "cp_config.h"

struct cp_snap_link {
	uint32_t link_id;
	char name[CP_NAME_MAX];   /* qkd_link name */
	char peer[CP_NAME_MAX];
	char km_link[CP_NAME_MAX]; /* KM link fed by it ("" if none) */
	unsigned lcore;
	bool admin_up;
};

struct cp_snap_route {
	char dst[CP_NAME_MAX];
	char next_hop[CP_NAME_MAX];
	char km_link[CP_NAME_MAX]; /* local KM link towards next_hop */
	double cost;
	uint32_t hops;
};

struct cp_snapshot {
	uint64_t generation;
	char node_id[CP_NAME_MAX];
	struct cp_cfg_policy policy;
	unsigned n_links;
	struct cp_snap_link links[CP_CFG_MAX_LINKS];
	unsigned n_routes;            /* sorted by dst */
	struct cp_snap_route routes[]; /* flexible */
};

/* Route to dst (binary search) or NULL. */
const struct cp_snap_route *cp_snapshot_route(const struct cp_snapshot *s, const char *dst);

#endif
