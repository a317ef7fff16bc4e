/* Resync of a link's pool (km_store.h): both ends exchange the ids of the pool's available keys,
 * keep the ids both hold, and prove to each other with a confirm tagged under key bytes only the
 * two of them hold that they saw the same two sets. Keys that could make the two ends disagree
 * on a pad (consumed at one end only, leftovers made at one end only) go on both.
 *
 * Message (big-endian): "KMRS" | version 2 | type (1 ids, 2 confirm) | flags (bit 0: last ids
 * chunk, bit 1: sent by the responder) | 0 | pool (8) | cutoff ns (8) | initiator nonce (16) |
 * responder nonce (16, zero from the initiator), then
 *   ids:     chunk index (4) | total ids (8) | ids in this chunk (4) | ids (16 each, ascending)
 *   confirm: sender's last sent sequence number on the link (8) | tag (16)
 * tag = Poly1305(k, T | role ('I' or 'R') | sequence number), T = SHA-256("KMRS2" | pool | cutoff
 * | initiator nonce | responder nonce | SHA-256(initiator's ids) | SHA-256(responder's ids)),
 * k = bytes 0-31 (initiator) or 32-63 (responder) of the first agreed keys in id order. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "km_relay.h"
#include "store_internal.h"

#define HDR_LEN 56
#define IDS_HDR_LEN (HDR_LEN + 16)
#define CONFIRM_LEN (HDR_LEN + 8 + KM_RELAY_TAG_LEN)
#define HALF (KM_RESYNC_AUTH_BYTES / 2)
enum { TYPE_IDS = 1, TYPE_CONFIRM = 2 };
enum { FLAG_LAST = 1, FLAG_RESPONDER = 2 };

struct km_resync {
	struct km_store *st;
	km_pool_id pool;
	uint64_t cutoff;
	bool initiator, have_peer_nonce;
	uint8_t nonce_i[KM_RESYNC_NONCE_LEN], nonce_r[KM_RESYNC_NONCE_LEN];
	uint8_t (*own)[KM_KEY_ID_LEN];
	size_t nown, cap_own;
	uint32_t sent_chunks;
	bool sent_all, confirm_sent;
	uint8_t (*peer)[KM_KEY_ID_LEN];
	size_t npeer, peer_total;
	uint32_t next_chunk;
	bool peer_done, peer_confirmed;
	uint8_t transcript[32];
	uint8_t *peer_key;                 /* locked: the peer's half of the confirm bytes */
	uint8_t peer_tag[KM_RELAY_TAG_LEN];
	uint64_t peer_seq;
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

