/* Parameter estimation and secret-key length with finite statistics, exactly as in Lim, Curty,
 * Walenta, Xu, Zbinden, "Concise security bounds for practical decoy-state quantum key
 * distribution", PRA 89, 022307 (2014), Eqs. (1)-(5):
 *
 *   l = floor(s0 + s1 (1 - h(phi)) - leak_EC - 6 log2(21/eps_sec) - log2(2/eps_cor))
 *
 * with s0, s1 lower bounds on the vacuum and single-photon raw-key bits (Eqs. 2, 3), phi an upper
 * bound on the single-photon phase-error rate (Eq. 5) from the test-basis single-photon errors
 * (Eq. 4). The paper keys on its X basis and tests on Z; here the key basis is Z (basis bit 0) and
 * the test basis is X, so the paper's n_X,k are our n_key[k] and its n_Z,k, m_Z,k our n_test[k],
 * m_test[k]. Two decoys are required: mu[0] > mu[1] + mu[2], mu[1] > mu[2] >= 0.
 * As in the paper, the error deviation term is sqrt(m/2 ln(21/eps_sec)) with m the observed test
 * errors and gamma() vanishes at a zero error rate, so a block with no test errors at all gets
 * phi = 0; abort thresholds and block sizes should keep m_test well above zero. */
#ifndef DST_ESTIMATE_H
#define DST_ESTIMATE_H

#include <stdint.h>

#include "dst_model.h"
#include "dst_sift.h"

/* Binary entropy h(p) = -p log2 p - (1-p) log2 (1-p); 0 at p <= 0 or p >= 1. */
double dst_h2(double p);

struct dst_fk_config {
	double mu[DST_MAX_CLASSES];   /* intensities of the three classes */
	double p_mu[DST_MAX_CLASSES]; /* their probabilities */
	double eps_sec;               /* secrecy, default 1e-10 */
	double eps_cor;               /* correctness, default 1e-15 */
	double qber_max;              /* abort when a basis' observed QBER exceeds it, default 0.11 */
	double phi_max;               /* abort when phi exceeds it (the paper's phi_tol), default 0.2 */
};
/* Defaults above with the intensities of a dst_link_params (p may be NULL: zero intensities). */
void dst_fk_config_default(struct dst_fk_config *cfg, const struct dst_link_params *p);

/* Why a block yields no key. */
enum dst_fk_status {
	DST_FK_OK = 0,
	DST_FK_ABORT_PARAMS,  /* intensities/probabilities/epsilons do not satisfy the bounds' terms */
	DST_FK_ABORT_NO_DATA, /* no raw-key or test-basis detections */
	DST_FK_ABORT_QBER,    /* observed QBER above qber_max */
	DST_FK_ABORT_DECOY,   /* single-photon lower bound not positive: too few decoy statistics */
	DST_FK_ABORT_PHASE,   /* phase-error bound above phi_max */
	DST_FK_ABORT_LENGTH,  /* l <= 0 */
};
const char *dst_fk_status_str(enum dst_fk_status s);

/* Counts as real numbers (observed integers, or expected values when planning). */
struct dst_fk_stats {
	double n_key[DST_MAX_CLASSES], n_test[DST_MAX_CLASSES], m_test[DST_MAX_CLASSES];
	double m_key; /* key-basis errors if known (after error correction), else < 0 */
};
void dst_fk_stats_from_counts(struct dst_fk_stats *s, const struct dst_sift_counts *c,
			      int key_errors_known);

struct dst_fk_result {
	enum dst_fk_status status;
	int64_t length;          /* l, the secret-key length in bits; 0 when aborted */
	double s0, s1;           /* key basis: vacuum and single-photon bits, lower bounds */
	double s0_test, s1_test; /* the same in the test basis */
	double v1_test;          /* single-photon errors in the test basis, upper bound */
	double phi;              /* single-photon phase-error rate, upper bound (<= 0.5) */
	double qber_key;         /* m_key / n_key, or -1 when unknown */
	double qber_test;        /* m_test / n_test */
	double leak_ec;          /* bits revealed by error correction (input) */
	double penalty;          /* 6 log2(21/eps_sec) + log2(2/eps_cor) */
	double n_key, n_test;    /* totals over classes */
	double l_real;           /* the bound before flooring */
};

/* Bounds and key length for one block. leak_ec: bits error correction revealed (or will reveal).
 * Returns 0 with r filled (r->status says whether to abort), -EINVAL for NULL pointers. */
int dst_fk_estimate(const struct dst_fk_config *cfg, const struct dst_fk_stats *s, double leak_ec,
		    struct dst_fk_result *r);

/* Planning with the paper's fibre system model (sec. IV): the expected statistics of a block of
 * n_key raw-key bits and the key rate per pulse, optionally optimised over the free parameters. */
struct dst_fk_channel {
	double loss_db;  /* channel loss (0.2 dB/km x L in the paper) */
	double eta_det;  /* 0.1 */
	double p_dark;   /* 6e-7 */
	double p_ap;     /* 4e-2 */
	double e_mis;    /* 5e-3 */
	double f_ec;     /* 1.16: leak_EC = f_ec * n_key * h(observed key-basis error rate) */
};
void dst_fk_channel_paper(struct dst_fk_channel *ch, double km);

struct dst_fk_plan {
	double p_z;                   /* key-basis probability (the paper's q_x) */
	double mu[DST_MAX_CLASSES];   /* mu[2] is fixed by the caller (paper: 2e-4) */
	double p_mu[DST_MAX_CLASSES];
	double pulses;                /* N = n_key / P(key-basis match and click) */
	double rate;                  /* l / N, secret bits per pulse */
	struct dst_fk_result r;
};
/* Expected statistics for n_key raw-key bits with the plan's p_z/mu/p_mu on this channel. */
int dst_fk_expected(const struct dst_fk_channel *ch, const struct dst_fk_plan *pl, double n_key,
		    struct dst_fk_stats *s, double *pulses, double *leak_ec);
/* Key length and rate of a plan. kappa > 0 sets eps_sec = kappa * l as in the paper's Fig. 1
 * (solved self-consistently); kappa = 0 uses cfg->eps_sec. cfg's intensities are ignored. */
int dst_fk_plan_eval(const struct dst_fk_channel *ch, const struct dst_fk_config *cfg, double kappa,
		     double n_key, struct dst_fk_plan *pl);
/* Maximise the rate over p_z, mu[0], mu[1], p_mu[0], p_mu[1] from pl's values as the start
 * (mu[2] fixed). Returns 0 (pl holds the best plan; rate 0 when no key is possible). */
int dst_fk_optimize(const struct dst_fk_channel *ch, const struct dst_fk_config *cfg, double kappa,
		    double n_key, struct dst_fk_plan *pl);

#endif
