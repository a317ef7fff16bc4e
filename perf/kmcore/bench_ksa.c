/* ETSI GS QKD 014 under load on loopback: requests/s and latency percentiles of a C load generator
 * with keep-alive mutual-TLS connections (wrk cannot present client certificates) against two
 * KMEs in this process, each with a durable key store (fsync per transaction unless the variant
 * says nosync). Baseline: Get status, the same HTTPS/TLS/JSON path without a key store write. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "km_ksa.h"
#include "km_store.h"
#include "kmcore/bench_ksa_paths.h"
#include "qkdperf.h"

#define NCONN 16
#define POOL_AB KM_POOL_LINK(1)
#define POOL_LOCAL KM_POOL_PEER(1000)
#define MAX_IDS 65536

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- load generator ---- */
struct lg;
struct lconn {
	struct lg *lg;
	struct evhttp_connection *evcon;
	uint64_t t0;
};

struct lg {
	struct event_base *base;
	SSL_CTX *ctx;
	uint16_t port;
	const char *method_path; /* GET path, or NULL to take ids[] for dec_keys */
	const char *dec_prefix;
	char (*ids)[37];
	size_t nids, next_id;
	uint64_t measure_from, deadline;
	uint64_t done, errors, done_all;
	double *lat;
	size_t nlat, cap;
	int active;
	struct lconn conns[NCONN];
};

static void issue(struct lconn *c);

static void answered(struct evhttp_request *req, void *arg)
{
	struct lconn *c = arg;
	struct lg *g = c->lg;
	uint64_t t = now_ns();
	int code = req ? evhttp_request_get_response_code(req) : 0;
	if (code != 200 && code > 0 && g->errors == 0) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		char msg[256];
		n = n < sizeof(msg) - 1 ? n : sizeof(msg) - 1;
		evbuffer_copyout(in, msg, n);
		msg[n] = 0;
		fprintf(stderr, "bench_ksa: first failure: HTTP %d %s\n", code, msg);
	}
	if (req)
		evbuffer_drain(evhttp_request_get_input_buffer(req),
			       evbuffer_get_length(evhttp_request_get_input_buffer(req)));
	if (code == 200)
		g->done_all++;
	if (t >= g->measure_from) {
		if (code == 200) {
			g->done++;
			if (g->nlat < g->cap)
				g->lat[g->nlat++] = (double)(t - c->t0) / 1e3;
		} else {
			g->errors++;
		}
	}
	if (t < g->deadline && code == 200 && (g->method_path || g->next_id < g->nids)) {
		issue(c);
	} else if (--g->active == 0) {
		event_base_loopbreak(g->base);
	}
}

static void issue(struct lconn *c)
{
	struct lg *g = c->lg;
	struct evhttp_request *req = evhttp_request_new(answered, c);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
	char path[160];
	if (g->method_path)
		snprintf(path, sizeof(path), "%s", g->method_path);
	else
		snprintf(path, sizeof(path), "%s%s", g->dec_prefix, g->ids[g->next_id++]);
	c->t0 = now_ns();
	if (evhttp_make_request(c->evcon, req, EVHTTP_REQ_GET, path) == 0) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
}

static SSL_CTX *client_ctx(const char *dir, const char *sae)
{
	char ca[300], cert[300], key[300];
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, sae);
	snprintf(key, sizeof(key), "%s/%s.key", dir, sae);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Run NCONN connections for 'seconds' after a warm-up (handshakes); returns requests/s.
 * *per_cpu: requests per CPU-second of this process (both KMEs and the load generator), which
 * holds up better than requests/s on a shared machine. */
