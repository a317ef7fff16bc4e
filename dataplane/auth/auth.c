/* Wegman-Carter tags for Qdist: Poly1305 (OpenSSL EVP_MAC) keyed with the stream's r and a
 * one-time pad s_n taken from the stream's pad ring at offset 16 * msg_seq. */
#include "dp_auth.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../wire/le.h"

static EVP_MAC *poly1305(void)
{
	/* Fetched once per process; EVP_MAC objects are reference counted and thread safe. */
	static EVP_MAC *mac;
	EVP_MAC *m = __atomic_load_n(&mac, __ATOMIC_ACQUIRE);
	if (!m) {
		EVP_MAC *f = EVP_MAC_fetch(NULL, "POLY1305", NULL);
		EVP_MAC *expected = NULL;
		if (f && !__atomic_compare_exchange_n(&mac, &expected, f, 0, __ATOMIC_ACQ_REL,
						      __ATOMIC_ACQUIRE)) {
			EVP_MAC_free(f);
			f = expected;
		}
		m = f;
	}
	return m;
}

int dp_auth_stream_init(struct dp_auth_stream *s, const uint8_t r[DP_AUTH_R_LEN], size_t cap)
{
	memset(s, 0, sizeof(*s));
	uint64_t c = DP_AUTH_PAD_LEN;
	while (c < cap)
		c <<= 1;
	EVP_MAC *m = poly1305();
	if (!m)
		return -ENOMEM;
	s->pads = calloc(1, c);
	s->mac = (struct evp_mac_ctx_st *)EVP_MAC_CTX_new(m);
	if (!s->pads || !s->mac) {
		dp_auth_stream_free(s);
		return -ENOMEM;
	}
	s->cap = c;
	s->limit = UINT64_MAX;
	memcpy(s->r, r, DP_AUTH_R_LEN);
	return 0;
}

int dp_auth_stream_restore(struct dp_auth_stream *s, const uint8_t r[DP_AUTH_R_LEN], size_t cap,
			   uint64_t head, uint64_t next_seq)
{
	if (head % DP_AUTH_PAD_LEN || next_seq > UINT64_MAX / DP_AUTH_PAD_LEN)
		return -EINVAL;
	int rc = dp_auth_stream_init(s, r, cap);
	if (rc)
		return rc;
	s->head = head;
	s->next_seq = next_seq;
	s->limit = next_seq;
	return 0;
}

void dp_auth_stream_free(struct dp_auth_stream *s)
{
	if (s->pads) {
		OPENSSL_cleanse(s->pads, s->cap);
		free(s->pads);
	}
	EVP_MAC_CTX_free((EVP_MAC_CTX *)s->mac);
	OPENSSL_cleanse(s, sizeof(*s));
}

static uint64_t tail(const struct dp_auth_stream *s)
{
	return s->next_seq * DP_AUTH_PAD_LEN;
}

uint64_t dp_auth_stream_msgs_left(const struct dp_auth_stream *s)
{
	return s->head > tail(s) ? (s->head - tail(s)) / DP_AUTH_PAD_LEN : 0;
}

int dp_auth_stream_append(struct dp_auth_stream *s, const uint8_t *bytes, size_t n)
{
	/* The stream may lag behind (gaps burn pads before they arrive): held bytes start at tail. */
	uint64_t start = s->head > tail(s) ? tail(s) : s->head;
	if (s->head - start + n > s->cap)
		return -ENOSPC;
	for (size_t i = 0; i < n;) {
		uint64_t at = s->head & (s->cap - 1);
		size_t chunk = n - i < s->cap - at ? n - i : (size_t)(s->cap - at);
		memcpy(s->pads + at, bytes + i, chunk);
		s->head += chunk;
		i += chunk;
	}
	return 0;
}

/* Poly1305 key r || s_n for message n into key[32]; caller checked the pad is held. */
static void message_key(const struct dp_auth_stream *s, uint64_t n, uint8_t key[32])
{
	memcpy(key, s->r, DP_AUTH_R_LEN);
	/* cap is a multiple of 16, so a pad never wraps around the ring. */
	memcpy(key + DP_AUTH_R_LEN, s->pads + ((n * DP_AUTH_PAD_LEN) & (s->cap - 1)), DP_AUTH_PAD_LEN);
}

/* Tag over hdr || body (body may be empty). */
static int compute_tag(struct dp_auth_stream *s, uint64_t n, const uint8_t *hdr, size_t hdr_len,
		       const uint8_t *body, size_t body_len, uint8_t tag[DP_QD_TAG_LEN])
{
	uint8_t key[32];
	size_t out = 0;
	message_key(s, n, key);
	EVP_MAC_CTX *ctx = (EVP_MAC_CTX *)s->mac;
	int ok = EVP_MAC_init(ctx, key, sizeof(key), NULL) && EVP_MAC_update(ctx, hdr, hdr_len) &&
		 (!body_len || EVP_MAC_update(ctx, body, body_len)) &&
		 EVP_MAC_final(ctx, tag, &out, DP_QD_TAG_LEN) && out == DP_QD_TAG_LEN;
	OPENSSL_cleanse(key, sizeof(key));
	return ok ? 0 : -EIO;
}

