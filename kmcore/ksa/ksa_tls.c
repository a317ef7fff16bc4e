/* TLS for Ak and Kx-2: TLS 1.3 only, certificates verified against one CA in both directions,
 * identities are certificate subject CNs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ksa_internal.h"

static void ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
	char e[160];
	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	snprintf(err, errlen, "%s %s: %s", what, file ? file : "", e);
	ERR_clear_error();
}

static SSL_CTX *ctx_new(const SSL_METHOD *m, const char *ca, const char *cert, const char *key,
			char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(m);
	if (!ctx) {
		ssl_err(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ssl_err(err, errlen, "cannot load CA", ca);
		goto fail;
	}
	if (!cert && !key)
		return ctx; /* a client without a certificate */
	if (!cert || !key || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_err(err, errlen, "cannot load certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, "cannot load private key", key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Clients without a certificate are let in so that the request gets a 401 with an ETSI error
 * body; a certificate that is presented must verify or the handshake fails. */
SSL_CTX *ksa_tls_server_ctx(const char *ca, const char *cert, const char *key, char *err,
			    size_t errlen)
{
	SSL_CTX *ctx = ctx_new(TLS_server_method(), ca, cert, key, err, errlen);
	if (!ctx)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
	if (names)
		SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	static const unsigned char sid[] = "qkdnode-ksa";
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	return ctx;
}

static int cn_index = -1;

/* At depth 0 the certificate's CN must be the peer KME we meant to reach. */
static int verify_peer_cn(int ok, X509_STORE_CTX *sctx)
{
	if (!ok || X509_STORE_CTX_get_error_depth(sctx) != 0)
		return ok;
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	const char *want = ssl ? SSL_get_ex_data(ssl, cn_index) : NULL;
	char cn[KM_KSA_ID_MAX + 1];
	if (!want)
		return 1; /* no particular server required */
	if ( ksa_tls_cn(X509_STORE_CTX_get_current_cert(sctx), cn, sizeof(cn)) < 0 ||
	    strcmp(cn, want) != 0) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_HOSTNAME_MISMATCH);
		return 0;
	}
	return 1;
}

/* cert and key NULL: no client certificate. */
SSL_CTX *ksa_tls_client_ctx(const char *ca, const char *cert, const char *key, char *err,
			    size_t errlen)
{
	SSL_CTX *ctx = ctx_new(TLS_client_method(), ca, cert, key, err, errlen);
	if (!ctx)
		return NULL;
	if (cn_index < 0)
		cn_index = SSL_get_ex_new_index(0, "ksa peer cn", NULL, NULL, NULL);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_peer_cn);
	return ctx;
}

struct bufferevent *ksa_tls_accept_bev(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);
	if (!ssl)
		return NULL;
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct bufferevent *ksa_tls_connect_bev(struct event_base *base, SSL_CTX *ctx, const char *host,
					const char *expected_cn)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	/* expected_cn points into the peer table, which outlives every connection */
	SSL_set_ex_data(ssl, cn_index, (void *)expected_cn);
	if (host && *host && !(host[0] >= '0' && host[0] <= '9') && !strchr(host, ':'))
		SSL_set_tlsext_host_name(ssl, host); /* SNI takes names, not addresses */
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int ksa_tls_cn(X509 *cert, char *out, size_t outlen)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	if (i < 0)
		return -EACCES;
	ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, s);
	if (n <= 0 || (size_t)n >= outlen || memchr(utf8, 0, (size_t)n)) {
		OPENSSL_free(utf8);
		return -EACCES;
	}
	memcpy(out, utf8, (size_t)n);
	out[n] = 0;
	OPENSSL_free(utf8);
	return 0;
}
