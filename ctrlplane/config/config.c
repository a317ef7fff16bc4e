/* INI configuration via libinih: the handler fills struct cp_config, a line-counting reader gives
 * every error its line, validate() checks cross-references after the whole file is read. */
#include "cp_config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse {
	struct cp_config *c;
	const char *name;
	int line;          /* line of the item being handled */
	int section_line;  /* line of the current [section] header */
	int err_line;
	char err[256];
	/* stream source */
	FILE *f;
	const char *text;
};

static int fail(struct parse *p, const char *fmt, ...)
{
	if (p->err[0])
		return 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->err_line = p->line;
	return 0;
}

static int known_section(const char *s, size_t n)
{
	static const char *const plain[] = {"node", "manager", "policy", "routing", "store", "ksa"};
	static const char *const named[] = {"qkd_link ", "km_link ", "sae ", "relay "};
	for (unsigned i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (n == strlen(plain[i]) && !strncmp(s, plain[i], n))
			return 1;
	for (unsigned i = 0; i < 4; i++)
		if (n > strlen(named[i]) && !strncmp(s, named[i], strlen(named[i])))
			return 1;
	return 0;
}

/* Remember where sections start and reject unknown ones even when they hold no keys. */
static void section_header(struct parse *p, const char *l)
{
	while (*l == ' ' || *l == '\t')
		l++;
	if (*l != '[')
		return;
	p->section_line = p->line;
	const char *end = strchr(l, ']');
	if (end && !known_section(l + 1, (size_t)(end - l - 1)))
		fail(p, "unknown section [%.*s]", (int)(end - l - 1), l + 1);
}

static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *r;
	if (p->f) {
		r = fgets(str, num, p->f);
	} else {
		if (!*p->text)
			return NULL;
		size_t n = strcspn(p->text, "\n");
		size_t take = n + (p->text[n] == '\n');
		if (take > (size_t)num - 1)
			take = (size_t)num - 1;
		memcpy(str, p->text, take);
		str[take] = 0;
		p->text += take;
		r = str;
	}
	if (r) {
		p->line++;
		section_header(p, r);
	}
	return r;
}

static int copy(struct parse *p, char *dst, size_t cap, const char *v, const char *what)
{
	if (strlen(v) >= cap)
		return fail(p, "%s too long (max %zu characters)", what, cap - 1);
	strcpy(dst, v);
	return 1;
}

static int name(struct parse *p, char *dst, const char *v, const char *what)
{
	if (!cp_name_valid(v))
		return fail(p, "%s '%s' is not a valid name (1-31 of A-Z a-z 0-9 . _ : -)", what, v);
	strcpy(dst, v);
	return 1;
}

static int u64(struct parse *p, uint64_t *dst, const char *v, uint64_t lo, uint64_t hi,
	       const char *what)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-' || x < lo || x > hi)
		return fail(p, "%s must be an integer in [%llu, %llu], got '%s'", what,
			    (unsigned long long)lo, (unsigned long long)hi, v);
	*dst = x;
	return 1;
}

static int uns(struct parse *p, unsigned *dst, const char *v, unsigned lo, unsigned hi,
	       const char *what)
{
	uint64_t x = 0;
	if (!u64(p, &x, v, lo, hi, what))
		return 0;
	*dst = (unsigned)x;
	return 1;
}

static int dbl(struct parse *p, double *dst, const char *v, double lo, double hi, const char *what)
{
	char *end;
	double x = strtod(v, &end);
	if (end == v || *end || !(x >= lo && x <= hi))
		return fail(p, "%s must be a number in [%g, %g], got '%s'", what, lo, hi, v);
	*dst = x;
	return 1;
}

static int addr(struct parse *p, char *dst, const char *v, const char *what)
{
	const char *colon = strrchr(v, ':');
	uint64_t port;
	if (!colon || colon == v || !u64(p, &port, colon + 1, 0, 65535, what))
		return p->err[0] ? 0 : fail(p, "%s must be host:port, got '%s'", what, v);
	return copy(p, dst, CP_ADDR_MAX, v, what);
}

