/* Get key: cut the keys in the store, hand the cut to the slave SAEs' KME over Kx-2, then answer
 * the master. A failure after the cut discards the keys on both ends: none is handed out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ksa_internal.h"

/* A job's share of a peer's ordered Kx-2 queue. */
struct ksa_link {
	struct ksa_job *job;
	struct ksa_peer *peer;
	json_t *supply; /* this peer's part of the supply message */
	bool ok;
	struct ksa_link *qnext; /* peer's wait or in-flight list */
};

struct ksa_job {
	struct km_ksa *k;
	struct evhttp_request *req;
	int master;
	uint16_t slaves[KSA_MAX_SLAVES];
	unsigned n_slaves;
	uint32_t number, bits;
	uint8_t (*ids)[KM_KEY_ID_LEN];
	uint8_t *mat; /* number * bits / 8, km_key_material_alloc */
	/* The cut: takes from the pool shared with links[0].peer, count keys each */
	struct km_take *takes;
	uint32_t *take_count;
	unsigned ntakes;
	/* links[0]: the KME whose shared keys were cut; links[1..]: further KMEs, which import the
	 * keys one-time-padded with keys they share with this KME */
	struct ksa_link links[KSA_MAX_SLAVES];
	unsigned nlinks, outstanding;
	bool cut; /* keys exist in the store: discard them on failure */
	struct ksa_job *prev, *next; /* k->jobs */
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
	for (unsigned i = 0; i < j->nlinks; i++)
		json_decref(j->links[i].supply);
	free(j->takes);
	free(j->take_count);
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

/* Every peer answered: hand the keys to the master, or discard them everywhere. */
static void job_complete(struct ksa_job *j)
{
	const char *failed = NULL;
	for (unsigned i = 0; i < j->nlinks; i++)
		if (!j->links[i].ok && !failed)
			failed = j->links[i].peer->id;
	if (!failed) {
		finish(j);
		return;
	}
	/* peers that took the keys (or may have, when the answer got lost) drop them */
	json_t *ids = json_array();
	for (uint32_t i = 0; i < j->number; i++) {
		char u[KSA_UUID_STR];
		km_uuid_format(j->ids[i], u);
		json_array_append_new(ids, json_string(u));
	}
	for (unsigned i = 0; i < j->nlinks; i++)
		ksa_kx_post(j->k, j->links[i].peer, "/kx2/v1/void",
			    json_pack("{s:s, s:O}", "source_KME_ID", j->k->kme_id, "key_IDs", ids),
			    void_done, NULL);
	json_decref(ids);
	char msg[160];
	snprintf(msg, sizeof(msg), "key synchronisation with KME '%s' failed", failed);
	fail(j, 503, msg);
}

static void link_release(struct ksa_job *j)
{
	if (--j->outstanding == 0)
		job_complete(j);
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
	struct ksa_link *l = p->inflight;
	p->inflight = NULL;
	if (!ok)
		drop_front(p->k, p);
	while (l) {
		struct ksa_link *next = l->qnext;
		l->ok = ok;
		link_release(l->job); /* may free the job and l with it */
		l = next;
	}
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
	struct ksa_link *l = p->wait_head, *last = NULL;
	uint32_t keys = 0;
	for (unsigned n = 0;
	     l && n < KX_BATCH_MAX && (n == 0 || keys + l->job->number <= KX_BATCH_MAX_KEYS);
	     n++, last = l, l = l->qnext) {
		json_array_append(sups, l->supply);
		keys += l->job->number;
	}
	p->inflight = p->wait_head;
	last->qnext = NULL;
	p->wait_head = l;
	if (!l)
		p->wait_tail = NULL;
	json_t *body = json_pack("{s:s, s:o}", "source_KME_ID", k->kme_id, "supplies", sups);
	if (ksa_kx_post(k, p, "/kx2/v1/supply", body, batch_done, p) != 0)
		batch_done(false, p); /* sends what waits next, or nothing when all fail */
}

static void enqueue_link(struct ksa_link *l)
{
	struct ksa_peer *p = l->peer;
	l->qnext = NULL;
	if (p->wait_tail)
		p->wait_tail->qnext = l;
	else
		p->wait_head = l;
	p->wait_tail = l;
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

static json_t *slaves_json(struct km_ksa *k, const struct ksa_job *j)
{
	json_t *sl = json_array();
	for (unsigned s = 0; s < j->n_slaves; s++)
		json_array_append_new(sl, json_string(k->saes[j->slaves[s]].id));
	return sl;
}

/* Cut number keys, halving the batch when one take would need too many source keys. */
static int cut_keys(struct ksa_job *j, km_pool_id pool, char *msg, size_t msglen)
{
	struct km_ksa *k = j->k;
	uint32_t bytes = j->bits / 8, done = 0, batch = j->number;
	struct km_parties pa;
	ksa_parties(k, j->master, j->slaves, j->n_slaves, true, &pa);
	if (j->nlinks)
		j->links[0].peer->own_bits_at = 0; /* Get status counts again */
	json_t *takes = json_array();
	j->takes = malloc(sizeof(*j->takes) * j->number);
	j->take_count = malloc(sizeof(*j->take_count) * j->number);
	if (!j->takes || !j->take_count) {
		json_decref(takes);
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
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
					 j->nlinks ? " shared with KME '" : "",
					 j->nlinks ? j->links[0].peer->id : "", j->nlinks ? "'" : "");
			else
				snprintf(msg, msglen, "key store: %s", strerror(-rc));
			return rc;
		}
		json_array_append_new(takes, take_json(&t, j->ids + done, n, j->bits));
		j->takes[j->ntakes] = t;
		j->take_count[j->ntakes++] = n;
		done += n;
	}
	j->cut = true;
	if (j->nlinks)
		j->links[0].supply = json_pack("{s:s, s:o, s:o}", "master_SAE_ID",
					       k->saes[j->master].id, "slave_SAE_IDs",
					       slaves_json(k, j), "takes", takes);
	else
		json_decref(takes);
	return 0;
}

