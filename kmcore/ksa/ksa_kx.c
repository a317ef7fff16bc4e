/* Kx-2: KSA-to-KSA key synchronisation between KMEs over mutual TLS.
 *
 *   POST /kx2/v1/supply {"source_KME_ID", "master_SAE_ID", "slave_SAE_IDs": [...],
 *                        "keys": [{"key_ID", "size", "segments": [{"key_ID", "offset", "length"}],
 *                                  "masked_key"?}]}
 *     The receiver takes the named segments of the keys it shares with the sender (the key
 *     itself, or with "masked_key" a one-time pad: key = masked_key XOR pad) and parks the keys
 *     for its slave SAEs. All keys or none; 200 {"key_count": n}.
 *   POST /kx2/v1/void {"source_KME_ID", "key_IDs": [...]}
 *     Drop parked keys of a supply the sender could not complete; 200 {"voided": n}.
 *
 * The sender keeps a few keep-alive connections per peer, each carrying one request at a time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <openssl/crypto.h>

#include "km_xor.h"
#include "ksa_internal.h"

#define KX_TIMEOUT_S 10

struct kx_conn {
	struct evhttp_connection *evcon;
	struct ksa_peer *peer;
	bool busy;    /* one request at a time */
	bool dead;    /* closed by the peer */
	bool retired; /* no new requests; freed from the event loop */
	void (*cb)(bool ok, void *arg);
	void *arg;
	struct kx_conn *next; /* peer's list */
};

/* ---- receiving side ---- */

