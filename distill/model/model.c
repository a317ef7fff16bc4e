/* Link model: geometric skipping over empty slots, per-click draws from the exact conditional
 * distributions (see dst_model.h for the physics). */
#include "dst_model.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define FILL_ONE (1u << 21)

struct click {
	uint64_t slot;
	unsigned cls, a_basis, a_bit, b_basis, b_bit;
};

struct dst_model {
	struct dst_link_params p;
	struct dst_rng rng;       /* the event stream */
	struct dst_rng fill;      /* choices in empty slots of dense planes (separate stream) */
	double log_no_click;      /* log(1 - average click probability) */
	double cls_click_cum[DST_MAX_CLASSES];   /* class given an own click, cumulative */
	double cls_empty_cum[DST_MAX_CLASSES];   /* class given no own click, cumulative */
	double p_right[DST_MAX_CLASSES];         /* only the right detector | click, bases match */
	double p_wrong[DST_MAX_CLASSES];         /* only the wrong detector | click, bases match */
	uint32_t fill_cls[DST_MAX_CLASSES];      /* cls_empty_cum scaled to 2^21 */
	uint32_t fill_z;                         /* p_z scaled to 2^21 */
	uint64_t own_next;        /* slot of the next own (photon or dark) click, UINT64_MAX: none */
	uint64_t last;            /* slot of the last generated click (after-pulse source) */
	bool have_last;
	struct click pend;        /* generated, not yet handed out; slot UINT64_MAX: stream ended */
	bool pend_valid;
	uint64_t covered;         /* first slot not yet handed out */
};

void dst_link_params_default(struct dst_link_params *p)
{
	memset(p, 0, sizeof(*p));
	p->p_z = 0.75;
	p->n_classes = 3;
	p->mu[0] = 0.45;
	p->mu[1] = 0.2;
	p->mu[2] = 2e-4;
	p->p_mu[0] = 0.3;
	p->p_mu[1] = 0.5;
	p->p_mu[2] = 0.2;
	p->pulse_rate_hz = 1e9;
	p->loss_db = 10.0;
	p->eta_det = 0.1;
	p->p_dark = 6e-7;
	p->e_mis = 5e-3;
	p->p_ap = 0.04;
}

static bool in01(double x) { return x >= 0.0 && x <= 1.0; }

int dst_link_params_check(const struct dst_link_params *p, const char **why)
{
	const char *w = NULL;
	double sum = 0;
	if (!p)
		w = "no parameters";
	else if (!(p->p_z > 0.0 && p->p_z < 1.0))
		w = "p_z must be in (0, 1)";
	else if (p->n_classes < 1 || p->n_classes > DST_MAX_CLASSES)
		w = "number of intensity classes must be 1..3";
	else if (!(p->loss_db >= 0.0 && p->loss_db <= 400.0))
		w = "loss_db must be in [0, 400]";
	else if (!(p->eta_det > 0.0 && p->eta_det <= 1.0))
		w = "eta_det must be in (0, 1]";
	else if (!(p->p_dark >= 0.0 && p->p_dark < 0.5))
		w = "p_dark must be in [0, 0.5)";
	else if (!(p->e_mis >= 0.0 && p->e_mis <= 0.5))
		w = "e_mis must be in [0, 0.5]";
	else if (!(p->p_ap >= 0.0 && p->p_ap < 1.0))
		w = "p_ap must be in [0, 1)";
	else if (!(p->pulse_rate_hz > 0.0 && isfinite(p->pulse_rate_hz)))
		w = "pulse rate must be positive";
	if (!w) {
		for (unsigned k = 0; k < p->n_classes; k++) {
			if (!(p->mu[k] >= 0.0 && p->mu[k] <= 100.0)) {
				w = "intensities must be in [0, 100]";
				break;
			}
			if (!in01(p->p_mu[k])) {
				w = "class probabilities must be in [0, 1]";
				break;
			}
			sum += p->p_mu[k];
		}
		for (unsigned k = p->n_classes; !w && k < DST_MAX_CLASSES; k++)
			if (p->mu[k] != 0.0 || p->p_mu[k] != 0.0)
				w = "unused intensity classes must be zero";
		if (!w && fabs(sum - 1.0) > 1e-9)
			w = "class probabilities must sum to 1";
	}
	if (why)
		*why = w;
	return w ? -EINVAL : 0;
}

