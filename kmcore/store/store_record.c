/* Key records: metadata in the clear (it is not secret), material sealed with AES-256-GCM under
 * the KEK with a fresh random nonce; the immutable metadata is the associated data, so material
 * cannot be moved to another id, pool or size without failing authentication. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int rec_decode(const uint8_t id[KM_KEY_ID_LEN], const MDB_val *v, struct rec *r)
{
	struct rec_hdr h;
	if (v->mv_size < sizeof(h))
		return -EIO;
	memcpy(&h, v->mv_data, sizeof(h));
	if (h.magic != REC_MAGIC || h.nroute > KM_ROUTE_MAX || h.nslaves > KM_SAE_SLAVES_MAX)
		return -EIO;
	memset(r, 0, sizeof(*r));
	struct km_key_meta *m = &r->meta;
	memcpy(m->id, id, KM_KEY_ID_LEN);
	m->pool = h.pool;
	m->bits = h.bits;
	m->type = h.type;
	m->state = h.state;
	m->fetched_mask = h.fetched_mask;
	m->block_seq = h.block_seq;
	m->gen_ns = h.gen_ns;
	m->expire_ns = h.expire_ns;
	m->nroute = h.nroute;
	m->parties.nslaves = h.nslaves;
	m->parties.local_mask = h.local_mask;
	r->seq = h.seq;
	r->ct_len = h.ct_len;
	memcpy(r->nonce, h.nonce, sizeof(h.nonce));
	memcpy(r->tag, h.tag, sizeof(h.tag));
	const uint8_t *p = (const uint8_t *)v->mv_data + sizeof(h), *end = (const uint8_t *)v->mv_data + v->mv_size;
	if ((size_t)(end - p) < 4u * h.nroute)
		return -EIO;
	memcpy(m->route, p, 4u * h.nroute);
	p += 4u * h.nroute;
	for (unsigned i = 0; i <= h.nslaves; i++) {
		char *dst = i == 0 ? m->parties.master : m->parties.slaves[i - 1];
		const uint8_t *z = memchr(p, 0, (size_t)(end - p));
		if (!z || z - p >= KM_SAE_ID_MAX)
			return -EIO;
		memcpy(dst, p, (size_t)(z - p) + 1);
		p = z + 1;
	}
	if ((size_t)(end - p) != h.ct_len)
		return -EIO;
	r->ct = p;
	return 0;
}

uint8_t *rec_encode(const struct rec *r, size_t *len)
{
	const struct km_key_meta *m = &r->meta;
	struct rec_hdr h;
	memset(&h, 0, sizeof(h));
	h.magic = REC_MAGIC;
	h.type = m->type;
	h.state = m->state;
	h.nroute = m->nroute;
	h.nslaves = m->parties.nslaves;
	h.local_mask = m->parties.local_mask;
	h.fetched_mask = m->fetched_mask;
	h.bits = m->bits;
	h.ct_len = r->ct_len;
	h.pool = m->pool;
	h.seq = r->seq;
	h.block_seq = m->block_seq;
	h.gen_ns = m->gen_ns;
	h.expire_ns = m->expire_ns;
	memcpy(h.nonce, r->nonce, sizeof(h.nonce));
	memcpy(h.tag, r->tag, sizeof(h.tag));
	size_t slen[KM_SAE_SLAVES_MAX + 1], n = sizeof(h) + 4u * m->nroute + r->ct_len;
	for (unsigned i = 0; i <= m->parties.nslaves; i++) {
		const char *s = i == 0 ? m->parties.master : m->parties.slaves[i - 1];
		slen[i] = strnlen(s, KM_SAE_ID_MAX - 1);
		n += slen[i] + 1;
	}
	uint8_t *buf = malloc(n), *p = buf;
	if (!buf)
		return NULL;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, m->route, 4u * m->nroute);
	p += 4u * m->nroute;
	for (unsigned i = 0; i <= m->parties.nslaves; i++) {
		memcpy(p, i == 0 ? m->parties.master : m->parties.slaves[i - 1], slen[i]);
		p[slen[i]] = 0;
		p += slen[i] + 1;
	}
	if (r->ct_len)
		memcpy(p, r->ct, r->ct_len);
	*len = n;
	return buf;
}

/* Associated data: what must stay bound to the material. */
static void rec_aad(const struct km_key_meta *m, uint8_t aad[KM_KEY_ID_LEN + 21])
{
	memcpy(aad, m->id, KM_KEY_ID_LEN);
	be64_put(aad + 16, m->pool);
	be64_put(aad + 24, m->gen_ns);
	aad[32] = (uint8_t)(m->bits >> 24);
	aad[33] = (uint8_t)(m->bits >> 16);
	aad[34] = (uint8_t)(m->bits >> 8);
	aad[35] = (uint8_t)m->bits;
	aad[36] = m->type;
}

int rec_seal(struct km_store *st, struct rec *r, const uint8_t *plain, uint8_t *ct)
{
	uint8_t aad[37];
	int n = 0, f = 0;
	rec_aad(&r->meta, aad);
	if (RAND_bytes(r->nonce, GCM_NONCE_LEN) != 1)
		return -EIO;
	EVP_CIPHER_CTX *c = st->enc;
	if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, r->nonce) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, aad, sizeof(aad)) != 1 ||
	    EVP_EncryptUpdate(c, ct, &n, plain, (int)r->ct_len) != 1 ||
	    EVP_EncryptFinal_ex(c, ct + n, &f) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, r->tag) != 1)
		return -EIO;
	r->ct = ct;
	return 0;
}

int rec_open(struct km_store *st, const struct rec *r, uint8_t *plain)
{
	uint8_t aad[37], tag[GCM_TAG_LEN];
	int n = 0, f = 0;
	rec_aad(&r->meta, aad);
	memcpy(tag, r->tag, GCM_TAG_LEN);
	EVP_CIPHER_CTX *c = st->dec;
	if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, r->nonce) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &n, aad, sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(c, plain, &n, r->ct, (int)r->ct_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(c, plain + n, &f) != 1) {
		OPENSSL_cleanse(plain, r->ct_len);
		return -EBADMSG;
	}
	return 0;
}