static int json_u32(const json_t *v, uint32_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
		return -EINVAL;
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

struct kx_key {
	uint8_t id[KM_KEY_ID_LEN];
	uint32_t bytes;
	struct km_ksa_seg segs[KM_KSA_MAX_SEGS];
	unsigned nsegs;
	const char *masked; /* base64 or NULL */
	size_t masked_len;
};

static int parse_kx_key(struct km_ksa *k, json_t *e, struct kx_key *kk, char *msg, size_t msglen)
{
	uint32_t size;
	json_t *segs = json_object_get(e, "segments");
	if (ksa_uuid_parse(json_string_value(json_object_get(e, "key_ID")), kk->id) != 0 ||
	    json_u32(json_object_get(e, "size"), &size) != 0 || size == 0 || size % 8 ||
	    size > KM_KSA_MAX_KEY_BITS || !json_is_array(segs) || json_array_size(segs) == 0 ||
	    json_array_size(segs) > KM_KSA_MAX_SEGS) {
		snprintf(msg, msglen, "malformed key entry");
		return -EINVAL;
	}
	kk->bytes = size / 8;
	kk->nsegs = 0;
	uint64_t sum = 0;
	size_t i;
	json_t *s;
	json_array_foreach(segs, i, s)
	{
		struct km_ksa_seg *g = &kk->segs[kk->nsegs++];
		if (ksa_uuid_parse(json_string_value(json_object_get(s, "key_ID")), g->key_id) != 0 ||
		    json_u32(json_object_get(s, "offset"), &g->offset) != 0 ||
		    json_u32(json_object_get(s, "length"), &g->len) != 0 || g->len == 0) {
			snprintf(msg, msglen, "malformed segment");
			return -EINVAL;
		}
		sum += g->len;
	}
	if (sum != kk->bytes) {
		snprintf(msg, msglen, "segments do not add up to the key size");
		return -EINVAL;
	}
	json_t *m = json_object_get(e, "masked_key");
	kk->masked = json_string_value(m);
	kk->masked_len = json_string_length(m);
	if (m && (!kk->masked || kk->masked_len != ksa_b64_len(kk->bytes))) {
		snprintf(msg, msglen, "malformed masked_key");
		return -EINVAL;
	}
	if (ksa_pending_find(&k->pending, kk->id)) {
		snprintf(msg, msglen, "key_ID already known");
		return -EEXIST;
	}
	return 0;
}

static void kx_supply(struct km_ksa *k, struct evhttp_request *req, const char *src)
{
	char msg[200];
	json_t *body = ksa_body_json(req, msg, sizeof(msg));
	struct kx_key *kk = NULL;
	struct ksa_pending **p = NULL;
	size_t n = 0, got = 0;
	if (!body)
		goto bad;
	const char *from = json_string_value(json_object_get(body, "source_KME_ID"));
	const char *mid = json_string_value(json_object_get(body, "master_SAE_ID"));
	json_t *slaves = json_object_get(body, "slave_SAE_IDs");
	json_t *keys = json_object_get(body, "keys");
	if (!from || strcmp(from, src) != 0) {
		snprintf(msg, sizeof(msg), "source_KME_ID does not match the client certificate");
		goto bad;
	}
	int master = mid ? ksa_sae_find(k, mid) : -ENOENT;
	if (master < 0 || strcmp(k->saes[master].kme, src) != 0) {
		snprintf(msg, sizeof(msg), "master SAE is not an SAE of KME '%s'", src);
		goto bad;
	}
	uint16_t sl[KSA_MAX_SLAVES];
	unsigned ns = 0;
	if (!json_is_array(slaves) || json_array_size(slaves) == 0 ||
	    json_array_size(slaves) > KSA_MAX_SLAVES) {
		snprintf(msg, sizeof(msg), "slave_SAE_IDs must be a non-empty array");
		goto bad;
	}
	size_t i;
	json_t *e;
	json_array_foreach(slaves, i, e)
	{
		const char *id = json_string_value(e);
		int s = id ? ksa_sae_find(k, id) : -ENOENT;
		if (s < 0 || !k->saes[s].local) {
			snprintf(msg, sizeof(msg), "slave SAE '%.64s' is not an SAE of this KME",
				 id ? id : "");
			goto bad;
		}
		for (unsigned j = 0; j < ns; j++)
			if (sl[j] == s) {
				snprintf(msg, sizeof(msg), "slave SAE listed twice");
				goto bad;
			}
		sl[ns++] = (uint16_t)s;
	}
	n = json_array_size(keys);
	if (!json_is_array(keys) || n == 0 || n > KSA_KX_MAX_KEYS) {
		snprintf(msg, sizeof(msg), "keys must be a non-empty array of at most %d",
			 KSA_KX_MAX_KEYS);
		goto bad;
	}
	if (k->pending.count + n > k->max_pending) {
		json_decref(body);
		ksa_reply_error(k, req, 503, "too many keys waiting for slave SAEs", NULL);
		return;
	}
	kk = calloc(n, sizeof(*kk));
	p = calloc(n, sizeof(*p));
	if (!kk || !p) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto bad;
	}
	json_array_foreach(keys, i, e)
	{
		if (parse_kx_key(k, e, &kk[i], msg, sizeof(msg)) != 0)
			goto bad;
		for (size_t j = 0; j < i; j++)
			if (memcmp(kk[j].id, kk[i].id, KM_KEY_ID_LEN) == 0) {
				snprintf(msg, sizeof(msg), "key_ID listed twice");
				goto bad;
			}
	}
	/* Take the material; a key whose segments are unavailable fails the whole message, and
	 * what was taken before it is zeroized with the rest (never handed out). */
	for (got = 0; got < n; got++) {
		p[got] = ksa_pending_new(kk[got].bytes);
		if (!p[got]) {
			snprintf(msg, sizeof(msg), "out of memory");
			goto bad;
		}
		uint8_t *mat = p[got]->material;
		int rc = k->src.take_segs ? k->src.take_segs(k->src.ctx, src, kk[got].segs,
							      kk[got].nsegs, mat)
					  : -ENOENT;
		if (rc != 0) {
			char u[KSA_UUID_STR];
			ksa_uuid_format(kk[got].id, u);
			snprintf(msg, sizeof(msg), "shared key segments of key %s are %s", u,
				 rc == -EALREADY ? "already used" : "unknown");
			got++;
			goto bad;
		}
		if (kk[got].masked) {
			uint8_t *m = ksa_secret_alloc(kk[got].bytes);
			int drc = m ? ksa_b64_decode(kk[got].masked, kk[got].masked_len, m,
						     kk[got].bytes)
				    : -ENOMEM;
			if (drc == 0)
				km_xor(mat, mat, m, kk[got].bytes);
			ksa_secret_free(m, kk[got].bytes);
			if (drc != 0) {
				snprintf(msg, sizeof(msg), "malformed masked_key");
				got++;
				goto bad;
			}
		}
		memcpy(p[got]->id, kk[got].id, KM_KEY_ID_LEN);
		p[got]->master = (uint16_t)master;
		p[got]->n_slaves = (uint8_t)ns;
		memcpy(p[got]->slaves, sl, ns * sizeof(sl[0]));
	}
	for (size_t j = 0; j < n; j++)
		ksa_pending_insert(&k->pending, p[j]);
	KSA_COUNT(k, kx_received, 1);
	ksa_reply(req, 200, json_pack("{s:I}", "key_count", (json_int_t)n));
	free(kk);
	free(p);
	json_decref(body);
	return;
bad:
	for (size_t j = 0; p && j < got; j++) {
		if (p[j]) {
			ksa_secret_free(p[j]->material, p[j]->bytes);
			free(p[j]);
		}
	}
	free(kk);
	free(p);
	json_decref(body);
	ksa_reply_error(k, req, 400, msg, NULL);
}

static void kx_void(struct km_ksa *k, struct evhttp_request *req, const char *src)
{
	char msg[200];
	json_t *body = ksa_body_json(req, msg, sizeof(msg));
	if (!body) {
		ksa_reply_error(k, req, 400, msg, NULL);
		return;
	}
	json_t *ids = json_object_get(body, "key_IDs");
	const char *from = json_string_value(json_object_get(body, "source_KME_ID"));
	if (!from || strcmp(from, src) != 0 || !json_is_array(ids)) {
		json_decref(body);
		ksa_reply_error(k, req, 400, "malformed void message", NULL);
		return;
	}
	json_int_t voided = 0;
	size_t i;
	json_t *e;
	json_array_foreach(ids, i, e)
	{
		uint8_t id[KM_KEY_ID_LEN];
		if (ksa_uuid_parse(json_string_value(e), id) != 0)
			continue;
		struct ksa_pending *p = ksa_pending_find(&k->pending, id);
		if (p && strcmp(k->saes[p->master].kme, src) == 0) {
			ksa_pending_remove(&k->pending, p);
			voided++;
		}
	}
	json_decref(body);
	ksa_reply(req, 200, json_pack("{s:I}", "voided", voided));
}

