/* A simulated node behind the control thread, for tests, benchmarks and qkdcpd (the control
 * plane without a DPDK dataplane): per-KM-link key buffers that fill at the link's secret key
 * rate, relay sessions recorded as the key manager would receive them, and one worker thread per
 * lcore that is a real liburcu-qsbr reader of the snapshots and executes the ring commands
 * (start/stop/drain/zeroize) on its links. */
#ifndef CP_SIM_H
#define CP_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "cp_ctrl.h"

struct cp_sim;

struct cp_sim_link {
	char km_link[CP_NAME_MAX];
	uint32_t qkd_link_id;
	bool up;
	uint64_t avail_bits;
	double skr_bps;
	double qber;
	uint64_t keys_supplied, ttl_expired, auth_failures;
	double relay_latency_us;
	uint64_t resyncs, resync_failures;
	bool resync_alarm;
};

/* Links start up, half full, at skr_bps (qber 2 %). */
struct cp_sim *cp_sim_create(const struct cp_config *cfg, double skr_bps);
void cp_sim_free(struct cp_sim *s);
const struct cp_node_ops *cp_sim_ops(void);
/* Start one worker thread per worker lcore of c; they stop in cp_sim_stop_workers. */
int cp_sim_start_workers(struct cp_sim *s, struct cp_ctrl *c);
void cp_sim_stop_workers(struct cp_sim *s);

/* Inspect / change a link (any thread). Returns 0 or -ENOENT. */
int cp_sim_get(struct cp_sim *s, const char *km_link, struct cp_sim_link *out);
int cp_sim_set(struct cp_sim *s, const char *km_link, const struct cp_sim_link *in);

/* What the workers and the relay saw (any thread). */
struct cp_sim_counts {
	uint64_t cmds[CP_CMD_ZEROIZE + 1]; /* executed commands by type */
	uint64_t snapshots_seen;           /* distinct snapshot generations read by workers */
	uint64_t last_generation;
	uint64_t relay_establish, relay_move, relay_teardown;
	uint32_t last_relay_id, last_relay_epoch;
};
void cp_sim_counts(struct cp_sim *s, struct cp_sim_counts *out);

#endif
