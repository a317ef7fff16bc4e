/* OpenSSL contexts for mutual TLS and a small test PKI generator. */
#include "cp_tls.h"

#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static void ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
	char buf[256];
	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	snprintf(err, errlen, "%s %s: %s", what, path ? path : "", buf);
}

SSL_CTX *cp_tls_ctx(bool server, const char *ca, const char *cert, const char *key, char *err,
		    size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx) {
		ssl_err(err, errlen, "TLS context", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ssl_err(err, errlen, "CA file", ca);
		goto bad;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_err(err, errlen, "certificate", cert);
		goto bad;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, "private key", key);
		goto bad;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
bad:
	SSL_CTX_free(ctx);
	return NULL;
}

struct bufferevent *cp_tls_bev(struct event_base *base, SSL_CTX *ctx, int fd, bool accepting)
{
	SSL *ssl = SSL_new(ctx);
	struct bufferevent *bev =
		ssl ? bufferevent_openssl_socket_new(base, fd, ssl,
						     accepting ? BUFFEREVENT_SSL_ACCEPTING
							       : BUFFEREVENT_SSL_CONNECTING,
						     BEV_OPT_CLOSE_ON_FREE)
		    : NULL;
	if (!bev) {
		SSL_free(ssl);
		if (fd >= 0)
			evutil_closesocket(fd);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

bool cp_tls_peer_cn(SSL *ssl, char *cn, size_t len)
{
	X509 *x = ssl ? SSL_get_peer_certificate(ssl) : NULL;
	cn[0] = 0;
	if (x) {
		X509_NAME *n = X509_get_subject_name(x);
		int full = X509_NAME_get_text_by_NID(n, NID_commonName, NULL, 0);
		/* a CN too long for cn[] is refused, not truncated into someone else's name */
		if (full <= 0 || (size_t)full >= len ||
		    X509_NAME_get_text_by_NID(n, NID_commonName, cn, (int)len) != full ||
		    strlen(cn) != (size_t)full)
			cn[0] = 0;
		X509_free(x);
	}
	return cn[0] != 0;
}

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

static X509 *new_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
		      long serial, bool ca)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 7L * 86400);
	X509_set_pubkey(x, pub);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
						ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (ca) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	X509_sign(x, issuer_key, EVP_sha256());
	return x;
}

static int write_pem(const char *dir, const char *name, const char *ext, X509 *x, EVP_PKEY *k)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	int ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	return ok ? 0 : -EIO;
}

int cp_tls_make_test_pki(const char *dir, const char *const *names, unsigned n)
{
	EVP_PKEY *cak = new_key();
	if (!cak)
		return -ENOMEM;
	X509 *ca = new_cert("qkdnode test CA", cak, NULL, cak, 1, true);
	int rc = write_pem(dir, "ca", "pem", ca, NULL);
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		EVP_PKEY *k = new_key();
		X509 *x = new_cert(names[i], k, ca, cak, 2 + i, false);
		rc = write_pem(dir, names[i], "pem", x, NULL);
		if (!rc)
			rc = write_pem(dir, names[i], "key", NULL, k);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	X509_free(ca);
	EVP_PKEY_free(cak);
	return rc;
}
