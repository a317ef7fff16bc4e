/* Finite-key decoy-state bounds and key length, Lim et al. PRA 89, 022307 (2014), Eqs. (1)-(5).
 * Paper -> here: mu1, mu2, mu3 = mu[0], mu[1], mu[2]; its X (key) basis is our Z, its Z (test)
 * basis our X. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "dst_estimate.h"

double dst_h2(double p)
{
	if (!(p > 0.0 && p < 1.0))
		return 0.0;
	return -p * log2(p) - (1.0 - p) * log2(1.0 - p);
}

void dst_fk_config_default(struct dst_fk_config *cfg, const struct dst_link_params *p)
{
	memset(cfg, 0, sizeof(*cfg));
	if (p) {
		for (unsigned k = 0; k < DST_MAX_CLASSES; k++) {
			cfg->mu[k] = p->mu[k];
			cfg->p_mu[k] = p->p_mu[k];
		}
	}
	cfg->eps_sec = 1e-10;
	cfg->eps_cor = 1e-15;
	cfg->qber_max = 0.11;
	cfg->phi_max = 0.2;
}

const char *dst_fk_status_str(enum dst_fk_status s)
{
	switch (s) {
	case DST_FK_OK: return "ok";
	case DST_FK_ABORT_PARAMS: return "intensities, probabilities or epsilons unusable for the two-decoy bounds";
	case DST_FK_ABORT_NO_DATA: return "no raw-key or test-basis detections";
	case DST_FK_ABORT_QBER: return "QBER above the abort threshold";
	case DST_FK_ABORT_DECOY: return "single-photon lower bound not positive (too few decoy statistics)";
	case DST_FK_ABORT_PHASE: return "phase-error bound above the abort threshold";
	case DST_FK_ABORT_LENGTH: return "secret key length not positive";
	}
	return "unknown";
}

void dst_fk_stats_from_counts(struct dst_fk_stats *s, const struct dst_sift_counts *c,
			      int key_errors_known)
{
	double mk = 0;
	for (unsigned k = 0; k < DST_MAX_CLASSES; k++) {
		s->n_key[k] = (double)c->n_key[k];
		s->n_test[k] = (double)c->n_test[k];
		s->m_test[k] = (double)c->m_test[k];
		mk += (double)c->m_key[k];
	}
	s->m_key = key_errors_known ? mk : -1.0;
}

static int config_ok(const struct dst_fk_config *c)
{
	const double *mu = c->mu, *p = c->p_mu;
	if (!(mu[2] >= 0.0 && mu[1] > mu[2] && mu[0] > mu[1] + mu[2] && mu[0] < 100.0))
		return 0;
	for (int k = 0; k < 3; k++)
		if (!(p[k] > 0.0 && p[k] <= 1.0))
			return 0;
	return c->eps_sec > 0.0 && c->eps_sec < 1.0 && c->eps_cor > 0.0 && c->eps_cor < 1.0;
}

/* Eqs. (2) and (3) for one basis: vacuum and single-photon lower bounds from the per-class counts
 * with Hoeffding deviation sqrt(n/2 ln(21/eps_sec)). Negative vacuum bounds are raised to 0 (the
 * count cannot be negative, and any valid lower bound may enter Eq. (3)). */
static void decoy_bounds(const struct dst_fk_config *c, const double n[3], double ln21, double *s0,
			 double *s1)
{
	const double *mu = c->mu, *p = c->p_mu;
	double tot = n[0] + n[1] + n[2], d = sqrt(tot / 2.0 * ln21);
	double lo[3], hi[3], tau0 = 0, tau1 = 0;
	for (int k = 0; k < 3; k++) {
		double f = exp(mu[k]) / p[k];
		lo[k] = f * (n[k] - d);
		hi[k] = f * (n[k] + d);
		tau0 += p[k] * exp(-mu[k]);
		tau1 += p[k] * exp(-mu[k]) * mu[k];
	}
	double v = tau0 * (mu[1] * lo[2] - mu[2] * hi[1]) / (mu[1] - mu[2]);
	*s0 = v > 0.0 ? v : 0.0;
	double num = lo[1] - hi[2] - (mu[1] * mu[1] - mu[2] * mu[2]) / (mu[0] * mu[0]) * (hi[0] - *s0 / tau0);
	double den = mu[0] * (mu[1] - mu[2]) - mu[1] * mu[1] + mu[2] * mu[2];
	*s1 = tau1 * mu[0] * num / den;
}

