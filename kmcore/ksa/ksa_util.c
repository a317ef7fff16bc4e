/* KSA helpers: UUID text, base64, key memory, zeroizing JSON allocator, JSON replies, caller
 * identity. */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "ksa_internal.h"

static const char hexdig[] = "0123456789abcdef";

void ksa_uuid_format(const uint8_t id[KM_KEY_ID_LEN], char out[KSA_UUID_STR])
{
	char *o = out;
	for (int i = 0; i < KM_KEY_ID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hexdig[id[i] >> 4];
		*o++ = hexdig[id[i] & 15];
	}
	*o = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 4122 text form 8-4-4-4-12, either case. */
int ksa_uuid_parse(const char *s, uint8_t id[KM_KEY_ID_LEN])
{
	if (!s || strlen(s) != 36)
		return -EINVAL;
	int n = 0;
	for (int i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		id[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

/* Version 4 (random) UUID. */
int ksa_uuid_random(uint8_t id[KM_KEY_ID_LEN])
{
	if (RAND_bytes(id, KM_KEY_ID_LEN) != 1)
		return -EIO;
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	return 0;
}

size_t ksa_b64_len(size_t bytes)
{
	return 4 * ((bytes + 2) / 3);
}

void ksa_b64_encode(const uint8_t *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* Standard padded base64 decoding to exactly outlen bytes. */
int ksa_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (inlen != ksa_b64_len(outlen) || inlen > INT32_MAX)
		return -EINVAL;
	size_t pad = 0;
	if (inlen >= 1 && in[inlen - 1] == '=')
		pad++;
	if (inlen >= 2 && in[inlen - 2] == '=')
		pad++;
	if (inlen / 4 * 3 - pad != outlen)
		return -EINVAL;
	uint8_t *tmp = ksa_secret_alloc(inlen / 4 * 3 + 1);
	if (!tmp)
		return -ENOMEM;
	int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)inlen);
	int rc = 0;
	if (n < 0 || (size_t)n - pad != outlen)
		rc = -EINVAL;
	else
		memcpy(out, tmp, outlen);
	ksa_secret_free(tmp, inlen / 4 * 3 + 1);
	return rc;
}

/* Key material lives in OpenSSL's secure heap (mlock'ed, guarded) when it could be set up,
 * and is always cleared before release. */
static pthread_once_t secure_once = PTHREAD_ONCE_INIT;
static void secure_heap_init(void)
{
	if (!CRYPTO_secure_malloc_initialized())
		CRYPTO_secure_malloc_init((size_t)64 << 20, 32);
}

uint8_t *ksa_secret_alloc(size_t bytes)
{
	pthread_once(&secure_once, secure_heap_init);
	return OPENSSL_secure_zalloc(bytes ? bytes : 1);
}

void ksa_secret_free(uint8_t *p, size_t bytes)
{
	if (p)
		OPENSSL_secure_clear_free(p, bytes ? bytes : 1);
}

static void *json_alloc(size_t n)
{
	return malloc(n);
}

static void json_release(void *p)
{
	if (p) {
		OPENSSL_cleanse(p, malloc_usable_size(p));
		free(p);
	}
}

static pthread_once_t json_once = PTHREAD_ONCE_INIT;
static void json_alloc_install(void)
{
	json_set_alloc_funcs(json_alloc, json_release);
}

void ksa_json_zeroizing_alloc(void)
{
	pthread_once(&json_once, json_alloc_install);
}

static void body_cleanup(const void *data, size_t len, void *arg)
{
	OPENSSL_cleanse((void *)data, len);
	free(arg);
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

void ksa_reply(struct evhttp_request *req, int code, json_t *body)
{
	size_t need = json_dumpb(body, NULL, 0, JSON_COMPACT);
	char *buf = need ? malloc(need) : NULL;
	struct evbuffer *out = evbuffer_new();
	if (buf && out && json_dumpb(body, buf, need, JSON_COMPACT) == need &&
	    evbuffer_add_reference(out, buf, need, body_cleanup, buf) == 0) {
		buf = NULL; /* owned by the evbuffer now */
	} else {
		code = 503;
		if (out)
			evbuffer_drain(out, evbuffer_get_length(out));
		if (out)
			evbuffer_add_printf(out, "{\"message\":\"out of memory\"}");
	}
	if (buf) {
		OPENSSL_cleanse(buf, need);
		free(buf);
	}
	json_decref(body);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evhttp_send_reply(req, code, reason(code), out);
	if (out)
		evbuffer_free(out);
}

void ksa_reply_error(struct km_ksa *k, struct evhttp_request *req, int code, const char *msg,
		     json_t *details)
{
	json_t *o = json_pack("{s:s}", "message", msg);
	if (details)
		json_object_set_new(o, "details", details);
	if (code == 400)
		KSA_COUNT(k, rejected_400, 1);
	else if (code == 401)
		KSA_COUNT(k, rejected_401, 1);
	else if (code == 503)
		KSA_COUNT(k, rejected_503, 1);
	ksa_reply(req, code, o);
}

int ksa_peer_cn(struct evhttp_request *req, char *out, size_t outlen)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK)
		return -EACCES;
	X509 *cert = SSL_get0_peer_certificate(ssl);
	if (!cert)
		return -EACCES;
	return ksa_tls_cn(cert, out, outlen);
}

json_t *ksa_body_json(struct evhttp_request *req, char *err, size_t errlen)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len == 0) {
		snprintf(err, errlen, "request body is empty");
		return NULL;
	}
	const char *data = (const char *)evbuffer_pullup(in, -1);
	json_error_t je;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, errlen, "malformed JSON: %s (line %d column %d)", je.text, je.line,
			 je.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "request body must be a JSON object");
		return NULL;
	}
	return j;
}

void ksa_tcp_nodelay(int fd)
{
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void ksa_evcon_nodelay(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	if (bev)
		ksa_tcp_nodelay(bufferevent_getfd(bev));
}

int ksa_sae_find(const struct km_ksa *k, const char *id)
{
	for (unsigned i = 0; i < k->n_saes; i++)
		if (strcmp(k->saes[i].id, id) == 0)
			return (int)i;
	return -ENOENT;
}

struct ksa_peer *ksa_peer_find(struct km_ksa *k, const char *id)
{
	for (unsigned i = 0; i < k->n_peers; i++)
		if (strcmp(k->peers[i].id, id) == 0)
			return &k->peers[i];
	return NULL;
}