static int lcore_list(struct parse *p, const char *v)
{
	struct cp_config *c = p->c;
	char buf[256];
	if (!copy(p, buf, sizeof(buf), v, "lcores"))
		return 0;
	c->n_lcores = 0;
	for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned a, b;
		char *dash = strchr(tok, '-');
		if (dash) {
			*dash = 0;
			if (!uns(p, &a, tok, 0, 1023, "lcore") || !uns(p, &b, dash + 1, a, 1023, "lcore"))
				return 0;
		} else if (!uns(p, &a, tok, 0, 1023, "lcore")) {
			return 0;
		} else {
			b = a;
		}
		for (unsigned l = a; l <= b; l++) {
			for (unsigned i = 0; i < c->n_lcores; i++)
				if (c->lcores[i] == l)
					return fail(p, "lcore %u listed twice", l);
			if (c->n_lcores == CP_CFG_MAX_LCORES)
				return fail(p, "more than %d lcores", CP_CFG_MAX_LCORES);
			c->lcores[c->n_lcores++] = l;
		}
	}
	if (!c->n_lcores)
		return fail(p, "lcores is empty");
	return 1;
}

#define KEY(k) (!strcmp(key, k))

static int node_key(struct parse *p, const char *key, const char *v)
{
	struct cp_config *c = p->c;
	if (KEY("id"))
		return name(p, c->node_id, v, "node id");
	if (KEY("number"))
		return u64(p, &(uint64_t){0}, v, 1, CP_NUMBER_MAX, "node number") &&
		       (c->node_number = (uint32_t)strtoul(v, NULL, 0), 1);
	if (KEY("listen"))
		return addr(p, c->listen, v, "listen");
	if (KEY("control_socket"))
		return copy(p, c->control_socket, sizeof(c->control_socket), v, "control_socket");
	if (KEY("metrics"))
		return addr(p, c->metrics, v, "metrics");
	if (KEY("routing_period_ms"))
		return uns(p, &c->routing_period_ms, v, 10, 3600000, "routing_period_ms");
	if (KEY("lsa_refresh_s"))
		return uns(p, &c->lsa_refresh_s, v, 1, CP_LSA_MAX_AGE / 2, "lsa_refresh_s");
	if (KEY("lcores"))
		return lcore_list(p, v);
	if (KEY("relay_lcore")) {
		unsigned l;
		if (!uns(p, &l, v, 1, 1023, "relay_lcore"))
			return 0;
		c->relay_lcore = (int)l;
		return 1;
	}
	if (KEY("tls_ca"))
		return copy(p, c->tls_ca, sizeof(c->tls_ca), v, "tls_ca");
	if (KEY("tls_cert"))
		return copy(p, c->tls_cert, sizeof(c->tls_cert), v, "tls_cert");
	if (KEY("tls_key"))
		return copy(p, c->tls_key, sizeof(c->tls_key), v, "tls_key");
	return fail(p, "unknown key '%s' in [node]", key);
}

static int manager_key(struct parse *p, const char *key, const char *v)
{
	struct cp_cfg_manager *m = &p->c->manager;
	if (KEY("address"))
		return addr(p, m->address, v, "manager address");
	if (KEY("km_id"))
		return name(p, m->km_id, v, "km_id");
	if (KEY("controller_id"))
		return name(p, m->controller_id, v, "controller_id");
	if (KEY("ca"))
		return copy(p, m->ca, sizeof(m->ca), v, "ca");
	if (KEY("cert"))
		return copy(p, m->cert, sizeof(m->cert), v, "cert");
	if (KEY("key"))
		return copy(p, m->key, sizeof(m->key), v, "key");
	if (KEY("report_period_ms"))
		return uns(p, &m->report_period_ms, v, 100, 86400000, "report_period_ms");
	return fail(p, "unknown key '%s' in [manager]", key);
}