/* Per-class probabilities of one slot's own detection outcome with matching bases. */
struct outcome {
	double click, right, wrong, both;
};

static struct outcome own_outcome(const struct dst_link_params *p, unsigned k)
{
	double eta = pow(10.0, -p->loss_db / 10.0) * p->eta_det;
	double q = 1.0 - p->p_dark;
	double a = q * exp(-eta * p->mu[k] * (1.0 - p->e_mis)); /* right detector silent */
	double b = q * exp(-eta * p->mu[k] * p->e_mis);         /* wrong detector silent */
	struct outcome o;
	o.right = (1.0 - a) * b;
	o.wrong = a * (1.0 - b);
	o.both = (1.0 - a) * (1.0 - b);
	o.click = 1.0 - a * b;
	return o;
}

int dst_link_expect(const struct dst_link_params *p, struct dst_link_expect *e)
{
	if (dst_link_params_check(p, NULL) || !e)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	double dbar = 0;
	for (unsigned k = 0; k < p->n_classes; k++)
		dbar += p->p_mu[k] * own_outcome(p, k).click;
	/* Stationary click probability c = dbar + (1 - dbar) p_ap c. */
	double c = dbar / (1.0 - p->p_ap * (1.0 - dbar));
	for (unsigned k = 0; k < p->n_classes; k++) {
		struct outcome o = own_outcome(p, k);
		double ap = (1.0 - o.click) * p->p_ap * c;
		e->gain[k] = o.click + ap;
		e->err[k] = o.wrong + 0.5 * o.both + 0.5 * ap;
		e->qber[k] = e->gain[k] > 0 ? e->err[k] / e->gain[k] : 0.0;
	}
	e->gain_total = c;
	return 0;
}

/* Slot of the next own click at or after 'from'. */
static uint64_t next_own(struct dst_model *m, uint64_t from)
{
	if (m->log_no_click == 0.0 || from == UINT64_MAX)
		return UINT64_MAX;
	double gap = floor(log(dst_rng_unit_open0(&m->rng)) / m->log_no_click);
	if (!(gap < 9.0e18) || (double)(UINT64_MAX - from) <= gap)
		return UINT64_MAX;
	return from + (uint64_t)gap;
}

struct dst_model *dst_model_create(const struct dst_link_params *p, uint64_t seed)
{
	if (dst_link_params_check(p, NULL))
		return NULL;
	struct dst_model *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->p = *p;
	dst_rng_seed(&m->rng, seed);
	dst_rng_seed(&m->fill, seed ^ 0x6a09e667f3bcc908ULL);
	struct outcome o[DST_MAX_CLASSES];
	double dbar = 0, empty = 0, acc_c = 0, acc_e = 0;
	for (unsigned k = 0; k < p->n_classes; k++) {
		o[k] = own_outcome(p, k);
		dbar += p->p_mu[k] * o[k].click;
		empty += p->p_mu[k] * (1.0 - o[k].click);
		m->p_right[k] = o[k].click > 0 ? o[k].right / o[k].click : 0.0;
		m->p_wrong[k] = o[k].click > 0 ? o[k].wrong / o[k].click : 0.0;
	}
	for (unsigned k = 0; k < p->n_classes; k++) {
		acc_c += dbar > 0 ? p->p_mu[k] * o[k].click / dbar : 0.0;
		acc_e += p->p_mu[k] * (1.0 - o[k].click) / empty;
		m->cls_click_cum[k] = acc_c;
		m->cls_empty_cum[k] = acc_e;
		m->fill_cls[k] = (uint32_t)fmin(acc_e * FILL_ONE, FILL_ONE);
	}
	/* Guards against rounding: the last class takes whatever is left. */
	m->cls_click_cum[p->n_classes - 1] = 2.0;
	m->cls_empty_cum[p->n_classes - 1] = 2.0;
	m->fill_cls[p->n_classes - 1] = FILL_ONE + 1;
	m->fill_z = (uint32_t)(p->p_z * FILL_ONE);
	m->log_no_click = dbar > 0 ? log1p(-dbar) : 0.0;
	m->own_next = next_own(m, 0);
	return m;
}

