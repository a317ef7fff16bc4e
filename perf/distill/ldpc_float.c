/* Floating-point layered sum-product decoding (ldpc_float.h): check node by the phi rule
 * R_j = s * phi(sum_{k != j} phi(|t_k|)), phi(x) = ln((e^x + 1) / (e^x - 1)), in double
 * precision (phi from a fine table with linear interpolation above 1/16, exact below: the
 * interpolation error stays under 1e-4 relative everywhere), no caps but a 30 clamp on phi. */
#include "ldpc_float.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../distill/ldpc/ldpc_internal.h"

#define PHI_STEP (1.0 / 1024)
#define PHI_MAX 32.0
#define PHI_N ((unsigned)(PHI_MAX / PHI_STEP) + 2)
#define PHI_EXACT_BELOW (1.0 / 16)
#define MSG_MAX 30.0

struct ldpc_float {
	uint32_t n;
	double *L;     /* a posteriori LLR per variable */
	double *R;     /* check-to-variable message per lifted edge: base edge e, check i at e*z+i */
	double *t, *p; /* per row: extrinsic inputs and their phi */
	uint32_t *v;   /* per row: variable indices */
	double *phi;   /* table */
	size_t r_len;
};

static double phi_exact(double x)
{
	if (x < 1e-12)
		x = 1e-12;
	return log1p(2.0 / expm1(x));
}

static inline double phi(const struct ldpc_float *d, double x)
{
	if (x < PHI_EXACT_BELOW)
		return fmin(phi_exact(x), MSG_MAX);
	if (x >= PHI_MAX)
		return 0.0;
	double u = x / PHI_STEP;
	unsigned i = (unsigned)u;
	double w = u - i;
	return d->phi[i] + w * (d->phi[i + 1] - d->phi[i]);
}

struct ldpc_float *ldpc_float_create(const struct dst_ldpc_family *fam)
{
	struct ldpc_float *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->n = fam->n;
	d->r_len = (size_t)fam->max_edge_bytes;
	d->L = malloc(fam->n * sizeof(double));
	d->R = malloc(d->r_len * sizeof(double));
	d->t = malloc(fam->max_dc * sizeof(double));
	d->p = malloc(fam->max_dc * sizeof(double));
	d->v = malloc(fam->max_dc * sizeof(uint32_t));
	d->phi = malloc(PHI_N * sizeof(double));
	if (!d->L || !d->R || !d->t || !d->p || !d->v || !d->phi) {
		ldpc_float_free(d);
		return NULL;
	}
	for (unsigned i = 0; i < PHI_N; i++)
		d->phi[i] = i ? phi_exact(i * PHI_STEP) : MSG_MAX;
	return d;
}

void ldpc_float_free(struct ldpc_float *d)
{
	if (!d)
		return;
	free(d->L);
	free(d->R);
	free(d->t);
	free(d->p);
	free(d->v);
	free(d->phi);
	free(d);
}

static bool syndrome_ok(const struct dst_ldpc_code *c, const double *L, const uint64_t *syn)
{
	for (uint32_t r = 0; r < c->mb; r++)
		for (uint32_t i = 0; i < c->z; i++) {
			unsigned x = (unsigned)(syn[(r * c->z + i) / 64] >> ((r * c->z + i) % 64)) & 1;
			for (uint32_t e = c->row_start[r]; e < c->row_start[r + 1]; e++) {
				uint32_t pos = i + c->shift[e];
				if (pos >= c->z)
					pos -= c->z;
				x ^= L[(size_t)c->col[e] * c->z + pos] < 0;
			}
			if (x)
				return false;
		}
	return true;
}

bool ldpc_float_decode(struct ldpc_float *d, const struct dst_ldpc_plan *plan, const uint64_t *bob,
		       const uint64_t *syndrome, unsigned max_iter, uint64_t *out, unsigned *iters)
{
	const struct dst_ldpc_code *c = plan->code;
	uint32_t z = c->z, words = c->n / 64;
	/* granule classes as the product decoder sees them: 0 key, 1 punctured, 2 shortened */
	uint8_t *cls = calloc(words, 1);
	for (uint32_t i = 0; i < plan->punctured / 64; i++)
		cls[c->punct_order[i]] = 1;
	for (uint32_t i = 0; i < plan->shortened / 64; i++)
		cls[c->short_order[i]] = 2;
	double llr = log((1 - plan->qber) / plan->qber);
	uint32_t k = 0;
	for (uint32_t w = 0; w < words; w++) {
		uint64_t x = cls[w] == 0 ? bob[k++] : 0;
		double other = cls[w] == 1 ? 0.0 : MSG_MAX; /* punctured: unknown; shortened: zero */
		for (unsigned b = 0; b < 64; b++)
			d->L[(size_t)w * 64 + b] = cls[w] ? other : (x >> b & 1) ? -llr : llr;
	}
	memset(d->R, 0, (size_t)c->ne * z * sizeof(double));
	bool ok = false;
	unsigned it = 0;
	while (it < max_iter && !ok) {
		it++;
		for (uint32_t r = 0; r < c->mb; r++) {
			uint32_t e0 = c->row_start[r], dc = c->row_start[r + 1] - e0;
			for (uint32_t i = 0; i < z; i++) {
				unsigned s = (unsigned)(syndrome[(r * z + i) / 64] >> ((r * z + i) % 64)) & 1;
				double sum = 0;
				for (uint32_t j = 0; j < dc; j++) {
					uint32_t e = e0 + j, pos = i + c->shift[e];
					if (pos >= z)
						pos -= z;
					d->v[j] = c->col[e] * z + pos;
					d->t[j] = d->L[d->v[j]] - d->R[(size_t)e * z + i];
					s ^= d->t[j] < 0;
					d->p[j] = phi(d, fabs(d->t[j]));
					sum += d->p[j];
				}
				for (uint32_t j = 0; j < dc; j++) {
					double m = phi(d, fmax(sum - d->p[j], 0.0));
					unsigned sj = s ^ (d->t[j] < 0);
					double rj = sj ? -m : m;
					d->R[(size_t)(e0 + j) * z + i] = rj;
					d->L[d->v[j]] = d->t[j] + rj;
				}
			}
		}
		ok = syndrome_ok(c, d->L, syndrome);
	}
	k = 0;
	for (uint32_t w = 0; w < words; w++) {
		if (cls[w] != 0)
			continue;
		uint64_t x = 0;
		for (unsigned b = 0; b < 64; b++)
			x |= (uint64_t)(d->L[(size_t)w * 64 + b] < 0) << b;
		out[k++] = x;
	}
	free(cls);
	*iters = it;
	return ok;
}