/* A session with this end's id set (snapshot now). */
static int session_new(struct km_store *st, km_pool_id pool, uint64_t cutoff, bool initiator,
		       struct km_resync **out)
{
	if (!st || !out)
		return -EINVAL;
	struct km_resync *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->st = st;
	rs->pool = pool;
	rs->cutoff = cutoff;
	rs->initiator = initiator;
	rs->peer_key = km_key_material_alloc(HALF);
	if (!rs->peer_key || RAND_bytes(initiator ? rs->nonce_i : rs->nonce_r, KM_RESYNC_NONCE_LEN) != 1) {
		km_resync_free(rs);
		return -ENOMEM;
	}
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

int km_resync_start(struct km_store *st, km_pool_id pool, uint64_t cutoff_ns, struct km_resync **out)
{
	return session_new(st, pool, cutoff_ns, true, out);
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

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int km_resync_peek(const uint8_t *msg, size_t len, struct km_resync_info *info)
{
	if (!msg || !info || len < HDR_LEN || memcmp(msg, "KMRS", 4) || msg[4] != 2 ||
	    (msg[5] != TYPE_IDS && msg[5] != TYPE_CONFIRM) || msg[6] > 3 || msg[7] != 0)
		return -EPROTO;
	info->pool = be64_get(msg + 8);
	info->cutoff_ns = be64_get(msg + 16);
	info->from_responder = msg[6] & FLAG_RESPONDER;
	info->first = msg[5] == TYPE_IDS && !info->from_responder && len >= IDS_HDR_LEN &&
		      be32_get(msg + HDR_LEN) == 0;
	memcpy(info->nonce, msg + 24, KM_RESYNC_NONCE_LEN);
	return 0;
}

int km_resync_accept(struct km_store *st, const uint8_t *msg, size_t len, struct km_resync **out)
{
	struct km_resync_info in;
	if (km_resync_peek(msg, len, &in) || !in.first)
		return -EPROTO;
	int rc = session_new(st, in.pool, in.cutoff_ns, false, out);
	if (rc == 0)
		memcpy((*out)->nonce_i, in.nonce, KM_RESYNC_NONCE_LEN);
	return rc;
}

bool km_resync_is_initiator(const struct km_resync *rs)
{
	return rs && rs->initiator;
}

const uint8_t *km_resync_nonce(const struct km_resync *rs)
{
	return rs ? rs->nonce_i : NULL;
}

bool km_resync_done(const struct km_resync *rs)
{
	return rs && rs->confirm_sent && rs->peer_confirmed;
}

static void head_put(const struct km_resync *rs, uint8_t *buf, uint8_t type, uint8_t flags)
{
	memcpy(buf, "KMRS", 4);
	buf[4] = 2;
	buf[5] = type;
	buf[6] = (uint8_t)(flags | (rs->initiator ? 0 : FLAG_RESPONDER));
	buf[7] = 0;
	be64_put(buf + 8, rs->pool);
	be64_put(buf + 16, rs->cutoff);
	memcpy(buf + 24, rs->nonce_i, KM_RESYNC_NONCE_LEN);
	if (rs->initiator)
		memset(buf + 40, 0, KM_RESYNC_NONCE_LEN);
	else
		memcpy(buf + 40, rs->nonce_r, KM_RESYNC_NONCE_LEN);
}

static int ids_next(struct km_resync *rs, uint8_t *buf, size_t cap)
{
	size_t first = (size_t)rs->sent_chunks * KM_RESYNC_IDS_PER_MSG;
	size_t n = rs->nown - first < KM_RESYNC_IDS_PER_MSG ? rs->nown - first : KM_RESYNC_IDS_PER_MSG;
	size_t len = IDS_HDR_LEN + n * KM_KEY_ID_LEN;
	if (cap < len)
		return -ENOSPC;
	bool last = first + n == rs->nown;
	head_put(rs, buf, TYPE_IDS, last ? FLAG_LAST : 0);
	be32_put(buf + HDR_LEN, rs->sent_chunks);
	be64_put(buf + HDR_LEN + 4, rs->nown);
	be32_put(buf + HDR_LEN + 12, (uint32_t)n);
	if (n)
		memcpy(buf + IDS_HDR_LEN, rs->own[first], n * KM_KEY_ID_LEN);
	rs->sent_chunks++;
	rs->sent_all = last;
	return (int)len;
}

static int sha256_ids(const uint8_t (*ids)[KM_KEY_ID_LEN], size_t n, uint8_t md[32])
{
	unsigned len = 0;
	return EVP_Digest(n ? (const void *)ids : "", n * KM_KEY_ID_LEN, md, &len, EVP_sha256(), NULL) == 1
		       ? 0
		       : -EIO;
}

/* T: what both ends must have seen for their tags to agree. */
static int transcript(struct km_resync *rs)
{
	uint8_t h_own[32], h_peer[32], buf[5 + 16 + 2 * KM_RESYNC_NONCE_LEN + 64];
	if (sha256_ids((const uint8_t(*)[KM_KEY_ID_LEN])rs->own, rs->nown, h_own) ||
	    sha256_ids((const uint8_t(*)[KM_KEY_ID_LEN])rs->peer, rs->npeer, h_peer))
		return -EIO;
	uint8_t *p = buf;
	memcpy(p, "KMRS2", 5);
	be64_put(p + 5, rs->pool);
	be64_put(p + 13, rs->cutoff);
	memcpy(p + 21, rs->nonce_i, KM_RESYNC_NONCE_LEN);
	memcpy(p + 37, rs->nonce_r, KM_RESYNC_NONCE_LEN);
	memcpy(p + 53, rs->initiator ? h_own : h_peer, 32);
	memcpy(p + 85, rs->initiator ? h_peer : h_own, 32);
	unsigned len = 0;
	return EVP_Digest(buf, sizeof(buf), rs->transcript, &len, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

static int confirm_tag(const uint8_t *key, const uint8_t t[32], bool initiator, uint64_t seq,
		       uint8_t tag[KM_RELAY_TAG_LEN])
{
	uint8_t tail[9];
	tail[0] = initiator ? 'I' : 'R';
	be64_put(tail + 1, seq);
	struct km_relay_mac *m = km_relay_mac_new();
	int rc = m ? km_relay_mac(m, key, t, 32, tail, sizeof(tail), tag) : -ENOMEM;
	km_relay_mac_free(m);
	return rc;
}

/* The first KM_RESYNC_AUTH_BYTES of the agreed keys, ascending ids (both ends name the same). */
static int auth_take(struct km_resync *rs, struct km_take *t)
{
	memset(t, 0, sizeof(*t));
	t->pool = rs->pool;
	t->bytes = KM_RESYNC_AUTH_BYTES;
	uint64_t got = 0;
	for (size_t i = 0; i < rs->nown && got < KM_RESYNC_AUTH_BYTES; i++) {
		if (!bsearch(rs->own[i], rs->peer, rs->npeer, KM_KEY_ID_LEN, cmp_id))
			continue;
		struct km_key_meta m;
		if (km_store_get(rs->st, rs->own[i], &m) || m.bits / 8 == 0)
			continue;
		if (t->nsrc == KM_TAKE_MAX_SRC)
			return -EAGAIN;
		memcpy(t->src[t->nsrc++], rs->own[i], KM_KEY_ID_LEN);
		got += m.bits / 8;
	}
	return got >= KM_RESYNC_AUTH_BYTES ? 0 : -EAGAIN;
}

/* Both sets are here: cut the confirm bytes, tag ours, keep the peer's key for finish. */
static int confirm_next(struct km_resync *rs, uint8_t *buf, size_t cap)
{
	if (cap < CONFIRM_LEN)
		return -ENOSPC;
	struct km_take t;
	int rc = transcript(rs);
	if (rc == 0)
		rc = auth_take(rs, &t);
	if (rc)
		return rc;
	uint8_t *k = km_key_material_alloc(KM_RESYNC_AUTH_BYTES);
	if (!k)
		return -ENOMEM;
	struct km_take_handle h;
	uint64_t seq;
	rc = km_store_take_named(rs->st, &t, k, &h);
	if (rc == 0) {
		const uint8_t *mine = rs->initiator ? k : k + HALF;
		memcpy(rs->peer_key, rs->initiator ? k + HALF : k, HALF);
		head_put(rs, buf, TYPE_CONFIRM, 0);
		rc = km_store_seq_last_tx(rs->st, rs->pool, &seq);
		be64_put(buf + HDR_LEN, seq);
		if (rc == 0)
			rc = confirm_tag(mine, rs->transcript, rs->initiator, seq, buf + HDR_LEN + 8);
		/* the bytes are spent once a tag made with them may leave */
		if (rc == 0)
			rc = km_store_take_commit(rs->st, &h);
		else
			km_store_take_abort(rs->st, &h, false);
	}
	km_key_material_free(k, KM_RESYNC_AUTH_BYTES);
	if (rc)
		return rc == -ENOENT ? -EAGAIN : rc;
	rs->confirm_sent = true;
	return CONFIRM_LEN;
}

int km_resync_next(struct km_resync *rs, uint8_t *buf, size_t cap)
{
	if (!rs || !buf)
		return -EINVAL;
	if (!rs->sent_all)
		return ids_next(rs, buf, cap);
	if (rs->peer_done && !rs->confirm_sent)
		return confirm_next(rs, buf, cap);
	return 0;
}

static int ids_receive(struct km_resync *rs, const uint8_t *msg, size_t len)
{
	if (len < IDS_HDR_LEN)
		return -EPROTO;
	uint32_t chunk = be32_get(msg + HDR_LEN), n = be32_get(msg + HDR_LEN + 12);
	uint64_t total = be64_get(msg + HDR_LEN + 4);
	bool last = msg[6] & FLAG_LAST;
	if (n > KM_RESYNC_IDS_PER_MSG || len != IDS_HDR_LEN + (size_t)n * KM_KEY_ID_LEN)
		return -EPROTO;
	if (chunk < rs->next_chunk)
		return -EALREADY; /* a duplicate: the link delivered it twice */
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
	memcpy(rs->peer[rs->npeer], msg + IDS_HDR_LEN, (size_t)n * KM_KEY_ID_LEN);
	rs->npeer += n;
	rs->next_chunk++;
	if (last) {
		if (rs->npeer > 1)
			qsort(rs->peer, rs->npeer, KM_KEY_ID_LEN, cmp_id);
		rs->peer_done = true;
	}
	return 0;
}

int km_resync_receive(struct km_resync *rs, const uint8_t *msg, size_t len)
{
	struct km_resync_info in;
	if (!rs || !msg)
		return -EINVAL;
	if (km_resync_peek(msg, len, &in) || in.from_responder == !rs->initiator)
		return -EPROTO; /* not a resync message, or one of our own role reflected back */
	if (in.pool != rs->pool || in.cutoff_ns != rs->cutoff)
		return -EINVAL;
	const uint8_t *nr = msg + 40;
	if (CRYPTO_memcmp(in.nonce, rs->nonce_i, KM_RESYNC_NONCE_LEN) ||
	    (rs->initiator && rs->have_peer_nonce && CRYPTO_memcmp(nr, rs->nonce_r, KM_RESYNC_NONCE_LEN)))
		return -ESRCH;
	if (rs->initiator ? all_zero(nr, KM_RESYNC_NONCE_LEN) : !all_zero(nr, KM_RESYNC_NONCE_LEN))
		return -EPROTO;
	if (msg[5] == TYPE_IDS) {
		int rc = ids_receive(rs, msg, len);
		if (rc == 0 && rs->initiator && !rs->have_peer_nonce) {
			memcpy(rs->nonce_r, nr, KM_RESYNC_NONCE_LEN);
			rs->have_peer_nonce = true;
		}
		return rc;
	}
	if (len != CONFIRM_LEN || !rs->peer_done || msg[6] & FLAG_LAST)
		return -EPROTO;
	if (rs->peer_confirmed)
		return -EALREADY;
	rs->peer_seq = be64_get(msg + HDR_LEN);
	memcpy(rs->peer_tag, msg + HDR_LEN + 8, KM_RELAY_TAG_LEN);
	rs->peer_confirmed = true;
	return 1;
}

int km_resync_finish(struct km_resync *rs, uint8_t digest[32])
{
	if (!rs || !digest)
		return -EINVAL;
	if (!km_resync_done(rs))
		return -EAGAIN;
	uint8_t want[KM_RELAY_TAG_LEN];
	int rc = confirm_tag(rs->peer_key, rs->transcript, !rs->initiator, rs->peer_seq, want);
	if (rc)
		return rc;
	if (CRYPTO_memcmp(want, rs->peer_tag, KM_RELAY_TAG_LEN) != 0)
		return -EBADMSG; /* forged or altered exchange: nothing is discarded */
	uint8_t (*drop)[KM_KEY_ID_LEN] = malloc((rs->nown ? rs->nown : 1) * KM_KEY_ID_LEN);
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	if (!drop || !h || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h);
		free(drop);
		return -ENOMEM;
	}
	size_t ndrop = 0;
	for (size_t i = 0; i < rs->nown; i++) {
		if (bsearch(rs->own[i], rs->peer, rs->npeer, KM_KEY_ID_LEN, cmp_id))
			EVP_DigestUpdate(h, rs->own[i], KM_KEY_ID_LEN);
		else
			memcpy(drop[ndrop++], rs->own[i], KM_KEY_ID_LEN);
	}
	EVP_DigestFinal_ex(h, digest, NULL);
	EVP_MD_CTX_free(h);
	rc = km_store_discard(rs->st, (const uint8_t(*)[KM_KEY_ID_LEN])drop, (unsigned)ndrop);
	free(drop);
	if (rc >= 0) {
		int r2 = km_store_seq_raise_rx(rs->st, rs->pool, rs->peer_seq);
		rc = r2 ? r2 : rc;
	}
	return rc;
}

void km_resync_free(struct km_resync *rs)
{
	if (!rs)
		return;
	km_key_material_free(rs->peer_key, HALF);
	free(rs->own);
	free(rs->peer);
	free(rs);
}
