/* Link-state database: newest LSA per origin, ageing, and the routing graph built from it. */
#include "cp_lsa.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cp_lsdb_init(struct cp_lsdb *db, unsigned max_age_s)
{
	memset(db, 0, sizeof(*db));
	db->max_age_s = max_age_s ? max_age_s : CP_LSA_MAX_AGE;
}

void cp_lsdb_clear(struct cp_lsdb *db)
{
	free(db->v);
	db->v = NULL;
	db->n = db->cap = 0;
}

const struct cp_lsdb_entry *cp_lsdb_find(const struct cp_lsdb *db, const char *origin)
{
	for (unsigned i = 0; i < db->n; i++)
		if (!strcmp(db->v[i].lsa.origin, origin))
			return &db->v[i];
	return NULL;
}

unsigned cp_lsdb_age(const struct cp_lsdb *db, const struct cp_lsdb_entry *e, uint64_t now_ms)
{
	uint64_t held = now_ms > e->rx_ms ? (now_ms - e->rx_ms) / 1000 : 0;
	uint64_t age = e->lsa.age + held;
	return age > db->max_age_s ? db->max_age_s : (unsigned)age;
}

int cp_lsdb_install(struct cp_lsdb *db, const struct cp_lsa *l, uint64_t now_ms)
{
	struct cp_lsdb_entry *e = (struct cp_lsdb_entry *)cp_lsdb_find(db, l->origin);
	if (e) {
		int c = cp_lsa_seq_cmp(l->seq, e->lsa.seq);
		if (c <= 0)
			return 0;
		e->lsa = *l;
		e->rx_ms = now_ms;
		return 1;
	}
	if (l->age >= db->max_age_s)
		return -EINVAL;
	if (db->n == db->cap) {
		unsigned cap = db->cap ? db->cap * 2 : 16;
		struct cp_lsdb_entry *v = realloc(db->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		db->v = v;
		db->cap = cap;
	}
	db->v[db->n].lsa = *l;
	db->v[db->n].rx_ms = now_ms;
	db->n++;
	return 1;
}

int cp_lsdb_remove(struct cp_lsdb *db, const char *origin)
{
	for (unsigned i = 0; i < db->n; i++)
		if (!strcmp(db->v[i].lsa.origin, origin)) {
			db->v[i] = db->v[--db->n];
			return 1;
		}
	return 0;
}

unsigned cp_lsdb_expire(struct cp_lsdb *db, uint64_t now_ms)
{
	unsigned dropped = 0;
	for (unsigned i = 0; i < db->n;) {
		if (cp_lsdb_age(db, &db->v[i], now_ms) >= db->max_age_s) {
			db->v[i] = db->v[--db->n];
			dropped++;
		} else {
			i++;
		}
	}
	return dropped;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

uint32_t cp_lsdb_graph_node(const struct cp_lsdb_graph *lg, const char *name)
{
	char key[CP_NAME_MAX] = {0};
	if (!name || strlen(name) >= CP_NAME_MAX)
		return CP_NODE_NONE;
	strcpy(key, name);
	char(*hit)[CP_NAME_MAX] = bsearch(key, lg->names, lg->n, CP_NAME_MAX, name_cmp);
	return hit ? (uint32_t)(hit - lg->names) : CP_NODE_NONE;
}

/* The link to 'to' in the LSA of node 'from' (by graph index), or NULL. */
static const struct cp_lsa_link *advertised(const struct cp_lsdb *db, const int32_t *entry_of,
					    uint32_t from, const char *to)
{
	if (from == CP_NODE_NONE || entry_of[from] < 0)
		return NULL;
	const struct cp_lsa *l = &db->v[entry_of[from]].lsa;
	for (unsigned i = 0; i < l->n_links; i++)
		if (!strcmp(l->links[i].peer, to))
			return &l->links[i];
	return NULL;
}

int cp_lsdb_build_graph(const struct cp_lsdb *db, const struct cp_cost_params *p,
			struct cp_lsdb_graph *out)
{
	memset(out, 0, sizeof(*out));
	unsigned cap = db->n;
	for (unsigned i = 0; i < db->n; i++)
		cap += db->v[i].lsa.n_links;
	out->names = calloc(cap ? cap : 1, CP_NAME_MAX);
	int32_t *entry_of = malloc((cap ? cap : 1) * sizeof(*entry_of));
	uint32_t *origin_node = malloc((db->n ? db->n : 1) * sizeof(*origin_node));
	if (!out->names || !entry_of || !origin_node) {
		free(entry_of);
		free(origin_node);
		cp_lsdb_graph_release(out);
		return -ENOMEM;
	}
	/* origins first (sorted once); peers that never originated an LSA are rare: add them after */
	for (unsigned i = 0; i < db->n; i++)
		memcpy(out->names[out->n++], db->v[i].lsa.origin, CP_NAME_MAX);
	qsort(out->names, out->n, CP_NAME_MAX, name_cmp);
	uint32_t sorted = out->n;
	for (unsigned i = 0; i < db->n; i++)
		for (unsigned j = 0; j < db->v[i].lsa.n_links; j++) {
			const char *peer = db->v[i].lsa.links[j].peer;
			struct cp_lsdb_graph probe = {NULL, out->names, sorted};
			if (cp_lsdb_graph_node(&probe, peer) == CP_NODE_NONE)
				memcpy(out->names[out->n++], peer, CP_NAME_MAX);
		}
	if (out->n > sorted)
		qsort(out->names, out->n, CP_NAME_MAX, name_cmp);
	uint32_t u = 0;
	for (uint32_t i = 0; i < out->n; i++)
		if (u == 0 || strcmp(out->names[u - 1], out->names[i]))
			memmove(out->names[u++], out->names[i], CP_NAME_MAX);
	out->n = u;
	for (uint32_t v = 0; v < out->n; v++)
		entry_of[v] = -1;
	for (unsigned i = 0; i < db->n; i++) {
		origin_node[i] = cp_lsdb_graph_node(out, db->v[i].lsa.origin);
		entry_of[origin_node[i]] = (int32_t)i;
	}
	int rc = 0;
	out->g = cp_graph_create(out->n, cap);
	if (!out->g)
		rc = -ENOMEM;
	for (unsigned i = 0; !rc && i < db->n; i++) {
		const struct cp_lsa *l = &db->v[i].lsa;
		uint32_t a = origin_node[i];
		for (unsigned j = 0; j < l->n_links; j++) {
			uint32_t b = cp_lsdb_graph_node(out, l->links[j].peer);
			const struct cp_lsa_link *back = advertised(db, entry_of, b, l->origin);
			if (!back)
				continue;
			double c1 = cp_link_cost(p, &l->links[j].attr), c2 = cp_link_cost(p, &back->attr);
			int e = cp_graph_add_edge(out->g, a, b, c1 > c2 ? c1 : c2);
			if (e < 0 && e != -EINVAL) {
				rc = e;
				break;
			}
		}
	}
	free(entry_of);
	free(origin_node);
	if (!rc)
		rc = cp_graph_finalize(out->g);
	if (rc)
		cp_lsdb_graph_release(out);
	return rc;
}

void cp_lsdb_graph_release(struct cp_lsdb_graph *lg)
{
	cp_graph_free(lg->g);
	free(lg->names);
	memset(lg, 0, sizeof(*lg));
}
