/* qkdnode's key manager: the durable key store (km_store) fed from the workers' key rings, and
 * optionally the KSA (ETSI GS QKD 014 key supply + Kx-2 sync, km_ksa) serving from that store.
 * Without --store the node keeps its old behaviour (keys digested and wiped). */
#ifndef QKDNODE_KEYMAN_H
#define QKDNODE_KEYMAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "km_key.h"
#include "km_store.h"

#define QN_KM_MAX_SAES 64
#define QN_KM_MAX_PEERS 8
#define QN_KM_PATH 256
#define QN_KM_ID 64

/* The command-line options below, as given (checked by qn_km_option / qn_km_check). */
struct qn_km_opts {
	char store_dir[QN_KM_PATH];
	char kek_file[QN_KM_PATH];
	bool sync_none, sync_set;
	char kme_id[QN_KM_ID];
	char listen_host[QN_KM_ID], kx_host[QN_KM_ID];
	uint16_t listen_port, kx_port;
	bool has_listen, has_kx;
	char ca[QN_KM_PATH], cert[QN_KM_PATH], key[QN_KM_PATH];
	unsigned n_saes;
	char sae_id[QN_KM_MAX_SAES][QN_KM_ID], sae_kme[QN_KM_MAX_SAES][QN_KM_ID];
	unsigned n_peers;
	char peer_kme[QN_KM_MAX_PEERS][QN_KM_ID], peer_host[QN_KM_MAX_PEERS][QN_KM_ID];
	uint16_t peer_port[QN_KM_MAX_PEERS];
	uint32_t peer_link[QN_KM_MAX_PEERS];
};

/* getopt_long names handled here (each takes an argument); NULL-terminated. */
extern const char *const qn_km_option_names[];
#define QN_KM_USAGE                                                                                \
	"  --store DIR          durable key store (LMDB, AES-256-GCM at rest): keys go to pool\n"   \
	"                       link:<link id>, one group commit per burst\n"                         \
	"  --kek FILE           store key-encryption key (32 raw bytes or 64 hex, mode 0600)\n"       \
	"  --store-sync full|none  fsync every commit (default full)\n"                              \
	"  --ksa-listen H:P     serve ETSI GS QKD 014 (mutual TLS) from the store on H:P\n"          \
	"  --ksa-id ID          this KME's id (CN of --ksa-tls cert)\n"                              \
	"  --ksa-tls CA,CERT,KEY  PEM files for the KSA and Kx-2\n"                                   \
	"  --ksa-kx-listen H:P  Kx-2 (KSA-to-KSA key sync) listener\n"                               \
	"  --ksa-sae SAE@KME    an SAE and the KME serving it (repeat)\n"                            \
	"  --ksa-peer KME@H:P/LINK  a peer KME's Kx-2 endpoint and the QKD link shared with it\n"

/* Record option 'name' with value 'val'; prints "qkdnode: --name: why" and returns -EINVAL when
 * the value is bad. */
int qn_km_option(struct qn_km_opts *k, const char *name, const char *val);
/* Fill what the command line left unset from the node INI's [store] and [ksa] sections (the
 * flags override: a value given there wins; SAE and peer lists come whole from one side). */
struct cp_config;
int qn_km_from_config(struct qn_km_opts *k, const struct cp_config *c);
/* Cross-option checks after parsing; same error style. */
int qn_km_check(const struct qn_km_opts *k);

struct qn_keyman;

/* Open the store (and create/start the KSA when --ksa-listen was given). NULL with a one-line
 * reason in err. Returns NULL without error (err[0] == 0) when no store is configured. */
struct qn_keyman *qn_keyman_open(const struct qn_km_opts *k, char *err, size_t errlen);
/* Group commit around the puts of one drain round. */
int qn_keyman_begin(struct qn_keyman *km);
int qn_keyman_commit(struct qn_keyman *km);
/* Store n descriptors into their link pools; what cannot be stored is zeroized, freed and
 * counted as dropped. Every descriptor's material is NULL afterwards. Returns the count stored. */
unsigned qn_keyman_put(struct qn_keyman *km, struct km_key_desc *d, unsigned n);
struct km_store *qn_keyman_store(const struct qn_keyman *km);
struct km_meter *qn_keyman_meter(const struct qn_keyman *km);
/* Keys durably stored (committed) and keys lost (refused by the store or in a failed commit). */
uint64_t qn_keyman_stored(const struct qn_keyman *km);
uint64_t qn_keyman_dropped(const struct qn_keyman *km);
/* Stop the KSA, close and zeroize the store. Accepts NULL. */
void qn_keyman_close(struct qn_keyman *km);

#endif
