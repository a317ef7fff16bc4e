/* KSA lifecycle: configuration, TLS contexts, the Ak and Kx-2 listeners, the server thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/thread.h>

#include "ksa_internal.h"

static void stop_cb(evutil_socket_t fd, short what, void *arg);

static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;
static void evthread_init(void)
{
	evthread_use_pthreads();
}

static int copy_id(char *dst, const char *src)
{
	if (!src || !*src || strlen(src) > KM_KSA_ID_MAX)
		return -EINVAL;
	strcpy(dst, src);
	return 0;
}

static uint16_t bound_port(struct evhttp_bound_socket *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static struct evhttp *listen_https(struct km_ksa *k, const char *addr, uint16_t port,
				   void (*handler)(struct evhttp_request *, void *),
				   uint16_t *bound, char *err, size_t errlen)
{
	struct evhttp *h = evhttp_new(k->base);
	if (!h) {
		snprintf(err, errlen, "evhttp_new failed");
		return NULL;
	}
	evhttp_set_bevcb(h, ksa_tls_accept_bev, k->server_ctx);
	evhttp_set_gencb(h, handler, k);
	evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
					  EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_max_body_size(h, KSA_MAX_BODY);
	evhttp_set_max_headers_size(h, 16384);
	evhttp_set_timeout(h, 60);
	struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(h, addr, port);
	if (!s) {
		snprintf(err, errlen, "cannot listen on %s:%u: %s", addr, port, strerror(errno));
		evhttp_free(h);
		return NULL;
	}
	*bound = bound_port(s);
	/* accepted sockets inherit it: headers and body go out as separate TLS records, which Nagle
	 * would hold back until the peer's delayed ACK */
	ksa_tcp_nodelay(evhttp_bound_socket_get_fd(s));
	return h;
}

/* Each end of a pool originates takes from its own half of the keys (km_ksa.h). */
static int split_origin(struct km_ksa *k, struct ksa_peer *p)
{
	struct km_pool_policy pol;
	int rc = km_store_get_policy(k->store, p->pool, &pol);
	if (rc == 0 && pol.origin == KM_ORIGIN_ALL) {
		pol.origin = strcmp(k->kme_id, p->id) < 0 ? KM_ORIGIN_ODD : KM_ORIGIN_EVEN;
		rc = km_store_set_policy(k->store, p->pool, &pol);
	}
	return rc;
}

static int set_peer(struct km_ksa *k, const struct km_ksa_peer *cp)
{
	if (!cp || !cp->host || strlen(cp->host) >= sizeof(k->peers[0].host) || cp->port == 0 ||
	    !cp->kme_id || strlen(cp->kme_id) > KM_KSA_ID_MAX || strcmp(cp->kme_id, k->kme_id) == 0 ||
	    (KM_POOL_KIND(cp->pool) != 1 && KM_POOL_KIND(cp->pool) != 2))
		return -EINVAL;
	struct ksa_peer *p = ksa_peer_find(k, cp->kme_id);
	if (!p) {
		struct ksa_peer *np = realloc(k->peers, (k->n_peers + 1) * sizeof(*np));
		if (!np)
			return -ENOMEM;
		k->peers = np;
		p = &k->peers[k->n_peers];
		memset(p, 0, sizeof(*p));
		strcpy(p->id, cp->kme_id);
		p->k = k;
		k->n_peers++;
	}
	strcpy(p->host, cp->host);
	p->port = cp->port;
	p->pool = cp->pool;
	return split_origin(k, p);
}

int km_ksa_set_peer(struct km_ksa *k, const struct km_ksa_peer *peer)
{
	if (!k || k->thread_running)
		return -EBUSY;
	return set_peer(k, peer);
}

