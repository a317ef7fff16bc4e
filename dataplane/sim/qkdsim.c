/* qkdsim: the QKD-module emulator. Plays both modules of one link with the link model
 * (dst_model.h): port 0 carries the transmitter (Alice) module's event frames to Alice's node,
 * port 1 the receiver (Bob) module's detections to Bob's node, at a configured frame rate or as
 * fast as the ports take them. With --pcap-alice/--pcap-bob the ports are net_pcap vdevs writing
 * pcap files for later replay (net_pcap rx_pcap=...). */
#include <errno.h>
#include <getopt.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp_eal.h"
#include "dp_evframe.h"
#include "dp_simgen.h"
#include "dst_cpu.h"

#define MAX_VDEVS 8

struct sim_opts {
	char file_prefix[64], lcores[32];
	unsigned mem_mb, n_vdevs;
	bool no_huge;
	char vdevs[MAX_VDEVS][300];
	uint16_t link_id;
	uint64_t seed, frames;
	unsigned slots_per_frame;
	double rate; /* frame pairs per second, 0: as fast as possible */
	bool alice_sparse;
	struct dst_link_params lp;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int bad(const char *what, const char *why)
{
	fprintf(stderr, "qkdsim: %s: %s\n", what, why);
	return -EINVAL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: qkdsim [options]   (port 0: to Alice's node, port 1: to Bob's node)\n"
		"  --file-prefix P --lcores L --mem MB --vdev SPEC --no-huge   EAL settings, devices\n"
		"  --pcap-alice FILE --pcap-bob FILE                 write pcap files instead\n"
		"  --link-id N (1) --seed N (1) --frames N (0: until SIGINT)\n"
		"  --slots-per-frame N (4096, multiple of 64) --rate FRAMES_PER_S (0: unpaced)\n"
		"  --loss-db X --eta-det X --e-mis X --p-dark X --p-ap X --p-z X   link model\n"
		"  --alice-sparse      the transmitter reports only detected slots\n");
}

static int parse_double(const char *s, double lo, double hi, double *v)
{
	char *end;
	double x = strtod(s, &end);
	if (end == s || *end || !(x >= lo && x <= hi))
		return -EINVAL;
	*v = x;
	return 0;
}

static int parse_opts(struct sim_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->file_prefix, sizeof(o->file_prefix), "qkdsim");
	snprintf(o->lcores, sizeof(o->lcores), "0");
	o->mem_mb = 256;
	o->link_id = 1;
	o->seed = 1;
	o->slots_per_frame = 4096;
	dst_link_params_default(&o->lp);
	enum { O_PREFIX = 256, O_LCORES, O_MEM, O_VDEV, O_PA, O_PB, O_LINK, O_SEED, O_FRAMES, O_SPF,
	       O_RATE, O_LOSS, O_ETA, O_EMIS, O_DARK, O_AP, O_PZ, O_SPARSE, O_HELP, O_NOHUGE };
	static const struct option lopts[] = {
		{"file-prefix", 1, 0, O_PREFIX}, {"lcores", 1, 0, O_LCORES}, {"mem", 1, 0, O_MEM},
		{"vdev", 1, 0, O_VDEV}, {"pcap-alice", 1, 0, O_PA}, {"pcap-bob", 1, 0, O_PB},
		{"link-id", 1, 0, O_LINK}, {"seed", 1, 0, O_SEED}, {"frames", 1, 0, O_FRAMES},
		{"slots-per-frame", 1, 0, O_SPF}, {"rate", 1, 0, O_RATE}, {"loss-db", 1, 0, O_LOSS},
		{"eta-det", 1, 0, O_ETA}, {"e-mis", 1, 0, O_EMIS}, {"p-dark", 1, 0, O_DARK},
		{"p-ap", 1, 0, O_AP}, {"p-z", 1, 0, O_PZ}, {"alice-sparse", 0, 0, O_SPARSE},
		{"help", 0, 0, O_HELP}, {"no-huge", 0, 0, O_NOHUGE}, {0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		double d;
		switch (c) {
		case O_PREFIX:
			if (strlen(optarg) >= sizeof(o->file_prefix))
				return bad("--file-prefix", "too long");
			strcpy(o->file_prefix, optarg);
			break;
		case O_LCORES:
			if (strlen(optarg) >= sizeof(o->lcores))
				return bad("--lcores", "too long");
			strcpy(o->lcores, optarg);
			break;
		case O_MEM:
			if (parse_double(optarg, 64, 65536, &d))
				return bad("--mem", "expected 64 .. 65536");
			o->mem_mb = (unsigned)d;
			break;
		case O_VDEV:
		case O_PA:
		case O_PB:
			if (o->n_vdevs == MAX_VDEVS || strlen(optarg) > 250)
				return bad("--vdev", "too many or too long");
			if (c == O_VDEV)
				snprintf(o->vdevs[o->n_vdevs++], 300, "%s", optarg);
			else
				snprintf(o->vdevs[o->n_vdevs++], 300, "net_pcap_%s,tx_pcap=%s",
					 c == O_PA ? "alice" : "bob", optarg);
			break;
		case O_LINK:
			if (parse_double(optarg, 0, 65535, &d))
				return bad("--link-id", "expected 0 .. 65535");
			o->link_id = (uint16_t)d;
			break;
		case O_SEED:
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case O_FRAMES:
			if (parse_double(optarg, 0, 1e15, &d))
				return bad("--frames", "expected a count");
			o->frames = (uint64_t)d;
			break;
		case O_SPF:
			if (parse_double(optarg, 64, 65472, &d) || ((unsigned)d % 64))
				return bad("--slots-per-frame", "expected a multiple of 64 up to 65472");
			o->slots_per_frame = (unsigned)d;
			break;
		case O_RATE:
			if (parse_double(optarg, 0, 1e9, &o->rate))
				return bad("--rate", "expected frames per second");
			break;
		case O_LOSS:
			if (parse_double(optarg, 0, 100, &o->lp.loss_db))
				return bad("--loss-db", "expected 0 .. 100");
			break;
		case O_ETA:
			if (parse_double(optarg, 1e-6, 1, &o->lp.eta_det))
				return bad("--eta-det", "expected (0, 1]");
			break;
		case O_EMIS:
			if (parse_double(optarg, 0, 0.5, &o->lp.e_mis))
				return bad("--e-mis", "expected 0 .. 0.5");
			break;
		case O_DARK:
			if (parse_double(optarg, 0, 0.5, &o->lp.p_dark))
				return bad("--p-dark", "expected 0 .. 0.5");
			break;
		case O_AP:
			if (parse_double(optarg, 0, 0.5, &o->lp.p_ap))
				return bad("--p-ap", "expected 0 .. 0.5");
			break;
		case O_PZ:
			if (parse_double(optarg, 0.01, 0.99, &o->lp.p_z))
				return bad("--p-z", "expected 0.01 .. 0.99");
			break;
		case O_SPARSE:
			o->alice_sparse = true;
			break;
		case O_NOHUGE:
			o->no_huge = true;
			break;
		case O_HELP:
		default:
			usage();
			return -EINVAL;
		}
	}
	if (optind < argc)
		return bad(argv[optind], "unexpected argument");
	const char *why = NULL;
	if (dst_link_params_check(&o->lp, &why))
		return bad("link model", why ? why : "invalid parameters");
	return 0;
}

