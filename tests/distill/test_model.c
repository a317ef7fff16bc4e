/* Link model: observed gain and QBER per intensity class within 4 sigma of the analytic values
 * (dst_link_expect, derived independently from the model's Poisson detector physics below),
 * determinism, dense planes agree with the event list, event-file round trip and rejects. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dst_model.h"
#include "unit.h"

static unsigned getbit(const uint64_t *p, size_t i) { return (unsigned)(p[i >> 6] >> (i & 63)) & 1; }

/* Hand-derived expectation without after-pulses: two threshold detectors with Poisson photon
 * numbers eta*mu*(1-e) and eta*mu*e plus dark counts d; a double click is a coin flip. */
static void expect_no_ap(const struct dst_link_params *p, unsigned k, double *gain, double *qber)
{
	double eta = pow(10, -p->loss_db / 10) * p->eta_det, d = p->p_dark, m = eta * p->mu[k];
	double right_silent = (1 - d) * exp(-m * (1 - p->e_mis));
	double wrong_silent = (1 - d) * exp(-m * p->e_mis);
	*gain = 1 - right_silent * wrong_silent;
	double err = right_silent * (1 - wrong_silent) + 0.5 * (1 - right_silent) * (1 - wrong_silent);
	*qber = err / *gain;
}

struct tally {
	uint64_t clicks[3], matched[3], errors[3], a_z, n;
};

static void count(const struct dst_events *ev, struct tally *t)
{
	for (size_t i = 0; i < ev->n; i++) {
		unsigned k = getbit(ev->cls_lo, i) | getbit(ev->cls_hi, i) << 1;
		t->clicks[k]++;
		t->n++;
		t->a_z += getbit(ev->a_basis, i) == 0;
		if (getbit(ev->a_basis, i) == getbit(ev->b_basis, i)) {
			t->matched[k]++;
			t->errors[k] += getbit(ev->a_bit, i) != getbit(ev->b_bit, i);
		}
	}
}

static void within(double observed, double expected, double sigma, const char *what)
{
	double z = fabs(observed - expected) / sigma;
	if (z >= 4.0)
		printf("\n  %s: observed %.6g expected %.6g (%.2f sigma)\n", what, observed, expected, z);
	CU_ASSERT(z < 4.0);
}

/* Run 'slots' slots and check per-class gain and QBER against e (analytic). */
static void check_stats(const struct dst_link_params *p, uint64_t slots, uint64_t seed,
			const struct dst_link_expect *e)
{
	struct dst_model *m = dst_model_create(p, seed);
	struct dst_events *ev = dst_events_create(1 << 16);
	CU_ASSERT_FATAL(m && ev);
	struct tally t = {0};
	while (dst_model_slot(m) < slots) {
		ev->n = 0;
		dst_model_events(m, ev, slots);
		count(ev, &t);
	}
	for (unsigned k = 0; k < p->n_classes; k++) {
		double pk = p->p_mu[k] * e->gain[k];
		within((double)t.clicks[k], (double)slots * pk, sqrt((double)slots * pk * (1 - pk)), "clicks");
		double q = e->qber[k];
		double n = (double)t.matched[k];
		if (n > 100)
			within((double)t.errors[k], n * q, sqrt(n * q * (1 - q)), "errors");
	}
	within((double)t.a_z, (double)t.n * p->p_z, sqrt((double)t.n * p->p_z * (1 - p->p_z)), "Z basis");
	dst_events_free(ev);
	dst_model_free(m);
}

static void test_gain_qber_no_afterpulse(void)
{
	struct dst_link_params p;
	dst_link_params_default(&p);
	p.p_ap = 0;
	p.loss_db = 3;
	p.e_mis = 0.02;
	p.p_dark = 1e-4;
	struct dst_link_expect e;
	CU_ASSERT_EQUAL_FATAL(dst_link_expect(&p, &e), 0);
	for (unsigned k = 0; k < 3; k++) {
		double g, q;
		expect_no_ap(&p, k, &g, &q);
		CU_ASSERT_DOUBLE_EQUAL(e.gain[k], g, 1e-12 * g + 1e-300);
		CU_ASSERT_DOUBLE_EQUAL(e.qber[k], q, 1e-12);
	}
	check_stats(&p, 200000000ULL, 11, &e);
}

