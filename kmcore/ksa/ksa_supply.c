/* Get key: cut the keys in the store, hand the cut to the slave SAEs' KME over Kx-2, then answer
 * the master. A failure after the cut discards the keys on both ends: none is handed out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ksa_internal.h"

struct ksa_job {
	struct km_ksa *k;
	struct evhttp_request *req;
	int master;
	uint16_t slaves[KSA_MAX_SLAVES];
	unsigned n_slaves;
	uint32_t number, bits;
	uint8_t (*ids)[KM_KEY_ID_LEN];
	uint8_t *mat; /* number * bits / 8, km_key_material_alloc */
	json_t *supply; /* Kx-2 description of the cut */
	struct ksa_peer *remote;
	bool cut; /* keys exist in the store: discard them on failure */
	struct ksa_job *prev, *next; /* k->jobs */
	struct ksa_job *qnext;       /* peer's wait or in-flight list */
};

json_t *ksa_key_entry(const uint8_t id[KM_KEY_ID_LEN], const uint8_t *material, uint32_t bytes)
{
	char u[KSA_UUID_STR];
	char b64[4 * ((KM_KSA_MAX_KEY_BITS / 8 + 2) / 3) + 1]; /* stack: no allocation per key */
	size_t blen = ksa_b64_len(bytes);
	if (blen >= sizeof(b64))
		return NULL;
	km_uuid_format(id, u);
	ksa_b64_encode(material, bytes, b64);
	json_t *o = json_pack("{s:s, s:s#}", "key_ID", u, "key", b64, (int)blen);
	OPENSSL_cleanse(b64, blen);
	return o;
}

void ksa_parties(const struct km_ksa *k, int master, const uint16_t *slaves, unsigned n_slaves,
		 bool master_here, struct km_parties *pa)
{
	memset(pa, 0, sizeof(*pa));
	strcpy(pa->master, k->saes[master].id);
	pa->local_mask = master_here ? 1 : 0;
	for (unsigned i = 0; i < n_slaves; i++) {
		strcpy(pa->slaves[i], k->saes[slaves[i]].id);
		if (k->saes[slaves[i]].local)
			pa->local_mask |= (uint16_t)(1u << (i + 1));
	}
	pa->nslaves = (uint8_t)n_slaves;
}

static void job_free(struct ksa_job *j)
{
	struct km_ksa *k = j->k;
	if (j->prev)
		j->prev->next = j->next;
	else if (k->jobs == j)
		k->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	json_decref(j->supply);
	km_key_material_free(j->mat, j->number * (j->bits / 8));
	free(j->ids);
	free(j);
}

void ksa_supply_free_all(struct km_ksa *k)
{
	for (unsigned i = 0; i < k->n_peers; i++)
		k->peers[i].wait_head = k->peers[i].wait_tail = k->peers[i].inflight = NULL;
	while (k->jobs)
		job_free(k->jobs);
}

static void discard_cut(struct ksa_job *j, uint32_t n)
{
	if (n == 0)
		return;
	km_store_discard(j->k->store, (const uint8_t(*)[KM_KEY_ID_LEN])j->ids, n);
	KSA_COUNT(j->k, keys_discarded, n);
}

static void fail(struct ksa_job *j, int code, const char *msg)
{
	if (j->cut)
		discard_cut(j, j->number);
	ksa_reply_error(j->k, j->req, code, msg, NULL);
	job_free(j);
}

static void void_done(bool ok, void *arg)
{
}

static void finish(struct ksa_job *j)
{
	struct km_ksa *k = j->k;
	uint32_t bytes = j->bits / 8;
	json_t *keys = json_array();
	for (uint32_t i = 0; i < j->number; i++)
		json_array_append_new(keys, ksa_key_entry(j->ids[i], j->mat + (size_t)i * bytes, bytes));
	KSA_COUNT(k, keys_supplied, j->number);
	KSA_COUNT(k, bits_supplied, (uint64_t)j->number * j->bits);
	ksa_reply(j->req, 200, json_pack("{s:o}", "keys", keys));
	job_free(j);
}

static void job_remote_failed(struct ksa_job *j)
{
	/* the peer may have derived the keys before the answer got lost: ask it to drop them */
	json_t *ids = json_array();
	for (uint32_t i = 0; i < j->number; i++) {
		char u[KSA_UUID_STR];
		km_uuid_format(j->ids[i], u);
		json_array_append_new(ids, json_string(u));
	}
	ksa_kx_post(j->k, j->remote, "/kx2/v1/void",
		    json_pack("{s:s, s:o}", "source_KME_ID", j->k->kme_id, "key_IDs", ids),
		    void_done, NULL);
	char msg[160];
	snprintf(msg, sizeof(msg), "key synchronisation with KME '%s' failed", j->remote->id);
	fail(j, 503, msg);
}

