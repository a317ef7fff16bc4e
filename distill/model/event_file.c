/* Event file: header with the link parameters and slot window, then one dst_events batch
 * (docs/formats.md). Little-endian, as every x86/ARM host stores it in memory. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dst_model.h"

#define EVF_MAGIC "QKDEVT\0\1"
#define EVF_VERSION 1u
#define EVF_HEADER 160u
#define EVF_PLANES 6u

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void putd(uint8_t *p, double v) { memcpy(p, &v, 8); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static double getd(const uint8_t *p) { double v; memcpy(&v, p, 8); return v; }

static double *param_slot(struct dst_link_params *p, unsigned i)
{
	double *fields[] = {&p->p_z, &p->mu[0], &p->mu[1], &p->mu[2], &p->p_mu[0], &p->p_mu[1],
			    &p->p_mu[2], &p->pulse_rate_hz, &p->loss_db, &p->eta_det, &p->p_dark,
			    &p->e_mis, &p->p_ap};
	return fields[i];
}
#define EVF_NPARAMS 13u

static uint64_t *const *planes_of(const struct dst_events *ev, uint64_t *out[EVF_PLANES])
{
	out[0] = ev->a_basis;
	out[1] = ev->a_bit;
	out[2] = ev->cls_lo;
	out[3] = ev->cls_hi;
	out[4] = ev->b_basis;
	out[5] = ev->b_bit;
	return out;
}

int dst_event_file_encode(const struct dst_event_file *f, uint8_t **buf, size_t *len)
{
	if (!f || !f->ev || !buf || !len || dst_link_params_check(&f->params, NULL) ||
	    f->slot_end < f->slot_begin)
		return -EINVAL;
	size_t n = f->ev->n, words = (n + 63) / 64;
	size_t total = EVF_HEADER + 8 * n + 8 * EVF_PLANES * words;
	uint8_t *b = calloc(1, total);
	if (!b)
		return -ENOMEM;
	memcpy(b, EVF_MAGIC, 8);
	put32(b + 8, EVF_VERSION);
	put32(b + 12, EVF_HEADER);
	put64(b + 16, f->seed);
	put64(b + 24, f->slot_begin);
	put64(b + 32, f->slot_end);
	put64(b + 40, n);
	put32(b + 48, f->params.n_classes);
	struct dst_link_params p = f->params;
	for (unsigned i = 0; i < EVF_NPARAMS; i++)
		putd(b + 56 + 8 * i, *param_slot(&p, i));
	uint8_t *q = b + EVF_HEADER;
	memcpy(q, f->ev->slot, 8 * n);
	q += 8 * n;
	uint64_t *pl[EVF_PLANES];
	planes_of(f->ev, pl);
	for (unsigned k = 0; k < EVF_PLANES; k++, q += 8 * words) {
		memcpy(q, pl[k], 8 * words);
		if (n & 63) { /* padding bits stay zero */
			uint64_t last = pl[k][words - 1] & ((1ULL << (n & 63)) - 1);
			put64(q + 8 * (words - 1), last);
		}
	}
	*buf = b;
	*len = total;
	return 0;
}

static int bad(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return -EINVAL;
}

int dst_event_file_decode(const uint8_t *b, size_t len, struct dst_event_file *f, const char **why)
{
	if (!b || !f)
		return bad(why, "no input");
	memset(f, 0, sizeof(*f));
	if (len < 16)
		return bad(why, "truncated header");
	if (memcmp(b, EVF_MAGIC, 8))
		return bad(why, "not an event file (bad magic)");
	if (get32(b + 8) != EVF_VERSION)
		return bad(why, "unsupported event-file version");
	if (get32(b + 12) != EVF_HEADER || len < EVF_HEADER)
		return bad(why, "truncated header");
	uint64_t n = get64(b + 40);
	if (n > ((uint64_t)1 << 40))
		return bad(why, "event count out of range");
	uint64_t words = (n + 63) / 64;
	if ((uint64_t)len != EVF_HEADER + 8 * n + 8 * EVF_PLANES * words)
		return bad(why, "file size does not match the event count (truncated or trailing data)");
	struct dst_link_params p;
	memset(&p, 0, sizeof(p));
	p.n_classes = get32(b + 48);
	if (get32(b + 52) != 0)
		return bad(why, "reserved header field is not zero");
	for (unsigned i = 0; i < EVF_NPARAMS; i++)
		*param_slot(&p, i) = getd(b + 56 + 8 * i);
	const char *pw;
	if (dst_link_params_check(&p, &pw))
		return bad(why, pw);
	uint64_t begin = get64(b + 24), end = get64(b + 32);
	if (end < begin)
		return bad(why, "slot window ends before it begins");
	const uint8_t *q = b + EVF_HEADER;
	uint64_t prev = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t s = get64(q + 8 * i);
		if (s < begin || s >= end || (i && s <= prev))
			return bad(why, "slot indices not increasing inside the window");
		prev = s;
	}
	const uint8_t *pq = q + 8 * n;
	uint64_t tail = (n & 63) ? ~((1ULL << (n & 63)) - 1) : 0;
	for (unsigned k = 0; k < EVF_PLANES && words; k++)
		if (get64(pq + 8 * (k * words + words - 1)) & tail)
			return bad(why, "padding bits after the last event are not zero");
	for (uint64_t w = 0; w < words; w++) {
		uint64_t lo = get64(pq + 8 * (2 * words + w)), hi = get64(pq + 8 * (3 * words + w));
		uint64_t cls3 = lo & hi, cls2 = hi & ~lo, cls1 = lo & ~hi;
		if (cls3 || (p.n_classes < 3 && cls2) || (p.n_classes < 2 && cls1))
			return bad(why, "intensity class not among the file's classes");
	}
	struct dst_events *ev = dst_events_create(n ? n : 64);
	if (!ev)
		return -ENOMEM;
	ev->n = n;
	memcpy(ev->slot, q, 8 * n);
	uint64_t *pl[EVF_PLANES];
	planes_of(ev, pl);
	for (unsigned k = 0; k < EVF_PLANES; k++)
		memcpy(pl[k], pq + 8 * k * words, 8 * words);
	f->params = p;
	f->seed = get64(b + 16);
	f->slot_begin = begin;
	f->slot_end = end;
	f->ev = ev;
	if (why)
		*why = NULL;
	return 0;
}

void dst_event_file_clear(struct dst_event_file *f)
{
	if (!f)
		return;
	dst_events_free(f->ev);
	f->ev = NULL;
}
