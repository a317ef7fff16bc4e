/* Node configuration: one INI file per node (libinih), documented in docs/config.md. Loading
 * validates everything and reports the first problem as "file:line: what"; a failed load or
 * reload changes nothing. */
#ifndef CP_CONFIG_H
#define CP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "cp_graph.h"
#include "cp_lsa.h"

#define CP_CFG_MAX_LINKS 64
#define CP_CFG_MAX_SAES 256
#define CP_CFG_MAX_LCORES 64
#define CP_ADDR_MAX 128
#define CP_PATH_MAX 256
#define CP_NUMBER_MAX 0xFFFFFFFEu /* largest numeric node id (0 = none, all-ones reserved) */

struct cp_cfg_qkd_link {
	char name[CP_NAME_MAX];
	uint32_t id;            /* link id on the wire and in km_key_desc.link_id */
	char peer[CP_NAME_MAX]; /* node at the other end */
	char port[64];          /* DPDK port / vdev name */
	unsigned lcore;         /* distill worker lcore (from node.lcores) */
	int line;
};

struct cp_cfg_km_link {
	char name[CP_NAME_MAX];
	char peer[CP_NAME_MAX];
	char qkd_link[CP_NAME_MAX]; /* the QKD link whose keys feed this KM link */
	char address[CP_ADDR_MAX];  /* peer's control address host:port (LSAs); empty = accept only */
	uint64_t capacity;          /* key buffer capacity in bits */
	uint64_t low_water;         /* alarm and exclude from new routes below this (bits) */
	uint32_t peer_number;       /* the peer's numeric node id (relay wire); 0 = none */
	char port[64];              /* DPDK device carrying the relay (Kx-1) frames; empty = none */
	int line;
};

/* A relay session opened at start (and on reload when new): keep key shared with peer. */
struct cp_cfg_relay {
	char name[CP_NAME_MAX];
	char peer[CP_NAME_MAX];  /* the remote end KM */
	uint64_t target;         /* buffer target in bits (0 = policy relay_target_bits) */
	int line;
};

struct cp_cfg_sae {
	char name[CP_NAME_MAX];
	char node[CP_NAME_MAX]; /* node whose KSA serves this SAE */
	int line;
};

struct cp_cfg_policy {
	struct cp_cost_params cost;
	unsigned alternates;     /* k for Yen (alternate routes kept per relay session) */
	uint32_t max_key_bits;   /* largest key size an application session may ask for */
	uint32_t max_ttl_s;      /* longest key TTL */
	double max_share;        /* fraction of a link's key rate application sessions may reserve */
	uint64_t relay_target;   /* relay session buffer target (bits) */
	uint32_t relay_key_bits; /* bits of one relayed key (a multiple of 8) */
	unsigned relay_window;   /* relays in flight per session */
};

struct cp_cfg_manager {
	char address[CP_ADDR_MAX]; /* host:port of qkdmgr; empty = no manager */
	char km_id[CP_NAME_MAX];   /* Mk component id (default <node>-km) */
	char controller_id[CP_NAME_MAX]; /* Mc component id (default <node>-ctl) */
	char ca[CP_PATH_MAX], cert[CP_PATH_MAX], key[CP_PATH_MAX];
	unsigned report_period_ms;
};

/* [routing]: where the routes come from (Y.3802 Amd. 1 clause 9: configuration 1 distributed or
 * configuration 2 centralized QKDN). */
enum cp_routing_mode {
	CP_ROUTING_DISTRIBUTED = 0, /* configuration 1: link-state protocol between the nodes */
	CP_ROUTING_CENTRAL,         /* configuration 2: a central QKDN controller (qkdctrl) */
};
#define CP_CFG_MAX_CONTROLLERS 4
struct cp_cfg_routing {
	enum cp_routing_mode mode;
	/* central: the controllers' host:port in priority order (routes come from the first one
	 * connected; every one gets our reports) */
	unsigned n_controllers;
	char controllers[CP_CFG_MAX_CONTROLLERS][CP_ADDR_MAX];
	char controller_cn[CP_NAME_MAX]; /* central: CN its certificate must carry (default qkdctrl) */
};