static void send_batch(struct ksa_peer *p);

/* After a failed supply the peer may lack the leftover our last take left at the front of the
 * pool (it never derived that take), so every later take starting from it would fail too. Drop
 * the front key: the next take starts from a key both ends hold whole. What the peer still holds
 * alone is never named again and goes with its TTL or the next resync. */
static void drop_front(struct km_ksa *k, struct ksa_peer *p)
{
	uint8_t byte;
	struct km_take_handle h;
	if (km_store_take_begin(k->store, p->pool, 1, &byte, &h) == 0) {
		OPENSSL_cleanse(&byte, 1);
		km_store_take_abort(k->store, &h, true);
		KSA_COUNT(k, fronts_dropped, 1);
	}
}

static void batch_done(bool ok, void *arg)
{
	struct ksa_peer *p = arg;
	struct ksa_job *j = p->inflight;
	p->inflight = NULL;
	while (j) {
		struct ksa_job *next = j->qnext;
		if (ok)
			finish(j);
		else
			job_remote_failed(j);
		j = next;
	}
	if (!ok)
		drop_front(p->k, p);
	send_batch(p);
}

#define KX_BATCH_MAX 256        /* supplies per Kx-2 message... */
#define KX_BATCH_MAX_KEYS 2048  /* ...and keys: ~100 KB of JSON, within KSA_MAX_BODY */

/* Send the waiting supplies as one message, if none is in flight. */
static void send_batch(struct ksa_peer *p)
{
	if (p->inflight || !p->wait_head)
		return;
	struct km_ksa *k = p->k;
	json_t *sups = json_array();
	struct ksa_job *j = p->wait_head, *last = NULL;
	uint32_t keys = 0;
	for (unsigned n = 0; j && n < KX_BATCH_MAX && (n == 0 || keys + j->number <= KX_BATCH_MAX_KEYS);
	     n++, last = j, j = j->qnext) {
		json_array_append(sups, j->supply);
		keys += j->number;
	}
	p->inflight = p->wait_head;
	last->qnext = NULL;
	p->wait_head = j;
	if (!j)
		p->wait_tail = NULL;
	json_t *body = json_pack("{s:s, s:o}", "source_KME_ID", k->kme_id, "supplies", sups);
	if (ksa_kx_post(k, p, "/kx2/v1/supply", body, batch_done, p) != 0)
		batch_done(false, p); /* sends what waits next, or nothing when all fail */
}

static void enqueue_remote(struct ksa_job *j)
{
	struct ksa_peer *p = j->remote;
	j->qnext = NULL;
	if (p->wait_tail)
		p->wait_tail->qnext = j;
	else
		p->wait_head = j;
	p->wait_tail = j;
	send_batch(p);
}

static json_t *take_json(const struct km_take *t, const uint8_t (*ids)[KM_KEY_ID_LEN],
			 uint32_t count, uint32_t bits)
{
	char u[KSA_UUID_STR];
	json_t *src = json_array(), *kid = json_array();
	for (uint32_t i = 0; i < t->nsrc; i++) {
		km_uuid_format(t->src[i], u);
		json_array_append_new(src, json_string(u));
	}
	for (uint32_t i = 0; i < count; i++) {
		km_uuid_format(ids[i], u);
		json_array_append_new(kid, json_string(u));
	}
	return json_pack("{s:I, s:o, s:I, s:I, s:o}", "bytes", (json_int_t)t->bytes, "src", src,
			 "count", (json_int_t)count, "size", (json_int_t)bits, "key_IDs", kid);
}

#define RNG_KEY_BYTES 4096           /* DRBG keys are stored this big... */
#define RNG_RESERVE (64 * RNG_KEY_BYTES) /* ...and topped up this far ahead: one commit per refill */

/* Make sure the local pool holds at least need bytes, topping it up from the DRBG. */
static int rng_reserve(struct km_ksa *k, uint64_t need)
{
	struct km_pool_stats ps;
	uint64_t have = km_store_pool_stats(k->store, k->local_pool, &ps) == 0
				? ps.available_bits / 8
				: 0;
	if (have >= need)
		return 0;
	uint32_t n = (uint32_t)((need - have + RNG_RESERVE + RNG_KEY_BYTES - 1) / RNG_KEY_BYTES);
	struct km_key_in *in = calloc(n, sizeof(*in));
	uint8_t *mat = km_key_material_alloc(n * RNG_KEY_BYTES);
	int rc = in && mat ? 0 : -ENOMEM;
	if (rc == 0 && RAND_priv_bytes(mat, (int)(n * RNG_KEY_BYTES)) != 1)
		rc = -EIO;
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		rc = km_uuid_random(in[i].id);
		in[i].pool = k->local_pool;
		in[i].bits = RNG_KEY_BYTES * 8;
		in[i].type = KM_KEY_DERIVED;
		in[i].material = mat + (size_t)i * RNG_KEY_BYTES;
	}
	if (rc == 0)
		rc = km_store_put(k->store, in, n);
	km_key_material_free(mat, n * RNG_KEY_BYTES);
	free(in);
	return rc;
}

