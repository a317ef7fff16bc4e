/* Column-weight profiles for the BSC by density evolution in the Gaussian approximation.
 *
 * Messages are LLRs. A variable of weight d sends channel + (d - 1) check messages; the channel
 * part is kept exact (+-L with L = ln((1 - p) / p), probabilities 1 - p and p) and the check
 * messages are Gaussian N(mu, 2 mu) (symmetric). A check of degree k turns independent inputs
 * into E[tanh(u / 2)] = T^(k - 1), with T the edge-averaged E[tanh(v / 2)] of the variables
 * (exact for independent inputs); its output is taken as the Gaussian with that expectation.
 * Rows have the balanced weights the construction gives them (floor/ceil of edges / rows).
 * The threshold is the largest crossover probability at which mu grows without bound. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ldpc_internal.h"

#define PHI_POINTS 4000
#define MU_DONE 200.0 /* check messages this reliable: decoding has converged */

#define QUAD 20 /* trapezoid nodes x = 0.4 i, |i| <= QUAD: +-8 sigma */

struct ga {
	double mu[PHI_POINTS], t[PHI_POINTS]; /* t = E[tanh(x / 2)], x ~ N(mu, 2 mu) */
	double w[2 * QUAD + 1], wsum;         /* Gaussian weights of the nodes */
};

/* E[tanh((c + x) / 2)], x ~ N(mu, 2 mu): trapezoid rule (spectrally accurate for a Gaussian). */
static double e_tanh(const struct ga *g, double c, double mu)
{
	if (mu <= 0)
		return tanh(c / 2);
	double s = sqrt(2 * mu), acc = 0;
	for (int i = -QUAD; i <= QUAD; i++)
		acc += g->w[i + QUAD] * tanh((c + mu + s * i * 0.4) / 2);
	return acc / g->wsum;
}

static void ga_init(struct ga *g)
{
	g->wsum = 0;
	for (int i = -QUAD; i <= QUAD; i++) {
		double x = i * 0.4;
		g->w[i + QUAD] = exp(-x * x / 2);
		g->wsum += g->w[i + QUAD];
	}
	for (int i = 0; i < PHI_POINTS; i++) {
		g->mu[i] = 1e-4 * pow(10, i * 7.0 / PHI_POINTS);
		g->t[i] = e_tanh(g, 0, g->mu[i]);
	}
}

/* mu with E[tanh] = t, by table search and linear interpolation */
static double ga_mu(const struct ga *g, double t)
{
	if (t <= g->t[0])
		return 0;
	if (t >= g->t[PHI_POINTS - 1])
		return g->mu[PHI_POINTS - 1];
	int lo = 0, hi = PHI_POINTS - 1;
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;
		if (g->t[mid] < t)
			lo = mid;
		else
			hi = mid;
	}
	if (g->t[hi] <= g->t[lo])
		return g->mu[hi]; /* tanh saturated in double precision */
	double a = (t - g->t[lo]) / (g->t[hi] - g->t[lo]);
	return g->mu[lo] + a * (g->mu[hi] - g->mu[lo]);
}

static bool converges(const struct ga *g, const struct dst_ldpc_design *d, double p)
{
	double L = log((1 - p) / p), lam[8];
	uint32_t edges = 0;
	for (uint32_t i = 0; i < d->nvdeg; i++)
		edges += d->vdeg_w[i] * d->vdeg[i];
	for (uint32_t i = 0; i < d->nvdeg; i++)
		lam[i] = (double)(d->vdeg_w[i] * d->vdeg[i]) / edges;
	uint32_t klo = edges / d->base_rows, nhi = edges - klo * d->base_rows;
	double rlo = (double)klo * (d->base_rows - nhi) / edges, rhi = 1 - rlo;
	double mu = 0;
	for (int it = 0; it < 5000; it++) {
		double t = 0;
		for (uint32_t i = 0; i < d->nvdeg; i++) {
			double m = (d->vdeg_w[i] - 1) * mu;
			t += lam[i] * ((1 - p) * e_tanh(g, L, m) + p * e_tanh(g, -L, m));
		}
		double tc = rlo * pow(t, klo - 1) + rhi * pow(t, klo);
		if (tc > 1 - 1e-12)
			return true;
		double next = ga_mu(g, tc);
		if (next >= MU_DONE)
			return true;
		if (next - mu < 1e-6 * (1 + mu))
			return false; /* stuck at a fixed point */
		mu = next;
	}
	return false;
}