/* A validated copy of an SAE table. */
static int build_saes(const char *kme_id, const struct km_ksa_sae *in, unsigned n,
		      struct ksa_sae **out, char *err, size_t errlen)
{
	struct ksa_sae *t = calloc(n ? n : 1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!in || copy_id(t[i].id, in[i].sae_id) != 0 || copy_id(t[i].kme, in[i].kme_id) != 0) {
			snprintf(err, errlen, "SAE %u: sae_id/kme_id missing or too long", i);
			free(t);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++)
			if (strcmp(t[j].id, t[i].id) == 0) {
				snprintf(err, errlen, "SAE '%s' listed twice", t[i].id);
				free(t);
				return -EINVAL;
			}
		t[i].local = strcmp(t[i].kme, kme_id) == 0;
	}
	*out = t;
	return 0;
}

int km_ksa_set_saes(struct km_ksa *k, const struct km_ksa_sae *saes, unsigned n, char *err,
		    size_t errlen)
{
	char dummy[8];
	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	struct ksa_sae *t;
	int rc = build_saes(k->kme_id, saes, n, &t, err, errlen);
	if (rc)
		return rc;
	pthread_mutex_lock(&k->saes_mu);
	free(k->next_saes);
	k->next_saes = t;
	k->next_n_saes = n;
	__atomic_store_n(&k->saes_pending, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&k->saes_mu);
	if (!k->thread_running)
		ksa_saes_refresh(k);
	return 0;
}

/* On the KSA thread between requests: SAE indexes never outlive one callback. */
void ksa_saes_refresh(struct km_ksa *k)
{
	if (!__atomic_load_n(&k->saes_pending, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&k->saes_mu);
	free(k->saes);
	k->saes = k->next_saes;
	k->n_saes = k->next_n_saes;
	k->next_saes = NULL;
	__atomic_store_n(&k->saes_pending, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&k->saes_mu);
}

struct km_ksa *km_ksa_create(const struct km_ksa_config *cfg, char *err, size_t errlen)
{
	char dummy[8];
	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	pthread_once(&evthread_once, evthread_init);
	ksa_json_zeroizing_alloc();
	struct km_ksa *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&k->saes_mu, NULL);
	if (!cfg || copy_id(k->kme_id, cfg->kme_id) != 0) {
		snprintf(err, errlen, "kme_id missing or longer than %d bytes", KM_KSA_ID_MAX);
		goto fail;
	}
	k->key_size = cfg->key_size ? cfg->key_size : 256;
	k->min_key_size = cfg->min_key_size ? cfg->min_key_size : 64;
	k->max_key_size = cfg->max_key_size ? cfg->max_key_size : 8192;
	k->max_key_per_request = cfg->max_key_per_request ? cfg->max_key_per_request : 128;
	k->max_sae_id_count = cfg->max_sae_id_count ? cfg->max_sae_id_count : KSA_MAX_SLAVES - 1;
	k->max_key_count = cfg->max_key_count ? cfg->max_key_count : 100000;
	k->local_keys_from_rng = cfg->local_keys_from_rng;
	k->local_pool = cfg->local_pool;
	k->store = cfg->store;
	if (!k->store) {
		snprintf(err, errlen, "a key store is required");
		goto fail;
	}
	if (k->min_key_size % 8 || k->max_key_size % 8 || k->key_size % 8 ||
	    k->min_key_size > k->key_size || k->key_size > k->max_key_size ||
	    k->max_key_size > KM_KSA_MAX_KEY_BITS || k->max_sae_id_count >= KSA_MAX_SLAVES ||
	    (k->local_keys_from_rng && !k->local_pool) ||
	    k->max_key_per_request > KSA_HARD_MAX_KEYS) {
		snprintf(err, errlen, "inconsistent key size or count limits");
		goto fail;
	}
	if (build_saes(k->kme_id, cfg->saes, cfg->n_saes, &k->saes, err, errlen) != 0)
		goto fail;
	k->n_saes = cfg->n_saes;
	for (unsigned i = 0; i < cfg->n_peers; i++) {
		if (set_peer(k, &cfg->peers[i]) != 0) {
			snprintf(err, errlen, "peer %u: bad kme_id, host, port or pool", i);
			goto fail;
		}
	}
	if (!cfg->ca_file || !cfg->cert_file || !cfg->key_file) {
		snprintf(err, errlen, "ca_file, cert_file and key_file are required");
		goto fail;
	}
	k->server_ctx = ksa_tls_server_ctx(cfg->ca_file, cfg->cert_file, cfg->key_file, err, errlen);
	if (!k->server_ctx)
		goto fail;
	k->client_ctx = ksa_tls_client_ctx(cfg->ca_file, cfg->cert_file, cfg->key_file, err, errlen);
	if (!k->client_ctx)
		goto fail;
	k->base = event_base_new();
	if (!k->base)
		goto oom;
	k->stop_ev = event_new(k->base, -1, 0, stop_cb, k->base);
	if (!k->stop_ev || ksa_batch_init(k) != 0)
		goto oom;
	k->ak_http = listen_https(k, cfg->bind_addr ? cfg->bind_addr : "127.0.0.1", cfg->port,
				  ksa_ak_handler, &k->ak_port, err, errlen);
	if (!k->ak_http)
		goto fail;
	if (cfg->kx_bind_addr) {
		k->kx_http = listen_https(k, cfg->kx_bind_addr, cfg->kx_port, ksa_kx_handler,
					  &k->kx_port, err, errlen);
		if (!k->kx_http)
			goto fail;
	}
	return k;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	km_ksa_free(k);
	return NULL;
}

