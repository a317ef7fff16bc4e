/* qkdnode's key manager: options, store, KSA. Keys of QKD link L go to pool KM_POOL_LINK(L) under
 * the id the dataplane gave them, which both nodes of the link share, so both stores hold the same
 * ids and the KSAs can cut the same keys from them (Kx-2 sends source ids only). */
#include "keyman.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_config.h"
#include "km_ksa.h"
#include "km_meter.h"

const char *const qn_km_option_names[] = {"store", "kek", "store-sync", "ksa-listen", "ksa-id",
					  "ksa-tls", "ksa-kx-listen", "ksa-sae", "ksa-peer", NULL};

static int bad(const char *name, const char *why)
{
	fprintf(stderr, "qkdnode: --%s: %s\n", name, why);
	return -EINVAL;
}

static int copy(char *dst, size_t cap, const char *src, size_t len)
{
	if (len == 0 || len >= cap)
		return -EINVAL;
	memcpy(dst, src, len);
	dst[len] = 0;
	return 0;
}

/* Numeric "host:port" or "[v6]:port". */
static int parse_addr(const char *s, char *host, size_t cap, uint16_t *port)
{
	const char *c = strrchr(s, ':');
	if (!c || c == s)
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long p = strtoul(c + 1, &end, 10);
	if (errno || *end || end == c + 1 || p > 65535)
		return -EINVAL;
	const char *h = s;
	size_t len = (size_t)(c - s);
	if (s[0] == '[' && len >= 2 && c[-1] == ']') {
		h++;
		len -= 2;
	}
	*port = (uint16_t)p;
	return copy(host, cap, h, len);
}

static bool good_id(const char *s, size_t len)
{
	if (len == 0 || len > KM_KSA_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] == '@' || s[i] == ',' || s[i] == '/' || s[i] > '~')
			return false;
	return true;
}

