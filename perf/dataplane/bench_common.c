/* EAL and ring helpers for the dataplane benchmarks. */
#include "bench_common.h"

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <stdio.h>
#include <unistd.h>

#include "dp_eal.h"

static unsigned serial;

bool dp_bench_eal(void)
{
	static int state; /* 0 untried, 1 up, -1 failed */
	if (state)
		return state > 0;
	struct dp_eal_args a;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "qkdperf_dp_%d", (int)getpid());
	state = -1;
	if (dp_eal_args_init(&a, "qkdperf", prefix, "0", 1536, true) == 0 &&
	    rte_eal_init(a.argc, a.argv) >= 0)
		state = 1;
	else
		fprintf(stderr, "qkdperf: dataplane: EAL did not come up, benchmarks skipped\n");
	return state > 0;
}

struct rte_ring *dp_bench_ring(unsigned size)
{
	char name[32];
	snprintf(name, sizeof(name), "bench_r%u", serial++);
	return rte_ring_create(name, size, SOCKET_ID_ANY, 0);
}

int dp_bench_ring_port(struct rte_ring *rx, struct rte_ring *tx)
{
	char name[32];
	snprintf(name, sizeof(name), "bench_p%u", serial++);
	return rte_eth_from_rings(name, &rx, 1, &tx, 1, SOCKET_ID_ANY);
}