static void test_gain_qber_afterpulse(void)
{
	struct dst_link_params p;
	dst_link_params_default(&p);
	p.p_ap = 0.2;
	p.loss_db = 2;
	p.eta_det = 0.3;
	struct dst_link_expect e;
	CU_ASSERT_EQUAL_FATAL(dst_link_expect(&p, &e), 0);
	/* Stationary chain: c = D + (1 - D) p_ap c with D the class-averaged own click probability;
	 * an after-pulse fills a slot without its own click and has a random bit. */
	double D = 0;
	for (unsigned k = 0; k < 3; k++) {
		double g, q;
		expect_no_ap(&p, k, &g, &q);
		D += p.p_mu[k] * g;
	}
	double c = D / (1 - p.p_ap * (1 - D));
	for (unsigned k = 0; k < 3; k++) {
		double g, q;
		expect_no_ap(&p, k, &g, &q);
		double ap = (1 - g) * p.p_ap * c;
		CU_ASSERT_DOUBLE_EQUAL(e.gain[k], g + ap, 1e-12);
		CU_ASSERT_DOUBLE_EQUAL(e.qber[k], (q * g + ap / 2) / (g + ap), 1e-12);
	}
	check_stats(&p, 20000000ULL, 12, &e);
}

static void test_long_distance(void)
{
	struct dst_link_params p;
	dst_link_params_default(&p);
	p.loss_db = 30; /* 150 km: dark counts matter for the vacuum class */
	p.p_dark = 1e-5;
	struct dst_link_expect e;
	CU_ASSERT_EQUAL_FATAL(dst_link_expect(&p, &e), 0);
	check_stats(&p, 4000000000ULL, 13, &e);
}

static void test_extreme_click_rates(void)
{
	/* Very bright (clicks in most slots) and almost dark (a click every ~10^9 slots): the gap
	 * sampler's table levels differ (none, three), the statistics must not. */
	struct dst_link_params p;
	dst_link_params_default(&p);
	p.loss_db = 0;
	p.eta_det = 1;
	p.mu[0] = 5;
	p.mu[1] = 2;
	p.p_ap = 0;
	struct dst_link_expect e;
	CU_ASSERT_EQUAL_FATAL(dst_link_expect(&p, &e), 0);
	CU_ASSERT(e.gain_total > 0.5);
	check_stats(&p, 4000000ULL, 14, &e);
	dst_link_params_default(&p);
	p.loss_db = 200;
	p.p_dark = 1e-9;
	p.p_ap = 0;
	CU_ASSERT_EQUAL_FATAL(dst_link_expect(&p, &e), 0);
	CU_ASSERT(e.gain_total < 3e-9);
	check_stats(&p, 20000000000000ULL, 15, &e);
}

static int same_events(const struct dst_events *a, const struct dst_events *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		if (a->slot[i] != b->slot[i])
			return 0;
		const uint64_t *pa[] = {a->a_basis, a->a_bit, a->cls_lo, a->cls_hi, a->b_basis, a->b_bit};
		const uint64_t *pb[] = {b->a_basis, b->a_bit, b->cls_lo, b->cls_hi, b->b_basis, b->b_bit};
		for (int k = 0; k < 6; k++)
			if (getbit(pa[k], i) != getbit(pb[k], i))
				return 0;
	}
	return 1;
}