static int port_setup(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) < 0 ||
	    rte_eth_rx_queue_setup(port, 0, 256, rte_eth_dev_socket_id(port), NULL, pool) < 0 ||
	    rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL) < 0)
		return -EIO;
	rte_eth_dev_set_mtu(port, 9000);
	return dp_port_start(port, DP_PORT_START_WAIT_MS) < 0 ? -EIO : 0;
}

/* Send everything in the burst; the port may take it in parts (memif ring full). While the node
 * behind a port is down (restarting), its frames are lost, as a real module's would be, and the
 * other node keeps being fed. */
static void send_all(const struct dp_port_watch *w, struct rte_mbuf **m, unsigned n)
{
	uint16_t port = w->port;
	unsigned sent = 0;
	while (sent < n && !stop && !w->stopped) {
		uint16_t k = rte_eth_tx_burst(port, 0, m + sent, (uint16_t)(n - sent));
		sent += k;
		if (k == 0) {
			struct rte_eth_link link;
			if (rte_eth_link_get_nowait(port, &link) == 0 &&
			    link.link_status != RTE_ETH_LINK_UP)
				break;
		}
	}
	for (unsigned i = sent; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static struct rte_mbuf *frame_mbuf(struct rte_mempool *pool, const uint8_t *f, size_t len,
				   const struct rte_ether_addr *src)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	if (!m)
		return NULL;
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_ETH_HDR_LEN + len));
	if (!d) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	dp_eth_write(d, bcast, src->addr_bytes, DP_ETHERTYPE_EVENTS);
	memcpy(d + DP_ETH_HDR_LEN, f, len);
	return m;
}

