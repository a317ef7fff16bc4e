/* Mutual TLS contexts for the manager interface (Q.QKDN_Mk clause 9 defers to X.1712: the
 * management channel is authenticated both ways and encrypted). TLS 1.2 minimum, peers must
 * present a certificate signed by the configured CA. */
#ifndef CP_TLS_H
#define CP_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

SSL_CTX *cp_tls_ctx(bool server, const char *ca, const char *cert, const char *key, char *err,
		    size_t errlen);

/* A TLS bufferevent on fd (-1: to be connected) with ctx, dirty shutdown allowed (peers may just
 * close); NULL on failure (fd is closed then). */
struct event_base;
struct bufferevent;
struct bufferevent *cp_tls_bev(struct event_base *base, SSL_CTX *ctx, int fd, bool accepting);

/* CN of the peer's (verified) certificate into cn[len]; false when there is none. */
bool cp_tls_peer_cn(SSL *ssl, char *cn, size_t len);

/* Write a throw-away CA and a CA-signed certificate + key per name into dir (tests and demos):
 * dir/ca.pem, dir/<name>.pem, dir/<name>.key. Returns 0 or -errno. */
int cp_tls_make_test_pki(const char *dir, const char *const *names, unsigned n);

#endif
