/* Wegman–Carter authentication for relay messages: Poly1305 under a one-time key (OpenSSL
 * EVP_MAC "POLY1305"), and the per-hop kernel that XORs the pad and tags the result. */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include "km_relay.h"
#include "km_xor.h"

struct km_relay_mac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

struct km_relay_mac *km_relay_mac_new(void)
{
	struct km_relay_mac *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	m->ctx = m->mac ? EVP_MAC_CTX_new(m->mac) : NULL;
	if (!m->ctx) {
		km_relay_mac_free(m);
		return NULL;
	}
	return m;
}

void km_relay_mac_free(struct km_relay_mac *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	free(m);
}

int km_relay_mac(struct km_relay_mac *m, const uint8_t key[KM_RELAY_AUTH_LEN], const uint8_t *a,
		 size_t alen, const uint8_t *b, size_t blen, uint8_t tag[KM_RELAY_TAG_LEN])
{
	size_t out = 0;
	if (!m || !key || !tag)
		return -EINVAL;
	if (EVP_MAC_init(m->ctx, key, KM_RELAY_AUTH_LEN, NULL) != 1 ||
	    (alen && EVP_MAC_update(m->ctx, a, alen) != 1) ||
	    (blen && EVP_MAC_update(m->ctx, b, blen) != 1) ||
	    EVP_MAC_final(m->ctx, tag, &out, KM_RELAY_TAG_LEN) != 1 || out != KM_RELAY_TAG_LEN)
		return -EIO;
	return 0;
}

int km_relay_seal(struct km_relay_mac *m, const uint8_t auth_key[KM_RELAY_AUTH_LEN],
		  const uint8_t *head, size_t head_len, uint8_t *ct, const uint8_t *in,
		  const uint8_t *pad, size_t len, uint8_t tag[KM_RELAY_TAG_LEN])
{
	km_xor(ct, in, pad, len);
	return km_relay_mac(m, auth_key, head, head_len, ct, len, tag);
}
