/* Get key: take key material for the master SAE, synchronise it to the slaves' KMEs over Kx-2,
 * park it for slaves on this KME, then answer the master. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "km_xor.h"
#include "ksa_internal.h"

struct job_remote {
	struct ksa_job *job;
	struct ksa_peer *peer;
	json_t *keys;     /* Kx-2 key list for this KME */
	json_t *slaves;   /* its slave SAE IDs */
	bool sent, ok;
};

struct ksa_job {
	struct km_ksa *k;
	struct evhttp_request *req;
	int master;
	uint16_t slaves[KSA_MAX_SLAVES];
	unsigned n_slaves;
	uint32_t number, bytes;
	uint8_t (*ids)[KM_KEY_ID_LEN];
	uint8_t *mat; /* number * bytes */
	struct job_remote remotes[KSA_MAX_SLAVES];
	unsigned n_remotes, outstanding;
	struct ksa_job *prev, *next; /* k->jobs */
};

json_t *ksa_key_entry(const uint8_t id[KM_KEY_ID_LEN], const uint8_t *material, uint32_t bytes)
{
	char u[KSA_UUID_STR];
	size_t blen = ksa_b64_len(bytes);
	char *b64 = (char *)ksa_secret_alloc(blen + 1);
	if (!b64)
		return NULL;
	ksa_uuid_format(id, u);
	ksa_b64_encode(material, bytes, b64);
	json_t *o = json_pack("{s:s, s:s#}", "key_ID", u, "key", b64, (int)blen);
	ksa_secret_free((uint8_t *)b64, blen + 1);
	return o;
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
	for (unsigned r = 0; r < j->n_remotes; r++) {
		json_decref(j->remotes[r].keys);
		json_decref(j->remotes[r].slaves);
	}
	ksa_secret_free(j->mat, (size_t)j->number * j->bytes);
	free(j->ids);
	free(j);
}

void ksa_supply_free_all(struct km_ksa *k)
{
	while (k->jobs)
		job_free(k->jobs);
}

static void fail(struct ksa_job *j, const char *msg)
{
	ksa_reply_error(j->k, j->req, 503, msg, NULL);
	job_free(j);
}

static void void_done(bool ok, void *arg)
{
}

/* Tell KMEs that accepted keys of a failed supply to drop them (best effort). */
static void void_remotes(struct ksa_job *j)
{
	for (unsigned r = 0; r < j->n_remotes; r++) {
		if (!j->remotes[r].ok)
			continue;
		json_t *ids = json_array();
		for (uint32_t i = 0; i < j->number; i++) {
			char u[KSA_UUID_STR];
			ksa_uuid_format(j->ids[i], u);
			json_array_append_new(ids, json_string(u));
		}
		ksa_kx_post(j->k, j->remotes[r].peer, "/kx2/v1/void",
			    json_pack("{s:s, s:o}", "source_KME_ID", j->k->kme_id, "key_IDs", ids),
			    void_done, NULL);
	}
}

/* Park the keys for the slaves attached to this KME. */
static int park_local(struct ksa_job *j)
{
	struct km_ksa *k = j->k;
	struct ksa_pending *p[j->number ? j->number : 1];
	uint16_t local[KSA_MAX_SLAVES];
	unsigned nl = 0;
	for (unsigned s = 0; s < j->n_slaves; s++)
		if (k->saes[j->slaves[s]].local)
			local[nl++] = j->slaves[s];
	if (nl == 0)
		return 0;
	for (uint32_t i = 0; i < j->number; i++) {
		p[i] = ksa_pending_new(j->bytes);
		if (!p[i]) {
			while (i--)
				ksa_pending_remove(&k->pending, p[i]);
			return -ENOMEM;
		}
		memcpy(p[i]->id, j->ids[i], KM_KEY_ID_LEN);
		memcpy(p[i]->material, j->mat + (size_t)i * j->bytes, j->bytes);
		p[i]->master = (uint16_t)j->master;
		p[i]->n_slaves = (uint8_t)nl;
		memcpy(p[i]->slaves, local, nl * sizeof(local[0]));
		ksa_pending_insert(&k->pending, p[i]);
	}
	return 0;
}