/* For links[1..]: each take's bytes one-time-padded with a take from the pool shared with that
 * KME. All pads are reserved before any is committed, so a shortage changes nothing. */
static int pad_imports(struct ksa_job *j, char *msg, size_t msglen)
{
	struct km_ksa *k = j->k;
	unsigned extra = j->nlinks ? j->nlinks - 1 : 0, n = extra * j->ntakes, got = 0;
	if (n == 0)
		return 0;
	uint32_t total = j->number * (j->bits / 8);
	struct km_take_handle *h = calloc(n, sizeof(*h));
	uint8_t *pad = km_key_material_alloc(extra * total);
	size_t blen = ksa_b64_len(total);
	char *b64 = (char *)km_key_material_alloc((uint32_t)blen + 1);
	int rc = h && pad && b64 ? 0 : -ENOMEM;
	for (unsigned r = 1; rc == 0 && r < j->nlinks; r++) {
		uint8_t *rp = pad + (size_t)(r - 1) * total;
		for (unsigned t = 0; rc == 0 && t < j->ntakes; t++, got++) {
			rc = km_store_take_begin(k->store, j->links[r].peer->pool, j->takes[t].bytes, rp,
						 &h[got]);
			if (rc)
				snprintf(msg, msglen, "not enough key material shared with KME '%s'",
					 j->links[r].peer->id);
			rp += j->takes[t].bytes;
		}
	}
	if (rc) {
		while (got--)
			km_store_take_abort(k->store, &h[got], false);
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		km_store_take_commit(k->store, &h[i]);
	got = 0;
	for (unsigned r = 1; r < j->nlinks; r++) {
		json_t *imports = json_array();
		uint8_t *rp = pad + (size_t)(r - 1) * total;
		size_t off = 0;
		uint32_t first = 0;
		for (unsigned t = 0; t < j->ntakes; t++, got++) {
			const struct km_take *kt = &j->takes[t];
			for (uint32_t b = 0; b < kt->bytes; b++)
				rp[off + b] ^= j->mat[off + b];
			ksa_b64_encode(rp + off, kt->bytes, b64);
			char u[KSA_UUID_STR];
			km_uuid_format(kt->src[0], u);
			json_t *src = json_array(), *kid = json_array();
			for (uint32_t i = 0; i < h[got].take.nsrc; i++) {
				char v[KSA_UUID_STR];
				km_uuid_format(h[got].take.src[i], v);
				json_array_append_new(src, json_string(v));
			}
			for (uint32_t i = 0; i < j->take_count[t]; i++) {
				char v[KSA_UUID_STR];
				km_uuid_format(j->ids[first + i], v);
				json_array_append_new(kid, json_string(v));
			}
			json_array_append_new(
				imports,
				json_pack("{s:I, s:s, s:I, s:I, s:I, s:o, s:s#, s:{s:I, s:o}}", "kind",
					  (json_int_t)KM_POOL_KIND(kt->pool), "src0", u, "bytes",
					  (json_int_t)kt->bytes, "count", (json_int_t)j->take_count[t],
					  "size", (json_int_t)j->bits, "key_IDs", kid, "masked", b64,
					  (int)ksa_b64_len(kt->bytes), "pad", "bytes",
					  (json_int_t)kt->bytes, "src", src));
			OPENSSL_cleanse(b64, blen);
			off += kt->bytes;
			first += j->take_count[t];
		}
		j->links[r].supply = json_pack("{s:s, s:o, s:o}", "master_SAE_ID",
					       k->saes[j->master].id, "slave_SAE_IDs",
					       slaves_json(k, j), "imports", imports);
	}
out:
	free(h);
	km_key_material_free(pad, extra * total);
	km_key_material_free((uint8_t *)b64, (uint32_t)blen + 1);
	return rc;
}

/* The cut is durable: answer the master, or first hand the cut to the slaves' KMEs. */
static void cut_committed(struct km_ksa *k, void *arg, bool ok)
{
	struct ksa_job *j = arg;
	if (!ok) {
		j->cut = false; /* undone with the batch */
		fail(j, 503, "key store commit failed");
		return;
	}
	if (j->nlinks == 0) {
		finish(j);
		return;
	}
	j->outstanding = j->nlinks + 1; /* a synchronous failure must not free j mid-loop */
	for (unsigned i = 0; i < j->nlinks; i++) {
		j->links[i].job = j;
		enqueue_link(&j->links[i]);
	}
	link_release(j);
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
		unsigned r = 0;
		while (r < j->nlinks && strcmp(j->links[r].peer->id, sae->kme) != 0)
			r++;
		if (r < j->nlinks)
			continue;
		struct ksa_peer *p = ksa_peer_find(k, sae->kme);
		if (!p) {
			snprintf(msg, sizeof(msg), "no Kx-2 route to KME '%s' of SAE '%s'", sae->kme,
				 sae->id);
			fail(j, 503, msg);
			return;
		}
		j->links[j->nlinks++].peer = p;
	}
	km_pool_id pool = j->nlinks ? j->links[0].peer->pool : k->local_pool;
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
	if (!j->nlinks && k->local_keys_from_rng &&
	    rng_reserve(k, (uint64_t)number * bytes) != 0) {
		fail(j, 503, "cannot store fresh keys");
		return;
	}
	if (cut_keys(j, pool, msg, sizeof(msg)) != 0) {
		fail(j, 503, msg);
		return;
	}
	if (pad_imports(j, msg, sizeof(msg)) != 0) {
		fail(j, 503, msg); /* discards the cut keys: nothing was exposed */
		return;
	}
	ksa_batch_defer(k, cut_committed, j);
}
