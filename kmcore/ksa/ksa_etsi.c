/* ETSI GS QKD 014 V1.1.1 on reference point Ak: routing, caller authentication and request
 * validation for Get status, Get key (enc_keys) and Get key with key IDs (dec_keys). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "ksa_internal.h"

#define PREFIX "/api/v1/keys/"

/* Strict decimal for GET parameters: digits only, no sign, no overflow past 2^31. */
static int parse_uint(const char *s, uint32_t *out)
{
	if (!s || !*s || strlen(s) > 10)
		return -EINVAL;
	uint64_t v = 0;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	if (v > INT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* A JSON integer in [0, 2^31). */
static int json_uint(const json_t *v, uint32_t *out)
{
	if (!json_is_integer(v))
		return -EINVAL;
	json_int_t i = json_integer_value(v);
	if (i < 0 || i > INT32_MAX)
		return -EINVAL;
	*out = (uint32_t)i;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct origin_count {
	uint8_t origin;
	uint64_t bits;
};

static int count_own(void *ctx, const struct km_key_meta *m)
{
	struct origin_count *c = ctx;
	bool odd = m->id[KM_KEY_ID_LEN - 1] & 1;
	if (c->origin == KM_ORIGIN_ALL || (c->origin == KM_ORIGIN_ODD) == odd)
		c->bits += m->bits;
	return 0;
}

/* Keys of key_size this KME could supply for the slave: its half of the shared pool. */
static uint64_t stored_key_count(struct km_ksa *k, const struct ksa_sae *slave)
{
	if (slave->local && k->local_keys_from_rng)
		return k->max_key_count;
	struct ksa_peer *p = slave->local ? NULL : ksa_peer_find(k, slave->kme);
	km_pool_id pool = slave->local ? k->local_pool : p ? p->pool : 0;
	struct km_pool_policy pol;
	struct origin_count c = {KM_ORIGIN_ALL, 0};
	if (pool == 0 || km_store_get_policy(k->store, pool, &pol) != 0)
		return 0;
	c.origin = pol.origin;
	uint64_t now = now_ns();
	if (c.origin == KM_ORIGIN_ALL) {
		struct km_pool_stats ps;
		c.bits = km_store_pool_stats(k->store, pool, &ps) == 0 ? ps.available_bits : 0;
	} else if (p && p->own_bits_at && now - p->own_bits_at < 1000000000ull) {
		c.bits = p->own_bits; /* counting walks the pool: at most once a second */
	} else {
		km_store_list(k->store, pool, KM_KEY_AVAILABLE, count_own, &c);
		if (p) {
			p->own_bits = c.bits;
			p->own_bits_at = now;
		}
	}
	uint64_t n = c.bits / k->key_size;
	return n < k->max_key_count ? n : k->max_key_count;
}

static void do_status(struct km_ksa *k, struct evhttp_request *req, int master, int slave)
{
	const struct ksa_sae *s = &k->saes[slave];
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			      "source_KME_ID", k->kme_id, "target_KME_ID", s->kme,
			      "master_SAE_ID", k->saes[master].id, "slave_SAE_ID", s->id,
			      "key_size", (json_int_t)k->key_size,
			      "stored_key_count", (json_int_t)stored_key_count(k, s),
			      "max_key_count", (json_int_t)k->max_key_count,
			      "max_key_per_request", (json_int_t)k->max_key_per_request,
			      "max_key_size", (json_int_t)k->max_key_size,
			      "min_key_size", (json_int_t)k->min_key_size,
			      "max_SAE_ID_count", (json_int_t)k->max_sae_id_count);
	ksa_reply(req, 200, o);
}

struct keyreq {
	uint32_t number, size;
	uint16_t slaves[KSA_MAX_SLAVES];
	unsigned n_slaves;
};

/* Parameters of a GET request: only number and size (clause 5.2). */
static int get_keyreq_query(struct km_ksa *k, struct evhttp_request *req, struct keyreq *kr,
			    char *msg, size_t msglen)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (!q || !*q)
		return 0;
	struct evkeyvalq params;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(q, &params) != 0) {
		snprintf(msg, msglen, "malformed query string");
		return -EINVAL;
	}
	int rc = 0;
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, &params, next)
	{
		uint32_t *dst = strcmp(kv->key, "number") == 0 ? &kr->number
				: strcmp(kv->key, "size") == 0 ? &kr->size
							       : NULL;
		if (!dst) {
			snprintf(msg, msglen, "unknown parameter '%.64s' (GET takes number and size)",
				 kv->key);
			rc = -EINVAL;
			break;
		}
		if (parse_uint(kv->value, dst) != 0) {
			snprintf(msg, msglen, "parameter %s must be a non-negative integer", kv->key);
			rc = -EINVAL;
			break;
		}
	}
	evhttp_clear_headers(&params);
	return rc;
}

