/* Link model: geometric skipping over empty slots, per-click draws from the exact conditional
 * distributions (see dst_model.h for the physics). */
#include "dst_model.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "geometric.h"
#include "rng.h"

#define FILL_ONE (1u << 16)

struct click {
	uint64_t slot;
	unsigned cls, a_basis, a_bit, b_basis, b_bit;
};

struct dst_model {
	struct dst_link_params p;
	struct dst_rng rng;       /* the event stream */
	struct dst_rng fill;      /* choices in empty slots of dense planes (separate stream) */
	struct dst_geom gap;      /* empty slots before the next own click */
	/* Decisions compare 32-bit uniforms with thresholds scaled to 2^32. */
	uint64_t t_z;                            /* p_z */
	uint64_t t_ap;                           /* p_ap */
	uint64_t cls_click_cum[DST_MAX_CLASSES]; /* class given an own click, cumulative */
	uint64_t cls_empty_cum[DST_MAX_CLASSES]; /* class given no own click, cumulative */
	uint64_t t_right[DST_MAX_CLASSES];       /* only the right detector | click, bases match */
	uint64_t t_wrong[DST_MAX_CLASSES];       /* right + only the wrong detector */
	uint32_t fill_x;          /* empty slots: P(X basis), 2^16 scale */
	uint32_t fill_c0;         /* P(class 0 | no click) */
	uint32_t fill_c2;         /* P(class 2 | no click, not class 0) */
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

static uint64_t scale32(double p)
{
	return (uint64_t)llround(fmin(fmax(p, 0.0), 1.0) * 4294967296.0);
}

/* Slot of the next own click at or after 'from'. */
static uint64_t next_own(struct dst_model *m, uint64_t from)
{
	uint64_t gap = dst_geom_draw(&m->gap, &m->rng);
	if (from == UINT64_MAX || gap >= UINT64_MAX - from)
		return UINT64_MAX;
	return from + gap;
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
	memset(o, 0, sizeof(o));
	double dbar = 0, empty = 0, acc_c = 0, acc_e = 0;
	for (unsigned k = 0; k < p->n_classes; k++) {
		o[k] = own_outcome(p, k);
		dbar += p->p_mu[k] * o[k].click;
		empty += p->p_mu[k] * (1.0 - o[k].click);
		double right = o[k].click > 0 ? o[k].right / o[k].click : 0.0;
		double wrong = o[k].click > 0 ? o[k].wrong / o[k].click : 0.0;
		m->t_right[k] = scale32(right);
		m->t_wrong[k] = scale32(right + wrong);
	}
	for (unsigned k = 0; k < p->n_classes; k++) {
		acc_c += dbar > 0 ? p->p_mu[k] * o[k].click / dbar : 0.0;
		acc_e += p->p_mu[k] * (1.0 - o[k].click) / empty;
		m->cls_click_cum[k] = scale32(acc_c);
		m->cls_empty_cum[k] = scale32(acc_e);
	}
	/* Guards against rounding: the last class takes whatever is left. */
	m->cls_click_cum[p->n_classes - 1] = UINT64_MAX;
	m->cls_empty_cum[p->n_classes - 1] = UINT64_MAX;
	double e0 = p->p_mu[0] * (1.0 - o[0].click) / empty;
	double e2 = p->n_classes > 2 ? p->p_mu[2] * (1.0 - o[2].click) / empty : 0.0;
	m->fill_x = (uint32_t)lround((1.0 - p->p_z) * FILL_ONE);
	m->fill_c0 = (uint32_t)lround(e0 * FILL_ONE);
	m->fill_c2 = e0 < 1.0 ? (uint32_t)lround(fmin(e2 / (1.0 - e0), 1.0) * FILL_ONE) : 0;
	m->t_z = scale32(p->p_z);
	m->t_ap = scale32(p->p_ap);
	if (dst_geom_init(&m->gap, dbar)) {
		free(m);
		return NULL;
	}
	m->own_next = next_own(m, 0);
	return m;
}

void dst_model_free(struct dst_model *m)
{
	if (!m)
		return;
	dst_geom_free(&m->gap);
	free(m);
}

uint64_t dst_model_slot(const struct dst_model *m)
{
	return m->covered;
}

static unsigned pick_class(const uint64_t *cum, uint32_t u)
{
	unsigned k = 0;
	while (u >= cum[k])
		k++;
	return k;
}

/* Draw the stream's next click into m->pend: three 64-bit draws (plus the gap's) per click. */
static void generate(struct dst_model *m)
{
	struct dst_rng *r = &m->rng;
	struct click c;
	uint64_t x = dst_rng_next(r);
	bool after = false;
	if (m->have_last && m->t_ap && m->last + 1 != m->own_next && m->last < UINT64_MAX - 1)
		after = (x >> 32) < m->t_ap;
	if (after) {
		c.slot = m->last + 1;
		c.cls = pick_class(m->cls_empty_cum, (uint32_t)x);
	} else {
		c.slot = m->own_next;
		if (c.slot == UINT64_MAX) {
			m->pend.slot = UINT64_MAX;
			return;
		}
		c.cls = pick_class(m->cls_click_cum, (uint32_t)x);
		m->own_next = next_own(m, c.slot + 1);
	}
	uint64_t y = dst_rng_next(r), w = dst_rng_next(r);
	c.a_basis = (y >> 32) >= m->t_z;
	c.b_basis = (uint32_t)y >= m->t_z;
	c.a_bit = (unsigned)(w & 1);
	unsigned coin = (unsigned)(w >> 1) & 1;
	if (after || c.a_basis != c.b_basis) {
		c.b_bit = coin;
	} else {
		uint32_t u = (uint32_t)(w >> 32);
		if (u < m->t_right[c.cls])
			c.b_bit = c.a_bit;
		else if (u < m->t_wrong[c.cls])
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
	/* Bits gather in registers and go out a word at a time. */
	uint64_t *planes[6] = {ev->a_basis, ev->a_bit, ev->cls_lo, ev->cls_hi, ev->b_basis, ev->b_bit};
	uint64_t acc[6];
	size_t i = ev->n, start = ev->n;
	unsigned sh = (unsigned)(i & 63);
	uint64_t keep = sh ? (1ULL << sh) - 1 : 0;
	for (int k = 0; k < 6; k++)
		acc[k] = sh ? planes[k][i >> 6] & keep : 0;
	bool full = true;
	while (i < ev->cap) {
		const struct click *c = peek(m);
		if (c->slot >= slot_end) {
			full = false;
			break;
		}
		ev->slot[i] = c->slot;
		acc[0] |= (uint64_t)c->a_basis << sh;
		acc[1] |= (uint64_t)c->a_bit << sh;
		acc[2] |= (uint64_t)(c->cls & 1) << sh;
		acc[3] |= (uint64_t)(c->cls >> 1) << sh;
		acc[4] |= (uint64_t)c->b_basis << sh;
		acc[5] |= (uint64_t)c->b_bit << sh;
		m->covered = c->slot + 1;
		m->pend_valid = false;
		i++;
		if (++sh == 64) {
			for (int k = 0; k < 6; k++) {
				planes[k][(i - 1) >> 6] = acc[k];
				acc[k] = 0;
			}
			sh = 0;
		}
	}
	if (sh)
		for (int k = 0; k < 6; k++)
			planes[k][i >> 6] = acc[k];
	ev->n = i;
	if (!full && slot_end > m->covered)
		m->covered = slot_end;
	return i - start;
}

/* 64 independent bits, each 1 with probability t / 2^16: fold in one random word per bit of t
 * from the least significant up (OR where the bit is 1, AND where it is 0). */
static inline uint64_t biased_word(struct dst_rng *r, uint32_t t)
{
	if (t >= FILL_ONE)
		return ~0ULL;
	uint64_t w = 0;
	for (unsigned i = 0; i < 16; i++) {
		uint64_t x = dst_rng_next(r);
		w = ((t >> i) & 1) ? (w | x) : (w & x);
	}
	return w;
}

/* Choices for 64 slots without a click: Alice's and Bob's bases and the class from the no-click
 * distribution (16-bit resolution), bits uniform. */
static void fill_word(struct dst_model *m, struct dst_planes *pl, size_t w)
{
	uint64_t x_a = biased_word(&m->fill, m->fill_x);
	uint64_t x_b = biased_word(&m->fill, m->fill_x);
	uint64_t c0 = biased_word(&m->fill, m->fill_c0);   /* class 0 */
	uint64_t c2 = biased_word(&m->fill, m->fill_c2);   /* class 2 among the others */
	pl->a_basis[w] = x_a;
	pl->b_basis[w] = x_b;
	pl->cls_lo[w] = ~c0 & ~c2;
	pl->cls_hi[w] = ~c0 & c2;
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
