/* Group commit: the store work of every request handled in one event loop round shares one store
 * transaction and one fsync (km_store_batch_begin/end). What the work exposes — key replies, Kx-2
 * messages — waits for the commit: the round's deferred completions run after it, in order, told
 * whether it succeeded (on failure the store undid everything, so nothing was exposed). */
#include <errno.h>
#include <stdlib.h>

#include "ksa_internal.h"

struct ksa_done {
	void (*fn)(struct km_ksa *k, void *arg, bool ok);
	void *arg;
	struct ksa_done *next;
};

/* Runs after the I/O callbacks already active in this round (same priority, FIFO). */
static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	ksa_batch_flush(arg);
}

int ksa_batch_init(struct km_ksa *k)
{
	k->flush_ev = event_new(k->base, -1, 0, flush_cb, k);
	return k->flush_ev ? 0 : -ENOMEM;
}

void ksa_batch_join(struct km_ksa *k)
{
	if (k->batch_open)
		return;
	if (km_store_batch_begin(k->store) != 0)
		return; /* operations commit one by one */
	k->batch_open = true;
	event_active(k->flush_ev, EV_READ, 0);
}

void ksa_batch_defer(struct km_ksa *k, void (*fn)(struct km_ksa *, void *, bool), void *arg)
{
	struct ksa_done *d = k->batch_open ? malloc(sizeof(*d)) : NULL;
	if (!d) {
		/* no batch: the work is committed already */
		fn(k, arg, k->batch_open ? false : true);
		return;
	}
	d->fn = fn;
	d->arg = arg;
	d->next = NULL;
	if (k->done_tail)
		k->done_tail->next = d;
	else
		k->done_head = d;
	k->done_tail = d;
}

void ksa_batch_flush(struct km_ksa *k)
{
	if (!k->batch_open)
		return;
	k->batch_open = false;
	bool ok = km_store_batch_end(k->store) == 0;
	KSA_COUNT(k, commits, 1);
	struct ksa_done *d = k->done_head;
	k->done_head = k->done_tail = NULL;
	while (d) {
		struct ksa_done *next = d->next;
		d->fn(k, d->arg, ok);
		free(d);
		d = next;
	}
}

void ksa_batch_free(struct km_ksa *k)
{
	ksa_batch_flush(k);
	if (k->flush_ev)
		event_free(k->flush_ev);
	k->flush_ev = NULL;
}
