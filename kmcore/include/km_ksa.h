/* Key supply agent (ITU-T Y.3802 KSA): the ETSI GS QKD 014 V1.1.1 REST API for SAEs (reference
 * point Ak) and KSA-to-KSA key synchronisation between KMEs (reference point Kx-2), both HTTPS
 * with mutual TLS 1.3 (OpenSSL) served by libevent's evhttp on one server thread.
 *
 * Identity: a caller's SAE ID (Ak) or KME ID (Kx-2) is the commonName (CN) of the subject of its
 * client certificate, which must chain to the configured CA. Outgoing Kx-2 connections check the
 * peer KME's certificate the same way (CN == configured peer KME ID).
 *
 * Key flow: a master SAE's Get key (enc_keys) takes fresh key material from the key source:
 *  - slave SAEs on this KME: the keys wait in the KSA until each slave fetches them (dec_keys);
 *  - slave SAEs on other KMEs: the material comes from the keys this KME shares with the first such
 *    KME (QKD link or relayed keys); every remote KME involved gets a Kx-2 "supply" message naming
 *    the shared key segments the material was cut from (no key bytes cross Kx-2); a further KME
 *    gets the material one-time-padded with key segments it shares with this KME. The master's
 *    reply is sent only after every remote KME has accepted the keys, so dec_keys on the slave's
 *    KME can always return them.
 * Every supplied key goes to the master once and to each of its slaves once, then is zeroized.
 *
 * Error statuses follow ETSI GS QKD 014: 400 (bad request, body {"message": ...}), 401 (caller
 * not authenticated as an SAE of this KME, or not a slave SAE of the requested keys), 503 (keys
 * short or a remote KME unreachable).
 *
 * The KSA installs a process-wide jansson allocator that zeroizes freed memory (JSON documents
 * carry base64 key material). */
#ifndef KM_KSA_H
#define KM_KSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "km_key.h"

#define KM_KSA_ID_MAX 64        /* longest SAE / KME ID (bytes, without NUL) */
#define KM_KSA_MAX_SEGS 64      /* most shared-key segments one supplied key may be cut from */
#define KM_KSA_MAX_KEY_BITS 65536

/* A piece of a key shared with a peer KME: bytes [offset, offset + len) of shared key key_id. */
struct km_ksa_seg {
	uint8_t key_id[KM_KEY_ID_LEN];
	uint32_t offset;
	uint32_t len;
};

/* Where supplied key material comes from: keys this KME shares with each peer KME.
 * Called on the KSA thread; implementations lock what other threads feed. */
struct km_ksa_source {
	void *ctx;
	/* Bytes shared with peer_kme that take() can hand out now. */
	uint64_t (*available)(void *ctx, const char *peer_kme);
	/* Take len fresh bytes shared with peer_kme into out and describe them as segments (at most
	 * max_segs). Returns the number of segments, -EAGAIN if fewer than len bytes are available
	 * (nothing taken), -ENOSPC if more than max_segs segments would be needed (nothing taken). */
	int (*take)(void *ctx, const char *peer_kme, uint8_t *out, uint32_t len,
		    struct km_ksa_seg *segs, unsigned max_segs);
	/* The other end: take the bytes named by segments that peer_kme's take() produced. Each
	 * segment must lie beyond everything already taken from its key. Returns 0, -ENOENT for an
	 * unknown key, -EALREADY for bytes already taken (nothing taken in both cases). */
	int (*take_segs)(void *ctx, const char *peer_kme, const struct km_ksa_seg *segs,
			 unsigned nsegs, uint8_t *out);
};

/* In-memory FIFO pool of shared keys per peer KME, a ready key source (mutex-protected: a key
 * manager thread adds keys while the KSA thread takes them). Both KMEs of a pair may start key
 * supplies at the same time, so each shared key belongs to one direction: the lowest bit of its
 * last id byte set means the KME with the smaller ID (strcmp) takes it, clear the other one; each
 * end takes only its own keys and follows the peer's segments for the others. Keys are added in
 * the same order at both ends; a peer segment naming a key discards the peer's older keys (the
 * peer has passed them). Key material is zeroized as soon as it is taken or the pool is freed. */
struct km_ksa_pool;
struct km_ksa_pool *km_ksa_pool_create(const char *own_kme_id, uint64_t max_bytes_per_peer);
void km_ksa_pool_free(struct km_ksa_pool *p);
/* Copy a key shared with peer_kme into the pool (the caller keeps and frees its descriptor).
 * Returns 0, -EEXIST for a key id already in the pool, -ENOSPC when the peer's pool is full. */
int km_ksa_pool_add(struct km_ksa_pool *p, const char *peer_kme, const struct km_key_desc *key);
struct km_ksa_source km_ksa_pool_source(struct km_ksa_pool *p);

/* The SAEs this KME knows and the KME each is attached to (own SAEs have kme_id == own ID). */
struct km_ksa_sae {
	const char *sae_id;
	const char *kme_id;
};

/* A peer KME's Kx-2 endpoint. */
struct km_ksa_peer {
	const char *kme_id;
	const char *host;
	uint16_t port;
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
	uint32_t max_sae_id_count;    /* additional slave SAEs per request [8], < 64 */
	uint64_t max_key_count;       /* capacity reported as max_key_count [100000] */
	uint32_t max_pending;         /* supplied keys waiting for their slaves [1 << 20] */
	/* Keys for a master and slaves all on this KME: true takes them from OpenSSL's DRBG
	 * (RAND_priv_bytes), false from the key source with peer = kme_id. */
	bool local_keys_from_rng;
	struct km_ksa_source source;
};

struct km_ksa;

/* Load certificates, bind the listeners. On failure returns NULL and writes a one-line reason. */
struct km_ksa *km_ksa_create(const struct km_ksa_config *cfg, char *err, size_t errlen);
/* Set (or add) a peer KME's Kx-2 endpoint; only before km_ksa_start(). */
int km_ksa_set_peer(struct km_ksa *k, const char *kme_id, const char *host, uint16_t port);
uint16_t km_ksa_port(const struct km_ksa *k);
uint16_t km_ksa_kx_port(const struct km_ksa *k);
/* Serve on a new thread / on the calling thread until km_ksa_stop(). */
int km_ksa_start(struct km_ksa *k);
int km_ksa_run(struct km_ksa *k);
/* Ask the server loop to finish (any thread, signal handlers excluded); joins the thread that
 * km_ksa_start() made. */
void km_ksa_stop(struct km_ksa *k);
/* Zeroizes every key still waiting for a slave. Accepts NULL. */
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
	uint64_t bits_supplied;
	uint64_t rejected_400, rejected_401, rejected_503;
	uint64_t kx_sent, kx_failed, kx_received;
	uint64_t pending;        /* keys waiting for a slave SAE */
};
void km_ksa_get_stats(const struct km_ksa *k, struct km_ksa_stats *s);

#endif
