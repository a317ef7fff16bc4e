/* Link-state protocol transport between neighbouring control threads: TCP, frames of
 * type(1) length(2, big-endian) payload. HELLO carries the sender's node id (must be a configured
 * KM-link peer); LSA carries one encoded LSA. On a new adjacency each side sends its whole
 * database; afterwards newer LSAs are flooded to every neighbour except the one they came from.
 * With [node] tls_* set the connections use mutual TLS and a HELLO is accepted only from the node
 * named in the peer's certificate (CN). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cp_addr.h"
#include "cp_tls.h"
#include "ctrl_internal.h"

enum { FRAME_HELLO = 1, FRAME_LSA = 2 };
#define FRAME_MAX (3 + CP_LSA_MAX_WIRE)

static void send_frame(struct cp_nbr *n, uint8_t type, const uint8_t *p, size_t len)
{
	uint8_t h[3] = {type, (uint8_t)(len >> 8), (uint8_t)len};
	bufferevent_write(n->bev, h, 3);
	bufferevent_write(n->bev, p, len);
}

static void send_lsa(struct cp_nbr *n, const struct cp_lsa *l)
{
	uint8_t buf[CP_LSA_MAX_WIRE];
	int len = cp_lsa_encode(l, buf, sizeof(buf));
	if (len > 0) {
		send_frame(n, FRAME_LSA, buf, (size_t)len);
		n->lsa_tx++;
		n->c->cnt.lsa_tx++;
	}
}

/* The database entry as it stands now: its age has grown while we held it. */
static void aged(const struct cp_ctrl *c, const struct cp_lsdb_entry *e, struct cp_lsa *out)
{
	*out = e->lsa;
	out->age = (uint16_t)cp_lsdb_age(&c->db, e, cp_now_ms());
}

void cp_lsp_flood(struct cp_ctrl *c, const struct cp_lsa *l, const struct cp_nbr *except)
{
	for (struct cp_nbr *n = c->nbrs; n; n = n->next)
		if (n != except && n->peer[0])
			send_lsa(n, l);
}

static void nbr_free(struct cp_nbr *n)
{
	struct cp_nbr **pp = &n->c->nbrs;
	while (*pp && *pp != n)
		pp = &(*pp)->next;
	if (*pp)
		*pp = n->next;
	bufferevent_free(n->bev);
	free(n);
}

static bool configured_peer(const struct cp_config *cfg, const char *peer)
{
	for (unsigned i = 0; i < cfg->n_km_links; i++)
		if (!strcmp(cfg->km_links[i].peer, peer))
			return true;
	return false;
}

/* With TLS the certificate must name the node the HELLO claims to be. */
static bool cert_names(struct cp_nbr *n, const char *peer)
{
	if (!n->c->lsp_client_tls)
		return true;
	SSL *ssl = bufferevent_openssl_get_ssl(n->bev);
	X509 *x = ssl ? SSL_get_peer_certificate(ssl) : NULL;
	char cn[CP_NAME_MAX] = "";
	if (x) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
		X509_free(x);
	}
	return cn[0] && !strcmp(cn, peer);
}

static void on_hello(struct cp_nbr *n, const uint8_t *p, size_t len)
{
	struct cp_ctrl *c = n->c;
	char peer[CP_NAME_MAX] = {0};
	if (len == 0 || len >= CP_NAME_MAX || memchr(p, 0, len)) {
		nbr_free(n);
		return;
	}
	memcpy(peer, p, len);
	if (!cp_name_valid(peer) || !configured_peer(c->cfg, peer) || n->peer[0] ||
	    (n->want[0] && strcmp(n->want, peer)) || !cert_names(n, peer)) {
		c->cnt.lsa_bad++;
		nbr_free(n);
		return;
	}
	strcpy(n->peer, peer);
	for (unsigned i = 0; i < c->db.n; i++) { /* database exchange */
		struct cp_lsa l;
		aged(c, &c->db.v[i], &l);
		send_lsa(n, &l);
	}
}

