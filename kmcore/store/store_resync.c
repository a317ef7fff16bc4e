/* Resync after a restart: both ends exchange the ids of a pool's available keys and keep only
 * the ids both hold. A crash can leave one end with keys the other never stored (or already
 * used); such keys must never be used, since the two ends would then disagree on a pad.
 *
 * Message (big-endian): "KMRS" | version 1 | type 1 (ids) | flags (bit 0: last) | 0 |
 * pool (8) | cutoff ns (8) | chunk index (4) | total ids (8) | ids in chunk (4) | ids (16 each). */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define HDR_LEN 40

struct km_resync {
	struct km_store *st;
	km_pool_id pool;
	uint64_t cutoff;
	uint8_t (*own)[KM_KEY_ID_LEN];
	size_t nown, cap_own;
	uint32_t sent_chunks;
	bool sent_all;
	uint8_t (*peer)[KM_KEY_ID_LEN];
	size_t npeer, peer_total;
	uint32_t next_chunk;
	bool peer_done;
};

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, KM_KEY_ID_LEN);
}

static int collect(void *ctx, const struct km_key_meta *m)
{
	struct km_resync *rs = ctx;
	if (rs->cutoff && m->gen_ns > rs->cutoff)
		return 0;
	if (rs->nown == rs->cap_own) {
		size_t cap = rs->cap_own ? 2 * rs->cap_own : 1024;
		void *p = realloc(rs->own, cap * KM_KEY_ID_LEN);
		if (!p)
			return 1;
		rs->own = p;
		rs->cap_own = cap;
	}
	memcpy(rs->own[rs->nown++], m->id, KM_KEY_ID_LEN);
	return 0;
}

int km_resync_start(struct km_store *st, km_pool_id pool, uint64_t cutoff_ns, struct km_resync **out)
{
	if (!st || !out)
		return -EINVAL;
	struct km_resync *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->st = st;
	rs->pool = pool;
	rs->cutoff = cutoff_ns;
	int n = km_store_list(st, pool, KM_KEY_AVAILABLE, collect, rs);
	if (n < 0 || (size_t)n != rs->nown) {
		km_resync_free(rs);
		return n < 0 ? n : -ENOMEM;
	}
	if (rs->nown > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(rs->own, rs->nown, KM_KEY_ID_LEN, cmp_id);
	*out = rs;
	return 0;
}

static void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int km_resync_next(struct km_resync *rs, uint8_t *buf, size_t cap)
{
	if (!rs || !buf)
		return -EINVAL;
	if (rs->sent_all)
		return 0;
	size_t first = (size_t)rs->sent_chunks * KM_RESYNC_IDS_PER_MSG;
	size_t n = rs->nown - first < KM_RESYNC_IDS_PER_MSG ? rs->nown - first : KM_RESYNC_IDS_PER_MSG;
	size_t len = HDR_LEN + n * KM_KEY_ID_LEN;
	if (cap < len)
		return -ENOSPC;
	bool last = first + n == rs->nown;
	memcpy(buf, "KMRS", 4);
	buf[4] = 1;
	buf[5] = 1;
	buf[6] = last ? 1 : 0;
	buf[7] = 0;
	be64_put(buf + 8, rs->pool);
	be64_put(buf + 16, rs->cutoff);
	be32_put(buf + 24, rs->sent_chunks);
	be64_put(buf + 28, rs->nown);
	be32_put(buf + 36, (uint32_t)n);
	if (n)
		memcpy(buf + HDR_LEN, rs->own[first], n * KM_KEY_ID_LEN);
	rs->sent_chunks++;
	rs->sent_all = last;
	return (int)len;
}

int km_resync_receive(struct km_resync *rs, const uint8_t *msg, size_t len)
{
	if (!rs || !msg)
		return -EINVAL;
	if (len < HDR_LEN || memcmp(msg, "KMRS", 4) || msg[4] != 1 || msg[5] != 1 || msg[6] > 1 ||
	    msg[7] != 0)
		return -EPROTO;
	uint32_t chunk = be32_get(msg + 24), n = be32_get(msg + 36);
	uint64_t total = be64_get(msg + 28);
	bool last = msg[6] & 1;
	if (n > KM_RESYNC_IDS_PER_MSG || len != HDR_LEN + (size_t)n * KM_KEY_ID_LEN)
		return -EPROTO;
	if (be64_get(msg + 8) != rs->pool || be64_get(msg + 16) != rs->cutoff)
		return -EINVAL;
	if (rs->peer_done || chunk != rs->next_chunk || (chunk && total != rs->peer_total) ||
	    rs->npeer + n > total || (last && rs->npeer + n != total) ||
	    (!last && n != KM_RESYNC_IDS_PER_MSG) || total > (SIZE_MAX / KM_KEY_ID_LEN))
		return -EPROTO;
	if (chunk == 0) {
		void *p = malloc(total ? total * KM_KEY_ID_LEN : 1);
		if (!p)
			return -ENOMEM;
		free(rs->peer);
		rs->peer = p;
		rs->peer_total = total;
	}
	memcpy(rs->peer[rs->npeer], msg + HDR_LEN, (size_t)n * KM_KEY_ID_LEN);
	rs->npeer += n;
	rs->next_chunk++;
	if (!last)
		return 0;
	qsort(rs->peer, rs->npeer, KM_KEY_ID_LEN, cmp_id);
	rs->peer_done = true;
	return 1;
}

int km_resync_finish(struct km_resync *rs, uint8_t digest[32])
{
	if (!rs || !digest)
		return -EINVAL;
	if (!rs->peer_done)
		return -EAGAIN;
	uint8_t (*drop)[KM_KEY_ID_LEN] = malloc((rs->nown ? rs->nown : 1) * KM_KEY_ID_LEN);
	if (!drop)
		return -ENOMEM;
	size_t ndrop = 0;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	if (!h || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h);
		free(drop);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rs->nown; i++) {
		if (bsearch(rs->own[i], rs->peer, rs->npeer, KM_KEY_ID_LEN, cmp_id))
			EVP_DigestUpdate(h, rs->own[i], KM_KEY_ID_LEN);
		else
			memcpy(drop[ndrop++], rs->own[i], KM_KEY_ID_LEN);
	}
	EVP_DigestFinal_ex(h, digest, NULL);
	EVP_MD_CTX_free(h);
	int rc = km_store_discard(rs->st, (const uint8_t(*)[KM_KEY_ID_LEN])drop, (unsigned)ndrop);
	free(drop);
	return rc;
}

void km_resync_free(struct km_resync *rs)
{
	if (!rs)
		return;
	free(rs->own);
	free(rs->peer);
	free(rs);
}

int km_resync_peek(const uint8_t *msg, size_t len, km_pool_id *pool, uint64_t *cutoff_ns)
{
	if (!msg || !pool || !cutoff_ns || len < HDR_LEN || memcmp(msg, "KMRS", 4) || msg[4] != 1 ||
	    msg[5] != 1)
		return -EPROTO;
	*pool = be64_get(msg + 8);
	*cutoff_ns = be64_get(msg + 16);
	return 0;
}

bool km_resync_sent_all(const struct km_resync *rs)
{
	return rs && rs->sent_all;
}
