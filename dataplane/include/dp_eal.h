/* EAL argument building shared by qkdnode, qkdsim and the tests. */
#ifndef DP_EAL_H
#define DP_EAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_EAL_MAX_ARGS 64

struct dp_eal_args {
	int argc;
	char *argv[DP_EAL_MAX_ARGS];
	char store[DP_EAL_MAX_ARGS][256];
};

/* True when hugetlbfs is mounted and at least 'pages' free huge pages exist. */
bool dp_eal_hugepages_usable(unsigned pages);

/* Start an argument list: program name, a unique --file-prefix, --no-pci, the lcore list, and
 * '--no-huge -m <mem_mb>' when huge pages are not usable (or force_no_huge). Returns 0 or -E2BIG. */
int dp_eal_args_init(struct dp_eal_args *a, const char *prog, const char *file_prefix,
		     const char *lcores, unsigned mem_mb, bool force_no_huge);
/* Append one argument (copied). Returns 0 or -E2BIG. */
int dp_eal_args_add(struct dp_eal_args *a, const char *arg);

/* rte_eth_dev_start, tried again every 50 ms for up to wait_ms while it fails: a memif client
 * connects only when its port starts, so a node started just before its neighbour (or while the
 * neighbour restarts) would otherwise never come up. Returns 0 or the last negative errno. */
int dp_port_start(uint16_t port, unsigned wait_ms);
#define DP_PORT_START_WAIT_MS 10000 /* how long qkdnode and qkdsim wait for a port's peer */

#endif