static int pad_held(const struct dp_auth_stream *s, uint64_t n)
{
	return n < UINT64_MAX / DP_AUTH_PAD_LEN && (n + 1) * DP_AUTH_PAD_LEN <= s->head;
}

/* Pads below msg n + 1 are used or skipped: wipe them from the ring. */
static void consume_through(struct dp_auth_stream *s, uint64_t n)
{
	/* Pads of a skipped range that were never held are not in the ring: wipe only held ones. */
	uint64_t from = s->next_seq, held_from = s->head > s->cap ? (s->head - s->cap) / DP_AUTH_PAD_LEN : 0;
	if (from < held_from)
		from = held_from;
	for (uint64_t k = from; k <= n && k < s->head / DP_AUTH_PAD_LEN; k++)
		OPENSSL_cleanse(s->pads + ((k * DP_AUTH_PAD_LEN) & (s->cap - 1)), DP_AUTH_PAD_LEN);
	__atomic_store_n(&s->next_seq, n + 1, __ATOMIC_RELEASE);
}

static bool reserved(const struct dp_auth_stream *s, uint64_t n)
{
	return n < __atomic_load_n(&s->limit, __ATOMIC_ACQUIRE);
}

int dp_auth_seal_msg(struct dp_auth_stream *s, uint8_t *hdr, size_t hdr_len, const uint8_t *body,
		     size_t body_len, uint8_t tag[DP_QD_TAG_LEN])
{
	uint64_t n = s->next_seq;
	if (hdr_len < DP_QD_HDR_LEN || !pad_held(s, n) || !reserved(s, n))
		return -EAGAIN;
	put_le64(hdr + DP_QD_MSG_SEQ_OFF, n);
	if (compute_tag(s, n, hdr, hdr_len, body, body_len, tag))
		return -EIO;
	consume_through(s, n);
	return 0;
}

int dp_auth_seal(struct dp_auth_stream *s, uint8_t *p, size_t len)
{
	int rc = dp_auth_seal_msg(s, p, len, NULL, 0, p + len);
	return rc ? rc : (int)(len + DP_QD_TAG_LEN);
}

enum dp_err dp_auth_open_msg(struct dp_auth_stream *s, const uint8_t *hdr, size_t hdr_len,
			     const uint8_t *body, size_t body_len, uint64_t msg_seq,
			     const uint8_t tag[DP_QD_TAG_LEN])
{
	if (msg_seq < s->next_seq)
		return DP_ERR_QD_REPLAY;
	if (!pad_held(s, msg_seq))
		return DP_ERR_QD_NO_PAD;
	uint8_t want[DP_QD_TAG_LEN];
	if (compute_tag(s, msg_seq, hdr, hdr_len, body, body_len, want) ||
	    CRYPTO_memcmp(want, tag, DP_QD_TAG_LEN))
		return DP_ERR_QD_AUTH;
	if (!reserved(s, msg_seq)) {
		/* authentic, but its use is not durably reserved yet: only a real message can ask */
		if (msg_seq > s->want)
			__atomic_store_n(&s->want, msg_seq, __ATOMIC_RELAXED);
		return DP_ERR_QD_NO_PAD;
	}
	s->gaps += msg_seq - s->next_seq;
	consume_through(s, msg_seq);
	return DP_ERR_OK;
}

enum dp_err dp_auth_open(struct dp_auth_stream *s, const uint8_t *p, size_t len, uint64_t msg_seq)
{
	return dp_auth_open_msg(s, p, len, NULL, 0, msg_seq, p + len);
}

int dp_auth_split(struct dp_auth_stream *streams[DP_AUTH_STREAMS], const uint8_t *material,
		  size_t len, int with_r, size_t cap)
{
	if (with_r) {
		if (len < DP_AUTH_PSK_MIN)
			return -EINVAL;
		for (unsigned i = 0; i < DP_AUTH_STREAMS; i++) {
			if (!streams[i])
				continue;
			int rc = dp_auth_stream_init(streams[i], material + i * DP_AUTH_R_LEN, cap);
			if (rc)
				return rc;
		}
		material += DP_AUTH_STREAMS * DP_AUTH_R_LEN;
		len -= DP_AUTH_STREAMS * DP_AUTH_R_LEN;
	}
	size_t part = len / DP_AUTH_STREAMS / DP_AUTH_PAD_LEN * DP_AUTH_PAD_LEN;
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++) {
		if (!streams[i])
			continue;
		int rc = dp_auth_stream_append(streams[i], material + i * part, part);
		if (rc)
			return rc;
	}
	return 0;
}
