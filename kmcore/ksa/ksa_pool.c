/* In-memory pool of keys shared with peer KMEs, split by supply direction (see km_ksa.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ksa_internal.h"

struct pool_key {
	uint8_t id[KM_KEY_ID_LEN];
	uint32_t len, used; /* bytes; [0, used) already taken or discarded */
	uint8_t *mat;
	struct pool_key *next;
};

struct pool_queue {
	struct pool_key *head, *tail;
	uint64_t avail; /* untaken bytes */
};

struct pool_peer {
	char id[KM_KSA_ID_MAX + 1];
	struct pool_queue own;  /* keys this KME takes */
	struct pool_queue peer; /* keys the peer takes; followed through segments */
	struct pool_peer *next;
};

struct km_ksa_pool {
	pthread_mutex_t mu;
	char own_id[KM_KSA_ID_MAX + 1];
	uint64_t max_bytes;
	struct pool_peer *peers;
};

struct km_ksa_pool *km_ksa_pool_create(const char *own_kme_id, uint64_t max_bytes_per_peer)
{
	if (!own_kme_id || strlen(own_kme_id) > KM_KSA_ID_MAX)
		return NULL;
	struct km_ksa_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	strcpy(p->own_id, own_kme_id);
	p->max_bytes = max_bytes_per_peer;
	return p;
}

static void key_free(struct pool_key *k)
{
	ksa_secret_free(k->mat, k->len);
	free(k);
}

static void queue_clear(struct pool_queue *q)
{
	while (q->head) {
		struct pool_key *k = q->head;
		q->head = k->next;
		key_free(k);
	}
	q->tail = NULL;
	q->avail = 0;
}

