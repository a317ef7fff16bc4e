/* The control plane's statistics as DPDK telemetry commands (read with dpdk-telemetry.py):
 *   /qkd/node            node id, snapshot generation, sessions, alarm count
 *   /qkd/links           KM link names
 *   /qkd/link,<name>     one KM link: state, SKR, QBER, buffer, fill rate, key counters, latency
 *   /qkd/counters        control-thread counters (LSAs, route runs, reroutes, commands, Mk)
 *   /qkd/alarms          active alarms, "<alarm> <object>: <detail>"
 * Values come from a statistics object (the one cp_ctrl_stats() returns: same numbers as qkdctl
 * show stats, Mk reports and /metrics). Integral non-negative numbers are u64, other numbers
 * strings ("%.6g") because DPDK 22.11 telemetry has no floating-point values. */
#ifndef DP_TELEMETRY_H
#define DP_TELEMETRY_H

#include <jansson.h>

/* Returns a new reference to the current statistics object; called on the telemetry thread. */
typedef json_t *(*dp_telemetry_stats_fn)(void *ctx);

/* Register the /qkd commands (once per process; later calls only change the source). */
int dp_telemetry_register(dp_telemetry_stats_fn fn, void *ctx);

#endif
