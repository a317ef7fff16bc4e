/* Shared by the dataplane benchmarks: one EAL per qkdperf process (anonymous memory, vdevs only)
 * and ring-backed ports. */
#ifndef BENCH_DP_COMMON_H
#define BENCH_DP_COMMON_H

#include <rte_ring.h>
#include <stdbool.h>
#include <stdint.h>

/* Bring up the EAL once (later calls return the first result). */
bool dp_bench_eal(void);
/* A net_ring port receiving from rx and sending to tx. Returns the port id or -1. */
int dp_bench_ring_port(struct rte_ring *rx, struct rte_ring *tx);
/* A fresh SP/SC-agnostic ring of 'size' entries with a unique name. */
struct rte_ring *dp_bench_ring(unsigned size);

#endif