static int policy_key(struct parse *p, const char *key, const char *v)
{
	struct cp_cfg_policy *o = &p->c->policy;
	if (KEY("cost_c0"))
		return dbl(p, &o->cost.c0, v, 1e-9, 1e9, "cost_c0");
	if (KEY("cost_c1"))
		return dbl(p, &o->cost.c1, v, 0, 1e9, "cost_c1");
	if (KEY("cost_c2"))
		return dbl(p, &o->cost.c2, v, 0, 1e9, "cost_c2");
	if (KEY("alternates"))
		return uns(p, &o->alternates, v, 1, 16, "alternates");
	if (KEY("max_key_bits"))
		return u64(p, &(uint64_t){0}, v, 64, 1 << 20, "max_key_bits") &&
		       (o->max_key_bits = (uint32_t)strtoul(v, NULL, 0), 1);
	if (KEY("max_ttl_s"))
		return uns(p, &o->max_ttl_s, v, 1, 365u * 86400, "max_ttl_s");
	if (KEY("max_share"))
		return dbl(p, &o->max_share, v, 0.01, 1.0, "max_share");
	if (KEY("relay_target_bits"))
		return u64(p, &o->relay_target, v, 256, 1ull << 40, "relay_target_bits");
	if (KEY("relay_key_bits")) {
		uint64_t x = 0;
		if (!u64(p, &x, v, 8, 65536, "relay_key_bits"))
			return 0;
		if (x % 8)
			return fail(p, "relay_key_bits must be a multiple of 8, got '%s'", v);
		o->relay_key_bits = (uint32_t)x;
		return 1;
	}
	if (KEY("relay_window"))
		return uns(p, &o->relay_window, v, 1, 256, "relay_window");
	return fail(p, "unknown key '%s' in [policy]", key);
}

static int store_key(struct parse *p, const char *key, const char *v)
{
	struct cp_cfg_store *st = &p->c->store;
	if (!st->line)
		st->line = p->section_line;
	if (KEY("path"))
		return copy(p, st->path, sizeof(st->path), v, "store path");
	if (KEY("kek"))
		return copy(p, st->kek, sizeof(st->kek), v, "kek");
	if (KEY("sync")) {
		if (strcmp(v, "full") && strcmp(v, "none"))
			return fail(p, "sync must be full or none, got '%s'", v);
		st->sync = !strcmp(v, "none");
		return 1;
	}
	return fail(p, "unknown key '%s' in [store]", key);
}

/* A KME or SAE id as the KSA takes it: 1..63 printable characters, none of space @ , / */
static bool ksa_id(const char *s, size_t len)
{
	if (len == 0 || len >= CP_CFG_KSA_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] == '@' || s[i] == ',' || s[i] == '/' || s[i] > '~')
			return false;
	return true;
}

static int ksa_key(struct parse *p, const char *key, const char *v)
{
	struct cp_cfg_ksa *k = &p->c->ksa;
	if (!k->line)
		k->line = p->section_line;
	if (KEY("listen"))
		return addr(p, k->listen, v, "ksa listen");
	if (KEY("kx_listen"))
		return addr(p, k->kx_listen, v, "kx_listen");
	if (KEY("id")) {
		if (!ksa_id(v, strlen(v)))
			return fail(p, "ksa id '%s' must be 1-63 printable characters without space @ , /", v);
		strcpy(k->id, v);
		return 1;
	}
	if (KEY("ca"))
		return copy(p, k->ca, sizeof(k->ca), v, "ca");
	if (KEY("cert"))
		return copy(p, k->cert, sizeof(k->cert), v, "cert");
	if (KEY("key"))
		return copy(p, k->key, sizeof(k->key), v, "key");
	if (KEY("sae")) { /* SAE@KME, one per line */
		const char *at = strchr(v, '@');
		if (!at || !ksa_id(v, (size_t)(at - v)) || !ksa_id(at + 1, strlen(at + 1)))
			return fail(p, "sae must be SAE@KME, got '%s'", v);
		if (k->n_saes == CP_CFG_KSA_MAX_SAES)
			return fail(p, "more than %d sae lines in [ksa]", CP_CFG_KSA_MAX_SAES);
		strcpy(k->saes[k->n_saes++], v);
		return 1;
	}
	if (KEY("peer")) { /* KME@HOST:PORT/LINK, one per line */
		const char *at = strchr(v, '@'), *sl = at ? strrchr(at, '/') : NULL;
		char a[CP_ADDR_MAX];
		uint64_t link;
		if (!at || !sl || !ksa_id(v, (size_t)(at - v)) || (size_t)(sl - at - 1) >= sizeof(a))
			return fail(p, "peer must be KME@HOST:PORT/LINK, got '%s'", v);
		memcpy(a, at + 1, (size_t)(sl - at - 1));
		a[sl - at - 1] = 0;
		if (!addr(p, (char[CP_ADDR_MAX]){0}, a, "peer address") ||
		    !u64(p, &link, sl + 1, 0, 65535, "peer link"))
			return 0;
		if (k->n_peers == CP_CFG_KSA_MAX_PEERS)
			return fail(p, "more than %d peer lines in [ksa]", CP_CFG_KSA_MAX_PEERS);
		return copy(p, k->peers[k->n_peers++], sizeof(k->peers[0]), v, "peer");
	}
	return fail(p, "unknown key '%s' in [ksa]", key);
}