void ksa_kx_handler(struct evhttp_request *req, void *arg)
{
	struct km_ksa *k = arg;
	char cn[KM_KSA_ID_MAX + 1];
	if (ksa_peer_cn(req, cn, sizeof(cn)) != 0 || !ksa_peer_find(k, cn)) {
		ksa_reply_error(k, req, 401, "a client certificate of a peer KME is required", NULL);
		return;
	}
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		ksa_reply_error(k, req, 405, "Kx-2 takes POST", NULL);
		return;
	}
	if (path && strcmp(path, "/kx2/v1/supply") == 0)
		kx_supply(k, req, cn);
	else if (path && strcmp(path, "/kx2/v1/void") == 0)
		kx_void(k, req, cn);
	else
		ksa_reply_error(k, req, 404, "no such resource", NULL);
}

/* ---- sending side ---- */

static void conn_destroy(struct kx_conn *c)
{
	for (struct kx_conn **pp = &c->peer->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	evhttp_connection_free(c->evcon);
	free(c);
}

static void deferred_destroy(evutil_socket_t fd, short what, void *arg)
{
	conn_destroy(arg);
}

/* Stop using a closed or failed connection; free it from the event loop later (libevent is
 * still inside its callbacks), or at shutdown. */
static void conn_retire(struct kx_conn *c)
{
	if (c->retired)
		return;
	c->retired = true;
	struct timeval now = {0, 0};
	event_base_once(c->peer->k->base, -1, EV_TIMEOUT, deferred_destroy, c, &now);
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct kx_conn *c = arg;
	c->dead = true;
	if (!c->busy)
		conn_retire(c); /* else the request callback retires it */
}

static void kx_done(struct evhttp_request *resp, void *arg)
{
	struct kx_conn *c = arg;
	struct km_ksa *k = c->peer->k;
	int code = resp ? evhttp_request_get_response_code(resp) : 0;
	void (*cb)(bool, void *) = c->cb;
	void *cbarg = c->arg;
	c->busy = false;
	c->cb = NULL;
	if (code == 0 || c->dead)
		conn_retire(c);
	if (code != 200)
		KSA_COUNT(k, kx_failed, 1);
	if (cb)
		cb(code == 200, cbarg);
}

static struct kx_conn *conn_get(struct km_ksa *k, struct ksa_peer *p)
{
	for (struct kx_conn *c = p->conns; c; c = c->next)
		if (!c->busy && !c->retired && !c->dead)
			return c;
	struct kx_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	struct bufferevent *bev = ksa_tls_connect_bev(k->base, k->client_ctx, p->host, p->id);
	if (bev)
		c->evcon = evhttp_connection_base_bufferevent_new(k->base, NULL, bev, p->host,
								  p->port);
	if (!c->evcon) {
		if (bev)
			bufferevent_free(bev);
		free(c);
		return NULL;
	}
	c->peer = p;
	evhttp_connection_set_timeout(c->evcon, KX_TIMEOUT_S);
	evhttp_connection_set_retries(c->evcon, 0);
	evhttp_connection_set_closecb(c->evcon, conn_closed, c);
	c->next = p->conns;
	p->conns = c;
	return c;
}

int ksa_kx_post(struct km_ksa *k, struct ksa_peer *p, const char *path, json_t *body,
		void (*cb)(bool ok, void *arg), void *arg)
{
	size_t need = json_dumpb(body, NULL, 0, JSON_COMPACT);
	char *buf = need ? malloc(need) : NULL;
	if (buf)
		json_dumpb(body, buf, need, JSON_COMPACT);
	json_decref(body);
	struct kx_conn *c = buf ? conn_get(k, p) : NULL;
	struct evhttp_request *req = c ? evhttp_request_new(kx_done, c) : NULL;
	if (!req) {
		free(buf);
		KSA_COUNT(k, kx_failed, 1);
		return -ENOMEM;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", p->host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req), buf, need);
	OPENSSL_cleanse(buf, need);
	free(buf);
	c->busy = true;
	c->cb = cb;
	c->arg = arg;
	KSA_COUNT(k, kx_sent, 1);
	int rc = evhttp_make_request(c->evcon, req, EVHTTP_REQ_POST, path);
	if (rc == 0)
		ksa_evcon_nodelay(c->evcon);
	if (rc != 0 && c->cb) {
		/* failed before any callback: report it to the caller through the return code */
		c->busy = false;
		c->cb = NULL;
		conn_retire(c);
		KSA_COUNT(k, kx_failed, 1);
		return -EIO;
	}
	return 0;
}

void ksa_kx_close_all(struct km_ksa *k)
{
	for (unsigned i = 0; i < k->n_peers; i++)
		while (k->peers[i].conns)
			conn_destroy(k->peers[i].conns);
}
