/* SP/SC command ring: acquire/release on the two indices, nothing else shared. */
#include "cp_ring.h"

#include <errno.h>
#include <stdlib.h>

struct cp_spsc *cp_spsc_create(uint32_t size)
{
	if (size < 2 || (size & (size - 1)))
		return NULL;
	struct cp_spsc *r = aligned_alloc(64, (sizeof(*r) + size * sizeof(r->slot[0]) + 63) & ~63ul);
	if (!r)
		return NULL;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	r->mask = size - 1;
	return r;
}

void cp_spsc_free(struct cp_spsc *r)
{
	free(r);
}

int cp_spsc_push(struct cp_spsc *r, const struct cp_worker_cmd *c)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	if (t - h > r->mask)
		return -ENOSPC;
	r->slot[t & r->mask] = *c;
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return 0;
}

int cp_spsc_pop(struct cp_spsc *r, struct cp_worker_cmd *c)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (h == t)
		return -EAGAIN;
	*c = r->slot[h & r->mask];
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return 0;
}