static int routing_key(struct parse *p, const char *key, const char *v)
{
	struct cp_cfg_routing *r = &p->c->routing;
	if (KEY("mode")) {
		if (!strcmp(v, "distributed") || !strcmp(v, "central")) {
			r->mode = v[0] == 'c' ? CP_ROUTING_CENTRAL : CP_ROUTING_DISTRIBUTED;
			return 1;
		}
		return fail(p, "mode must be distributed or central, got '%s'", v);
	}
	if (KEY("controller")) { /* "host:port[, host:port]...", priority order */
		char buf[CP_CFG_MAX_CONTROLLERS * CP_ADDR_MAX];
		if (!copy(p, buf, sizeof(buf), v, "controller"))
			return 0;
		r->n_controllers = 0;
		for (char *save, *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
			if (r->n_controllers == CP_CFG_MAX_CONTROLLERS)
				return fail(p, "more than %d controllers", CP_CFG_MAX_CONTROLLERS);
			if (!addr(p, r->controllers[r->n_controllers++], t, "controller"))
				return 0;
		}
		return r->n_controllers ? 1 : fail(p, "controller is empty");
	}
	if (KEY("controller_cn"))
		return name(p, r->controller_cn, v, "controller_cn");
	return fail(p, "unknown key '%s' in [routing]", key);
}

static int qkd_link_key(struct parse *p, struct cp_cfg_qkd_link *l, const char *key, const char *v)
{
	if (KEY("id"))
		return uns(p, &l->id, v, 1, UINT32_MAX, "qkd_link id");
	if (KEY("peer"))
		return name(p, l->peer, v, "peer");
	if (KEY("port"))
		return copy(p, l->port, sizeof(l->port), v, "port");
	if (KEY("lcore"))
		return uns(p, &l->lcore, v, 0, 1023, "lcore");
	return fail(p, "unknown key '%s' in [qkd_link %s]", key, l->name);
}

static int km_link_key(struct parse *p, struct cp_cfg_km_link *l, const char *key, const char *v)
{
	if (KEY("peer"))
		return name(p, l->peer, v, "peer");
	if (KEY("qkd_link"))
		return name(p, l->qkd_link, v, "qkd_link");
	if (KEY("address"))
		return addr(p, l->address, v, "address");
	if (KEY("capacity_bits"))
		return u64(p, &l->capacity, v, 1024, 1ull << 50, "capacity_bits");
	if (KEY("low_water_bits"))
		return u64(p, &l->low_water, v, 0, 1ull << 50, "low_water_bits");
	if (KEY("peer_number"))
		return u64(p, &(uint64_t){0}, v, 1, CP_NUMBER_MAX, "peer_number") &&
		       (l->peer_number = (uint32_t)strtoul(v, NULL, 0), 1);
	if (KEY("port"))
		return copy(p, l->port, sizeof(l->port), v, "port");
	return fail(p, "unknown key '%s' in [km_link %s]", key, l->name);
}

static int relay_key(struct parse *p, struct cp_cfg_relay *r, const char *key, const char *v)
{
	if (KEY("peer"))
		return name(p, r->peer, v, "peer");
	if (KEY("target_bits"))
		return u64(p, &r->target, v, 256, 1ull << 40, "target_bits");
	return fail(p, "unknown key '%s' in [relay %s]", key, r->name);
}