/* Largest p in [lo, hi] that converges (geometric bisection), lo assumed to converge. */
static double threshold_in(const struct ga *g, const struct dst_ldpc_design *d, double lo, double hi)
{
	for (int i = 0; i < 18; i++) {
		double mid = sqrt(lo * hi);
		if (converges(g, d, mid))
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static bool design_ok(const struct dst_ldpc_design *d)
{
	uint32_t cols = 0;
	if (!d || d->base_rows < 2 || d->base_cols <= d->base_rows || !d->nvdeg || d->nvdeg > 8)
		return false;
	for (uint32_t i = 0; i < d->nvdeg; i++) {
		if (d->vdeg_w[i] < 2 || d->vdeg_w[i] > d->base_rows)
			return false;
		cols += d->vdeg[i];
	}
	return cols == d->base_cols;
}

double dst_ldpc_design_threshold(const struct dst_ldpc_design *d)
{
	if (!design_ok(d))
		return -EINVAL;
	struct ga *g = malloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	ga_init(g);
	double t = converges(g, d, 1e-4) ? threshold_in(g, d, 1e-4, 0.2) : 0;
	free(g);
	return t;
}

/* Drop empty weights and sort ascending, so that equal profiles print alike. */
static void compact(struct dst_ldpc_design *d)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < d->nvdeg; i++)
		if (d->vdeg[i]) {
			d->vdeg_w[k] = d->vdeg_w[i];
			d->vdeg[k++] = d->vdeg[i];
		}
	d->nvdeg = k;
	for (uint32_t i = 0; i < k; i++)
		for (uint32_t j = i + 1; j < k; j++)
			if (d->vdeg_w[j] < d->vdeg_w[i]) {
				uint32_t w = d->vdeg_w[i], c = d->vdeg[i];
				d->vdeg_w[i] = d->vdeg_w[j];
				d->vdeg[i] = d->vdeg[j];
				d->vdeg_w[j] = w;
				d->vdeg[j] = c;
			}
}

/* Move k columns from weight index a to weight w (added if new); false if not allowed. */
static bool move(struct dst_ldpc_design *x, uint32_t a, uint32_t w, uint32_t k)
{
	if (x->vdeg[a] < k)
		return false;
	uint32_t b = x->nvdeg;
	for (uint32_t i = 0; i < x->nvdeg; i++)
		if (x->vdeg_w[i] == w)
			b = i;
	if (b == x->nvdeg) {
		if (x->nvdeg == 8 && x->vdeg[a] != k)
			return false;
		if (x->nvdeg == 8) {
			x->vdeg_w[a] = w; /* the whole weight class changes weight */
			compact(x);
			return true;
		}
		x->vdeg_w[b] = w;
		x->vdeg[b] = 0;
		x->nvdeg++;
	}
	x->vdeg[a] -= k;
	x->vdeg[b] += k;
	for (uint32_t i = 0; i < x->nvdeg; i++)
		if (x->vdeg_w[i] == 2 && x->vdeg[i] > x->base_cols / 2)
			return false; /* the builder needs columns beyond them (and BP stability caps them) */
	compact(x);
	return true;
}

int dst_ldpc_design_optimise(struct dst_ldpc_design *d, uint32_t max_weight, double *threshold)
{
	if (!design_ok(d) || max_weight < 3)
		return -EINVAL;
	if (max_weight > d->base_rows)
		max_weight = d->base_rows;
	struct ga *g = malloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	ga_init(g);
	compact(d);
	if (!converges(g, d, 1e-4)) {
		free(g);
		return -EINVAL; /* no foothold: the start profile fails even at p = 1e-4 */
	}
	double t = threshold_in(g, d, 1e-4, 0.2);
	/* steepest ascent: move 1, 2 or 4 columns from one weight to another while that raises
	 * the threshold by more than 0.02 % */
	for (;;) {
		struct dst_ldpc_design best = *d;
		double bt = t;
		for (uint32_t a = 0; a < d->nvdeg; a++)
			for (uint32_t w = 2; w <= max_weight; w++)
				for (uint32_t k = 1; k <= 4 && w != d->vdeg_w[a]; k *= 2) {
					struct dst_ldpc_design x = *d;
					if (!move(&x, a, w, k) || !converges(g, &x, bt * 1.0005))
						continue;
					double tx = threshold_in(g, &x, bt, bt * 1.2);
					if (tx > bt) {
						bt = tx;
						best = x;
					}
				}
		if (bt <= t * 1.0002)
			break;
		*d = best;
		t = bt;
	}
	free(g);
	if (threshold)
		*threshold = t;
	return 0;
}