static void test_deterministic_any_batching(void)
{
	struct dst_link_params p;
	dst_link_params_default(&p);
	p.loss_db = 1;
	struct dst_model *m1 = dst_model_create(&p, 99), *m2 = dst_model_create(&p, 99),
			 *m3 = dst_model_create(&p, 100);
	struct dst_events *all = dst_events_create(50000), *part = dst_events_create(50000),
			  *small = dst_events_create(64), *other = dst_events_create(50000);
	CU_ASSERT_FATAL(m1 && m2 && m3 && all && part && small && other);
	dst_model_events(m1, all, 1000000);
	CU_ASSERT(all->n > 1000 && all->n < 50000);
	CU_ASSERT_EQUAL(dst_model_slot(m1), 1000000);
	/* Odd slot limits and a tiny batch, copied event by event into 'part'. */
	uint64_t limit = 0;
	while (dst_model_slot(m2) < 1000000) {
		limit = limit + 7919 > 1000000 ? 1000000 : limit + 7919;
		small->n = 0;
		dst_model_events(m2, small, limit);
		for (size_t i = 0; i < small->n; i++) {
			size_t j = part->n++;
			part->slot[j] = small->slot[i];
			uint64_t *src[] = {small->a_basis, small->a_bit, small->cls_lo, small->cls_hi,
					   small->b_basis, small->b_bit};
			uint64_t *dst[] = {part->a_basis, part->a_bit, part->cls_lo, part->cls_hi,
					   part->b_basis, part->b_bit};
			for (int k = 0; k < 6; k++)
				dst[k][j >> 6] = (dst[k][j >> 6] & ~(1ULL << (j & 63))) |
						 ((uint64_t)getbit(src[k], i) << (j & 63));
		}
	}
	CU_ASSERT(same_events(all, part));
	dst_model_events(m3, other, 1000000);
	CU_ASSERT(!same_events(all, other));
	dst_events_free(all);
	dst_events_free(part);
	dst_events_free(small);
	dst_events_free(other);
	dst_model_free(m1);
	dst_model_free(m2);
	dst_model_free(m3);
}

static void test_planes_match_events(void)
{
	struct dst_link_params p;
	dst_link_params_default(&p);
	p.loss_db = 0.5;
	p.p_ap = 0.1;
	struct dst_model *ml = dst_model_create(&p, 5), *md = dst_model_create(&p, 5);
	struct dst_events *ev = dst_events_create(1 << 18);
	struct dst_planes *pl = dst_planes_create(1 << 20);
	CU_ASSERT_FATAL(ml && md && ev && pl);
	uint64_t cls_slots[3] = {0}, slots = 0;
	size_t j = 0, total = 0;
	for (int round = 0; round < 4; round++) {
		size_t n = dst_model_planes(md, pl);
		CU_ASSERT_EQUAL(pl->slot0, (uint64_t)round << 20);
		CU_ASSERT_EQUAL(pl->nslots, 1u << 20);
		ev->n = 0;
		j = 0;
		dst_model_events(ml, ev, pl->slot0 + pl->nslots);
		CU_ASSERT_EQUAL(ev->n, n);
		total += n;
		for (size_t s = 0; s < pl->nslots; s++) {
			unsigned k = getbit(pl->cls_lo, s) | getbit(pl->cls_hi, s) << 1;
			CU_ASSERT_FATAL(k < 3);
			cls_slots[k]++;
			slots++;
			if (!getbit(pl->det, s))
				continue;
			CU_ASSERT_FATAL(j < ev->n);
			CU_ASSERT_EQUAL(ev->slot[j], pl->slot0 + s);
			CU_ASSERT_EQUAL(getbit(ev->a_basis, j), getbit(pl->a_basis, s));
			CU_ASSERT_EQUAL(getbit(ev->a_bit, j), getbit(pl->a_bit, s));
			CU_ASSERT_EQUAL(getbit(ev->b_basis, j), getbit(pl->b_basis, s));
			CU_ASSERT_EQUAL(getbit(ev->b_bit, j), getbit(pl->b_bit, s));
			CU_ASSERT_EQUAL(getbit(ev->cls_lo, j) | getbit(ev->cls_hi, j) << 1, k);
			j++;
		}
		CU_ASSERT_EQUAL(j, ev->n);
	}
	CU_ASSERT(total > 50000);
	/* Alice's class choice over every slot follows p_mu. */
	for (unsigned k = 0; k < 3; k++)
		within((double)cls_slots[k], slots * p.p_mu[k], sqrt(slots * p.p_mu[k] * (1 - p.p_mu[k])),
		       "class over all slots");
	dst_planes_free(pl);
	dst_events_free(ev);
	dst_model_free(ml);
	dst_model_free(md);
}