int main(int argc, char **argv)
{
	if (dst_cpu_parse_args(&argc, argv))
		return 2;
	static struct sim_opts o;
	if (parse_opts(&o, argc, argv))
		return 2;
	struct dp_eal_args a;
	int rc = dp_eal_args_init(&a, argv[0], o.file_prefix, o.lcores, o.mem_mb, o.no_huge);
	for (unsigned i = 0; i < o.n_vdevs && !rc; i++) {
		char buf[320];
		snprintf(buf, sizeof(buf), "--vdev=%s", o.vdevs[i]);
		rc = dp_eal_args_add(&a, buf);
	}
	struct dp_memif_lock lk = {0};
	char err[320];
	int removed = rc ? 0 : dp_eal_memif_reclaim(&a, &lk, err, sizeof(err));
	if (removed < 0) {
		fprintf(stderr, "qkdsim: %s\n", err);
		return 1;
	}
	if (removed)
		fprintf(stderr, "qkdsim: removed %d stale memif socket file(s)\n", removed);
	if (rc || rte_eal_init(a.argc, a.argv) < 0) {
		dp_memif_unlock(&lk);
		fprintf(stderr, "qkdsim: EAL: %s\n",
			rc ? "too many or too long EAL arguments" : rte_strerror(rte_errno));
		return 1;
	}
	dp_memif_unlock(&lk);
	int status = 0;
	struct dp_simgen *g = NULL;
	struct rte_mempool *pool = rte_pktmbuf_pool_create("sim_pool", 4095, 256, 0,
							   RTE_PKTMBUF_HEADROOM + 9216, SOCKET_ID_ANY);
	if (rte_eth_dev_count_avail() < 2 || !pool) {
		fprintf(stderr, "qkdsim: ports: need two ports (Alice's node, Bob's node)\n");
		status = 2;
		goto out;
	}
	uint16_t port[2];
	struct rte_ether_addr mac[2];
	unsigned np = 0;
	uint16_t pid;
	RTE_ETH_FOREACH_DEV(pid)
	{
		if (np < 2)
			port[np++] = pid;
	}
	for (unsigned i = 0; i < 2; i++) {
		if (port_setup(port[i], pool)) {
			fprintf(stderr, "qkdsim: port %u: cannot start\n", port[i]);
			status = 1;
			goto out;
		}
		rte_eth_macaddr_get(port[i], &mac[i]);
	}
	/* memif clients connect after start: wait (bounded) for both links before sending. */
	for (unsigned i = 0; i < 2; i++) {
		struct rte_eth_link link = {0};
		for (int t = 0; t < 1000; t++) {
			rte_eth_link_get_nowait(port[i], &link);
			if (link.link_status == RTE_ETH_LINK_UP)
				break;
			rte_delay_us_sleep(10000);
		}
		if (link.link_status != RTE_ETH_LINK_UP) {
			fprintf(stderr, "qkdsim: port %u: link down (is the node running?)\n", port[i]);
			status = 1;
			goto out;
		}
	}
	g = dp_simgen_create(&o.lp, o.seed, o.link_id, o.slots_per_frame, !o.alice_sparse);
	if (!g) {
		fprintf(stderr, "qkdsim: generator: bad slots per frame or out of memory\n");
		status = 2;
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* a node that restarts as a memif server is reconnected to (dp_port_watch) */
	struct dp_port_watch watch[2] = {{.port = port[0]}, {.port = port[1]}};
	uint64_t hz = rte_get_tsc_hz(), next = rte_rdtsc(), next_watch = next;
	uint64_t period = o.rate > 0 ? (uint64_t)((double)hz / o.rate) : 0;
	struct rte_mbuf *burst[2][32];
	unsigned nb[2] = {0, 0};
	uint64_t frames = 0, events = 0;
	static uint8_t fa[16384], fb[16384];
	while (!stop && (!o.frames || frames < o.frames)) {
		if (rte_rdtsc() >= next_watch) {
			next_watch = rte_rdtsc() + hz / 10;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			for (unsigned i = 0; i < 2; i++)
				dp_port_watch(&watch[i], (uint64_t)ts.tv_sec * 1000000000ull +
								 (uint64_t)ts.tv_nsec);
		}
		size_t la, lb;
		int nd = dp_simgen_next(g, fa, sizeof(fa), &la, fb, sizeof(fb), &lb);
		if (nd < 0) {
			fprintf(stderr, "qkdsim: frame does not fit: lower --slots-per-frame\n");
			status = 2;
			break;
		}
		events += (uint64_t)nd;
		const uint8_t *f[2] = {fa, fb};
		size_t l[2] = {la, lb};
		for (unsigned i = 0; i < 2; i++) {
			if (!l[i])
				continue;
			struct rte_mbuf *m = frame_mbuf(pool, f[i], l[i], &mac[i]);
			if (!m) {
				send_all(&watch[i], burst[i], nb[i]);
				nb[i] = 0;
				m = frame_mbuf(pool, f[i], l[i], &mac[i]);
			}
			if (m)
				burst[i][nb[i]++] = m;
			if (nb[i] == 32 || period) {
				send_all(&watch[i], burst[i], nb[i]);
				nb[i] = 0;
			}
		}
		frames++;
		if (period) {
			next += period;
			while (rte_rdtsc() < next && !stop)
				rte_pause();
		}
	}
	for (unsigned i = 0; i < 2; i++)
		send_all(&watch[i], burst[i], nb[i]);
	fprintf(stderr, "qkdsim: %lu frame pairs, %lu detections\n", (unsigned long)frames,
		(unsigned long)events);
	for (unsigned i = 0; i < 2; i++)
		if (!watch[i].stopped)
			rte_eth_dev_stop(port[i]);
out:
	dp_simgen_free(g);
	rte_eal_cleanup();
	return status;
}
