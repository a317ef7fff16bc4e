/* qkdcpd: a node's control plane on its own, with the simulated dataplane and key store
 * (cp_sim.h) behind it: for trying the CLI, the manager interface and routing across several
 * nodes on one machine, and for the integration tests. qkdnode runs the same control thread
 * against its real dataplane.
 *   qkdcpd -c node.ini [--skr bit/s] */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_ctrl.h"
#include "cp_sim.h"

int main(int argc, char **argv)
{
	const char *cfg_path = NULL;
	double skr = 100000;
	static const struct option opts[] = {{"config", required_argument, 0, 'c'},
					     {"skr", required_argument, 0, 'r'},
					     {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "c:r:", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'c': cfg_path = optarg; break;
		case 'r':
			skr = strtod(optarg, &end);
			if (*end || !(skr >= 0)) {
				fprintf(stderr, "qkdcpd: --skr: '%s' is not a rate in bit/s\n", optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: qkdcpd -c node.ini [--skr bit/s]\n");
			return 2;
		}
	}
	if (!cfg_path) {
		fprintf(stderr, "qkdcpd: -c node.ini is required\n");
		return 2;
	}
	char err[512];
	struct cp_config *cfg;
	if (cp_config_load(cfg_path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "qkdcpd: %s\n", err);
		return 2;
	}
	struct cp_sim *sim = cp_sim_create(cfg, skr);
	struct cp_ctrl_opts o = {.config_path = cfg_path, .ops = cp_sim_ops(), .ops_ctx = sim,
				 .handle_signals = true};
	struct cp_ctrl *ctrl = cp_ctrl_create(&o, err, sizeof(err));
	if (!ctrl) {
		fprintf(stderr, "qkdcpd: %s\n", err);
		cp_sim_free(sim);
		cp_config_free(cfg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	cp_sim_start_workers(sim, ctrl);
	printf("qkdcpd: node %s, lsa port %u, metrics port %u\n", cfg->node_id,
	       cp_ctrl_lsa_port(ctrl), cp_ctrl_metrics_port(ctrl));
	fflush(stdout);
	cp_ctrl_run(ctrl);
	cp_sim_stop_workers(sim);
	cp_ctrl_free(ctrl);
	cp_sim_free(sim);
	cp_config_free(cfg);
	return 0;
}