static int sae_key(struct parse *p, struct cp_cfg_sae *s, const char *key, const char *v)
{
	if (KEY("node"))
		return name(p, s->node, v, "node");
	return fail(p, "unknown key '%s' in [sae %s]", key, s->name);
}

/* "type name" sections: find or create the named item, remembering where it was declared. */
#define ITEM(arr, n, max, what)                                                                   \
	do {                                                                                      \
		if (!cp_name_valid(sname))                                                        \
			return fail(p, "%s name '%s' is not a valid name", what, sname);         \
		for (unsigned i = 0; i < c->n; i++)                                               \
			if (!strcmp(c->arr[i].name, sname)) {                                     \
				item = &c->arr[i];                                                \
				break;                                                            \
			}                                                                         \
		if (!item) {                                                                      \
			if (c->n == max)                                                          \
				return fail(p, "more than %d %s sections", max, what);            \
			item = &c->arr[c->n++];                                                   \
			strcpy(item->name, sname);                                                \
			item->line = p->section_line;                                                   \
		}                                                                                 \
	} while (0)

static int handler(void *user, const char *section, const char *key, const char *v)
{
	struct parse *p = user;
	struct cp_config *c = p->c;
	if (p->err[0])
		return 0;
	if (!strcmp(section, "node"))
		return node_key(p, key, v);
	if (!strcmp(section, "manager"))
		return manager_key(p, key, v);
	if (!strcmp(section, "policy"))
		return policy_key(p, key, v);
	if (!strcmp(section, "routing"))
		return routing_key(p, key, v);
	if (!strcmp(section, "store"))
		return store_key(p, key, v);
	if (!strcmp(section, "ksa"))
		return ksa_key(p, key, v);
	const char *sp = strchr(section, ' ');
	const char *sname = sp ? sp + 1 : "";
	size_t tlen = sp ? (size_t)(sp - section) : strlen(section);
	if (tlen == 8 && !strncmp(section, "qkd_link", 8)) {
		struct cp_cfg_qkd_link *item = NULL;
		ITEM(qkd_links, n_qkd_links, CP_CFG_MAX_LINKS, "qkd_link");
		return qkd_link_key(p, item, key, v);
	}
	if (tlen == 7 && !strncmp(section, "km_link", 7)) {
		struct cp_cfg_km_link *item = NULL;
		ITEM(km_links, n_km_links, CP_CFG_MAX_LINKS, "km_link");
		return km_link_key(p, item, key, v);
	}
	if (tlen == 3 && !strncmp(section, "sae", 3)) {
		struct cp_cfg_sae *item = NULL;
		ITEM(saes, n_saes, CP_CFG_MAX_SAES, "sae");
		return sae_key(p, item, key, v);
	}
	if (tlen == 5 && !strncmp(section, "relay", 5)) {
		struct cp_cfg_relay *item = NULL;
		ITEM(relays, n_relays, CP_CFG_MAX_LINKS, "relay");
		return relay_key(p, item, key, v);
	}
	if (!section[0])
		return fail(p, "key '%s' outside any section", key);
	return fail(p, "unknown section [%s]", section);
}

static int at(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->err_line = line;
	return -EINVAL;
}

/* The node-name -> number map of one KM link: numbers are unique among this node and its
 * neighbours (the relay addresses nodes by number), and a relay port needs one. */
static int validate_numbers(struct parse *p, const struct cp_cfg_km_link *l)
{
	const struct cp_config *c = p->c;
	if (l->port[0] && !l->peer_number)
		return at(p, l->line, "[km_link %s] port needs peer_number", l->name);
	if (!l->peer_number)
		return 0;
	if (!c->node_number)
		return at(p, l->line, "[km_link %s] peer_number needs [node] number", l->name);
	if (l->peer_number == c->node_number)
		return at(p, l->line, "[km_link %s] peer_number %u is this node's number", l->name,
			  l->peer_number);
	for (const struct cp_cfg_km_link *o = c->km_links; o < l; o++)
		if (o->peer_number == l->peer_number)
			return at(p, l->line, "[km_link %s] peer_number %u already used by %s (peer %s)",
				  l->name, l->peer_number, o->name, o->peer);
	return 0;
}

