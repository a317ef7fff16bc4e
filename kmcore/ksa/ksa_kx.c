/* Kx-2: KSA-to-KSA key synchronisation between KMEs over mutual TLS.
 *
 *   POST /kx2/v1/supply {"source_KME_ID",
 *                        "supplies": [{"master_SAE_ID", "slave_SAE_IDs": [every slave],
 *                                      "takes": [{"bytes", "src": [source key ids], "count",
 *                                                 "size", "key_IDs": [...]}]}]}
 *     The receiver derives each take from the keys it shares with the sender (km_store_derive:
 *     same source keys, same cut, same derived ids, checked against key_IDs) and keeps the keys
 *     for its slave SAEs. No key bytes cross Kx-2. Takes are derived in the order the sender cut
 *     them (one may start from the leftover of the one before), so the sender keeps one supply
 *     message in flight per peer and batches the supplies that wait. All or nothing;
 *     200 {"key_count": n}.
 *   POST /kx2/v1/void {"source_KME_ID", "key_IDs": [...]}
 *     Discard derived keys of a supply the sender could not complete; 200 {"voided": n}.
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
#include <openssl/evp.h>

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

struct kx_take {
	struct km_take t;
	uint32_t count, bits;
	uint8_t (*ids)[KM_KEY_ID_LEN]; /* the ids the sender derived */
};

/* kt->ids is allocated (free it) whatever the result. */
static int parse_take(struct km_ksa *k, json_t *e, km_pool_id pool, struct kx_take *kt)
{
	json_t *src = json_object_get(e, "src"), *kid = json_object_get(e, "key_IDs");
	memset(kt, 0, sizeof(*kt));
	kt->t.pool = pool;
	if (json_u32(json_object_get(e, "bytes"), &kt->t.bytes) ||
	    json_u32(json_object_get(e, "count"), &kt->count) ||
	    json_u32(json_object_get(e, "size"), &kt->bits) || kt->count == 0 ||
	    kt->count > KSA_HARD_MAX_KEYS || kt->bits == 0 || kt->bits % 8 ||
	    kt->bits > KM_KSA_MAX_KEY_BITS || (uint64_t)kt->count * kt->bits / 8 != kt->t.bytes ||
	    !json_is_array(src) || json_array_size(src) == 0 ||
	    json_array_size(src) > KM_TAKE_MAX_SRC || !json_is_array(kid) ||
	    json_array_size(kid) != kt->count)
		return -EINVAL;
	kt->t.nsrc = (uint32_t)json_array_size(src);
	size_t i;
	json_t *v;
	json_array_foreach(src, i, v) if (km_uuid_parse(json_string_value(v), kt->t.src[i]) != 0)
		return -EINVAL;
	kt->ids = malloc(sizeof(*kt->ids) * kt->count);
	if (!kt->ids)
		return -ENOMEM;
	json_array_foreach(kid, i, v) if (km_uuid_parse(json_string_value(v), kt->ids[i]) != 0)
		return -EINVAL;
	return 0;
}

static int grow_ids(uint8_t (**got)[16], size_t ngot, size_t *capgot, size_t more)
{
	if (ngot + more <= *capgot)
		return 0;
	size_t cap = (*capgot ? *capgot * 2 : 256) + more;
	uint8_t (*ng)[16] = realloc(*got, cap * sizeof(**got));
	if (!ng)
		return -ENOMEM;
	*got = ng;
	*capgot = cap;
	return 0;
}

/* Keys another KME cut from keys it shares with a third KME, sent one-time-padded with keys it
 * shares with us. We store the unpadded bytes under the id of that take's first source, in a
 * scratch pool of the same kind, and derive from it: the store then gives the keys the same ids
 * as at the other two KMEs (child ids hash the pool kind, the first source id and the sizes). */