/* Cut number keys, halving the batch when one take would need too many source keys. */
static int cut_keys(struct ksa_job *j, km_pool_id pool, char *msg, size_t msglen)
{
	struct km_ksa *k = j->k;
	uint32_t bytes = j->bits / 8, done = 0, batch = j->number;
	struct km_parties pa;
	ksa_parties(k, j->master, j->slaves, j->n_slaves, true, &pa);
	if (j->remote)
		j->remote->own_bits_at = 0; /* Get status counts again */
	json_t *takes = json_array();
	while (done < j->number) {
		uint32_t n = j->number - done < batch ? j->number - done : batch;
		struct km_take t;
		int rc = km_store_supply_new(k->store, pool, &pa, n, j->bits, j->ids + done,
					     j->mat + (size_t)done * bytes, &t);
		if (rc == -E2BIG && n > 1) {
			batch = n / 2;
			continue;
		}
		if (rc != 0) {
			json_decref(takes);
			discard_cut(j, done);
			if (rc == -EAGAIN || rc == -E2BIG)
				snprintf(msg, msglen, "not enough key material%s%s%s",
					 j->remote ? " shared with KME '" : "",
					 j->remote ? j->remote->id : "", j->remote ? "'" : "");
			else
				snprintf(msg, msglen, "key store: %s", strerror(-rc));
			return rc;
		}
		json_array_append_new(takes, take_json(&t, j->ids + done, n, j->bits));
		done += n;
	}
	j->cut = true;
	json_t *sl = json_array();
	for (unsigned s = 0; s < j->n_slaves; s++)
		json_array_append_new(sl, json_string(k->saes[j->slaves[s]].id));
	j->supply = json_pack("{s:s, s:o, s:o}", "master_SAE_ID", k->saes[j->master].id,
			      "slave_SAE_IDs", sl, "takes", takes);
	return 0;
}

/* The cut is durable: answer the master, or first hand the cut to the slaves' KME. */
static void cut_committed(struct km_ksa *k, void *arg, bool ok)
{
	struct ksa_job *j = arg;
	if (!ok) {
		j->cut = false; /* undone with the batch */
		fail(j, 503, "key store commit failed");
	} else if (j->remote) {
		enqueue_remote(j);
	} else {
		finish(j);
	}
}

void ksa_supply_start(struct km_ksa *k, struct evhttp_request *req, int master,
		      const uint16_t *slaves, unsigned n_slaves, uint32_t number, uint32_t bits)
{
	char msg[200];
	struct ksa_job *j = calloc(1, sizeof(*j));
	if (!j) {
		ksa_reply_error(k, req, 503, "out of memory", NULL);
		return;
	}
	j->k = k;
	j->req = req;
	j->master = master;
	j->number = number;
	j->bits = bits;
	j->n_slaves = n_slaves;
	memcpy(j->slaves, slaves, n_slaves * sizeof(*slaves));
	j->next = k->jobs;
	if (k->jobs)
		k->jobs->prev = j;
	k->jobs = j;

	for (unsigned s = 0; s < n_slaves; s++) {
		const struct ksa_sae *sae = &k->saes[slaves[s]];
		if (sae->local)
			continue;
		if (j->remote && strcmp(j->remote->id, sae->kme) != 0) {
			fail(j, 400, "slave SAEs on more than one other KME are not supported");
			return;
		}
		if (!j->remote && !(j->remote = ksa_peer_find(k, sae->kme))) {
			snprintf(msg, sizeof(msg), "no Kx-2 route to KME '%s' of SAE '%s'", sae->kme,
				 sae->id);
			fail(j, 503, msg);
			return;
		}
	}
	km_pool_id pool = j->remote ? j->remote->pool : k->local_pool;
	if (pool == 0) {
		fail(j, 503, "no key pool for SAEs of this KME");
		return;
	}
	uint32_t bytes = bits / 8;
	j->ids = malloc(sizeof(*j->ids) * number);
	j->mat = km_key_material_alloc(number * bytes);
	if (!j->ids || !j->mat) {
		fail(j, 503, "out of memory");
		return;
	}
	ksa_batch_join(k);
	if (!j->remote && k->local_keys_from_rng &&
	    rng_reserve(k, (uint64_t)number * bytes) != 0) {
		fail(j, 503, "cannot store fresh keys");
		return;
	}
	if (cut_keys(j, pool, msg, sizeof(msg)) != 0) {
		fail(j, 503, msg);
		return;
	}
	ksa_batch_defer(k, cut_committed, j);
}
