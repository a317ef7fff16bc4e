/* qkdnode command line: EAL settings, the lcore map, ports (vdevs) and links. */
#ifndef QKDNODE_OPTIONS_H
#define QKDNODE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_eal.h"
#include "dp_node.h"
#include "keyman.h"

#define QN_MAX_VDEVS 8

struct qn_link_opt {
	struct dp_link_cfg cfg;
	char psk_file[256];
	char ldpc_codes[256]; /* cfg.ldpc_codes points here when set */
	uint8_t *psk; /* read from psk_file; wiped and freed by qn_options_clear */
};

struct qn_options {
	char file_prefix[64];
	char lcores[64];
	unsigned mem_mb;
	bool no_huge;
	unsigned n_vdevs;
	char vdevs[QN_MAX_VDEVS][256];
	struct dp_node_cfg node;
	unsigned n_links;
	struct qn_link_opt links[DP_MAX_LINKS];
	uint64_t stop_after_keys; /* 0: run until SIGINT/SIGTERM */
	double report_interval;   /* seconds between progress reports on stderr; 0: none */
	char key_digest_file[256];
	char report_file[256];
	char control_file[256]; /* node INI: run the control plane on the main lcore */
	struct qn_km_opts km;   /* key store and KSA (keyman.h) */
	unsigned drop_commit_skip, drop_commit_count; /* test hook (dp_node_test_drop_commit) */
};

/* Parse argv; on error print "qkdnode: what: why" and return -EINVAL. */
int qn_options_parse(struct qn_options *o, int argc, char **argv);
void qn_options_clear(struct qn_options *o);
void qn_usage(void);

#endif