/* Key request data format (clause 6.2). */
static int post_keyreq_body(struct km_ksa *k, struct evhttp_request *req, int master,
			    struct keyreq *kr, char *msg, size_t msglen, json_t **details)
{
	json_t *body = ksa_body_json(req, msg, msglen);
	if (!body)
		return -EINVAL;
	int rc = -EINVAL;
	json_t *v;
	if ((v = json_object_get(body, "number")) && json_uint(v, &kr->number) != 0) {
		snprintf(msg, msglen, "number must be a positive integer");
		goto out;
	}
	if ((v = json_object_get(body, "size")) && json_uint(v, &kr->size) != 0) {
		snprintf(msg, msglen, "size must be a positive integer");
		goto out;
	}
	if ((v = json_object_get(body, "additional_slave_SAE_IDs"))) {
		if (!json_is_array(v)) {
			snprintf(msg, msglen, "additional_slave_SAE_IDs must be an array of SAE IDs");
			goto out;
		}
		if (json_array_size(v) == 0) {
			snprintf(msg, msglen, "additional_slave_SAE_IDs is empty");
			goto out;
		}
		if (json_array_size(v) > k->max_sae_id_count) {
			snprintf(msg, msglen,
				 "additional_slave_SAE_IDs has %zu IDs, max_SAE_ID_count is %u",
				 json_array_size(v), k->max_sae_id_count);
			goto out;
		}
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			const char *id = json_string_value(e);
			int s = id ? ksa_sae_find(k, id) : -ENOENT;
			if (!id) {
				snprintf(msg, msglen, "additional_slave_SAE_IDs must hold strings");
				goto out;
			}
			if (s < 0) {
				snprintf(msg, msglen, "unknown slave SAE '%.64s'", id);
				goto out;
			}
			if (s == master) {
				snprintf(msg, msglen, "the master SAE cannot be its own slave");
				goto out;
			}
			for (unsigned j = 0; j < kr->n_slaves; j++)
				if (kr->slaves[j] == s) {
					snprintf(msg, msglen, "slave SAE '%.64s' is listed twice", id);
					goto out;
				}
			kr->slaves[kr->n_slaves++] = (uint16_t)s;
		}
	}
	/* No extension parameter is supported: any mandatory one rejects the request. */
	if ((v = json_object_get(body, "extension_mandatory"))) {
		if (!json_is_array(v)) {
			snprintf(msg, msglen, "extension_mandatory must be an array of objects");
			goto out;
		}
		json_t *names = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (!json_is_object(e)) {
				json_decref(names);
				snprintf(msg, msglen, "extension_mandatory must be an array of objects");
				goto out;
			}
			const char *name;
			json_t *val;
			json_object_foreach(e, name, val) json_array_append_new(names, json_string(name));
		}
		if (json_array_size(names) > 0) {
			snprintf(msg, msglen, "not all extension_mandatory parameters are supported");
			*details = json_pack("[{s:o}]", "extension_mandatory_unsupported", names);
			goto out;
		}
		json_decref(names);
	}
	if ((v = json_object_get(body, "extension_optional"))) {
		bool ok = json_is_array(v);
		size_t i;
		json_t *e;
		if (ok)
			json_array_foreach(v, i, e) ok = ok && json_is_object(e);
		if (!ok) {
			snprintf(msg, msglen, "extension_optional must be an array of objects");
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(body);
	return rc;
}

static void do_enc_keys(struct km_ksa *k, struct evhttp_request *req, int master, int slave)
{
	struct keyreq kr = {.number = 1, .size = k->key_size, .n_slaves = 1};
	kr.slaves[0] = (uint16_t)slave;
	char msg[200];
	json_t *details = NULL;
	int rc = evhttp_request_get_command(req) == EVHTTP_REQ_GET
			 ? get_keyreq_query(k, req, &kr, msg, sizeof(msg))
			 : post_keyreq_body(k, req, master, &kr, msg, sizeof(msg), &details);
	if (rc == 0 && (kr.number < 1 || kr.number > k->max_key_per_request)) {
		snprintf(msg, sizeof(msg), "number must be between 1 and %u (max_key_per_request)",
			 k->max_key_per_request);
		rc = -EINVAL;
	}
	if (rc == 0 && kr.size % 8 != 0) {
		snprintf(msg, sizeof(msg), "size must be a multiple of 8 bits");
		rc = -EINVAL;
	}
	if (rc == 0 && (kr.size < k->min_key_size || kr.size > k->max_key_size)) {
		snprintf(msg, sizeof(msg), "size must be between %u and %u bits", k->min_key_size,
			 k->max_key_size);
		rc = -EINVAL;
	}
	if (rc != 0) {
		ksa_reply_error(k, req, 400, msg, details);
		return;
	}
	ksa_supply_start(k, req, master, kr.slaves, kr.n_slaves, kr.number, kr.size);
}

/* Key IDs of a dec_keys request: GET key_ID=... (one) or POST Key IDs data format (6.4). */
static int parse_key_ids(struct km_ksa *k, struct evhttp_request *req, uint8_t (*ids)[16],
			 unsigned *n, char *msg, size_t msglen)
{
	*n = 0;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
		struct evkeyvalq params;
		TAILQ_INIT(&params);
		if (!q || evhttp_parse_query_str(q, &params) != 0) {
			snprintf(msg, msglen, "GET dec_keys needs the parameter key_ID");
			return -EINVAL;
		}
		int rc = 0;
		struct evkeyval *kv;
		TAILQ_FOREACH(kv, &params, next)
		{
			if (strcmp(kv->key, "key_ID") != 0) {
				snprintf(msg, msglen, "unknown parameter '%.64s' (GET takes key_ID)",
					 kv->key);
				rc = -EINVAL;
			} else if (*n >= 1) {
				snprintf(msg, msglen, "GET takes one key_ID; use POST for several");
				rc = -EINVAL;
			} else if (km_uuid_parse(kv->value, ids[0]) != 0) {
				snprintf(msg, msglen, "key_ID '%.40s' is not a UUID", kv->value);
				rc = -EINVAL;
			} else {
				*n = 1;
			}
			if (rc)
				break;
		}
		evhttp_clear_headers(&params);
		if (rc == 0 && *n == 0) {
			snprintf(msg, msglen, "GET dec_keys needs the parameter key_ID");
			rc = -EINVAL;
		}
		return rc;
	}
	json_t *body = ksa_body_json(req, msg, msglen);
	if (!body)
		return -EINVAL;
	int rc = -EINVAL;
	json_t *arr = json_object_get(body, "key_IDs");
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		snprintf(msg, msglen, "key_IDs must be a non-empty array");
		goto out;
	}
	if (json_array_size(arr) > k->max_key_per_request) {
		snprintf(msg, msglen, "key_IDs has %zu entries, max_key_per_request is %u",
			 json_array_size(arr), k->max_key_per_request);
		goto out;
	}
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		const char *s = json_string_value(json_object_get(e, "key_ID"));
		if (!s) {
			snprintf(msg, msglen, "key_IDs[%zu] has no key_ID string", i);
			goto out;
		}
		if (km_uuid_parse(s, ids[i]) != 0) {
			snprintf(msg, msglen, "key_ID '%.40s' is not a UUID", s);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (memcmp(ids[j], ids[i], KM_KEY_ID_LEN) == 0) {
				snprintf(msg, msglen, "key_ID '%.40s' is listed twice", s);
				goto out;
			}
	}
	*n = (unsigned)json_array_size(arr);
	rc = 0;
