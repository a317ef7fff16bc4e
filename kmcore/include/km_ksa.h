/* Key supply agent (ITU-T Y.3802 KSA): the ETSI GS QKD 014 V1.1.1 REST API for SAEs (reference
 * point Ak) and KSA-to-KSA key synchronisation between KMEs (reference point Kx-2), both HTTPS
 * with mutual TLS 1.3 (OpenSSL) served by libevent's evhttp on one server thread.
 *
 * Identity: a caller's SAE ID (Ak) or KME ID (Kx-2) is the commonName (CN) of the subject of its
 * client certificate, which must chain to the configured CA. Outgoing Kx-2 connections check the
 * peer KME's certificate the same way (CN == configured peer KME ID).
 *
 * Keys come from the durable key store (km_store.h); every state change is an LMDB transaction
 * and the store meters every supply and fetch (km_store_set_meter) per SAE and per pool.
 *  - Get key (enc_keys) cuts the keys with km_store_supply_new from the pool shared with the
 *    slave SAE's KME (a QKD link pool or a relayed-key pool), or from local_pool when every slave
 *    is on this KME. For a slave on another KME the take description (source key ids, no key
 *    bytes) goes to that KME over Kx-2, which derives the same keys (km_store_derive) and keeps
 *    them for its slaves; the master's reply is sent only after every KME accepted them, so
 *    dec_keys there can always return them. If it fails, the keys are discarded on both ends, and
 *    this end drops the key at the front of its half of the pool (the leftover of its last take,
 *    which the peer may never have derived) so that the next take starts from a whole key both
 *    ends hold.
 *  - Get key with key IDs (dec_keys) hands each key to each of its slave SAEs once
 *    (km_store_fetch); a request is checked whole before any key is handed out.
 * Group commit: the store writes of all requests handled in one event loop round share one
 * transaction and one fsync; replies and Kx-2 messages that expose keys go out after it.
 * Multicast: the slaves of one request (URL slave + additional_slave_SAE_IDs) may be on any KMEs.
 * The keys are cut from the pool shared with the first other KME; each further KME gets the cut
 * bytes one-time-padded with keys it shares with this KME, stores them under the first source id
 * of the cut in a scratch pool (kind of the cut's pool, number 0xFFFFFFFF) and derives the same
 * key ids from it. Both ends of a pool draw from it, so each end originates takes only from its half
 * of the keys: km_ksa_create() sets a peer pool whose origin policy is KM_ORIGIN_ALL to
 * KM_ORIGIN_ODD on the KME with the smaller ID (strcmp) and KM_ORIGIN_EVEN on the other.
 *
 * Error statuses follow ETSI GS QKD 014: 400 (bad request, body {"message": ...}), 401 (caller
 * not authenticated as an SAE of this KME, or not a slave SAE of the requested keys), 503 (keys
 * short or the slave's KME unreachable).
 *
 * The KSA installs a process-wide jansson allocator that zeroizes freed memory (JSON documents
 * carry base64 key material). */
#ifndef KM_KSA_H
#define KM_KSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "km_store.h"

#define KM_KSA_ID_MAX (KM_SAE_ID_MAX - 1) /* longest SAE / KME ID (bytes, without NUL) */
#define KM_KSA_MAX_KEY_BITS 65536

/* The SAEs this KME knows and the KME each is attached to (own SAEs have kme_id == own ID). */
struct km_ksa_sae {
	const char *sae_id;
	const char *kme_id;
};

/* A peer KME: its Kx-2 endpoint and the store pool of keys this KME shares with it. */
struct km_ksa_peer {
	const char *kme_id;
	const char *host;
	uint16_t port;
	km_pool_id pool;
};

