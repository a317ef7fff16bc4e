/* KSA internals shared by the server, ETSI 014 (Ak) and Kx-2 files. Everything here runs on the
 * KSA thread except the stats counters (read with atomics from any thread). */
#ifndef KSA_INTERNAL_H
#define KSA_INTERNAL_H

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "km_ksa.h"

#define KSA_MAX_SLAVES KM_SAE_SLAVES_MAX /* slave SAEs per key */
#define KSA_UUID_STR 37
#define KSA_MAX_BODY (1024 * 1024)  /* request bodies (key ID lists, Kx-2 messages) */
#define KSA_KX_MAX_TAKES 4096       /* takes per Kx-2 supply message */
#define KSA_HARD_MAX_KEYS 4096      /* max_key_per_request can be configured up to this */

struct ksa_sae {
	char id[KM_KSA_ID_MAX + 1];
	char kme[KM_KSA_ID_MAX + 1];
	bool local;
};

struct kx_conn;
struct ksa_job;
struct ksa_link;

struct ksa_peer {
	char id[KM_KSA_ID_MAX + 1];
	char host[256];
	uint16_t port;
	km_pool_id pool;
	uint64_t own_bits, own_bits_at; /* Get status: our half of the pool, counted at (ns) */
	struct kx_conn *conns;          /* keep-alive Kx-2 connections (ksa_kx.c) */
	/* Supplies go out in the order they were cut, one message in flight (ksa_supply.c) */
	struct ksa_link *wait_head, *wait_tail; /* cut, not sent yet */
	struct ksa_link *inflight;              /* in the message the peer is deriving */
	struct km_ksa *k;
};

struct ksa_stats_atomic {
	uint64_t requests, keys_supplied, bits_supplied, keys_discarded;
	uint64_t rejected_400, rejected_401, rejected_503;
	uint64_t kx_sent, kx_failed, kx_received;
	uint64_t commits, fronts_dropped;
};

struct ksa_job;
struct ksa_done;

struct km_ksa {
	char kme_id[KM_KSA_ID_MAX + 1];
	struct ksa_sae *saes;
	unsigned n_saes;
	/* km_ksa_set_saes() from another thread: swapped in by ksa_saes_refresh() */
	pthread_mutex_t saes_mu;
	struct ksa_sae *next_saes;
	unsigned next_n_saes;
	bool saes_pending;
	struct ksa_peer *peers;
	unsigned n_peers;
	struct kx_conn *kx_retired; /* Kx-2 connections waiting to be freed (ksa_kx.c) */
	bool kx_reap_scheduled;
	uint32_t key_size, min_key_size, max_key_size, max_key_per_request, max_sae_id_count;
	uint64_t max_key_count;
	struct km_store *store;
	km_pool_id local_pool;
	bool local_keys_from_rng;

	struct event_base *base;
	struct event *stop_ev;
	struct evhttp *ak_http, *kx_http;
	uint16_t ak_port, kx_port;
	SSL_CTX *server_ctx, *client_ctx;
	pthread_t thread;
	bool thread_running;

	struct ksa_job *jobs; /* Get key requests waiting for Kx-2 answers */
	struct event *flush_ev;
	bool batch_open;
	struct ksa_done *done_head, *done_tail;
	struct ksa_stats_atomic st;
};

#define KSA_COUNT(k, field, n) __atomic_fetch_add(&(k)->st.field, (n), __ATOMIC_RELAXED)

/* ksa_util.c */
size_t ksa_b64_len(size_t bytes);                    /* characters without NUL */
void ksa_b64_encode(const uint8_t *in, size_t len, char *out); /* writes NUL too */
void ksa_json_zeroizing_alloc(void);
/* Reply with a JSON body (stolen); the serialized body is zeroized once sent. */
void ksa_reply(struct evhttp_request *req, int code, json_t *body);
/* Reply {"message": msg[, "details": details (stolen, may be NULL)]} and count it. */
void ksa_reply_error(struct km_ksa *k, struct evhttp_request *req, int code, const char *msg,
		     json_t *details);
/* CN of the verified client certificate of req's TLS connection; -EACCES if none. */
int ksa_peer_cn(struct evhttp_request *req, char *out, size_t outlen);
/* Request body as a JSON object; NULL with a message in err (caller replies 400). */
json_t *ksa_body_json(struct evhttp_request *req, char *err, size_t errlen);
void ksa_tcp_nodelay(int fd);
/* After evhttp_make_request(): the connection's socket exists now. */
void ksa_evcon_nodelay(struct evhttp_connection *evcon);
int ksa_sae_find(const struct km_ksa *k, const char *id);
void ksa_saes_refresh(struct km_ksa *k); /* ksa_server.c */
struct ksa_peer *ksa_peer_find(struct km_ksa *k, const char *id);

/* ksa_batch.c: group commit per event loop round */
int ksa_batch_init(struct km_ksa *k);
/* Open the round's store batch (if not open yet) before store writes. */
void ksa_batch_join(struct km_ksa *k);
/* Run fn(k, arg, committed) once the round's writes are durable (now, when no batch is open). */
void ksa_batch_defer(struct km_ksa *k, void (*fn)(struct km_ksa *, void *, bool), void *arg);
void ksa_batch_flush(struct km_ksa *k);
void ksa_batch_free(struct km_ksa *k); /* flushes */

/* ksa_tls.c */
SSL_CTX *ksa_tls_server_ctx(const char *ca, const char *cert, const char *key, char *err,
			    size_t errlen);
SSL_CTX *ksa_tls_client_ctx(const char *ca, const char *cert, const char *key, char *err,
			    size_t errlen);
struct bufferevent *ksa_tls_accept_bev(struct event_base *base, void *ctx);
/* A client TLS bufferevent that accepts only a server certificate whose CN is expected_cn. */
struct bufferevent *ksa_tls_connect_bev(struct event_base *base, SSL_CTX *ctx, const char *host,
					const char *expected_cn);
int ksa_tls_cn(X509 *cert, char *out, size_t outlen);

/* {"key_ID": uuid, "key": base64} of a key container (6.3). */
json_t *ksa_key_entry(const uint8_t id[KM_KEY_ID_LEN], const uint8_t *material, uint32_t bytes);

/* ksa_etsi.c: the Ak request handler */
void ksa_ak_handler(struct evhttp_request *req, void *arg);

/* ksa_supply.c: Get key after validation; slaves are SAE indexes (first = URL slave). */
void ksa_supply_start(struct km_ksa *k, struct evhttp_request *req, int master,
		      const uint16_t *slaves, unsigned n_slaves, uint32_t number, uint32_t bits);
/* Parties of a key as the store records them; local_mask marks the SAEs attached to this KME
 * (the master too when master_here). */
void ksa_parties(const struct km_ksa *k, int master, const uint16_t *slaves, unsigned n_slaves,
		 bool master_here, struct km_parties *pa);
void ksa_supply_free_all(struct km_ksa *k); /* at shutdown, without replying */

/* ksa_kx.c */
void ksa_kx_handler(struct evhttp_request *req, void *arg);
/* POST body (stolen) to peer path; cb(ok, arg) runs once on the KSA thread. */
int ksa_kx_post(struct km_ksa *k, struct ksa_peer *p, const char *path, json_t *body,
		void (*cb)(bool ok, void *arg), void *arg);
void ksa_kx_close_all(struct km_ksa *k);

#endif
