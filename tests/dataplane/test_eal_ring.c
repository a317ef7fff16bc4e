/* EAL comes up without huge pages or NICs and a ring-backed port pair carries a burst intact. */
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "dp_eal.h"
#include "unit.h"

static struct rte_mempool *pool;

static int suite_init(void)
{
	struct dp_eal_args a;
	char prefix[64]; /* per process: two checkouts may run this test at once */
	snprintf(prefix, sizeof(prefix), "test_eal_ring_%d", (int)getpid());
	if (dp_eal_args_init(&a, "test_eal_ring", prefix, "0", 128, true))
		return -1;
	if (rte_eal_init(a.argc, a.argv) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("t_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	return pool ? 0 : -1;
}

static int suite_clean(void)
{
	rte_eal_cleanup();
	return 0;
}

static void test_args_fall_back_to_no_huge(void)
{
	struct dp_eal_args a;
	CU_ASSERT_EQUAL(dp_eal_args_init(&a, "p", "pfx", "0-1", 64, true), 0);
	int no_huge = 0;
	for (int i = 0; i < a.argc; i++)
		no_huge |= strcmp(a.argv[i], "--no-huge") == 0;
	CU_ASSERT(no_huge);
	CU_ASSERT_PTR_NULL(a.argv[a.argc]);
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CU_ASSERT_EQUAL(dp_eal_args_add(&a, big), -E2BIG);
}

static void test_ring_port_pair_carries_burst(void)
{
	struct rte_ring *r = rte_ring_create("t_r", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	int port = rte_eth_from_rings("t_port", &r, 1, &r, 1, SOCKET_ID_ANY);
	CU_ASSERT_FATAL(port >= 0);
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	CU_ASSERT_EQUAL_FATAL(rte_eth_dev_configure(port, 1, 1, &conf), 0);
	CU_ASSERT_EQUAL_FATAL(rte_eth_rx_queue_setup(port, 0, 64, SOCKET_ID_ANY, NULL, pool), 0);
	CU_ASSERT_EQUAL_FATAL(rte_eth_tx_queue_setup(port, 0, 64, SOCKET_ID_ANY, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(rte_eth_dev_start(port), 0);

	struct rte_mbuf *tx[32], *rx[32];
	for (int i = 0; i < 32; i++) {
		tx[i] = rte_pktmbuf_alloc(pool);
		CU_ASSERT_PTR_NOT_NULL_FATAL(tx[i]);
		char *p = rte_pktmbuf_append(tx[i], 64);
		memset(p, i, 64);
	}
	CU_ASSERT_EQUAL(rte_eth_tx_burst(port, 0, tx, 32), 32);
	uint16_t n = rte_eth_rx_burst(port, 0, rx, 32);
	CU_ASSERT_EQUAL(n, 32);
	for (uint16_t i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(rx[i]), 64);
		CU_ASSERT_EQUAL(rte_pktmbuf_mtod(rx[i], unsigned char *)[63], i);
		rte_pktmbuf_free(rx[i]);
	}
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_ring_free(r);
}

static CU_TestInfo eal_tests[] = {
	{"EAL args fall back to --no-huge", test_args_fall_back_to_no_huge},
	{"ring port pair carries a burst", test_ring_port_pair_carries_burst},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"eal_ring", suite_init, suite_clean, NULL, NULL, eal_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