uint16_t km_ksa_port(const struct km_ksa *k)
{
	return k->ak_port;
}

uint16_t km_ksa_kx_port(const struct km_ksa *k)
{
	return k->kx_port;
}

int km_ksa_run(struct km_ksa *k)
{
	return event_base_loop(k->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0 ? -EIO : 0;
}

static void *thread_main(void *arg)
{
	pthread_setname_np(pthread_self(), "ksa"); /* for top -H, perf */
	/* a client closing mid-write must fail the write with EPIPE, not kill the host process:
	 * SIGPIPE from this thread's writes stays pending on this thread */
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	km_ksa_run(arg);
	return NULL;
}

int km_ksa_start(struct km_ksa *k)
{
	if (k->thread_running)
		return -EBUSY;
	int rc = pthread_create(&k->thread, NULL, thread_main, k);
	if (rc != 0)
		return -rc;
	k->thread_running = true;
	return 0;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

void km_ksa_stop(struct km_ksa *k)
{
	if (!k || !k->stop_ev)
		return;
	/* an activated event survives until the loop runs, unlike a bare loopbreak */
	event_active(k->stop_ev, EV_READ, 0);
	if (k->thread_running) {
		pthread_join(k->thread, NULL);
		k->thread_running = false;
	}
}

void km_ksa_free(struct km_ksa *k)
{
	if (!k)
		return;
	km_ksa_stop(k);
	if (k->base)
		ksa_batch_free(k); /* the loop may have stopped before the round's commit */
	ksa_kx_close_all(k);
	ksa_supply_free_all(k);
	if (k->ak_http)
		evhttp_free(k->ak_http);
	if (k->kx_http)
		evhttp_free(k->kx_http);
	if (k->stop_ev)
		event_free(k->stop_ev);
	if (k->base) {
		/* let libevent finish what the frees deferred before the base goes */
		event_base_loop(k->base, EVLOOP_NONBLOCK);
		event_base_free(k->base);
	}
	SSL_CTX_free(k->server_ctx);
	SSL_CTX_free(k->client_ctx);
	free(k->saes);
	free(k->next_saes);
	pthread_mutex_destroy(&k->saes_mu);
	free(k->peers);
	free(k);
}

void km_ksa_get_stats(const struct km_ksa *k, struct km_ksa_stats *s)
{
#define LD(f) __atomic_load_n(&k->st.f, __ATOMIC_RELAXED)
	s->requests = LD(requests);
	s->keys_supplied = LD(keys_supplied);
	s->bits_supplied = LD(bits_supplied);
	s->rejected_400 = LD(rejected_400);
	s->rejected_401 = LD(rejected_401);
	s->rejected_503 = LD(rejected_503);
	s->kx_sent = LD(kx_sent);
	s->kx_failed = LD(kx_failed);
	s->kx_received = LD(kx_received);
	s->keys_discarded = LD(keys_discarded);
	s->commits = LD(commits);
	s->fronts_dropped = LD(fronts_dropped);
#undef LD
}