static int derive_import(struct km_ksa *k, struct ksa_peer *p, json_t *e,
			 const struct km_parties *pa, uint8_t (**got)[16], size_t *ngot,
			 size_t *capgot, char *msg, size_t msglen)
{
	uint32_t kind, bytes, count, bits, pad_bytes;
	json_t *pad = json_object_get(e, "pad"), *psrc = json_object_get(pad, "src");
	json_t *kid = json_object_get(e, "key_IDs");
	const char *masked = json_string_value(json_object_get(e, "masked"));
	struct km_take pt = {.pool = p->pool}, t = {.nsrc = 1};
	if (json_u32(json_object_get(e, "kind"), &kind) || (kind != 1 && kind != 2) ||
	    km_uuid_parse(json_string_value(json_object_get(e, "src0")), t.src[0]) ||
	    json_u32(json_object_get(e, "bytes"), &bytes) ||
	    json_u32(json_object_get(e, "count"), &count) ||
	    json_u32(json_object_get(e, "size"), &bits) || count == 0 ||
	    count > KSA_HARD_MAX_KEYS || bits == 0 || bits % 8 || bits > KM_KSA_MAX_KEY_BITS ||
	    (uint64_t)count * bits / 8 != bytes || !json_is_array(kid) ||
	    json_array_size(kid) != count || !masked ||
	    json_string_length(json_object_get(e, "masked")) != ksa_b64_len(bytes) ||
	    json_u32(json_object_get(pad, "bytes"), &pad_bytes) || pad_bytes != bytes ||
	    !json_is_array(psrc) || json_array_size(psrc) == 0 ||
	    json_array_size(psrc) > KM_TAKE_MAX_SRC) {
		snprintf(msg, msglen, "malformed import");
		return 400;
	}
	pt.bytes = bytes;
	pt.nsrc = (uint32_t)json_array_size(psrc);
	size_t i;
	json_t *v;
	json_array_foreach(psrc, i, v) if (km_uuid_parse(json_string_value(v), pt.src[i]))
	{
		snprintf(msg, msglen, "malformed import");
		return 400;
	}
	if (grow_ids(got, *ngot, capgot, count)) {
		snprintf(msg, msglen, "out of memory");
		return 503;
	}
	uint8_t *key = km_key_material_alloc(bytes), *padb = km_key_material_alloc(bytes);
	uint8_t *dec = km_key_material_alloc(bytes + 3);
	int code = key && padb && dec ? 0 : 503;
	struct km_take_handle h;
	int rc = code ? -ENOMEM : km_store_take_named(k->store, &pt, padb, &h);
	if (!code && rc) {
		snprintf(msg, msglen, "pad of import: %s",
			 rc == -ENOENT ? "source keys unknown or already used" : strerror(-rc));
		code = 400;
	}
	if (!code && (rc = km_store_take_commit(k->store, &h)) != 0) {
		snprintf(msg, msglen, "pad of import: %s", strerror(-rc));
		code = 503;
	}
	size_t ml = code ? 0 : ksa_b64_len(bytes);
	size_t mpad = ml ? (masked[ml - 1] == '=') + (ml > 1 && masked[ml - 2] == '=') : 0;
	int n = code ? -1 : EVP_DecodeBlock(dec, (const unsigned char *)masked, (int)ml);
	if (!code && (n < 0 || (size_t)n - mpad != bytes)) {
		snprintf(msg, msglen, "malformed masked key");
		code = 400;
	}
	if (!code) {
		for (uint32_t b = 0; b < bytes; b++)
			key[b] = dec[b] ^ padb[b];
		t.pool = ((uint64_t)kind << 32) | 0xFFFFFFFFu; /* scratch pool for imports */
		t.bytes = bytes;
		struct km_key_in in = {.pool = t.pool, .bits = bytes * 8, .type = KM_KEY_DERIVED,
				       .material = key};
		memcpy(in.id, t.src[0], KM_KEY_ID_LEN);
		rc = km_store_put(k->store, &in, 1);
		if (rc == 0)
			rc = km_store_derive(k->store, &t, pa, count, bits, *got + *ngot);
		if (rc) {
			km_store_discard(k->store, (const uint8_t(*)[KM_KEY_ID_LEN])t.src, 1);
			snprintf(msg, msglen, "cannot import keys: %s", strerror(-rc));
			code = rc == -EEXIST ? 400 : 503;
		}
	}
	if (!code) {
		*ngot += count;
		json_array_foreach(kid, i, v)
		{
			uint8_t id[KM_KEY_ID_LEN];
			if (km_uuid_parse(json_string_value(v), id) ||
			    memcmp(id, (*got)[*ngot - count + i], KM_KEY_ID_LEN) != 0) {
				snprintf(msg, msglen, "imported key IDs differ from the sender's");
				code = 400;
				break;
			}
		}
	}
	km_key_material_free(key, bytes);
	km_key_material_free(padb, bytes);
	km_key_material_free(dec, bytes + 3);
	return code;
}

