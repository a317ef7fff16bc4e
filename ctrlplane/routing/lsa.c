/* LSA wire encoding: big-endian, length-checked at every field. */
#include "cp_lsa.h"

#include <errno.h>
#include <string.h>

int cp_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n >= CP_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

struct wr {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct wr *w, uint64_t v, unsigned bytes)
{
	if (w->len + bytes > w->cap) {
		w->len = w->cap + 1;
		return;
	}
	for (unsigned i = 0; i < bytes; i++)
		w->p[w->len + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	w->len += bytes;
}

static void put_name(struct wr *w, const char *s)
{
	size_t n = strlen(s);
	put(w, n, 1);
	if (w->len + n > w->cap) {
		w->len = w->cap + 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

int cp_lsa_encode(const struct cp_lsa *l, uint8_t *buf, size_t cap)
{
	if (!l || !buf || !cp_name_valid(l->origin) || l->n_links > CP_LSA_MAX_LINKS ||
	    l->number == UINT32_MAX)
		return -EINVAL;
	struct wr w = {buf, 0, cap};
	put(&w, 'Q', 1);
	put(&w, 'L', 1);
	put(&w, l->number ? 2 : 1, 1);
	put(&w, 1, 1);
	put(&w, 0, 2); /* total length, patched below */
	put(&w, l->seq, 4);
	put(&w, l->age, 2);
	put(&w, l->n_links, 2);
	put_name(&w, l->origin);
	if (l->number)
		put(&w, l->number, 4);
	for (unsigned i = 0; i < l->n_links; i++) {
		const struct cp_lsa_link *k = &l->links[i];
		if (!cp_name_valid(k->peer))
			return -EINVAL;
		put_name(&w, k->peer);
		put(&w, k->attr.up ? 1 : 0, 1);
		put(&w, k->attr.avail, 8);
		put(&w, k->attr.max, 8);
		put(&w, (uint64_t)k->attr.delta, 8);
		put(&w, k->attr.low_water, 8);
		put(&w, k->rate_bps, 8);
	}
	if (w.len > cap || w.len > UINT16_MAX)
		return -ENOSPC;
	buf[4] = (uint8_t)(w.len >> 8);
	buf[5] = (uint8_t)w.len;
	return (int)w.len;
}

struct rd {
	const uint8_t *p;
	size_t len, off;
	int bad;
};

static uint64_t get(struct rd *r, unsigned bytes)
{
	if (r->bad || r->off + bytes > r->len) {
		r->bad = 1;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v = (v << 8) | r->p[r->off + i];
	r->off += bytes;
	return v;
}

static void get_name(struct rd *r, char *out)
{
	size_t n = get(r, 1);
	if (r->bad || n == 0 || n >= CP_NAME_MAX || r->off + n > r->len) {
		r->bad = 1;
		out[0] = 0;
		return;
	}
	memcpy(out, r->p + r->off, n);
	out[n] = 0;
	r->off += n;
	if (strlen(out) != n || !cp_name_valid(out)) /* an embedded NUL would shorten the name */
		r->bad = 1;
}

int cp_lsa_decode(struct cp_lsa *l, const uint8_t *buf, size_t len)
{
	if (!l || !buf)
		return -EINVAL;
	struct rd r = {buf, len, 0, 0};
	if (get(&r, 1) != 'Q' || get(&r, 1) != 'L')
		return -EPROTO;
	uint64_t ver = get(&r, 1);
	if ((ver != 1 && ver != 2) || get(&r, 1) != 1)
		return -EPROTO;
	if (get(&r, 2) != len)
		return -EPROTO;
	memset(l, 0, sizeof(*l));
	l->seq = (uint32_t)get(&r, 4);
	l->age = (uint16_t)get(&r, 2);
	uint64_t n = get(&r, 2);
	if (n > CP_LSA_MAX_LINKS)
		return -EPROTO;
	l->n_links = (uint16_t)n;
	get_name(&r, l->origin);
	if (ver == 2) {
		l->number = (uint32_t)get(&r, 4);
		if (l->number == 0 || l->number == UINT32_MAX)
			r.bad = 1;
	}
	for (unsigned i = 0; i < n && !r.bad; i++) {
		struct cp_lsa_link *k = &l->links[i];
		get_name(&r, k->peer);
		uint64_t flags = get(&r, 1);
		if (flags & ~1ULL)
			r.bad = 1;
		k->attr.up = flags & 1;
		k->attr.avail = get(&r, 8);
		k->attr.max = get(&r, 8);
		k->attr.delta = (int64_t)get(&r, 8);
		k->attr.low_water = get(&r, 8);
		k->rate_bps = get(&r, 8);
	}
	if (r.bad || r.off != len)
		return -EPROTO;
	return 0;
}
