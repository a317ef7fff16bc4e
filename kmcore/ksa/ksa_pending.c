/* Supplied keys waiting for slave SAEs: a chained hash on the (random) key UUID that doubles when
 * chains get long. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ksa_internal.h"

static size_t slot(const struct ksa_pending_table *t, const uint8_t *id)
{
	uint64_t h;
	memcpy(&h, id + 8, sizeof(h)); /* the random half of a v4 UUID; peers' ids are random too */
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)h & t->mask;
}

int ksa_pending_init(struct ksa_pending_table *t)
{
	t->mask = 1023;
	t->count = 0;
	t->buckets = calloc(t->mask + 1, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

struct ksa_pending *ksa_pending_find(struct ksa_pending_table *t, const uint8_t id[KM_KEY_ID_LEN])
{
	for (struct ksa_pending *p = t->buckets[slot(t, id)]; p; p = p->next)
		if (memcmp(p->id, id, KM_KEY_ID_LEN) == 0)
			return p;
	return NULL;
}

static void grow(struct ksa_pending_table *t)
{
	size_t n = (t->mask + 1) * 2;
	struct ksa_pending **nb = calloc(n, sizeof(*nb));
	if (!nb)
		return; /* longer chains, still correct */
	struct ksa_pending **old = t->buckets;
	size_t oldn = t->mask + 1;
	t->buckets = nb;
	t->mask = n - 1;
	for (size_t i = 0; i < oldn; i++) {
		while (old[i]) {
			struct ksa_pending *p = old[i];
			old[i] = p->next;
			size_t s = slot(t, p->id);
			p->next = nb[s];
			nb[s] = p;
		}
	}
	free(old);
}

void ksa_pending_insert(struct ksa_pending_table *t, struct ksa_pending *p)
{
	if (t->count >= 2 * (t->mask + 1))
		grow(t);
	size_t s = slot(t, p->id);
	p->next = t->buckets[s];
	t->buckets[s] = p;
	t->count++;
}

static void entry_free(struct ksa_pending *p)
{
	ksa_secret_free(p->material, p->bytes);
	free(p);
}

void ksa_pending_remove(struct ksa_pending_table *t, struct ksa_pending *p)
{
	for (struct ksa_pending **pp = &t->buckets[slot(t, p->id)]; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			t->count--;
			break;
		}
	}
	entry_free(p);
}

void ksa_pending_clear(struct ksa_pending_table *t)
{
	if (!t->buckets)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		while (t->buckets[i]) {
			struct ksa_pending *p = t->buckets[i];
			t->buckets[i] = p->next;
			entry_free(p);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->count = 0;
}

struct ksa_pending *ksa_pending_new(uint32_t bytes)
{
	struct ksa_pending *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->material = ksa_secret_alloc(bytes);
	if (!p->material) {
		free(p);
		return NULL;
	}
	p->bytes = bytes;
	return p;
}