static int validate(struct parse *p)
{
	struct cp_config *c = p->c;
	if (!c->node_id[0])
		return at(p, 0, "[node] id is missing");
	if (!c->n_lcores)
		c->lcores[c->n_lcores++] = 1;
	for (unsigned i = 0; i < c->n_qkd_links; i++) {
		struct cp_cfg_qkd_link *l = &c->qkd_links[i];
		if (!l->id)
			return at(p, l->line, "[qkd_link %s] id is missing", l->name);
		if (!l->peer[0])
			return at(p, l->line, "[qkd_link %s] peer is missing", l->name);
		if (!strcmp(l->peer, c->node_id))
			return at(p, l->line, "[qkd_link %s] peer is this node", l->name);
		unsigned k;
		for (k = 0; k < c->n_lcores && c->lcores[k] != l->lcore; k++)
			;
		if (!l->lcore)
			l->lcore = c->lcores[i % c->n_lcores];
		else if (k == c->n_lcores)
			return at(p, l->line, "[qkd_link %s] lcore %u is not in node lcores", l->name,
				  l->lcore);
		for (unsigned j = 0; j < i; j++)
			if (c->qkd_links[j].id == l->id)
				return at(p, l->line, "[qkd_link %s] id %u already used by %s", l->name,
					  l->id, c->qkd_links[j].name);
	}
	for (unsigned i = 0; i < c->n_km_links; i++) {
		struct cp_cfg_km_link *l = &c->km_links[i];
		if (!l->peer[0])
			return at(p, l->line, "[km_link %s] peer is missing", l->name);
		if (!strcmp(l->peer, c->node_id))
			return at(p, l->line, "[km_link %s] peer is this node", l->name);
		if (!l->qkd_link[0])
			return at(p, l->line, "[km_link %s] qkd_link is missing", l->name);
		const struct cp_cfg_qkd_link *q = cp_config_qkd_link(c, l->qkd_link);
		if (!q)
			return at(p, l->line, "[km_link %s] qkd_link '%s' is not defined", l->name,
				  l->qkd_link);
		if (strcmp(q->peer, l->peer))
			return at(p, l->line, "[km_link %s] peer %s differs from qkd_link %s peer %s",
				  l->name, l->peer, q->name, q->peer);
		if (!l->capacity)
			l->capacity = 1ull << 24;
		if (l->low_water >= l->capacity)
			return at(p, l->line, "[km_link %s] low_water_bits must be below capacity_bits",
				  l->name);
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(c->km_links[j].peer, l->peer))
				return at(p, l->line, "[km_link %s] second KM link to %s (%s)", l->name,
					  l->peer, c->km_links[j].name);
		if (validate_numbers(p, l))
			return -EINVAL;
	}
	for (unsigned i = 0; i < c->n_relays; i++) {
		const struct cp_cfg_relay *r = &c->relays[i];
		if (!r->peer[0])
			return at(p, r->line, "[relay %s] peer is missing", r->name);
		if (!strcmp(r->peer, c->node_id))
			return at(p, r->line, "[relay %s] peer is this node", r->name);
	}
	for (unsigned i = 0; i < c->n_saes; i++)
		if (!c->saes[i].node[0])
			return at(p, c->saes[i].line, "[sae %s] node is missing", c->saes[i].name);
	if ((c->tls_ca[0] || c->tls_cert[0] || c->tls_key[0]) &&
	    !(c->tls_ca[0] && c->tls_cert[0] && c->tls_key[0]))
		return at(p, 0, "[node] tls_ca, tls_cert and tls_key go together (mutual TLS)");
	if (c->routing.mode == CP_ROUTING_CENTRAL &&
	    (!c->routing.n_controllers || !c->tls_ca[0]))
		return at(p, 0, "[routing] mode = central needs controller and [node] tls_* (mutual TLS)");
	const struct cp_cfg_store *st = &c->store;
	if (st->line && !st->path[0])
		return at(p, st->line, "[store] path is missing");
	if (st->path[0] && !st->kek[0])
		return at(p, st->line, "[store] kek is missing (the key-encryption key file)");
	const struct cp_cfg_ksa *k = &c->ksa;
	if (k->line && !k->listen[0])
		return at(p, k->line, "[ksa] listen is missing");
	if (k->listen[0] && !st->path[0])
		return at(p, k->line, "[ksa] needs a [store] to serve keys from");
	if (k->listen[0] && (!k->id[0] || !k->ca[0] || !k->cert[0] || !k->key[0]))
		return at(p, k->line, "[ksa] needs id, ca, cert and key (mutual TLS)");
	struct cp_cfg_manager *m = &c->manager;
	if (m->address[0] && (!m->ca[0] || !m->cert[0] || !m->key[0]))
		return at(p, 0, "[manager] address needs ca, cert and key (mutual TLS)");
	if (!m->km_id[0])
		snprintf(m->km_id, sizeof(m->km_id), "%.27s-km", c->node_id);
	if (!m->controller_id[0])
		snprintf(m->controller_id, sizeof(m->controller_id), "%.27s-ctl", c->node_id);
	return 0;
}