static void finish(struct ksa_job *j)
{
	struct km_ksa *k = j->k;
	for (unsigned r = 0; r < j->n_remotes; r++) {
		if (!j->remotes[r].ok) {
			char msg[160];
			snprintf(msg, sizeof(msg), "key synchronisation with KME '%s' failed",
				 j->remotes[r].peer->id);
			void_remotes(j);
			fail(j, msg);
			return;
		}
	}
	if (park_local(j) != 0) {
		void_remotes(j);
		fail(j, "no memory for keys waiting for slave SAEs");
		return;
	}
	json_t *keys = json_array();
	for (uint32_t i = 0; i < j->number; i++)
		json_array_append_new(keys,
				      ksa_key_entry(j->ids[i], j->mat + (size_t)i * j->bytes, j->bytes));
	KSA_COUNT(k, keys_supplied, j->number);
	KSA_COUNT(k, bits_supplied, 8ull * j->number * j->bytes);
	ksa_reply(j->req, 200, json_pack("{s:o}", "keys", keys));
	job_free(j);
}

static void remote_done(bool ok, void *arg)
{
	struct job_remote *r = arg;
	struct ksa_job *j = r->job;
	r->ok = ok;
	if (--j->outstanding == 0)
		finish(j);
}

static json_t *segs_json(const struct km_ksa_seg *segs, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		char u[KSA_UUID_STR];
		ksa_uuid_format(segs[i].key_id, u);
		json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "key_ID", u, "offset",
						   (json_int_t)segs[i].offset, "length",
						   (json_int_t)segs[i].len));
	}
	return a;
}

/* Cut key i: from the first remote KME's shared keys (segments sent to it), one-time-padded for
 * every further remote KME; or locally when all slaves are here. */
static int cut_key(struct ksa_job *j, uint32_t i, uint8_t *pad, char *msg, size_t msglen)
{
	struct km_ksa *k = j->k;
	uint8_t *key = j->mat + (size_t)i * j->bytes;
	struct km_ksa_seg segs[KM_KSA_MAX_SEGS];
	char u[KSA_UUID_STR];
	ksa_uuid_format(j->ids[i], u);
	if (j->n_remotes == 0) {
		if (k->local_keys_from_rng)
			return RAND_priv_bytes(key, (int)j->bytes) == 1 ? 0 : -EIO;
		int n = k->src.take(k->src.ctx, k->kme_id, key, j->bytes, segs, KM_KSA_MAX_SEGS);
		if (n < 0)
			snprintf(msg, msglen, "not enough key material for SAEs of KME '%s'",
				 k->kme_id);
		return n < 0 ? n : 0;
	}
	for (unsigned r = 0; r < j->n_remotes; r++) {
		struct job_remote *rm = &j->remotes[r];
		uint8_t *dst = r == 0 ? key : pad;
		int n = k->src.take(k->src.ctx, rm->peer->id, dst, j->bytes, segs, KM_KSA_MAX_SEGS);
		if (n < 0) {
			snprintf(msg, msglen, "not enough key material shared with KME '%s'",
				 rm->peer->id);
			return n;
		}
		json_t *e = json_pack("{s:s, s:I, s:o}", "key_ID", u, "size",
				      (json_int_t)(8ull * j->bytes), "segments", segs_json(segs, n));
		if (r > 0) {
			km_xor(pad, pad, key, j->bytes);
			size_t blen = ksa_b64_len(j->bytes);
			char *b64 = (char *)ksa_secret_alloc(blen + 1);
			if (!b64) {
				json_decref(e);
				return -ENOMEM;
			}
			ksa_b64_encode(pad, j->bytes, b64);
			json_object_set_new(e, "masked_key", json_stringn(b64, blen));
			ksa_secret_free((uint8_t *)b64, blen + 1);
			OPENSSL_cleanse(pad, j->bytes);
		}
		json_array_append_new(rm->keys, e);
	}
	return 0;
}