static double run_load(struct lg *g, double seconds, double *p50, double *p99, double *per_cpu)
{
	double cpu0 = cpu_seconds();
	g->base = event_base_new();
	g->done = g->errors = g->nlat = g->done_all = 0;
	g->cap = 1 << 21;
	g->lat = malloc(sizeof(double) * g->cap);
	uint64_t start = now_ns();
	g->measure_from = start + 200000000ull;
	g->deadline = g->measure_from + (uint64_t)(seconds * 1e9);
	g->active = NCONN;
	for (int i = 0; i < NCONN; i++) {
		struct lconn *c = &g->conns[i];
		c->lg = g;
		struct bufferevent *bev = bufferevent_openssl_socket_new(
			g->base, -1, SSL_new(g->ctx), BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		c->evcon = evhttp_connection_base_bufferevent_new(g->base, NULL, bev, "127.0.0.1",
								  g->port);
		evhttp_connection_set_timeout(c->evcon, 30);
		issue(c);
	}
	event_base_dispatch(g->base);
	uint64_t end = now_ns();
	for (int i = 0; i < NCONN; i++)
		evhttp_connection_free(g->conns[i].evcon);
	event_base_loop(g->base, EVLOOP_NONBLOCK);
	event_base_free(g->base);
	double span = (double)(end - (g->measure_from < end ? g->measure_from : end)) / 1e9;
	double cpu = cpu_seconds() - cpu0;
	*per_cpu = cpu > 0 ? (double)g->done_all / cpu : 0;
	qsort(g->lat, g->nlat, sizeof(double), cmp_double);
	*p50 = g->nlat ? g->lat[g->nlat / 2] : 0;
	*p99 = g->nlat ? g->lat[(size_t)((double)g->nlat * 0.99)] : 0;
	free(g->lat);
	return span > 0 ? (double)g->done / span : 0;
}

/* ---- the two KMEs ---- */
static const struct km_ksa_sae saes[] = {
	{"sae-a1", "kme-a"}, {"sae-a2", "kme-a"}, {"sae-b1", "kme-b"}};

struct env {
	char dir[128];
	struct km_store *sa, *sb;
	struct km_ksa *ka, *kb;
};

static struct km_store *open_store(const char *dir, const char *name, enum km_sync sync)
{
	char p[256], kek[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	snprintf(kek, sizeof(kek), "%s/kek.bin", dir);
	struct km_store_config cfg = {.path = p, .kek_file = kek, .sync = sync};
	struct km_store *st = NULL;
	return km_store_open(&cfg, &st) == 0 ? st : NULL;
}

/* Link keys shared by both stores: n keys of 1 KiB in batches of 64. */
static int feed(struct km_store *a, struct km_store *b, unsigned n)
{
	enum { B = 64, LEN = 1024 };
	static uint8_t mat[B][LEN];
	struct km_key_in in[B];
	for (unsigned done = 0; done < n; done += B) {
		memset(in, 0, sizeof(in));
		RAND_bytes(&mat[0][0], sizeof(mat));
		for (unsigned i = 0; i < B; i++) {
			km_uuid_random(in[i].id);
			in[i].pool = POOL_AB;
			in[i].bits = LEN * 8;
			in[i].type = KM_KEY_QKD;
			in[i].material = mat[i];
		}
		if (km_store_put(a, in, B) != 0 || km_store_put(b, in, B) != 0)
			return -1;
	}
	return 0;
}

static struct km_ksa *kme(struct env *e, const char *id, struct km_store *st)
{
	char ca[300], cert[300], key[300];
	snprintf(ca, sizeof(ca), "%s/ca.pem", e->dir);
	snprintf(cert, sizeof(cert), "%s/%s.pem", e->dir, id);
	snprintf(key, sizeof(key), "%s/%s.key", e->dir, id);
	struct km_ksa_config cfg = {.kme_id = id, .bind_addr = "127.0.0.1",
				    .kx_bind_addr = "127.0.0.1", .ca_file = ca, .cert_file = cert,
				    .key_file = key, .saes = saes, .n_saes = 3, .store = st,
				    .local_pool = POOL_LOCAL, .local_keys_from_rng = true};
	char err[200];
	struct km_ksa *k = km_ksa_create(&cfg, err, sizeof(err));
	if (!k)
		fprintf(stderr, "bench_ksa: %s: %s\n", id, err);
	return k;
}

static int env_up(struct env *e, enum km_sync sync, unsigned link_keys)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/ksa_bench_XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "sh %s %s kme-a kme-b sae-a1 sae-a2 sae-b1 >/dev/null",
		 BENCH_MAKE_CERTS, e->dir);
	if (system(cmd) != 0)
		return -1;
	char kek[256];
	snprintf(kek, sizeof(kek), "%s/kek.bin", e->dir);
	uint8_t k[32];
	RAND_bytes(k, sizeof(k));
	int fd = open(kek, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, k, sizeof(k)) != (ssize_t)sizeof(k) || close(fd) != 0)
		return -1;
	e->sa = open_store(e->dir, "a", sync);
	e->sb = open_store(e->dir, "b", sync);
	if (!e->sa || !e->sb || feed(e->sa, e->sb, link_keys) != 0)
		return -1;
	e->ka = kme(e, "kme-a", e->sa);
	e->kb = kme(e, "kme-b", e->sb);
	if (!e->ka || !e->kb)
		return -1;
	struct km_ksa_peer pb = {"kme-b", "127.0.0.1", km_ksa_kx_port(e->kb), POOL_AB};
	struct km_ksa_peer pa = {"kme-a", "127.0.0.1", km_ksa_kx_port(e->ka), POOL_AB};
	if (km_ksa_set_peer(e->ka, &pb) || km_ksa_set_peer(e->kb, &pa))
		return -1;
	return km_ksa_start(e->ka) || km_ksa_start(e->kb) ? -1 : 0;
}