out:
	json_decref(body);
	return rc;
}

static int party_bit(const struct km_parties *pa, const char *sae)
{
	for (unsigned i = 0; i < pa->nslaves; i++)
		if (strncmp(pa->slaves[i], sae, KM_SAE_ID_MAX) == 0)
			return (int)i + 1;
	return -1;
}


struct dec_reply {
	struct evhttp_request *req;
	json_t *body;
	uint64_t keys, bits;
};

/* The keys are handed out only once the fetches are durable. */
static void dec_committed(struct km_ksa *k, void *arg, bool ok)
{
	struct dec_reply *r = arg;
	if (ok) {
		KSA_COUNT(k, keys_supplied, r->keys);
		KSA_COUNT(k, bits_supplied, r->bits);
		ksa_reply(r->req, 200, r->body);
	} else {
		json_decref(r->body);
		ksa_reply_error(k, r->req, 503, "key store commit failed", NULL);
	}
	free(r);
}

static void do_dec_keys(struct km_ksa *k, struct evhttp_request *req, int caller, int master)
{
	char msg[200];
	unsigned n;
	uint8_t (*ids)[16] = malloc(sizeof(*ids) * (k->max_key_per_request + 1));
	struct km_key_meta *meta = calloc(k->max_key_per_request + 1, sizeof(*meta));
	uint8_t *mat = NULL;
	uint64_t total = 0;
	if (!ids || !meta) {
		ksa_reply_error(k, req, 503, "out of memory", NULL);
		goto out;
	}
	if (parse_key_ids(k, req, ids, &n, msg, sizeof(msg)) != 0) {
		ksa_reply_error(k, req, 400, msg, NULL);
		goto out;
	}
	/* Check the whole request before any key is handed out. */
	json_t *missing = json_array();
	bool unauthorized = false;
	uint64_t now = now_ns();
	for (unsigned i = 0; i < n; i++) {
		struct km_key_meta *m = &meta[i];
		bool ok = km_store_get(k->store, ids[i], m) == 0 &&
			  (m->state == KM_KEY_RESERVED || m->state == KM_KEY_SUPPLIED) &&
			  !(m->expire_ns && m->expire_ns <= now);
		int bit = ok ? party_bit(&m->parties, k->saes[caller].id) : -1;
		if (ok && (bit < 0 || !(m->parties.local_mask >> bit & 1))) {
			unauthorized = true;
			continue;
		}
		if (!ok || strncmp(m->parties.master, k->saes[master].id, KM_SAE_ID_MAX) != 0 ||
		    (m->fetched_mask >> bit & 1)) {
			char u[KSA_UUID_STR];
			km_uuid_format(ids[i], u);
			json_array_append_new(missing, json_pack("{s:s}", "key_ID", u));
		}
		total += m->bits / 8;
	}
	if (unauthorized) {
		json_decref(missing);
		snprintf(msg, sizeof(msg), "SAE '%.64s' is not a slave SAE of the requested keys",
			 k->saes[caller].id);
		ksa_reply_error(k, req, 401, msg, NULL);
		goto out;
	}
	if (json_array_size(missing) > 0) {
		snprintf(msg, sizeof(msg), "key_ID not found for master SAE '%.64s'",
			 k->saes[master].id);
		ksa_reply_error(k, req, 400, msg, missing);
		goto out;
	}
	json_decref(missing);
	mat = km_key_material_alloc((uint32_t)total);
	if (!mat) {
		ksa_reply_error(k, req, 503, "out of memory", NULL);
		goto out;
	}
	json_t *keys = json_array();
	uint64_t off = 0;
	ksa_batch_join(k);
	for (unsigned i = 0; i < n; i++) {
		uint32_t bytes = meta[i].bits / 8;
		int rc = km_store_fetch(k->store, ids[i], k->saes[caller].id, k->saes[master].id,
					mat + off, bytes, NULL);
		if (rc != 0) {
			/* expired or failed since the check: the keys fetched so far are spent */
			json_decref(keys);
			char u[KSA_UUID_STR];
			km_uuid_format(ids[i], u);
			snprintf(msg, sizeof(msg), "key_ID %s is no longer available", u);
			ksa_reply_error(k, req, 400, msg, NULL);
			goto out;
		}
		json_array_append_new(keys, ksa_key_entry(ids[i], mat + off, bytes));
		off += bytes;
	}
	struct dec_reply *r = malloc(sizeof(*r));
	if (!r) {
		json_decref(keys);
		ksa_reply_error(k, req, 503, "out of memory", NULL);
		goto out;
	}
	*r = (struct dec_reply){req, json_pack("{s:o}", "keys", keys), n, 8 * total};
	ksa_batch_defer(k, dec_committed, r);
out:
	km_key_material_free(mat, (uint32_t)total);
	free(ids);
	free(meta);
}

