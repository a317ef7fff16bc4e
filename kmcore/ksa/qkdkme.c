/* qkdkme: a standalone KME — the ETSI GS QKD 014 key supply (Ak) and Kx-2 over an existing key
 * store, without the dataplane. Used by integration tests and by deployments whose key store is
 * filled by another process.
 *
 *   qkdkme --config FILE [--check]
 *
 * FILE (JSON; unknown members are errors):
 *   {"kme_id": "kme-a",
 *    "listen": "127.0.0.1:8443",            ETSI 014 (Ak)
 *    "kx_listen": "127.0.0.1:9443",         Kx-2 (optional)
 *    "ca": "ca.pem", "cert": "kme-a.pem", "key": "kme-a.key",
 *    "store": {"path": "DIR", "kek_file": "FILE" | "kek_env": "VAR", "sync": "full" | "none"},
 *    "local_pool": "peer:1000", "local_keys_from_rng": true,
 *    "saes": [{"sae_id": "sae-a1", "kme_id": "kme-a"}, ...],
 *    "peers": [{"kme_id": "kme-b", "host": "127.0.0.1", "port": 9444, "pool": "link:1"}, ...],
 *    "limits": {"key_size": 256, "min_key_size": 64, "max_key_size": 8192,
 *               "max_key_per_request": 128, "max_SAE_ID_count": 7, "max_key_count": 100000}}
 * Pools are "link:N" (QKD link N) or "peer:N" (keys relayed with node N).
 * Runs until SIGTERM or SIGINT; exit 0 after a clean stop, 1 when the service cannot start,
 * 2 for bad usage or configuration (one line on stderr). --check validates and exits. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "km_ksa.h"
#include "km_store.h"

#define MAX_SAES 4096
#define MAX_PEERS 256

static int bad(const char *what, const char *why)
{
	fprintf(stderr, "qkdkme: %s: %s\n", what, why);
	return 2;
}

/* Every member of o must be in the NULL-terminated list. */
static const char *unknown_member(json_t *o, const char *const *known)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		const char *const *k = known;
		while (*k && strcmp(*k, key) != 0)
			k++;
		if (!*k)
			return key;
	}
	return NULL;
}

static int parse_pool(const char *s, km_pool_id *out)
{
	unsigned long n;
	char *end;
	if (!s)
		return -EINVAL;
	bool link = strncmp(s, "link:", 5) == 0, peer = strncmp(s, "peer:", 5) == 0;
	if (!link && !peer)
		return -EINVAL;
	errno = 0;
	n = strtoul(s + 5, &end, 10);
	if (errno || end == s + 5 || *end || n > UINT32_MAX)
		return -EINVAL;
	*out = link ? KM_POOL_LINK(n) : KM_POOL_PEER(n);
	return 0;
}

static int parse_addr(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *c = s ? strrchr(s, ':') : NULL;
	if (!c || c == s || (size_t)(c - s) >= hostlen)
		return -EINVAL;
	char *end;
	unsigned long p = strtoul(c + 1, &end, 10);
	if (*end || end == c + 1 || p > 65535)
		return -EINVAL;
	if (s[0] == '[' && c - s >= 2 && c[-1] == ']') { /* [v6]:port */
		s++;
		c--;
	}
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = 0;
	*port = (uint16_t)p;
	return 0;
}

