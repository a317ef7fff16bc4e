/* Wegman-Carter tags for Qdist: Poly1305 (OpenSSL EVP_MAC) keyed with the stream's r and a
 * one-time pad, or a short tag from the GF(2^128) polynomial hash under the block's key; pads
 * are taken from the stream's ring at byte offset unit * msg_seq (dp_auth.h). */
#include "dp_auth.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dst_verify.h"
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
	s->unit = DP_AUTH_UNIT_SIFT;
	memcpy(s->r, r, DP_AUTH_R_LEN);
	return 0;
}

int dp_auth_stream_set_unit(struct dp_auth_stream *s, unsigned unit)
{
	if ((unit != DP_AUTH_UNIT_SIFT && unit != DP_AUTH_UNIT_DISTILL) || s->next_seq)
		return -EINVAL;
	s->unit = unit;
	return 0;
}

int dp_auth_stream_restore(struct dp_auth_stream *s, const uint8_t r[DP_AUTH_R_LEN], size_t cap,
			   unsigned unit, uint64_t head, uint64_t next_seq)
{
	if (!unit || head % unit || next_seq > UINT64_MAX / 32)
		return -EINVAL;
	int rc = dp_auth_stream_init(s, r, cap);
	if (!rc)
		rc = dp_auth_stream_set_unit(s, unit);
	if (rc) {
		dp_auth_stream_free(s);
		return rc;
	}
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
	return s->next_seq * s->unit;
}

uint64_t dp_auth_stream_bytes_left(const struct dp_auth_stream *s)
{
	return s->head > tail(s) ? s->head - tail(s) : 0;
}