void ksa_ak_handler(struct evhttp_request *req, void *arg)
{
	struct km_ksa *k = arg;
	ksa_saes_refresh(k);
	KSA_COUNT(k, requests, 1);
	char cn[KM_KSA_ID_MAX + 1], msg[200];
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	int caller = ksa_peer_cn(req, cn, sizeof(cn)) == 0 ? ksa_sae_find(k, cn) : -EACCES;
	if (caller == -EACCES) {
		ksa_reply_error(k, req, 401, "a client certificate of a registered SAE is required",
				NULL);
		return;
	}
	if (caller < 0 || !k->saes[caller].local) {
		snprintf(msg, sizeof(msg), "SAE '%.64s' is not registered with KME '%s'", cn,
			 k->kme_id);
		ksa_reply_error(k, req, 401, msg, NULL);
		return;
	}
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	const char *slash = path && strncmp(path, PREFIX, strlen(PREFIX)) == 0
				    ? strchr(path + strlen(PREFIX), '/')
				    : NULL;
	const char *op = slash ? slash + 1 : NULL;
	int which = !op ? -1
		    : strcmp(op, "status") == 0	 ? 0
		    : strcmp(op, "enc_keys") == 0 ? 1
		    : strcmp(op, "dec_keys") == 0 ? 2
						  : -1;
	if (which < 0) {
		ksa_reply_error(k, req, 404, "no such resource", NULL);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && (which == 0 || cmd != EVHTTP_REQ_POST)) {
		ksa_reply_error(k, req, 405, which == 0 ? "status takes GET" : "use GET or POST",
				NULL);
		return;
	}
	const char *raw = path + strlen(PREFIX);
	char enc[3 * KM_KSA_ID_MAX + 1];
	size_t rawlen = (size_t)(slash - raw);
	int sae = -ENOENT;
	if (rawlen > 0 && rawlen < sizeof(enc)) {
		memcpy(enc, raw, rawlen);
		enc[rawlen] = 0;
		size_t dlen;
		char *id = evhttp_uridecode(enc, 0, &dlen);
		if (id && strlen(id) == dlen)
			sae = ksa_sae_find(k, id);
		free(id);
	}
	if (sae < 0) {
		snprintf(msg, sizeof(msg), "unknown %s SAE in the URL",
			 which == 2 ? "master" : "slave");
		ksa_reply_error(k, req, 400, msg, NULL);
		return;
	}
	if (sae == caller) {
		ksa_reply_error(k, req, 400, "master and slave SAE must differ", NULL);
		return;
	}
	if (which == 0)
		do_status(k, req, caller, sae);
	else if (which == 1)
		do_enc_keys(k, req, caller, sae);
	else
		do_dec_keys(k, req, caller, sae);
}
