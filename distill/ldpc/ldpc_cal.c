/* Efficiency calibration of a code family: where its codes reach FER <= 1e-2 at fixed rate, and
 * where blind plans start, per QBER. Built in for the committed n = 2^17 family; a family
 * directory may carry its own in 'family.cal' (docs/formats.md), since the same QBER needs a
 * different f at another frame length. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldpc_internal.h"

/* Fixed rate: efficiency at which the committed family reaches FER <= 1e-2 without blind rounds,
 * plus 0.01 (Monte Carlo, 400 frames a point: qkdperf --filter ldpc_mc,
 * perf/results/ldpc_mc.json). At 8% single frames reach 1.10, but whole keys cut into fitted frames
 * failed 17 of ~80 frames at 1.11 and blind plans (room up to this f) lost frames too, so 8% keeps
 * 1.12 (qkdperf --filter ldpc_key: no frame lost, blind f 1.103).
 *
 * Blind start (f_start with headroom DST_LDPC_BLIND_HEADROOM, then punctured bits revealed
 * 1/step_div at a time, decoded with the resumed schedule of dst_ldpc_bob_blind): per QBER the
 * lowest start whose decoding costs at most ~1.45x the sweeps of the calibrated fixed-rate plan
 * (Monte Carlo, 200 frames each, none failed; qkdperf --filter ldpc_blind,
 * perf/results/ldpc_blind.json). Lower starts cut f by another 0.005-0.01 at 1.5-3x the sweeps.
 * Between the points f_start is interpolated (0.75%: 1.32 gives f 1.328 against the fixed 1.356
 * for 1.26x the sweeps); outside 0.5-8% nothing is measured (at 11% no code has room above the
 * start). */
static const struct ldpc_cal builtin = {
	.fixed = {{0.005, 1.46}, {0.01, 1.25}, {0.02, 1.18}, {0.03, 1.13}, {0.05, 1.13}, {0.08, 1.12},
		  {0.11, 1.16}},
	.nfixed = 7,
	.blind = {{0.005, 1.41}, {0.01, 1.23}, {0.02, 1.16}, {0.03, 1.12}, {0.05, 1.11}, {0.08, 1.10}},
	.nblind = 6,
	.sweeps = DST_LDPC_MAX_ITER_DEFAULT,
};
#define BLIND_STEP_DIV 16

void ldpc_cal_builtin(struct ldpc_cal *cal)
{
	*cal = builtin;
}

/* Linear between the points, flat beyond the ends. */
static double interpolate(const struct ldpc_cal_point *p, unsigned n, double qber)
{
	if (qber <= p[0].qber)
		return p[0].f;
	for (unsigned i = 1; i < n; i++)
		if (qber <= p[i].qber) {
			double t = (qber - p[i - 1].qber) / (p[i].qber - p[i - 1].qber);
			return p[i - 1].f + t * (p[i].f - p[i - 1].f);
		}
	return p[n - 1].f;
}

static const struct ldpc_cal *cal_of(const struct dst_ldpc_family *fam)
{
	return fam ? &fam->cal : &builtin;
}

double dst_ldpc_default_f(const struct dst_ldpc_family *fam, double qber)
{
	const struct ldpc_cal *c = cal_of(fam);
	return interpolate(c->fixed, c->nfixed, qber);
}

int dst_ldpc_blind_default(const struct dst_ldpc_family *fam, double qber, double *f_start,
			   unsigned *step_div)
{
	const struct ldpc_cal *c = cal_of(fam);
	unsigned n = c->nblind;
	if (!n || !(qber >= c->blind[0].qber * 0.999 && qber <= c->blind[n - 1].qber * 1.001))
		return -ENOENT;
	*f_start = interpolate(c->blind, n, qber);
	*step_div = BLIND_STEP_DIV;
	return 0;
}

/* One "fixed|blind QBER F" line into its table (QBER ascending in (0, 0.5), F >= 1), or "sweeps
 * N". Returns NULL or what is wrong with it. */
static const char *cal_line(struct ldpc_cal *cal, const char *line)
{
	char kind[16], extra[2];
	double q, f;
	unsigned sweeps;
	if (sscanf(line, "sweeps %u %1s", &sweeps, extra) == 1) {
		if (sweeps < 1 || sweeps > DST_LDPC_MAX_ITER_LIMIT)
			return "sweeps must be 1 .. 1000";
		cal->sweeps = sweeps;
		return NULL;
	}
	int got = sscanf(line, "%15s %lf %lf %1s", kind, &q, &f, extra);
	struct ldpc_cal_point *t;
	unsigned *n;
	if (got == 3 && !strcmp(kind, "fixed"))
		t = cal->fixed, n = &cal->nfixed;
	else if (got == 3 && !strcmp(kind, "blind"))
		t = cal->blind, n = &cal->nblind;
	else
		return "expected 'fixed QBER F' or 'blind QBER F'";
	if (!(q > 0 && q < 0.5) || !(f >= 1 && f < 10))
		return "QBER must be in (0, 0.5) and F in [1, 10)";
	if (*n == LDPC_CAL_MAX)
		return "too many points of this kind";
	if (*n && q <= t[*n - 1].qber)
		return "QBER not ascending";
	t[(*n)++] = (struct ldpc_cal_point){q, f};
	return NULL;
}

int ldpc_cal_load(const char *dir, struct ldpc_cal *out, char *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/family.cal", dir);
	FILE *fp = fopen(path, "r");
	if (!fp) {
		if (errno == ENOENT)
			return 1; /* none: the caller keeps the built-in calibration */
		int rc = -errno;
		ldpc_err(err, "%s: %s", path, strerror(errno));
		return rc;
	}
	struct ldpc_cal cal = {.sweeps = DST_LDPC_MAX_ITER_DEFAULT};
	char line[256];
	unsigned lineno = 0;
	int rc = 0;
	while (!rc && fgets(line, sizeof(line), fp)) {
		lineno++;
		const char *s = line + strspn(line, " \t"), *why = NULL;
		if (!strchr(line, '\n') && !feof(fp))
			why = "line too long";
		else if (*s != '#' && *s != '\n' && *s)
			why = cal_line(&cal, s);
		if (why) {
			ldpc_err(err, "%s:%u: %s", path, lineno, why);
			rc = -EINVAL;
		}
	}
	fclose(fp);
	if (!rc && !cal.nfixed) {
		ldpc_err(err, "%s: no 'fixed' points", path);
		rc = -EINVAL;
	}
	if (!rc)
		*out = cal;
	return rc;
}