uint64_t dp_auth_stream_msgs_left(const struct dp_auth_stream *s)
{
	return dp_auth_stream_bytes_left(s) / DP_AUTH_PAD_LEN;
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

/* Pad bytes [off, off + len) of the stream (held; a region may wrap around the ring). */
static void pad_read(const struct dp_auth_stream *s, uint64_t off, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		out[i] = s->pads[(off + i) & (s->cap - 1)];
}

/* Does the stream hold the 'need' pad bytes of message n? */
static bool pad_held(const struct dp_auth_stream *s, uint64_t n, unsigned need)
{
	return n < UINT64_MAX / 32 && n * s->unit + need <= s->head;
}

/* Is the whole pad region of message n reserved? */
static bool reserved(const struct dp_auth_stream *s, uint64_t n, unsigned need)
{
	return n + need / s->unit <= __atomic_load_n(&s->limit, __ATOMIC_ACQUIRE);
}

/* The pads below byte offset 'end' are used or skipped: wipe the held ones, move next_seq. */
static void consume_to(struct dp_auth_stream *s, uint64_t end)
{
	uint64_t from = tail(s), held_from = s->head > s->cap ? s->head - s->cap : 0;
	if (from < held_from)
		from = held_from;
	for (uint64_t k = from; k < end && k < s->head; k++)
		s->pads[k & (s->cap - 1)] = 0;
	__atomic_store_n(&s->next_seq, end / s->unit, __ATOMIC_RELEASE);
}

int dp_auth_next_key(const struct dp_auth_stream *s, uint8_t key[DP_AUTH_KEY_LEN])
{
	if (!pad_held(s, s->next_seq, DP_AUTH_KEY_LEN))
		return -EAGAIN;
	pad_read(s, tail(s), key, DP_AUTH_KEY_LEN);
	return 0;
}

/* Full tag: Poly1305 keyed with r || the 16 pad bytes at 'off'. */
static int full_tag(struct dp_auth_stream *s, uint64_t off, const uint8_t *hdr, size_t hdr_len,
		    const uint8_t *body, size_t body_len, uint8_t tag[DP_QD_TAG_LEN])
{
	uint8_t key[32];
	size_t out = 0;
	memcpy(key, s->r, DP_AUTH_R_LEN);
	pad_read(s, off, key + DP_AUTH_R_LEN, DP_AUTH_PAD_LEN);
	EVP_MAC_CTX *ctx = (EVP_MAC_CTX *)s->mac;
	int ok = EVP_MAC_init(ctx, key, sizeof(key), NULL) && EVP_MAC_update(ctx, hdr, hdr_len) &&
		 (!body_len || EVP_MAC_update(ctx, body, body_len)) &&
		 EVP_MAC_final(ctx, tag, &out, DP_QD_TAG_LEN) && out == DP_QD_TAG_LEN;
	OPENSSL_cleanse(key, sizeof(key));
	return ok ? 0 : -EIO;
}

void dp_auth_short_hash(const uint64_t k[2], const uint8_t hdr[DP_QD_HDR_LEN], const uint8_t *body,
			size_t body_len, uint64_t out[2])
{
	/* H_k(payload) (its blocks and length block), then Horner on over the header's two blocks. */
	dst_verify_hash((const uint64_t *)(const void *)body, 8 * (uint64_t)body_len, k, out);
	for (int b = 0; b < 2; b++) {
		out[0] ^= get_le64(hdr + 16 * b);
		out[1] ^= get_le64(hdr + 16 * b + 8);
		dst_gf128_mul(out, k, out);
	}
}

/* Short tag: the low t bytes of G_k xor the t pad bytes at 'off'. */
static void short_tag(const struct dp_auth_stream *s, const uint64_t k[2], uint64_t off,
		      const uint8_t *hdr, const uint8_t *body, size_t body_len, unsigned t,
		      uint8_t *tag)
{
	uint64_t g[2];
	uint8_t gb[16], pad[16];
	dp_auth_short_hash(k, hdr, body, body_len, g);
	put_le64(gb, g[0]);
	put_le64(gb + 8, g[1]);
	pad_read(s, off, pad, t);
	for (unsigned i = 0; i < t; i++)
		tag[i] = gb[i] ^ pad[i];
	OPENSSL_cleanse(gb, sizeof(gb));
	OPENSSL_cleanse(pad, sizeof(pad));
}

static void key_words(const uint8_t key[DP_AUTH_KEY_LEN], uint64_t k[2])
{
	k[0] = get_le64(key);
	k[1] = get_le64(key + 8);
}

/* Check the header's tag byte against the stream; the pad bytes the message spends or 0. */
static unsigned layout(const struct dp_auth_stream *s, const uint8_t *hdr, size_t hdr_len,
		       const uint8_t *body)
{
	if (hdr_len < DP_QD_HDR_LEN)
		return 0;
	uint8_t type = hdr[1], tb = hdr[4];
	unsigned need = dp_auth_msg_pad(tb);
	bool keyed = tb & DP_QD_TAG_KEYED, full = (tb & DP_QD_TAG_LEN_MASK) == DP_QD_TAG_LEN;
	if (!need || need % s->unit || (type != DP_QD_BLOCK && !full) ||
	    (keyed && type != DP_QD_BLOCK && type != DP_QD_COMMIT))
		return 0;
	if (type == DP_QD_BLOCK && ((uintptr_t)body & 7)) /* the hash reads whole words */
		return 0;
	return need;
}

int dp_auth_seal_msg(struct dp_auth_stream *s, uint8_t *hdr, size_t hdr_len, const uint8_t *body,
		     size_t body_len, uint8_t *tag)
{
	uint64_t n = s->next_seq;
	unsigned need = layout(s, hdr, hdr_len, body);
	if (!need)
		return -EINVAL;
	if (!pad_held(s, n, need) || !reserved(s, n, need))
		return -EAGAIN;
	bool keyed = hdr[4] & DP_QD_TAG_KEYED;
	uint64_t off = n * s->unit, tag_off = off + (keyed ? DP_AUTH_KEY_LEN : 0);
	uint64_t block = get_le64(hdr + 8);
	put_le64(hdr + DP_QD_MSG_SEQ_OFF, n);
	if (hdr[1] == DP_QD_BLOCK) {
		if (keyed) {
			uint8_t key[DP_AUTH_KEY_LEN];
			pad_read(s, off, key, sizeof(key));
			key_words(key, s->bkey);
			OPENSSL_cleanse(key, sizeof(key));
			s->bkey_block = block;
			s->bkey_set = true;
		} else if (!s->bkey_set || s->bkey_block != block) {
			return -EINVAL; /* the block's first BLOCK message must be keyed */
		}
		short_tag(s, s->bkey, tag_off, hdr, body, body_len, hdr[4] & DP_QD_TAG_LEN_MASK, tag);
	} else if (full_tag(s, tag_off, hdr, hdr_len, body, body_len, tag)) {
		return -EIO;
	}
	consume_to(s, off + need);
	return 0;
}

int dp_auth_seal(struct dp_auth_stream *s, uint8_t *p, size_t len)
{
	if (len < DP_QD_HDR_LEN)
		return -EINVAL;
	int rc = dp_auth_seal_msg(s, p, DP_QD_HDR_LEN, p + DP_QD_HDR_LEN, len - DP_QD_HDR_LEN, p + len);
	return rc ? rc : (int)(len + (p[4] & DP_QD_TAG_LEN_MASK));
}

enum dp_err dp_auth_open_msg(struct dp_auth_stream *s, const uint8_t *hdr, size_t hdr_len,
			     const uint8_t *body, size_t body_len, uint64_t msg_seq,
			     const uint8_t *tag)
{
	unsigned need = layout(s, hdr, hdr_len, body);
	if (!need)
		return DP_ERR_QD_AUTH;
	if (msg_seq < s->next_seq)
		return DP_ERR_QD_REPLAY;
	if (!pad_held(s, msg_seq, need))
		return DP_ERR_QD_NO_PAD;
	bool keyed = hdr[4] & DP_QD_TAG_KEYED;
	unsigned t = hdr[4] & DP_QD_TAG_LEN_MASK;
	uint64_t off = msg_seq * s->unit, tag_off = off + (keyed ? DP_AUTH_KEY_LEN : 0);
	uint64_t block = get_le64(hdr + 8), k[2];
	uint8_t want[DP_QD_TAG_LEN], key[DP_AUTH_KEY_LEN];
	pad_read(s, off, key, keyed ? DP_AUTH_KEY_LEN : 0);
	if (hdr[1] == DP_QD_BLOCK) {
		if (keyed) {
			key_words(key, k);
		} else if (s->bkey_set && s->bkey_block == block) {
			k[0] = s->bkey[0];
			k[1] = s->bkey[1];
		} else {
			return DP_ERR_QD_NO_KEY; /* its block's keyed message was lost: not a forgery */
		}
		short_tag(s, k, tag_off, hdr, body, body_len, t, want);
	} else if (full_tag(s, tag_off, hdr, hdr_len, body, body_len, want)) {
		return DP_ERR_QD_AUTH;
	}
	bool ok = CRYPTO_memcmp(want, tag, t) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	if (!ok) {
		OPENSSL_cleanse(key, sizeof(key));
		OPENSSL_cleanse(k, sizeof(k));
		return DP_ERR_QD_AUTH;
	}
	if (!reserved(s, msg_seq, need)) {
		/* authentic, but its use is not durably reserved yet: only a real message can ask */
		uint64_t last = msg_seq + need / s->unit - 1;
		if (last > s->want)
			__atomic_store_n(&s->want, last, __ATOMIC_RELAXED);
		OPENSSL_cleanse(key, sizeof(key));
		OPENSSL_cleanse(k, sizeof(k));
		return DP_ERR_QD_NO_PAD;
	}
	if (keyed && hdr[1] == DP_QD_BLOCK) {
		s->bkey[0] = k[0];
		s->bkey[1] = k[1];
		s->bkey_block = block;
		s->bkey_set = true;
	} else if (keyed) {
		memcpy(s->mask, key, sizeof(s->mask));
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(k, sizeof(k));
	s->gaps += msg_seq - s->next_seq;
	consume_to(s, off + need);
	return DP_ERR_OK;
}

enum dp_err dp_auth_open(struct dp_auth_stream *s, const uint8_t *p, size_t len, uint64_t msg_seq)
{
	if (len < DP_QD_HDR_LEN)
		return DP_ERR_QD_AUTH;
	return dp_auth_open_msg(s, p, DP_QD_HDR_LEN, p + DP_QD_HDR_LEN, len - DP_QD_HDR_LEN, msg_seq,
				p + len);
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
			if (!rc)
				rc = dp_auth_stream_set_unit(streams[i], dp_auth_stream_unit(i));
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