static void env_down(struct env *e)
{
	km_ksa_free(e->ka);
	km_ksa_free(e->kb);
	km_store_close(e->sa);
	km_store_close(e->sb);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_ksa: cannot remove %s\n", e->dir);
}

/* Key IDs for the dec_keys load: Get key requests of 128 keys for sae-a2. */
static size_t collect_ids(struct env *e, char (*ids)[37], size_t want)
{
	char ca[300], cert[300], key[300];
	snprintf(ca, sizeof(ca), "%s/ca.pem", e->dir);
	snprintf(cert, sizeof(cert), "%s/sae-a1.pem", e->dir);
	snprintf(key, sizeof(key), "%s/sae-a1.key", e->dir);
	struct km_ksa_client *c =
		km_ksa_client_create("127.0.0.1", km_ksa_port(e->ka), ca, cert, key, "kme-a", NULL, 0);
	size_t n = 0;
	while (c && n + 128 <= want) {
		char *resp = NULL;
		size_t len = 0;
		int st = km_ksa_client_request(c, "GET", "/api/v1/keys/sae-a2/enc_keys?number=128",
					       NULL, &resp, &len);
		json_t *j = st == 200 ? json_loadb(resp, len, 0, NULL) : NULL;
		km_ksa_client_free_body(resp, len);
		size_t i;
		json_t *k;
		json_array_foreach(json_object_get(j, "keys"), i, k)
			snprintf(ids[n++], 37, "%s", json_string_value(json_object_get(k, "key_ID")));
		json_decref(j);
		if (st != 200)
			break;
	}
	km_ksa_client_free(c);
	return n;
}

static void report(struct qp_run *r, const char *name, const char *variant, double rps,
		   double base, double p50, double p99, double per_cpu, uint64_t errors)
{
	json_t *x = json_pack("{s:f, s:f, s:f, s:i, s:I, s:f}", "p50_us", p50, "p99_us", p99,
			      "req_per_cpu_s", per_cpu, "connections", NCONN, "errors",
			      (json_int_t)errors, "ratio_to_status", base > 0 ? rps / base : 0.0);
	qp_report(r, name, variant, NCONN, rps / 1e3, "kreq/s", x);
}

static void bench_etsi014(struct qp_run *r)
{
	double secs = qp_quick(r) ? 0.5 : 2.0;
	enum km_sync syncs[2] = {KM_SYNC_FULL, KM_SYNC_NONE};
	const char *sname[2] = {"fsync", "nosync"};
	for (int s = 0; s < 2; s++) {
		struct env e;
		if (env_up(&e, syncs[s], qp_quick(r) ? 1024 : 4096) != 0) {
			fprintf(stderr, "bench_ksa: setup failed\n");
			env_down(&e);
			return;
		}
		struct lg g = {0};
		double p50, p99, pc;
		g.ctx = client_ctx(e.dir, "sae-a1");
		g.port = km_ksa_port(e.ka);
		/* baseline: status (TLS + HTTP + JSON, no store write) */
		g.method_path = "/api/v1/keys/sae-a2/status";
		double base = run_load(&g, secs, &p50, &p99, &pc);
		report(r, "etsi014_status", sname[s], base, base, p50, p99, pc, g.errors);
		/* Get key, master and slave on this KME: DRBG key put + supply, 2 store commits */
		g.method_path = "/api/v1/keys/sae-a2/enc_keys";
		double v = run_load(&g, secs, &p50, &p99, &pc);
		report(r, "etsi014_enc_keys_local", sname[s], v, base, p50, p99, pc, g.errors);
		/* Get key, slave on the other KME: supply, Kx-2 round trip, derive there */
		g.method_path = "/api/v1/keys/sae-b1/enc_keys";
		v = run_load(&g, secs, &p50, &p99, &pc);
		report(r, "etsi014_enc_keys_kx2", sname[s], v, base, p50, p99, pc, g.errors);
		/* Get key with key IDs, one ID per request (GET), slave on this KME */
		g.ids = malloc(sizeof(*g.ids) * MAX_IDS);
		g.nids = collect_ids(&e, g.ids, qp_quick(r) ? 8192 : MAX_IDS);
		g.next_id = 0;
		SSL_CTX_free(g.ctx);
		g.ctx = client_ctx(e.dir, "sae-a2");
		g.method_path = NULL;
		g.dec_prefix = "/api/v1/keys/sae-a1/dec_keys?key_ID=";
		v = run_load(&g, secs, &p50, &p99, &pc);
		report(r, "etsi014_dec_keys", sname[s], v, base, p50, p99, pc, g.errors);
		free(g.ids);
		SSL_CTX_free(g.ctx);
		env_down(&e);
	}
}
QP_BENCH("etsi014", "ETSI GS QKD 014 requests/s and latency, 16 keep-alive mTLS connections",
	 bench_etsi014)