int qn_km_option(struct qn_km_opts *k, const char *name, const char *val)
{
	size_t len = strlen(val);
	if (!strcmp(name, "store"))
		return copy(k->store_dir, sizeof(k->store_dir), val, len) ? bad(name, "bad path") : 0;
	if (!strcmp(name, "kek"))
		return copy(k->kek_file, sizeof(k->kek_file), val, len) ? bad(name, "bad path") : 0;
	if (!strcmp(name, "store-sync")) {
		if (strcmp(val, "full") && strcmp(val, "none"))
			return bad(name, "expected full or none");
		k->sync_none = !strcmp(val, "none");
		k->sync_set = true;
		return 0;
	}
	if (!strcmp(name, "ksa-listen")) {
		if (parse_addr(val, k->listen_host, sizeof(k->listen_host), &k->listen_port))
			return bad(name, "expected host:port");
		k->has_listen = true;
		return 0;
	}
	if (!strcmp(name, "ksa-kx-listen")) {
		if (parse_addr(val, k->kx_host, sizeof(k->kx_host), &k->kx_port))
			return bad(name, "expected host:port");
		k->has_kx = true;
		return 0;
	}
	if (!strcmp(name, "ksa-id"))
		return good_id(val, len) && !copy(k->kme_id, sizeof(k->kme_id), val, len)
			       ? 0 : bad(name, "expected an id of 1..63 printable characters");
	if (!strcmp(name, "ksa-tls")) {
		const char *c1 = strchr(val, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (!c2 || strchr(c2 + 1, ',') || copy(k->ca, sizeof(k->ca), val, (size_t)(c1 - val)) ||
		    copy(k->cert, sizeof(k->cert), c1 + 1, (size_t)(c2 - c1 - 1)) ||
		    copy(k->key, sizeof(k->key), c2 + 1, strlen(c2 + 1)))
			return bad(name, "expected CA,CERT,KEY");
		return 0;
	}
	if (!strcmp(name, "ksa-sae")) {
		const char *at = strchr(val, '@');
		unsigned i = k->n_saes;
		if (i == QN_KM_MAX_SAES)
			return bad(name, "too many SAEs");
		if (!at || !good_id(val, (size_t)(at - val)) || !good_id(at + 1, strlen(at + 1)))
			return bad(name, "expected SAE@KME");
		copy(k->sae_id[i], QN_KM_ID, val, (size_t)(at - val));
		copy(k->sae_kme[i], QN_KM_ID, at + 1, strlen(at + 1));
		k->n_saes++;
		return 0;
	}
	if (!strcmp(name, "ksa-peer")) {
		const char *at = strchr(val, '@'), *sl = at ? strrchr(at, '/') : NULL;
		unsigned i = k->n_peers;
		if (i == QN_KM_MAX_PEERS)
			return bad(name, "too many peers");
		char addr[QN_KM_ID + 8];
		char *end;
		errno = 0;
		unsigned long link = sl ? strtoul(sl + 1, &end, 10) : 0;
		if (!sl || !good_id(val, (size_t)(at - val)) || errno || end == sl + 1 || *end ||
		    link > 65535 || copy(addr, sizeof(addr), at + 1, (size_t)(sl - at - 1)) ||
		    parse_addr(addr, k->peer_host[i], QN_KM_ID, &k->peer_port[i]) || !k->peer_port[i])
			return bad(name, "expected KME@HOST:PORT/LINK");
		copy(k->peer_kme[i], QN_KM_ID, val, (size_t)(at - val));
		k->peer_link[i] = (uint32_t)link;
		k->n_peers++;
		return 0;
	}
	return bad(name, "unknown option");
}

int qn_km_from_config(struct qn_km_opts *k, const struct cp_config *c)
{
	const struct cp_cfg_store *st = &c->store;
	const struct cp_cfg_ksa *x = &c->ksa;
	int rc = 0;
	if (!k->store_dir[0] && st->path[0])
		rc |= qn_km_option(k, "store", st->path);
	if (!k->kek_file[0] && st->kek[0])
		rc |= qn_km_option(k, "kek", st->kek);
	if (!k->sync_set && st->sync >= 0)
		rc |= qn_km_option(k, "store-sync", st->sync ? "none" : "full");
	if (!k->has_listen && x->listen[0])
		rc |= qn_km_option(k, "ksa-listen", x->listen);
	if (!k->kme_id[0] && x->id[0])
		rc |= qn_km_option(k, "ksa-id", x->id);
	if (!k->ca[0] && x->ca[0]) {
		char tls[3 * QN_KM_PATH + 3];
		snprintf(tls, sizeof(tls), "%s,%s,%s", x->ca, x->cert, x->key);
		rc |= qn_km_option(k, "ksa-tls", tls);
	}
	if (!k->has_kx && x->kx_listen[0])
		rc |= qn_km_option(k, "ksa-kx-listen", x->kx_listen);
	if (!k->n_saes)
		for (unsigned i = 0; i < x->n_saes; i++)
			rc |= qn_km_option(k, "ksa-sae", x->saes[i]);
	if (!k->n_peers)
		for (unsigned i = 0; i < x->n_peers; i++)
			rc |= qn_km_option(k, "ksa-peer", x->peers[i]);
	return rc ? -EINVAL : 0;
}

int qn_km_check(const struct qn_km_opts *k)
{
	if (k->store_dir[0] && !k->kek_file[0])
		return bad("kek", "required with --store");
	if (!k->store_dir[0] && (k->kek_file[0] || k->has_listen))
		return bad("store", "required with --kek and --ksa-listen");
	bool ksa_opt = k->kme_id[0] || k->ca[0] || k->has_kx || k->n_saes || k->n_peers;
	if (ksa_opt && !k->has_listen)
		return bad("ksa-listen", "required with the other --ksa options");
	if (k->has_listen && (!k->kme_id[0] || !k->ca[0]))
		return bad("ksa-listen", "needs --ksa-id and --ksa-tls");
	return 0;
}

struct qn_keyman {
	struct km_store *store;
	struct km_meter *meter; /* keys and bits supplied per SAE and per pool */
	struct km_ksa *ksa;
	bool in_batch;
	unsigned batch_stored;
	uint64_t stored, dropped;
};

struct qn_keyman *qn_keyman_open(const struct qn_km_opts *k, char *err, size_t errlen)
{
	err[0] = 0;
	if (!k->store_dir[0])
		return NULL;
	struct qn_keyman *km = calloc(1, sizeof(*km));
	if (!km) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	struct km_store_config sc = {.path = k->store_dir, .kek_file = k->kek_file,
				     .sync = k->sync_none ? KM_SYNC_NONE : KM_SYNC_FULL};
	int rc = km_store_open(&sc, &km->store);
	if (rc) {
		snprintf(err, errlen, "store %s: %s", k->store_dir,
			 rc == -EKEYREJECTED ? "wrong key-encryption key" :
			 rc == -EPERM ? "KEK file is accessible by group or others (chmod 600)" :
			 strerror(-rc));
		free(km);
		return NULL;
	}
	km->meter = km_meter_create();
	if (!km->meter) {
		snprintf(err, errlen, "out of memory");
		qn_keyman_close(km);
		return NULL;
	}
	km_store_set_meter(km->store, km->meter);
	if (!k->has_listen)
		return km;
	struct km_ksa_sae saes[QN_KM_MAX_SAES];
	struct km_ksa_peer peers[QN_KM_MAX_PEERS];
	for (unsigned i = 0; i < k->n_saes; i++)
		saes[i] = (struct km_ksa_sae){k->sae_id[i], k->sae_kme[i]};
	for (unsigned i = 0; i < k->n_peers; i++)
		peers[i] = (struct km_ksa_peer){k->peer_kme[i], k->peer_host[i], k->peer_port[i],
						KM_POOL_LINK(k->peer_link[i])};
	struct km_ksa_config kc = {
		.kme_id = k->kme_id, .bind_addr = k->listen_host, .port = k->listen_port,
		.kx_bind_addr = k->has_kx ? k->kx_host : NULL, .kx_port = k->kx_port,
		.ca_file = k->ca, .cert_file = k->cert, .key_file = k->key,
		.saes = saes, .n_saes = k->n_saes, .peers = peers, .n_peers = k->n_peers,
		.store = km->store};
	signal(SIGPIPE, SIG_IGN); /* a peer closing a TLS connection must not kill the node */
	char why[256];
	km->ksa = km_ksa_create(&kc, why, sizeof(why));
	if (!km->ksa || km_ksa_start(km->ksa)) {
		snprintf(err, errlen, "ksa: %s", km->ksa ? "cannot start the server thread" : why);
		qn_keyman_close(km);
		return NULL;
	}
	fprintf(stderr, "qkdnode: KSA %s serving ETSI 014 on %s:%u, Kx-2 on %s:%u\n", k->kme_id,
		k->listen_host, km_ksa_port(km->ksa), k->has_kx ? k->kx_host : "-",
		km_ksa_kx_port(km->ksa));
	return km;
}

int qn_keyman_begin(struct qn_keyman *km)
{
	int rc = km_store_batch_begin(km->store);
	km->in_batch = rc == 0;
	km->batch_stored = 0;
	return rc;
}

int qn_keyman_commit(struct qn_keyman *km)
{
	if (!km->in_batch)
		return 0;
	km->in_batch = false;
	int rc = km_store_batch_end(km->store);
	if (rc == 0)
		km->stored += km->batch_stored;
	if (rc) { /* the whole batch is undone: its keys (already wiped) are lost on both counts */
		km->dropped += km->batch_stored;
		fprintf(stderr, "qkdnode: store commit failed (%s): %u keys dropped\n", strerror(-rc),
			km->batch_stored);
	}
	km->batch_stored = 0;
	return rc;
}

unsigned qn_keyman_put(struct qn_keyman *km, struct km_key_desc *d, unsigned n)
{
	unsigned stored = 0, i = 0;
	while (i < n) {
		int rc = km_store_put_desc(km->store, d + i, n - i);
		if (rc > 0) {
			i += (unsigned)rc;
			stored += (unsigned)rc;
			continue;
		}
		/* the descriptor at the front cannot be stored (duplicate id, pool cap): drop it */
		km_key_material_free(d[i].material, (d[i].bits + 7) / 8);
		d[i].material = NULL;
		km->dropped++;
		i++;
	}
	if (km->in_batch)
		km->batch_stored += stored;
	else
		km->stored += stored;
	return stored;
}

struct km_store *qn_keyman_store(const struct qn_keyman *km)
{
	return km ? km->store : NULL;
}

struct km_meter *qn_keyman_meter(const struct qn_keyman *km)
{
	return km ? km->meter : NULL;
}

uint64_t qn_keyman_stored(const struct qn_keyman *km)
{
	return km ? km->stored : 0;
}

uint64_t qn_keyman_dropped(const struct qn_keyman *km)
{
	return km ? km->dropped : 0;
}

void qn_keyman_close(struct qn_keyman *km)
{
	if (!km)
		return;
	if (km->in_batch)
		qn_keyman_commit(km);
	if (km->ksa) {
		km_ksa_stop(km->ksa);
		km_ksa_free(km->ksa);
	}
	km_store_set_meter(km->store, NULL);
	km_store_close(km->store);
	km_meter_free(km->meter);
	free(km);
}
