/* Port start that waits for the other end of a virtual link (see dp_eal.h). */
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