/* Derive one supply's takes, appending the derived ids to *got. */
static int derive_supply(struct km_ksa *k, struct ksa_peer *p, json_t *sup, uint8_t (**got)[16],
			 size_t *ngot, size_t *capgot, char *msg, size_t msglen)
{
	const char *mid = json_string_value(json_object_get(sup, "master_SAE_ID"));
	json_t *slaves = json_object_get(sup, "slave_SAE_IDs");
	json_t *takes = json_object_get(sup, "takes");
	int master = mid ? ksa_sae_find(k, mid) : -ENOENT;
	if (master < 0 || strcmp(k->saes[master].kme, p->id) != 0) {
		snprintf(msg, msglen, "master SAE is not an SAE of KME '%s'", p->id);
		return 400;
	}
	uint16_t sl[KSA_MAX_SLAVES];
	unsigned ns = 0;
	bool here = false;
	if (!json_is_array(slaves) || json_array_size(slaves) == 0 ||
	    json_array_size(slaves) > KSA_MAX_SLAVES) {
		snprintf(msg, msglen, "slave_SAE_IDs must hold 1 to %d SAE IDs", KSA_MAX_SLAVES);
		return 400;
	}
	size_t i;
	json_t *e;
	json_array_foreach(slaves, i, e)
	{
		const char *id = json_string_value(e);
		int s = id ? ksa_sae_find(k, id) : -ENOENT;
		if (s < 0 || s == master) {
			snprintf(msg, msglen, "unknown slave SAE '%.64s'", id ? id : "");
			return 400;
		}
		for (unsigned j = 0; j < ns; j++)
			if (sl[j] == s) {
				snprintf(msg, msglen, "slave SAE listed twice");
				return 400;
			}
		here |= k->saes[s].local;
		sl[ns++] = (uint16_t)s;
	}
	if (!here) {
		snprintf(msg, msglen, "no slave SAE of this KME");
		return 400;
	}
	json_t *imports = json_object_get(sup, "imports");
	if ((takes && !json_is_array(takes)) || (imports && !json_is_array(imports)) ||
	    json_array_size(takes) + json_array_size(imports) == 0 ||
	    json_array_size(takes) + json_array_size(imports) > KSA_KX_MAX_TAKES) {
		snprintf(msg, msglen, "takes or imports must be a non-empty array");
		return 400;
	}
	struct km_parties pa;
	ksa_parties(k, master, sl, ns, false, &pa);
	json_array_foreach(imports, i, e)
	{
		int code = derive_import(k, p, e, &pa, got, ngot, capgot, msg, msglen);
		if (code)
			return code;
	}
	json_array_foreach(takes, i, e)
	{
		struct kx_take kt;
		int rc = parse_take(k, e, p->pool, &kt);
		if (rc == 0 && grow_ids(got, *ngot, capgot, kt.count))
			rc = -ENOMEM;
		if (rc != 0) {
			free(kt.ids);
			snprintf(msg, msglen, "malformed take %zu", i);
			return rc == -ENOMEM ? 503 : 400;
		}
		rc = km_store_derive(k->store, &kt.t, &pa, kt.count, kt.bits, *got + *ngot);
		if (rc == 0) {
			*ngot += kt.count;
			if (memcmp(*got + *ngot - kt.count, kt.ids, sizeof(**got) * kt.count) != 0)
				rc = -EBADMSG;
		}
		free(kt.ids);
		if (rc != 0) {
			snprintf(msg, msglen, "cannot derive take %zu: %s", i,
				 rc == -ENOENT	  ? "source keys unknown or already used"
				 : rc == -EBADMSG ? "derived key IDs differ from the sender's"
						  : strerror(-rc));
			return rc == -ENOENT || rc == -EPROTO || rc == -EINVAL || rc == -EBADMSG ? 400
												 : 503;
		}
	}
	return 0;
}

struct kx_reply {
	struct evhttp_request *req;
	json_int_t keys;
};

/* Accept the supply only once the derived keys are durable. */
static void kx_committed(struct km_ksa *k, void *arg, bool ok)
{
	struct kx_reply *r = arg;
	if (ok)
		ksa_reply(r->req, 200, json_pack("{s:I}", "key_count", r->keys));
	else
		ksa_reply_error(k, r->req, 503, "key store commit failed", NULL);
	free(r);
}

/* Derive every supply in order (a take may start from the leftover of the previous one) and keep
 * the keys for the slaves here; all supplies or none. */
static void kx_supply(struct km_ksa *k, struct evhttp_request *req, struct ksa_peer *p)
{
	char msg[200];
	json_t *body = ksa_body_json(req, msg, sizeof(msg));
	uint8_t (*got)[KM_KEY_ID_LEN] = NULL;
	size_t ngot = 0, capgot = 0;
	int code = 400;
	if (!body)
		goto bad;
	const char *from = json_string_value(json_object_get(body, "source_KME_ID"));
	json_t *sups = json_object_get(body, "supplies");
	if (!from || strcmp(from, p->id) != 0) {
		snprintf(msg, sizeof(msg), "source_KME_ID does not match the client certificate");
		goto bad;
	}
	if (!json_is_array(sups) || json_array_size(sups) == 0) {
		snprintf(msg, sizeof(msg), "supplies must be a non-empty array");
		goto bad;
	}
	size_t i;
	json_t *e;
	ksa_batch_join(k);
	json_array_foreach(sups, i, e)
	{
		code = derive_supply(k, p, e, &got, &ngot, &capgot, msg, sizeof(msg));
		if (code)
			goto bad;
	}
	KSA_COUNT(k, kx_received, 1);
	struct kx_reply *r = malloc(sizeof(*r));
	if (!r) {
		snprintf(msg, sizeof(msg), "out of memory");
		code = 503;
		goto bad;
	}
	*r = (struct kx_reply){req, (json_int_t)ngot};
	ksa_batch_defer(k, kx_committed, r);
	goto out;
bad:
	if (ngot)
		km_store_discard(k->store, (const uint8_t(*)[KM_KEY_ID_LEN])got, (unsigned)ngot);
	ksa_reply_error(k, req, code, msg, NULL);
out:
	free(got);
	json_decref(body);
}