/* gamma(a, b, c, d) of Eq. (5); its limit 0 at b = 0. */
static double gamma_term(double a, double b, double c, double d)
{
	double v = (1.0 - b) * b;
	if (v <= 0.0)
		return 0.0;
	double arg = (c + d) / (c * d * v) * (21.0 * 21.0) / (a * a);
	double g = (c + d) * v / (c * d * log(2.0)) * log2(arg);
	return g > 0.0 ? sqrt(g) : 0.0;
}

int dst_fk_estimate(const struct dst_fk_config *cfg, const struct dst_fk_stats *s, double leak_ec,
		    struct dst_fk_result *r)
{
	if (!cfg || !s || !r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->leak_ec = leak_ec;
	r->qber_key = -1.0;
	if (!config_ok(cfg) || !(leak_ec >= 0.0) || !isfinite(leak_ec)) {
		r->status = DST_FK_ABORT_PARAMS;
		return 0;
	}
	double mt = 0;
	for (int k = 0; k < 3; k++) {
		if (!(s->n_key[k] >= 0 && s->n_test[k] >= 0 && s->m_test[k] >= 0 &&
		      s->m_test[k] <= s->n_test[k])) {
			r->status = DST_FK_ABORT_PARAMS;
			return 0;
		}
		r->n_key += s->n_key[k];
		r->n_test += s->n_test[k];
		mt += s->m_test[k];
	}
	r->penalty = 6.0 * log2(21.0 / cfg->eps_sec) + log2(2.0 / cfg->eps_cor);
	if (r->n_key <= 0 || r->n_test <= 0) {
		r->status = DST_FK_ABORT_NO_DATA;
		return 0;
	}
	r->qber_test = mt / r->n_test;
	if (s->m_key >= 0)
		r->qber_key = s->m_key / r->n_key;
	if (r->qber_test > cfg->qber_max || r->qber_key > cfg->qber_max) {
		r->status = DST_FK_ABORT_QBER;
		return 0;
	}
	double ln21 = log(21.0 / cfg->eps_sec);
	decoy_bounds(cfg, s->n_key, ln21, &r->s0, &r->s1);
	decoy_bounds(cfg, s->n_test, ln21, &r->s0_test, &r->s1_test);
	/* Eq. (4): single-photon errors in the test basis. */
	const double *mu = cfg->mu, *p = cfg->p_mu;
	double dm = sqrt(mt / 2.0 * ln21), tau1 = 0;
	for (int k = 0; k < 3; k++)
		tau1 += p[k] * exp(-mu[k]) * mu[k];
	double m_hi1 = exp(mu[1]) / p[1] * (s->m_test[1] + dm);
	double m_lo2 = exp(mu[2]) / p[2] * (s->m_test[2] - dm);
	double v1 = tau1 * (m_hi1 - m_lo2) / (mu[1] - mu[2]);
	r->v1_test = v1 > 0.0 ? v1 : 0.0;
	if (!(r->s1 > 0.0) || !(r->s1_test > 0.0)) {
		r->status = DST_FK_ABORT_DECOY;
		return 0;
	}
	/* Eq. (5). */
	double b = r->v1_test / r->s1_test;
	double phi = b >= 0.5 ? 0.5 : b + gamma_term(cfg->eps_sec, b, r->s1_test, r->s1);
	r->phi = phi > 0.5 ? 0.5 : phi;
	/* Eq. (1). */
	r->l_real = r->s0 + r->s1 * (1.0 - dst_h2(r->phi)) - leak_ec - r->penalty;
	if (r->phi > cfg->phi_max) {
		r->status = DST_FK_ABORT_PHASE;
		return 0;
	}
	double l = floor(r->l_real);
	if (!(l > 0.0)) {
		r->status = DST_FK_ABORT_LENGTH;
		return 0;
	}
	r->length = l < 9.0e18 ? (int64_t)l : INT64_MAX;
	r->status = DST_FK_OK;
	return 0;
}