static void on_lsa(struct cp_nbr *n, const uint8_t *p, size_t len)
{
	struct cp_ctrl *c = n->c;
	struct cp_lsa l;
	if (!n->peer[0] || cp_lsa_decode(&l, p, len)) {
		c->cnt.lsa_bad++;
		return;
	}
	n->lsa_rx++;
	c->cnt.lsa_rx++;
	if (!strcmp(l.origin, c->cfg->node_id)) {
		/* our own LSA from before a restart: jump past its sequence number */
		if (cp_lsa_seq_cmp(l.seq, c->own.seq) >= 0) {
			c->own.seq = l.seq;
			c->own.n_links = 0; /* forces origination on the next recompute */
			c->topo_dirty = true;
			cp_ctrl_recompute(c);
		}
		return;
	}
	if (cp_lsdb_install(&c->db, &l, cp_now_ms()) == 1) {
		cp_lsp_flood(c, &l, n);
		c->topo_dirty = true;
		cp_ctrl_recompute(c); /* reroute within this event, not at the next period */
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct cp_nbr *n = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		uint8_t h[3];
		if (evbuffer_copyout(in, h, 3) < 3)
			return;
		size_t len = ((size_t)h[1] << 8) | h[2];
		if ((h[0] != FRAME_HELLO && h[0] != FRAME_LSA) || len > CP_LSA_MAX_WIRE) {
			n->c->cnt.lsa_bad++;
			nbr_free(n);
			return;
		}
		if (evbuffer_get_length(in) < 3 + len)
			return;
		uint8_t buf[FRAME_MAX];
		evbuffer_remove(in, buf, 3 + len);
		if (h[0] == FRAME_HELLO) {
			struct cp_ctrl *c = n->c;
			struct cp_nbr *x;
			on_hello(n, buf + 3, len);
			for (x = c->nbrs; x && x != n; x = x->next)
				;
			if (!x)
				return; /* closed */
		} else {
			on_lsa(n, buf + 3, len);
		}
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct cp_nbr *n = arg;
	if (what & BEV_EVENT_CONNECTED) { /* also raised on accepted TLS: they said hello already */
		const char *id = n->c->cfg->node_id;
		if (n->outgoing)
			send_frame(n, FRAME_HELLO, (const uint8_t *)id, strlen(id));
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		nbr_free(n);
}

static struct cp_nbr *nbr_new(struct cp_ctrl *c, evutil_socket_t fd, bool outgoing)
{
	struct cp_nbr *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->c = c;
	n->outgoing = outgoing;
	if (c->lsp_client_tls) {
		SSL *ssl = SSL_new(outgoing ? c->lsp_client_tls : c->lsp_server_tls);
		n->bev = ssl ? bufferevent_openssl_socket_new(c->base, fd, ssl,
							      outgoing ? BUFFEREVENT_SSL_CONNECTING
								       : BUFFEREVENT_SSL_ACCEPTING,
							      BEV_OPT_CLOSE_ON_FREE)
			     : NULL;
		if (!n->bev)
			SSL_free(ssl);
		else
			bufferevent_openssl_set_allow_dirty_shutdown(n->bev, 1);
	} else {
		n->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!n->bev) {
		if (fd >= 0)
			evutil_closesocket(fd);
		free(n);
		return NULL;
	}
	bufferevent_setcb(n->bev, on_read, NULL, on_event, n);
	bufferevent_enable(n->bev, EV_READ | EV_WRITE);
	n->next = c->nbrs;
	c->nbrs = n;
	return n;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		      void *arg)
{
	struct cp_ctrl *c = arg;
	struct cp_nbr *n = nbr_new(c, fd, false);
	if (n) {
		const char *id = c->cfg->node_id;
		send_frame(n, FRAME_HELLO, (const uint8_t *)id, strlen(id));
	}
}

int cp_lsp_start(struct cp_ctrl *c, char *err, size_t errlen)
{
	const struct cp_config *cfg = c->cfg;
	if (cfg->tls_ca[0]) {
		c->lsp_client_tls = cp_tls_ctx(false, cfg->tls_ca, cfg->tls_cert, cfg->tls_key, err, errlen);
		c->lsp_server_tls = c->lsp_client_tls
					    ? cp_tls_ctx(true, cfg->tls_ca, cfg->tls_cert, cfg->tls_key,
							 err, errlen)
					    : NULL;
		if (!c->lsp_server_tls)
			return -EINVAL;
	}
	if (!c->cfg->listen[0])
		return 0;
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	if (cp_addr_parse(c->cfg->listen, &ss, &sl)) {
		snprintf(err, errlen, "listen address '%s' is not numeric host:port", c->cfg->listen);
		return -EINVAL;
	}
	c->lsp_lis = evconnlistener_new_bind(c->base, on_accept, c,
					     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						     LEV_OPT_CLOSE_ON_EXEC,
					     64, (struct sockaddr *)&ss, sl);
	if (!c->lsp_lis) {
		snprintf(err, errlen, "listen %s: %s", c->cfg->listen, strerror(errno));
		return -errno;
	}
	c->lsp_port = cp_addr_port(evconnlistener_get_fd(c->lsp_lis));
	return 0;
}

void cp_lsp_connect_missing(struct cp_ctrl *c)
{
	for (unsigned i = 0; i < c->cfg->n_km_links; i++) {
		const struct cp_cfg_km_link *k = &c->cfg->km_links[i];
		if (!k->address[0])
			continue;
		bool have = false;
		for (struct cp_nbr *n = c->nbrs; n && !have; n = n->next)
			have = !strcmp(n->peer, k->peer) || !strcmp(n->want, k->peer);
		if (have)
			continue;
		struct sockaddr_storage ss;
		int sl = sizeof(ss);
		if (cp_addr_parse(k->address, &ss, &sl))
			continue;
		struct cp_nbr *n = nbr_new(c, -1, true);
		if (n)
			strcpy(n->want, k->peer);
		if (n && bufferevent_socket_connect(n->bev, (struct sockaddr *)&ss, sl) < 0)
			nbr_free(n);
	}
}

void cp_lsp_stop(struct cp_ctrl *c)
{
	while (c->nbrs)
		nbr_free(c->nbrs);
	if (c->lsp_lis)
		evconnlistener_free(c->lsp_lis);
	c->lsp_lis = NULL;
	SSL_CTX_free(c->lsp_client_tls);
	SSL_CTX_free(c->lsp_server_tls);
	c->lsp_client_tls = c->lsp_server_tls = NULL;
}
