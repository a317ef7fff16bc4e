/* KSA helpers: base64, zeroizing JSON allocator, JSON replies, caller identity, lookups. */
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
#include <openssl/x509.h>

#include "ksa_internal.h"

size_t ksa_b64_len(size_t bytes)
{
	return 4 * ((bytes + 2) / 3);
}

void ksa_b64_encode(const uint8_t *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
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