void ksa_supply_start(struct km_ksa *k, struct evhttp_request *req, int master,
		      const uint16_t *slaves, unsigned n_slaves, uint32_t number, uint32_t bytes)
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
	j->bytes = bytes;
	j->n_slaves = n_slaves;
	memcpy(j->slaves, slaves, n_slaves * sizeof(*slaves));
	j->next = k->jobs;
	if (k->jobs)
		k->jobs->prev = j;
	k->jobs = j;

	bool any_local = false;
	for (unsigned s = 0; s < n_slaves; s++) {
		const struct ksa_sae *sae = &k->saes[slaves[s]];
		if (sae->local) {
			any_local = true;
			continue;
		}
		unsigned r = 0;
		while (r < j->n_remotes && strcmp(j->remotes[r].peer->id, sae->kme) != 0)
			r++;
		if (r == j->n_remotes) {
			struct ksa_peer *p = ksa_peer_find(k, sae->kme);
			if (!p || !k->src.take) {
				snprintf(msg, sizeof(msg), "no Kx-2 route to KME '%s' of SAE '%s'",
					 sae->kme, sae->id);
				fail(j, msg);
				return;
			}
			j->remotes[r] = (struct job_remote){j, p, json_array(), json_array(), 0, 0};
			j->n_remotes++;
		}
		json_array_append_new(j->remotes[r].slaves, json_string(sae->id));
	}
	uint64_t total = (uint64_t)number * bytes;
	if (j->n_remotes == 0 && !k->local_keys_from_rng && !k->src.take) {
		fail(j, "no key source for SAEs of this KME");
		return;
	}
	for (unsigned r = 0; r < j->n_remotes; r++) {
		if (k->src.available(k->src.ctx, j->remotes[r].peer->id) < total) {
			snprintf(msg, sizeof(msg), "not enough key material shared with KME '%s'",
				 j->remotes[r].peer->id);
			fail(j, msg);
			return;
		}
	}
	if (j->n_remotes == 0 && !k->local_keys_from_rng &&
	    k->src.available(k->src.ctx, k->kme_id) < total) {
		snprintf(msg, sizeof(msg), "not enough key material for SAEs of KME '%s'", k->kme_id);
		fail(j, msg);
		return;
	}
	if (any_local && k->pending.count + number > k->max_pending) {
		fail(j, "too many keys waiting for slave SAEs");
		return;
	}
	j->ids = malloc(sizeof(*j->ids) * number);
	j->mat = ksa_secret_alloc(total);
	uint8_t *pad = ksa_secret_alloc(bytes);
	if (!j->ids || !j->mat || !pad) {
		ksa_secret_free(pad, bytes);
		fail(j, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < number; i++) {
		do {
			if (ksa_uuid_random(j->ids[i]) != 0) {
				ksa_secret_free(pad, bytes);
				fail(j, "random generator failed");
				return;
			}
		} while (ksa_pending_find(&k->pending, j->ids[i]));
		/* Keys already taken are dropped with the job: none is handed out twice. */
		if (cut_key(j, i, pad, msg, sizeof(msg)) != 0) {
			ksa_secret_free(pad, bytes);
			fail(j, msg);
			return;
		}
	}
	ksa_secret_free(pad, bytes);
	if (j->n_remotes == 0) {
		finish(j);
		return;
	}
	unsigned nr = j->n_remotes; /* the last remote_done() frees j */
	j->outstanding = nr;
	for (unsigned r = 0; r < nr; r++) {
		struct job_remote *rm = &j->remotes[r];
		json_t *body = json_pack("{s:s, s:s, s:O, s:O}", "source_KME_ID", k->kme_id,
					 "master_SAE_ID", k->saes[master].id, "slave_SAE_IDs",
					 rm->slaves, "keys", rm->keys);
		rm->sent = true;
		if (ksa_kx_post(k, rm->peer, "/kx2/v1/supply", body, remote_done, rm) != 0)
			remote_done(false, rm); /* may finish the job */
	}
}