static int get_u32(json_t *o, const char *name, uint32_t *out)
{
	json_t *v = json_object_get(o, name);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

struct conf {
	json_t *root;
	struct km_ksa_config ksa;
	struct km_store_config store;
	char host[256], kx_host[256];
	struct km_ksa_sae saes[MAX_SAES];
	struct km_ksa_peer peers[MAX_PEERS];
};

static int load(const char *file, struct conf *c)
{
	json_error_t je;
	c->root = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!c->root) {
		char why[300];
		snprintf(why, sizeof(why), "line %d: %s", je.line, je.text);
		return bad(file, why);
	}
	json_t *r = c->root;
	static const char *const top[] = {"kme_id", "listen", "kx_listen", "ca", "cert", "key",
					  "store", "local_pool", "local_keys_from_rng", "saes",
					  "peers", "limits", NULL};
	const char *u = json_is_object(r) ? unknown_member(r, top) : "";
	if (u) {
		char why[160];
		snprintf(why, sizeof(why), *u ? "unknown member '%.64s'" : "not a JSON object", u);
		return bad(file, why);
	}
	c->ksa.kme_id = json_string_value(json_object_get(r, "kme_id"));
	c->ksa.ca_file = json_string_value(json_object_get(r, "ca"));
	c->ksa.cert_file = json_string_value(json_object_get(r, "cert"));
	c->ksa.key_file = json_string_value(json_object_get(r, "key"));
	if (!c->ksa.kme_id || !c->ksa.ca_file || !c->ksa.cert_file || !c->ksa.key_file)
		return bad(file, "kme_id, ca, cert and key are required strings");
	if (parse_addr(json_string_value(json_object_get(r, "listen")), c->host, sizeof(c->host),
		       &c->ksa.port))
		return bad(file, "listen must be \"host:port\"");
	c->ksa.bind_addr = c->host;
	json_t *kx = json_object_get(r, "kx_listen");
	if (kx) {
		if (parse_addr(json_string_value(kx), c->kx_host, sizeof(c->kx_host), &c->ksa.kx_port))
			return bad(file, "kx_listen must be \"host:port\"");
		c->ksa.kx_bind_addr = c->kx_host;
	}
	json_t *st = json_object_get(r, "store");
	static const char *const stk[] = {"path", "kek_file", "kek_env", "sync", NULL};
	if (!json_is_object(st) || unknown_member(st, stk))
		return bad(file, "store must be an object of path, kek_file or kek_env, sync");
	c->store.path = json_string_value(json_object_get(st, "path"));
	c->store.kek_file = json_string_value(json_object_get(st, "kek_file"));
	c->store.kek_env = json_string_value(json_object_get(st, "kek_env"));
	const char *sync = json_string_value(json_object_get(st, "sync"));
	if (!c->store.path || (!c->store.kek_file == !c->store.kek_env))
		return bad(file, "store needs path and one of kek_file, kek_env");
	if (sync && strcmp(sync, "full") && strcmp(sync, "none"))
		return bad(file, "store sync must be \"full\" or \"none\"");
	c->store.sync = sync && strcmp(sync, "none") == 0 ? KM_SYNC_NONE : KM_SYNC_FULL;
	json_t *lp = json_object_get(r, "local_pool");
	if (lp && parse_pool(json_string_value(lp), &c->ksa.local_pool))
		return bad(file, "local_pool must be \"link:N\" or \"peer:N\"");
	json_t *rng = json_object_get(r, "local_keys_from_rng");
	if (rng && !json_is_boolean(rng))
		return bad(file, "local_keys_from_rng must be true or false");
	c->ksa.local_keys_from_rng = json_is_true(rng);
	json_t *saes = json_object_get(r, "saes");
	size_t i;
	json_t *e;
	if (!json_is_array(saes) || json_array_size(saes) > MAX_SAES)
		return bad(file, "saes must be an array");
	json_array_foreach(saes, i, e)
	{
		static const char *const k[] = {"sae_id", "kme_id", NULL};
		c->saes[i].sae_id = json_string_value(json_object_get(e, "sae_id"));
		c->saes[i].kme_id = json_string_value(json_object_get(e, "kme_id"));
		if (!json_is_object(e) || unknown_member(e, k) || !c->saes[i].sae_id ||
		    !c->saes[i].kme_id)
			return bad(file, "each SAE needs exactly sae_id and kme_id");
	}
	c->ksa.saes = c->saes;
	c->ksa.n_saes = (unsigned)json_array_size(saes);
	json_t *peers = json_object_get(r, "peers");
	if (peers && (!json_is_array(peers) || json_array_size(peers) > MAX_PEERS))
		return bad(file, "peers must be an array");
	json_array_foreach(peers, i, e)
	{
		static const char *const k[] = {"kme_id", "host", "port", "pool", NULL};
		struct km_ksa_peer *p = &c->peers[i];
		uint32_t port = 0;
		p->kme_id = json_string_value(json_object_get(e, "kme_id"));
		p->host = json_string_value(json_object_get(e, "host"));
		if (!json_is_object(e) || unknown_member(e, k) || !p->kme_id || !p->host ||
		    get_u32(e, "port", &port) || port == 0 || port > 65535 ||
		    parse_pool(json_string_value(json_object_get(e, "pool")), &p->pool))
			return bad(file, "each peer needs kme_id, host, port and pool");
		p->port = (uint16_t)port;
	}
	c->ksa.peers = c->peers;
	c->ksa.n_peers = (unsigned)json_array_size(peers);
	json_t *lim = json_object_get(r, "limits");
	static const char *const lk[] = {"key_size", "min_key_size", "max_key_size",
					 "max_key_per_request", "max_SAE_ID_count",
					 "max_key_count", NULL};
	uint32_t mkc = 0;
	if (lim && (!json_is_object(lim) || unknown_member(lim, lk) ||
		    get_u32(lim, "key_size", &c->ksa.key_size) ||
		    get_u32(lim, "min_key_size", &c->ksa.min_key_size) ||
		    get_u32(lim, "max_key_size", &c->ksa.max_key_size) ||
		    get_u32(lim, "max_key_per_request", &c->ksa.max_key_per_request) ||
		    get_u32(lim, "max_SAE_ID_count", &c->ksa.max_sae_id_count) ||
		    get_u32(lim, "max_key_count", &mkc)))
		return bad(file, "limits: unknown member or not a non-negative integer");
	c->ksa.max_key_count = mkc;
	return 0;
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	bool check = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "--check") == 0)
			check = true;
		else
			return bad("usage", "qkdkme --config FILE [--check]");
	}
	if (!file)
		return bad("usage", "qkdkme --config FILE [--check]");
	static struct conf c;
	int rc = load(file, &c);
	if (rc) {
		json_decref(c.root);
		return rc;
	}
	/* signals go to sigwait() below, not to the server thread */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct km_store *st = NULL;
	rc = km_store_open(&c.store, &st);
	if (rc) {
		fprintf(stderr, "qkdkme: store %s: %s\n", c.store.path, strerror(-rc));
		json_decref(c.root);
		return 1;
	}
	c.ksa.store = st;
	char err[256];
	struct km_ksa *k = km_ksa_create(&c.ksa, err, sizeof(err));
	if (!k) {
		fprintf(stderr, "qkdkme: %s\n", err);
		km_store_close(st);
		json_decref(c.root);
		return check ? 2 : 1;
	}
	if (check) {
		km_ksa_free(k);
		km_store_close(st);
		json_decref(c.root);
		return 0;
	}
	if (km_ksa_start(k) != 0) {
		fprintf(stderr, "qkdkme: cannot start the server thread\n");
		km_ksa_free(k);
		km_store_close(st);
		json_decref(c.root);
		return 1;
	}
	printf("qkdkme: %s serving ETSI 014 on %s:%u, Kx-2 on %s:%u\n", c.ksa.kme_id, c.host,
	       km_ksa_port(k), c.ksa.kx_bind_addr ? c.kx_host : "-", km_ksa_kx_port(k));
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	km_ksa_stop(k);
	struct km_ksa_stats s;
	km_ksa_get_stats(k, &s);
	printf("qkdkme: stopped by signal %d: %llu requests, %llu keys supplied\n", sig,
	       (unsigned long long)s.requests, (unsigned long long)s.keys_supplied);
	km_ksa_free(k);
	km_store_close(st);
	json_decref(c.root);
	return 0;
}