/* Drop keys of a supply the sender could not complete (only keys of its pool and SAEs). */
static void kx_void(struct km_ksa *k, struct evhttp_request *req, struct ksa_peer *p)
{
	char msg[200];
	json_t *body = ksa_body_json(req, msg, sizeof(msg));
	if (!body) {
		ksa_reply_error(k, req, 400, msg, NULL);
		return;
	}
	json_t *ids = json_object_get(body, "key_IDs");
	const char *from = json_string_value(json_object_get(body, "source_KME_ID"));
	if (!from || strcmp(from, p->id) != 0 || !json_is_array(ids)) {
		json_decref(body);
		ksa_reply_error(k, req, 400, "malformed void message", NULL);
		return;
	}
	json_int_t voided = 0;
	size_t i;
	json_t *e;
	ksa_batch_join(k);
	json_array_foreach(ids, i, e)
	{
		uint8_t id[KM_KEY_ID_LEN];
		struct km_key_meta meta;
		if (km_uuid_parse(json_string_value(e), id) != 0 ||
		    km_store_get(k->store, id, &meta) != 0 || meta.pool != p->pool)
			continue;
		int m = ksa_sae_find(k, meta.parties.master);
		if (m >= 0 && strcmp(k->saes[m].kme, p->id) == 0 &&
		    km_store_discard(k->store, (const uint8_t(*)[KM_KEY_ID_LEN])&id, 1) == 1)
			voided++;
	}
	json_decref(body);
	ksa_reply(req, 200, json_pack("{s:I}", "voided", voided));
}

void ksa_kx_handler(struct evhttp_request *req, void *arg)
{
	struct km_ksa *k = arg;
	ksa_saes_refresh(k);
	char cn[KM_KSA_ID_MAX + 1];
	struct ksa_peer *p = ksa_peer_cn(req, cn, sizeof(cn)) == 0 ? ksa_peer_find(k, cn) : NULL;
	if (!p) {
		ksa_reply_error(k, req, 401, "a client certificate of a peer KME is required", NULL);
		return;
	}
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		ksa_reply_error(k, req, 405, "Kx-2 takes POST", NULL);
		return;
	}
	if (path && strcmp(path, "/kx2/v1/supply") == 0)
		kx_supply(k, req, p);
	else if (path && strcmp(path, "/kx2/v1/void") == 0)
		kx_void(k, req, p);
	else
		ksa_reply_error(k, req, 404, "no such resource", NULL);
}

/* ---- sending side ---- */

static void conn_free(struct kx_conn *c)
{
	evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	evhttp_connection_free(c->evcon);
	free(c);
}

static void conn_destroy(struct kx_conn *c)
{
	for (struct kx_conn **pp = &c->peer->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	conn_free(c);
}

static void free_retired(struct km_ksa *k)
{
	while (k->kx_retired) {
		struct kx_conn *c = k->kx_retired;
		k->kx_retired = c->next;
		conn_free(c);
	}
}

static void deferred_reap(evutil_socket_t fd, short what, void *arg)
{
	struct km_ksa *k = arg;
	k->kx_reap_scheduled = false;
	free_retired(k);
}

/* Stop using a closed or failed connection: it leaves the peer's list at once and is freed from
 * the event loop later (libevent is still inside its callbacks). The pending callback names the
 * KME, never the connection, so a shutdown that frees the connection first leaves it nothing
 * dangling to touch. */
static void conn_retire(struct kx_conn *c)
{
	if (c->retired)
		return;
	c->retired = true;
	struct km_ksa *k = c->peer->k;
	for (struct kx_conn **pp = &c->peer->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->next = k->kx_retired;
	k->kx_retired = c;
	if (!k->kx_reap_scheduled) {
		struct timeval now = {0, 0};
		k->kx_reap_scheduled = event_base_once(k->base, -1, EV_TIMEOUT, deferred_reap, k,
						       &now) == 0;
	}
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
	free_retired(k);
}