void dst_model_free(struct dst_model *m)
{
	free(m);
}

uint64_t dst_model_slot(const struct dst_model *m)
{
	return m->covered;
}

static unsigned pick_class(const double *cum, double u)
{
	unsigned k = 0;
	while (u >= cum[k])
		k++;
	return k;
}

/* Draw the stream's next click into m->pend. */
static void generate(struct dst_model *m)
{
	struct dst_rng *r = &m->rng;
	struct click c;
	bool after = false;
	if (m->have_last && m->p.p_ap > 0 && m->last + 1 != m->own_next && m->last < UINT64_MAX - 1)
		after = dst_rng_unit(r) < m->p.p_ap;
	if (after) {
		c.slot = m->last + 1;
		c.cls = pick_class(m->cls_empty_cum, dst_rng_unit(r));
	} else {
		c.slot = m->own_next;
		if (c.slot == UINT64_MAX) {
			m->pend.slot = UINT64_MAX;
			return;
		}
		c.cls = pick_class(m->cls_click_cum, dst_rng_unit(r));
		m->own_next = next_own(m, c.slot + 1);
	}
	uint64_t w = dst_rng_next(r);
	c.a_bit = (unsigned)(w & 1);
	unsigned coin = (unsigned)(w >> 1) & 1;
	c.a_basis = dst_rng_unit(r) >= m->p.p_z;
	c.b_basis = dst_rng_unit(r) >= m->p.p_z;
	if (after || c.a_basis != c.b_basis) {
		c.b_bit = coin;
	} else {
		double u = dst_rng_unit(r);
		if (u < m->p_right[c.cls])
			c.b_bit = c.a_bit;
		else if (u < m->p_right[c.cls] + m->p_wrong[c.cls])
			c.b_bit = c.a_bit ^ 1u;
		else
			c.b_bit = coin; /* double click */
	}
	m->last = c.slot;
	m->have_last = true;
	m->pend = c;
}

static const struct click *peek(struct dst_model *m)
{
	if (!m->pend_valid) {
		generate(m);
		m->pend_valid = true;
	}
	return &m->pend;
}

static inline void put_bit(uint64_t *plane, size_t i, unsigned v)
{
	uint64_t mask = 1ULL << (i & 63);
	plane[i >> 6] = (plane[i >> 6] & ~mask) | ((uint64_t)(v & 1) << (i & 63));
}

size_t dst_model_events(struct dst_model *m, struct dst_events *ev, uint64_t slot_end)
{
	size_t added = 0;
	bool full = true;
	while (ev->n < ev->cap) {
		const struct click *c = peek(m);
		if (c->slot >= slot_end) {
			full = false;
			break;
		}
		size_t i = ev->n++;
		ev->slot[i] = c->slot;
		put_bit(ev->a_basis, i, c->a_basis);
		put_bit(ev->a_bit, i, c->a_bit);
		put_bit(ev->cls_lo, i, c->cls & 1);
		put_bit(ev->cls_hi, i, c->cls >> 1);
		put_bit(ev->b_basis, i, c->b_basis);
		put_bit(ev->b_bit, i, c->b_bit);
		m->covered = c->slot + 1;
		m->pend_valid = false;
		added++;
	}
	if (!full && slot_end > m->covered)
		m->covered = slot_end;
	return added;
}

/* Choices for 64 slots without a click: Alice's and Bob's bases and class from the no-click
 * distribution (21-bit resolution), bits uniform. */
static void fill_word(struct dst_model *m, struct dst_planes *pl, size_t w)
{
	uint64_t ab = 0, bb = 0, lo = 0, hi = 0;
	for (unsigned j = 0; j < 64; j++) {
		uint64_t x = dst_rng_next(&m->fill);
		uint32_t uc = (uint32_t)(x & (FILL_ONE - 1)), ua = (uint32_t)(x >> 21) & (FILL_ONE - 1),
			 ub = (uint32_t)(x >> 42) & (FILL_ONE - 1);
		unsigned k = 0;
		while (uc >= m->fill_cls[k])
			k++;
		ab |= (uint64_t)(ua >= m->fill_z) << j;
		bb |= (uint64_t)(ub >= m->fill_z) << j;
		lo |= (uint64_t)(k & 1) << j;
		hi |= (uint64_t)(k >> 1) << j;
	}
	pl->a_basis[w] = ab;
	pl->b_basis[w] = bb;
	pl->cls_lo[w] = lo;
	pl->cls_hi[w] = hi;
	pl->a_bit[w] = dst_rng_next(&m->fill);
	pl->b_bit[w] = dst_rng_next(&m->fill);
	pl->det[w] = 0;
}