void km_ksa_pool_free(struct km_ksa_pool *p)
{
	if (!p)
		return;
	while (p->peers) {
		struct pool_peer *pp = p->peers;
		p->peers = pp->next;
		queue_clear(&pp->own);
		queue_clear(&pp->peer);
		free(pp);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static struct pool_peer *peer_get(struct km_ksa_pool *p, const char *id, bool create)
{
	for (struct pool_peer *pp = p->peers; pp; pp = pp->next)
		if (strcmp(pp->id, id) == 0)
			return pp;
	if (!create || strlen(id) > KM_KSA_ID_MAX)
		return NULL;
	struct pool_peer *pp = calloc(1, sizeof(*pp));
	if (!pp)
		return NULL;
	strcpy(pp->id, id);
	pp->next = p->peers;
	p->peers = pp;
	return pp;
}

static bool queue_has(const struct pool_queue *q, const uint8_t *id)
{
	for (const struct pool_key *k = q->head; k; k = k->next)
		if (memcmp(k->id, id, KM_KEY_ID_LEN) == 0)
			return true;
	return false;
}

int km_ksa_pool_add(struct km_ksa_pool *p, const char *peer_kme, const struct km_key_desc *key)
{
	if (!p || !peer_kme || !key || !key->material || key->bits < 8)
		return -EINVAL;
	uint32_t len = key->bits / 8; /* whole bytes only: both ends cut the same way */
	int rc = 0;
	pthread_mutex_lock(&p->mu);
	struct pool_peer *pp = peer_get(p, peer_kme, true);
	if (!pp) {
		rc = -ENOMEM;
		goto out;
	}
	bool self = strcmp(peer_kme, p->own_id) == 0;
	bool smaller = strcmp(p->own_id, peer_kme) < 0;
	bool mine = self || ((key->key_id[KM_KEY_ID_LEN - 1] & 1) != 0) == smaller;
	struct pool_queue *q = mine ? &pp->own : &pp->peer;
	if (queue_has(&pp->own, key->key_id) || queue_has(&pp->peer, key->key_id)) {
		rc = -EEXIST;
		goto out;
	}
	if (pp->own.avail + pp->peer.avail + len > p->max_bytes) {
		rc = -ENOSPC;
		goto out;
	}
	struct pool_key *k = calloc(1, sizeof(*k));
	uint8_t *mat = ksa_secret_alloc(len);
	if (!k || !mat) {
		free(k);
		ksa_secret_free(mat, len);
		rc = -ENOMEM;
		goto out;
	}
	memcpy(k->id, key->key_id, KM_KEY_ID_LEN);
	memcpy(mat, key->material, len);
	k->mat = mat;
	k->len = len;
	if (q->tail)
		q->tail->next = k;
	else
		q->head = k;
	q->tail = k;
	q->avail += len;
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static uint64_t pool_available(void *ctx, const char *peer_kme)
{
	struct km_ksa_pool *p = ctx;
	pthread_mutex_lock(&p->mu);
	struct pool_peer *pp = peer_get(p, peer_kme, false);
	uint64_t n = pp ? pp->own.avail : 0;
	pthread_mutex_unlock(&p->mu);
	return n;
}

static void pop_head(struct pool_queue *q)
{
	struct pool_key *k = q->head;
	q->head = k->next;
	if (!q->head)
		q->tail = NULL;
	key_free(k);
}

static int pool_take(void *ctx, const char *peer_kme, uint8_t *out, uint32_t len,
		     struct km_ksa_seg *segs, unsigned max_segs)
{
	struct km_ksa_pool *p = ctx;
	int rc;
	pthread_mutex_lock(&p->mu);
	struct pool_peer *pp = peer_get(p, peer_kme, false);
	if (!pp || pp->own.avail < len) {
		rc = -EAGAIN;
		goto out;
	}
	unsigned need = 0;
	uint32_t left = len;
	for (struct pool_key *k = pp->own.head; left; k = k->next) {
		uint32_t n = k->len - k->used;
		left -= n < left ? n : left;
		need++;
	}
	if (need > max_segs) {
		rc = -ENOSPC;
		goto out;
	}
	unsigned ns = 0;
	for (left = len; left;) {
		struct pool_key *k = pp->own.head;
		uint32_t n = k->len - k->used;
		if (n > left)
			n = left;
		memcpy(segs[ns].key_id, k->id, KM_KEY_ID_LEN);
		segs[ns].offset = k->used;
		segs[ns].len = n;
		memcpy(out, k->mat + k->used, n);
		OPENSSL_cleanse(k->mat + k->used, n);
		k->used += n;
		out += n;
		left -= n;
		pp->own.avail -= n;
		ns++;
		if (k->used == k->len)
			pop_head(&pp->own);
	}
	rc = (int)ns;
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static struct pool_key *find_key(struct pool_queue *q, const uint8_t *id)
{
	for (struct pool_key *k = q->head; k; k = k->next)
		if (memcmp(k->id, id, KM_KEY_ID_LEN) == 0)
			return k;
	return NULL;
}

/* Drop keys in front of k: the peer takes its keys in order, so it has passed them. */
static void discard_before(struct pool_queue *q, struct pool_key *k)
{
	while (q->head != k) {
		q->avail -= q->head->len - q->head->used;
		pop_head(q);
	}
}

static int pool_take_segs(void *ctx, const char *peer_kme, const struct km_ksa_seg *segs,
			  unsigned nsegs, uint8_t *out)
{
	struct km_ksa_pool *p = ctx;
	int rc = 0;
	pthread_mutex_lock(&p->mu);
	struct pool_peer *pp = peer_get(p, peer_kme, false);
	if (!pp) {
		rc = -ENOENT;
		goto out;
	}
	/* Check every segment first so that a bad message takes nothing. */
	struct pool_key *prev = NULL;
	uint32_t prev_end = 0;
	for (unsigned i = 0; i < nsegs; i++) {
		struct pool_key *k = find_key(&pp->peer, segs[i].key_id);
		if (!k) {
			rc = -ENOENT;
			goto out;
		}
		uint32_t start = k == prev ? prev_end : k->used;
		if (segs[i].len == 0 || segs[i].offset < start || segs[i].offset > k->len ||
		    segs[i].len > k->len - segs[i].offset) {
			rc = -EALREADY;
			goto out;
		}
		if (prev && k != prev) {
			/* later segments must not go back to an earlier key of the queue */
			for (struct pool_key *q = k->next; q; q = q->next)
				if (q == prev) {
					rc = -EALREADY;
					goto out;
				}
		}
		prev = k;
		prev_end = segs[i].offset + segs[i].len;
	}
	for (unsigned i = 0; i < nsegs; i++) {
		struct pool_key *k = find_key(&pp->peer, segs[i].key_id);
		discard_before(&pp->peer, k);
		uint32_t skip = segs[i].offset - k->used;
		OPENSSL_cleanse(k->mat + k->used, skip);
		memcpy(out, k->mat + segs[i].offset, segs[i].len);
		OPENSSL_cleanse(k->mat + segs[i].offset, segs[i].len);
		out += segs[i].len;
		k->used = segs[i].offset + segs[i].len;
		pp->peer.avail -= skip + segs[i].len;
		if (k->used == k->len)
			pop_head(&pp->peer);
	}
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

struct km_ksa_source km_ksa_pool_source(struct km_ksa_pool *p)
{
	struct km_ksa_source s = {p, pool_available, pool_take, pool_take_segs};
	return s;
}