struct km_ksa_config {
	const char *kme_id;
	const char *bind_addr;      /* Ak listener, e.g. "127.0.0.1" */
	uint16_t port;              /* 0: pick a free port (km_ksa_port()) */
	const char *kx_bind_addr;   /* Kx-2 listener; NULL: no Kx-2 listener */
	uint16_t kx_port;           /* 0: pick a free port (km_ksa_kx_port()) */
	const char *ca_file;        /* CA for SAE and KME certificates (PEM) */
	const char *cert_file;      /* this KME's certificate (PEM), CN = kme_id */
	const char *key_file;       /* its private key (PEM) */
	const struct km_ksa_sae *saes;
	unsigned n_saes;
	const struct km_ksa_peer *peers;
	unsigned n_peers;
	/* Limits reported by Get status; 0 takes the default in brackets. */
	uint32_t key_size;            /* default key size, bits [256] */
	uint32_t min_key_size;        /* bits, multiple of 8 [64] */
	uint32_t max_key_size;        /* bits, multiple of 8, <= KM_KSA_MAX_KEY_BITS [8192] */
	uint32_t max_key_per_request; /* [128] */
	uint32_t max_sae_id_count;    /* additional slave SAEs per request [7], < KM_SAE_SLAVES_MAX */
	uint64_t max_key_count;       /* capacity reported as max_key_count [100000] */
	struct km_store *store;       /* required; the caller opens and closes it */
	/* Keys for a master and slaves all on this KME come from local_pool (0: such requests get
	 * 503). With local_keys_from_rng the KSA first puts fresh keys from OpenSSL's DRBG
	 * (RAND_priv_bytes) there, so the pool needs no feeding. */
	km_pool_id local_pool;
	bool local_keys_from_rng;
};

struct km_ksa;

/* Load certificates, bind the listeners. On failure returns NULL and writes a one-line reason. */
struct km_ksa *km_ksa_create(const struct km_ksa_config *cfg, char *err, size_t errlen);
/* Set (or add) a peer KME's Kx-2 endpoint and pool; only before km_ksa_start(). */
int km_ksa_set_peer(struct km_ksa *k, const struct km_ksa_peer *peer);
/* Replace the SAE directory (a configuration reload), from any thread; requests already being
 * handled finish with the old one. Keys already supplied keep their parties. Returns 0 or
 * -EINVAL (bad or duplicate IDs, reason in err) and changes nothing then. */
int km_ksa_set_saes(struct km_ksa *k, const struct km_ksa_sae *saes, unsigned n, char *err,
		    size_t errlen);
uint16_t km_ksa_port(const struct km_ksa *k);
uint16_t km_ksa_kx_port(const struct km_ksa *k);
/* Serve on a new thread / on the calling thread until km_ksa_stop(). */
int km_ksa_start(struct km_ksa *k);
int km_ksa_run(struct km_ksa *k);
/* Ask the server loop to finish (any thread, signal handlers excluded); joins the thread that
 * km_ksa_start() made. */
void km_ksa_stop(struct km_ksa *k);
/* Accepts NULL. */
void km_ksa_free(struct km_ksa *k);

/* A blocking HTTPS client for SAEs, tools and tests: one keep-alive TLS 1.3 connection on its own
 * event base (not thread-safe; one per thread). cert_file/key_file NULL connects without a
 * client certificate; server_cn non-NULL requires that server certificate CN. */
struct km_ksa_client;
struct km_ksa_client *km_ksa_client_create(const char *host, uint16_t port, const char *ca_file,
					   const char *cert_file, const char *key_file,
					   const char *server_cn, char *err, size_t errlen);
/* Send one request ("GET"/"POST", body NULL for none) and wait for the answer. Returns the HTTP
 * status, or -ECONNREFUSED / -ECONNRESET / -ETIMEDOUT when no answer came (TLS refused, ...).
 * *resp (may be NULL) gets the NUL-terminated body to free with km_ksa_client_free_body(). */
int km_ksa_client_request(struct km_ksa_client *c, const char *method, const char *path,
			  const char *body, char **resp, size_t *resp_len);
void km_ksa_client_free_body(char *resp, size_t len); /* zeroizes: bodies carry keys */
void km_ksa_client_free(struct km_ksa_client *c);

struct km_ksa_stats {
	uint64_t requests;       /* Ak requests answered */
	uint64_t keys_supplied;  /* keys handed to SAEs (master and slave deliveries) */
	uint64_t keys_discarded; /* supplies that failed after their keys were cut */
	uint64_t bits_supplied;
	uint64_t rejected_400, rejected_401, rejected_503;
	uint64_t kx_sent, kx_failed, kx_received;
	uint64_t commits;        /* store group commits (one per event loop round with writes) */
	uint64_t fronts_dropped; /* pool front keys dropped after a failed Kx-2 supply (resync) */
};
void km_ksa_get_stats(const struct km_ksa *k, struct km_ksa_stats *s);

#endif