static void defaults(struct cp_config *c)
{
	c->routing_period_ms = 1000;
	c->lsa_refresh_s = 30;
	c->manager.report_period_ms = 5000;
	strcpy(c->routing.controller_cn, "qkdctrl");
	c->policy.cost = cp_cost_default;
	c->policy.alternates = 3;
	c->policy.max_key_bits = 8192;
	c->policy.max_ttl_s = 86400;
	c->policy.max_share = 0.8;
	c->policy.relay_target = 1u << 20;
	c->policy.relay_key_bits = 256;
	c->policy.relay_window = 16;
	c->relay_lcore = -1;
	c->store.sync = -1;
}

static int run(struct parse *p, struct cp_config **out, char *err, size_t errlen)
{
	struct cp_config *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", p->name);
		return -ENOMEM;
	}
	defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", p->name);
	p->c = c;
	int rc = ini_parse_stream(reader, p, handler, p);
	if (rc > 0 && !p->err[0]) {
		p->err_line = rc;
		snprintf(p->err, sizeof(p->err), "syntax error (expected [section] or key = value)");
	}
	if (rc >= 0 && !p->err[0] && validate(p) == 0) {
		*out = c;
		return 0;
	}
	if (p->err_line > 0)
		snprintf(err, errlen, "%s:%d: %s", p->name, p->err_line, p->err);
	else
		snprintf(err, errlen, "%s: %s", p->name, p->err);
	free(c);
	return -EINVAL;
}

int cp_config_load(const char *path, struct cp_config **out, char *err, size_t errlen)
{
	struct parse p = {.name = path};
	p.f = fopen(path, "r");
	if (!p.f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	int rc = run(&p, out, err, errlen);
	fclose(p.f);
	return rc;
}

int cp_config_parse_string(const char *text, const char *name, struct cp_config **out, char *err,
			   size_t errlen)
{
	struct parse p = {.name = name ? name : "<string>", .text = text};
	return run(&p, out, err, errlen);
}

void cp_config_free(struct cp_config *c)
{
	free(c);
}

const struct cp_cfg_km_link *cp_config_km_link(const struct cp_config *c, const char *n)
{
	for (unsigned i = 0; i < c->n_km_links; i++)
		if (!strcmp(c->km_links[i].name, n))
			return &c->km_links[i];
	return NULL;
}

const struct cp_cfg_qkd_link *cp_config_qkd_link(const struct cp_config *c, const char *n)
{
	for (unsigned i = 0; i < c->n_qkd_links; i++)
		if (!strcmp(c->qkd_links[i].name, n))
			return &c->qkd_links[i];
	return NULL;
}

const struct cp_cfg_sae *cp_config_sae(const struct cp_config *c, const char *n)
{
	for (unsigned i = 0; i < c->n_saes; i++)
		if (!strcmp(c->saes[i].name, n))
			return &c->saes[i];
	return NULL;
}
