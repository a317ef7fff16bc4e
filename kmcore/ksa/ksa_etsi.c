/* ETSI GS QKD 014 V1.1.1 on reference point Ak: routing, caller authentication and request
 * validation for Get status, Get key (enc_keys) and Get key with key IDs (dec_keys). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static uint64_t stored_key_count(struct km_ksa *k, const struct ksa_sae *slave)
{
	uint64_t bytes;
	if (slave->local && k->local_keys_from_rng)
		return k->max_key_count;
	if (slave->local)
		bytes = k->src.available ? k->src.available(k->src.ctx, k->kme_id) : 0;
	else
		bytes = k->src.available ? k->src.available(k->src.ctx, slave->kme) : 0;
	uint64_t n = bytes / (k->key_size / 8);
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
	ksa_supply_start(k, req, master, kr.slaves, kr.n_slaves, kr.number, kr.size / 8);
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
			} else if (ksa_uuid_parse(kv->value, ids[0]) != 0) {
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
		if (ksa_uuid_parse(s, ids[i]) != 0) {
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

static int slave_slot(const struct ksa_pending *p, int sae)
{
	for (unsigned i = 0; i < p->n_slaves; i++)
		if (p->slaves[i] == sae)
			return (int)i;
	return -1;
}

static void do_dec_keys(struct km_ksa *k, struct evhttp_request *req, int caller, int master)
{
	char msg[200];
	unsigned n;
	uint8_t (*ids)[16] = malloc(sizeof(*ids) * (k->max_key_per_request + 1));
	struct ksa_pending **found = calloc(k->max_key_per_request + 1, sizeof(*found));
	if (!ids || !found) {
		ksa_reply_error(k, req, 503, "out of memory", NULL);
		goto out;
	}
	if (parse_key_ids(k, req, ids, &n, msg, sizeof(msg)) != 0) {
		ksa_reply_error(k, req, 400, msg, NULL);
		goto out;
	}
	/* All or nothing: every key must be deliverable before any is handed out. */
	json_t *missing = json_array();
	bool unauthorized = false;
	for (unsigned i = 0; i < n; i++) {
		struct ksa_pending *p = ksa_pending_find(&k->pending, ids[i]);
		int s = p ? slave_slot(p, caller) : -1;
		if (p && s < 0)
			unauthorized = true;
		if (!p || (s >= 0 && (p->master != master || (p->delivered >> s & 1)))) {
			char u[KSA_UUID_STR];
			ksa_uuid_format(ids[i], u);
			json_array_append_new(missing, json_pack("{s:s}", "key_ID", u));
		}
		found[i] = p;
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
	json_t *keys = json_array();
	uint64_t bits = 0;
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(keys, ksa_key_entry(found[i]->id, found[i]->material,
							  found[i]->bytes));
	for (unsigned i = 0; i < n; i++) {
		struct ksa_pending *p = found[i];
		bits += 8ull * p->bytes;
		p->delivered |= 1ull << slave_slot(p, caller);
		if (p->delivered == (p->n_slaves == 64 ? ~0ull : (1ull << p->n_slaves) - 1))
			ksa_pending_remove(&k->pending, p);
	}
	KSA_COUNT(k, keys_supplied, n);
	KSA_COUNT(k, bits_supplied, bits);
	ksa_reply(req, 200, json_pack("{s:o}", "keys", keys));
out:
	free(ids);
	free(found);
}

void ksa_ak_handler(struct evhttp_request *req, void *arg)
{
	struct km_ksa *k = arg;
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
