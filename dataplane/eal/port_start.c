/* Port start that waits for the other end of a virtual link, and the restart of a port whose
 * other end went away (see dp_eal.h). */
#include <time.h>

#include <rte_ethdev.h>

#include "dp_eal.h"

int dp_port_start(uint16_t port, unsigned wait_ms)
{
	const struct timespec step = {0, 50 * 1000 * 1000};
	for (unsigned waited = 0;; waited += 50) {
		int rc = rte_eth_dev_start(port);
		if (rc >= 0 || waited >= wait_ms)
			return rc < 0 ? rc : 0;
		nanosleep(&step, NULL);
	}
}

bool dp_port_watch(struct dp_port_watch *w, uint64_t now_ns)
{
	const uint64_t period = (uint64_t)DP_PORT_RECONNECT_MS * 1000000ull;
	if (w->stopped) {
		if (now_ns < w->next_try_ns)
			return false;
		w->next_try_ns = now_ns + period;
		if (rte_eth_dev_start(w->port) < 0)
			return false; /* the server is not back yet */
		w->stopped = false;
		w->restarts++;
		w->down_since_ns = now_ns;
		return true;
	}
	struct rte_eth_link link;
	if (rte_eth_link_get_nowait(w->port, &link) != 0 || link.link_status == RTE_ETH_LINK_UP) {
		w->down_since_ns = 0;
		return true;
	}
	if (!w->down_since_ns) {
		w->down_since_ns = now_ns;
		return true;
	}
	if (now_ns - w->down_since_ns < period)
		return true;
	/* down for a whole period: a memif client reconnects only when its port starts */
	if (rte_eth_dev_stop(w->port) != 0)
		return true;
	w->stopped = true;
	w->next_try_ns = now_ns; /* start again at once */
	return dp_port_watch(w, now_ns);
}