/* [store]: the node's durable key store (qkdnode --store/--kek/--store-sync override it). */
struct cp_cfg_store {
	char path[CP_PATH_MAX];  /* database directory; empty = no store */
	char kek[CP_PATH_MAX];   /* key-encryption key file */
	int sync;                /* -1 unset, 0 full (fsync every commit), 1 none */
	int line;
};

/* [ksa]: the ETSI GS QKD 014 key supply served from the store (qkdnode --ksa-* override it). The
 * sae and peer lists are kept as written ("SAE@KME", "KME@HOST:PORT/LINK"), checked here. */
#define CP_CFG_KSA_ID_MAX 64
#define CP_CFG_KSA_MAX_SAES 64
#define CP_CFG_KSA_MAX_PEERS 8
struct cp_cfg_ksa {
	char listen[CP_ADDR_MAX];     /* ETSI 014 listener host:port; empty = no KSA */
	char id[CP_CFG_KSA_ID_MAX];   /* this KME's id (CN of cert) */
	char ca[CP_PATH_MAX], cert[CP_PATH_MAX], key[CP_PATH_MAX];
	char kx_listen[CP_ADDR_MAX];  /* Kx-2 listener host:port */
	unsigned n_saes, n_peers;
	char saes[CP_CFG_KSA_MAX_SAES][2 * CP_CFG_KSA_ID_MAX];
	char peers[CP_CFG_KSA_MAX_PEERS][CP_CFG_KSA_ID_MAX + CP_ADDR_MAX + 8];
	int line;
};

struct cp_config {
	char path[CP_PATH_MAX];
	char node_id[CP_NAME_MAX];
	uint32_t node_number;              /* numeric node id on the relay wire; 0 = none */
	char listen[CP_ADDR_MAX];          /* LSA listener host:port (empty = none) */
	char control_socket[CP_PATH_MAX];
	char metrics[CP_ADDR_MAX];         /* Prometheus listener (empty = off) */
	/* mutual TLS for the link-state protocol (all three or none): the peer's certificate CN
	 * must be the node id it claims */
	char tls_ca[CP_PATH_MAX], tls_cert[CP_PATH_MAX], tls_key[CP_PATH_MAX];
	unsigned routing_period_ms;
	unsigned lsa_refresh_s;
	unsigned n_lcores;
	unsigned lcores[CP_CFG_MAX_LCORES]; /* worker lcores */
	int relay_lcore;                   /* lcore of the relay worker; -1 = the control thread */
	struct cp_cfg_manager manager;
	struct cp_cfg_routing routing;
	struct cp_cfg_policy policy;
	struct cp_cfg_store store;
	struct cp_cfg_ksa ksa;
	unsigned n_qkd_links, n_km_links, n_saes, n_relays;
	struct cp_cfg_qkd_link qkd_links[CP_CFG_MAX_LINKS];
	struct cp_cfg_km_link km_links[CP_CFG_MAX_LINKS];
	struct cp_cfg_sae saes[CP_CFG_MAX_SAES];
	struct cp_cfg_relay relays[CP_CFG_MAX_LINKS];
};

/* Parse and validate. On error returns -EINVAL (or -errno for I/O) with "file:line: what" in err;
 * *out is set only on success (free with cp_config_free). */
int cp_config_load(const char *path, struct cp_config **out, char *err, size_t errlen);
int cp_config_parse_string(const char *text, const char *name, struct cp_config **out, char *err,
			   size_t errlen);
void cp_config_free(struct cp_config *c);

const struct cp_cfg_km_link *cp_config_km_link(const struct cp_config *c, const char *name);
const struct cp_cfg_qkd_link *cp_config_qkd_link(const struct cp_config *c, const char *name);
const struct cp_cfg_sae *cp_config_sae(const struct cp_config *c, const char *name);

#endif
