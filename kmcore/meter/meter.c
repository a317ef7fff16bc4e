/* Supply counters per SAE and per pool behind one mutex (updates are per supply call, not per
 * packet). SAEs and pools are few, so a linear scan of a compact array is the fastest lookup. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "km_meter.h"

struct sae_entry {
	char sae[KM_SAE_ID_MAX];
	struct km_meter_count c;
};

struct pool_entry {
	km_pool_id pool;
	struct km_meter_count c;
};

struct km_meter {
	pthread_mutex_t lock;
	struct sae_entry *sae;
	size_t nsae, cap_sae;
	struct pool_entry *pools;
	size_t npools, cap_pools;
};

struct km_meter *km_meter_create(void)
{
	struct km_meter *m = calloc(1, sizeof(*m));
	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void km_meter_free(struct km_meter *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->sae);
	free(m->pools);
	free(m);
}

static struct sae_entry *find_sae(const struct km_meter *m, const char *sae)
{
	for (size_t i = 0; i < m->nsae; i++)
		if (strcmp(m->sae[i].sae, sae) == 0)
			return &m->sae[i];
	return NULL;
}

static struct pool_entry *find_pool(const struct km_meter *m, km_pool_id pool)
{
	for (size_t i = 0; i < m->npools; i++)
		if (m->pools[i].pool == pool)
			return &m->pools[i];
	return NULL;
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? 2 * *cap : 16;
	void *p = realloc(*arr, c * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

int km_meter_add(struct km_meter *m, const char *sae, km_pool_id pool, uint64_t keys, uint64_t bits)
{
	if (!m || !sae || !sae[0] || strnlen(sae, KM_SAE_ID_MAX) >= KM_SAE_ID_MAX)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	int rc = 0;
	struct sae_entry *s = find_sae(m, sae);
	if (!s && (rc = grow((void **)&m->sae, &m->cap_sae, m->nsae, sizeof(*m->sae))) == 0) {
		s = &m->sae[m->nsae++];
		memset(s, 0, sizeof(*s));
		strcpy(s->sae, sae);
	}
	struct pool_entry *p = rc ? NULL : find_pool(m, pool);
	if (rc == 0 && !p &&
	    (rc = grow((void **)&m->pools, &m->cap_pools, m->npools, sizeof(*m->pools))) == 0) {
		p = &m->pools[m->npools++];
		memset(p, 0, sizeof(*p));
		p->pool = pool;
	}
	if (rc == 0) {
		s->c.keys += keys;
		s->c.bits += bits;
		p->c.keys += keys;
		p->c.bits += bits;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int km_meter_sae(const struct km_meter *m, const char *sae, struct km_meter_count *c)
{
	if (!m || !sae || !c)
		return -EINVAL;
	pthread_mutex_lock((pthread_mutex_t *)&m->lock);
	const struct sae_entry *s = find_sae(m, sae);
	*c = s ? s->c : (struct km_meter_count){0, 0};
	pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
	return s ? 0 : -ENOENT;
}

int km_meter_pool(const struct km_meter *m, km_pool_id pool, struct km_meter_count *c)
{
	if (!m || !c)
		return -EINVAL;
	pthread_mutex_lock((pthread_mutex_t *)&m->lock);
	const struct pool_entry *p = find_pool(m, pool);
	*c = p ? p->c : (struct km_meter_count){0, 0};
	pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
	return p ? 0 : -ENOENT;
}

/* Callbacks run on a copy so they may call back into the meter. */
int km_meter_foreach_sae(const struct km_meter *m, km_meter_sae_fn fn, void *ctx)
{
	if (!m || !fn)
		return -EINVAL;
	pthread_mutex_lock((pthread_mutex_t *)&m->lock);
	size_t n = m->nsae;
	struct sae_entry *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (copy && n)
		memcpy(copy, m->sae, n * sizeof(*copy));
	pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
	if (!copy)
		return -ENOMEM;
	int v = 0;
	for (size_t i = 0; i < n; i++, v++)
		if (fn(ctx, copy[i].sae, &copy[i].c))
			break;
	free(copy);
	return v;
}

int km_meter_foreach_pool(const struct km_meter *m, km_meter_pool_fn fn, void *ctx)
{
	if (!m || !fn)
		return -EINVAL;
	pthread_mutex_lock((pthread_mutex_t *)&m->lock);
	size_t n = m->npools;
	struct pool_entry *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (copy && n)
		memcpy(copy, m->pools, n * sizeof(*copy));
	pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
	if (!copy)
		return -ENOMEM;
	int v = 0;
	for (size_t i = 0; i < n; i++, v++)
		if (fn(ctx, copy[i].pool, &copy[i].c))
			break;
	free(copy);
	return v;
}

static json_t *count_json(const struct km_meter_count *c)
{
	return json_pack("{s:I,s:I}", "keys", (json_int_t)c->keys, "bits", (json_int_t)c->bits);
}

json_t *km_meter_json(const struct km_meter *m)
{
	if (!m)
		return NULL;
	json_t *root = json_object(), *sae = json_object(), *links = json_object(),
	       *peers = json_object();
	if (!root || !sae || !links || !peers) {
		json_decref(root);
		json_decref(sae);
		json_decref(links);
		json_decref(peers);
		return NULL;
	}
	pthread_mutex_lock((pthread_mutex_t *)&m->lock);
	for (size_t i = 0; i < m->nsae; i++)
		json_object_set_new(sae, m->sae[i].sae, count_json(&m->sae[i].c));
	for (size_t i = 0; i < m->npools; i++) {
		char num[16];
		snprintf(num, sizeof(num), "%u", KM_POOL_NUM(m->pools[i].pool));
		json_object_set_new(KM_POOL_KIND(m->pools[i].pool) == 1 ? links : peers, num,
				    count_json(&m->pools[i].c));
	}
	pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
	json_object_set_new(root, "sae", sae);
	json_object_set_new(root, "links", links);
	json_object_set_new(root, "peers", peers);
	return root;
}

void km_meter_reset(struct km_meter *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nsae; i++)
		m->sae[i].c = (struct km_meter_count){0, 0};
	for (size_t i = 0; i < m->npools; i++)
		m->pools[i].c = (struct km_meter_count){0, 0};
	pthread_mutex_unlock(&m->lock);
}