size_t dst_model_planes(struct dst_model *m, struct dst_planes *pl)
{
	uint64_t slot0 = m->covered;
	size_t nslots = pl->cap_words * 64;
	uint64_t end = UINT64_MAX - slot0 < nslots ? UINT64_MAX : slot0 + nslots;
	pl->slot0 = slot0;
	pl->nslots = (size_t)(end - slot0);
	for (size_t w = 0; w < pl->cap_words; w++)
		fill_word(m, pl, w);
	size_t n = 0;
	for (;;) {
		const struct click *c = peek(m);
		if (c->slot >= end)
			break;
		size_t i = (size_t)(c->slot - slot0);
		put_bit(pl->det, i, 1);
		put_bit(pl->a_basis, i, c->a_basis);
		put_bit(pl->a_bit, i, c->a_bit);
		put_bit(pl->cls_lo, i, c->cls & 1);
		put_bit(pl->cls_hi, i, c->cls >> 1);
		put_bit(pl->b_basis, i, c->b_basis);
		put_bit(pl->b_bit, i, c->b_bit);
		m->pend_valid = false;
		n++;
	}
	m->covered = end;
	return n;
}

static uint64_t *plane_alloc(size_t words)
{
	return aligned_alloc(64, ((words * 8 + 63) / 64) * 64 + 64);
}

struct dst_events *dst_events_create(size_t cap)
{
	if (cap == 0 || cap > ((size_t)1 << 40))
		return NULL;
	cap = (cap + 63) & ~(size_t)63;
	size_t words = cap / 64;
	struct dst_events *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	ev->cap = cap;
	ev->slot = malloc(cap * sizeof(uint64_t));
	uint64_t **planes[] = {&ev->a_basis, &ev->a_bit, &ev->cls_lo, &ev->cls_hi, &ev->b_basis,
			       &ev->b_bit};
	bool ok = ev->slot != NULL;
	for (size_t i = 0; i < sizeof(planes) / sizeof(planes[0]); i++) {
		*planes[i] = plane_alloc(words);
		if (*planes[i])
			memset(*planes[i], 0, words * 8);
		ok = ok && *planes[i];
	}
	if (!ok) {
		dst_events_free(ev);
		return NULL;
	}
	return ev;
}

void dst_events_free(struct dst_events *ev)
{
	if (!ev)
		return;
	free(ev->slot);
	free(ev->a_basis);
	free(ev->a_bit);
	free(ev->cls_lo);
	free(ev->cls_hi);
	free(ev->b_basis);
	free(ev->b_bit);
	free(ev);
}

struct dst_planes *dst_planes_create(size_t cap_slots)
{
	if (cap_slots == 0 || cap_slots > ((size_t)1 << 44))
		return NULL;
	size_t words = (cap_slots + 63) / 64;
	struct dst_planes *pl = calloc(1, sizeof(*pl));
	if (!pl)
		return NULL;
	pl->cap_words = words;
	uint64_t **planes[] = {&pl->det, &pl->a_basis, &pl->a_bit, &pl->cls_lo, &pl->cls_hi,
			       &pl->b_basis, &pl->b_bit};
	bool ok = true;
	for (size_t i = 0; i < sizeof(planes) / sizeof(planes[0]); i++) {
		*planes[i] = plane_alloc(words);
		if (*planes[i])
			memset(*planes[i], 0, words * 8);
		ok = ok && *planes[i];
	}
	if (!ok) {
		dst_planes_free(pl);
		return NULL;
	}
	return pl;
}

void dst_planes_free(struct dst_planes *pl)
{
	if (!pl)
		return;
	free(pl->det);
	free(pl->a_basis);
	free(pl->a_bit);
	free(pl->cls_lo);
	free(pl->cls_hi);
	free(pl->b_basis);
	free(pl->b_bit);
	free(pl);
}