static void test_bad_params(void)
{
	struct dst_link_params p;
	const char *why = NULL;
	dst_link_params_default(&p);
	CU_ASSERT_EQUAL(dst_link_params_check(&p, &why), 0);
	p.p_mu[0] = 0.8; /* sums to 1.1 */
	CU_ASSERT_EQUAL(dst_link_params_check(&p, &why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(why);
	CU_ASSERT_PTR_NULL(dst_model_create(&p, 1));
	dst_link_params_default(&p);
	p.p_z = 1.0;
	CU_ASSERT_EQUAL(dst_link_params_check(&p, NULL), -EINVAL);
	dst_link_params_default(&p);
	p.n_classes = 2; /* class 2 still set */
	CU_ASSERT_EQUAL(dst_link_params_check(&p, NULL), -EINVAL);
}

static void test_event_file(void)
{
	struct dst_link_params p;
	dst_link_params_default(&p);
	struct dst_model *m = dst_model_create(&p, 3);
	struct dst_event_file f = {.params = p, .seed = 3, .slot_begin = 0};
	f.ev = dst_events_create(1000);
	CU_ASSERT_FATAL(m && f.ev);
	f.ev->cap = 1000;
	dst_model_events(m, f.ev, UINT64_MAX);
	CU_ASSERT_EQUAL(f.ev->n, 1000);
	f.slot_end = dst_model_slot(m);
	uint8_t *buf;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(dst_event_file_encode(&f, &buf, &len), 0);
	/* Layout from docs/formats.md: 160-byte header, 8 bytes per slot, 6 planes of 16 words. */
	CU_ASSERT_EQUAL(len, 160 + 8 * 1000 + 6 * 16 * 8);
	CU_ASSERT_EQUAL(memcmp(buf, "QKDEVT\0\1", 8), 0);
	struct dst_event_file g;
	const char *why = NULL;
	CU_ASSERT_EQUAL_FATAL(dst_event_file_decode(buf, len, &g, &why), 0);
	CU_ASSERT(same_events(f.ev, g.ev));
	CU_ASSERT_EQUAL(g.slot_end, f.slot_end);
	CU_ASSERT_EQUAL(g.params.mu[1], p.mu[1]);
	dst_event_file_clear(&g);

	CU_ASSERT_EQUAL(dst_event_file_decode(buf, len - 1, &g, &why), -EINVAL);
	CU_ASSERT_PTR_NULL(g.ev);
	CU_ASSERT_EQUAL(dst_event_file_decode(buf, 100, &g, &why), -EINVAL);
	uint8_t *c = malloc(len + 8);
	memcpy(c, buf, len);
	CU_ASSERT_EQUAL(dst_event_file_decode(c, len + 8, &g, &why), -EINVAL);
	c[0] ^= 1;
	CU_ASSERT_EQUAL(dst_event_file_decode(c, len, &g, &why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "magic"));
	c[0] ^= 1;
	c[8] = 2; /* version */
	CU_ASSERT_EQUAL(dst_event_file_decode(c, len, &g, &why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "version"));
	c[8] = 1;
	memcpy(c + 160 + 8 * 5, c + 160 + 8 * 4, 8); /* duplicate slot */
	CU_ASSERT_EQUAL(dst_event_file_decode(c, len, &g, &why), -EINVAL);
	memcpy(c, buf, len);
	c[160 + 8000 + 2 * 128 + 15 * 8 + 7] = 0x80; /* padding bit in cls_lo */
	CU_ASSERT_EQUAL(dst_event_file_decode(c, len, &g, &why), -EINVAL);
	memcpy(c, buf, len);
	double bad = 1.5;
	memcpy(c + 56, &bad, 8); /* p_z */
	CU_ASSERT_EQUAL(dst_event_file_decode(c, len, &g, &why), -EINVAL);
	free(c);
	free(buf);
	dst_event_file_clear(&f);
	dst_model_free(m);
}

static CU_TestInfo model_tests[] = {
	{"gain and QBER within 4 sigma (no after-pulses)", test_gain_qber_no_afterpulse},
	{"gain and QBER within 4 sigma (after-pulses)", test_gain_qber_afterpulse},
	{"gain and QBER within 4 sigma (30 dB)", test_long_distance},
	{"gain within 4 sigma at extreme click rates", test_extreme_click_rates},
	{"same stream for any batching", test_deterministic_any_batching},
	{"dense planes equal the event list", test_planes_match_events},
	{"bad parameters rejected", test_bad_params},
	{"event file round trip and rejects", test_event_file},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"link_model", NULL, NULL, NULL, NULL, model_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
