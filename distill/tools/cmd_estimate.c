/* qkdtool estimate: the finite-key report of a sift file (text or --json); exit 1 when the block
 * aborts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dst_estimate.h"
#include "qkdtool.h"

static const char *NAME = "estimate";

/* Acquisition time of the block at the link's pulse rate. */
static double block_seconds(const struct dst_sift_block *b, const struct dst_link_params *p)
{
	return (double)(b->c.slot_end - b->c.slot_begin) / p->pulse_rate_hz;
}

static void print_text(const struct dst_sift_block *b, const struct dst_link_params *p,
		       const struct dst_fk_config *cfg, const struct dst_fk_result *r)
{
	const struct dst_sift_counts *c = &b->c;
	printf("block: raw key %zu bits, test %zu bits, %llu events, %llu pulses\n", b->key_bits,
	       b->test_bits, (unsigned long long)c->events,
	       (unsigned long long)(c->slot_end - c->slot_begin));
	for (int k = 0; k < 3; k++)
		printf("  class %d (mu %.6g, p %.4g): key %llu (errors %llu), test %llu (errors %llu)\n",
		       k, cfg->mu[k], cfg->p_mu[k], (unsigned long long)c->n_key[k],
		       (unsigned long long)c->m_key[k], (unsigned long long)c->n_test[k],
		       (unsigned long long)c->m_test[k]);
	printf("qber: key %.6f, test %.6f\n", r->qber_key, r->qber_test);
	printf("bounds: s0 %.1f, s1 %.1f, test s1 %.1f, test v1 %.1f, phi %.6f\n", r->s0, r->s1,
	       r->s1_test, r->v1_test, r->phi);
	printf("leak_ec %.1f, penalty %.2f (eps_sec %g, eps_cor %g)\n", r->leak_ec, r->penalty,
	       cfg->eps_sec, cfg->eps_cor);
	double t = block_seconds(b, p);
	printf("secret key length: %lld bits (%s)\n", (long long)r->length, dst_fk_status_str(r->status));
	printf("at %.4g Hz: %.4g s of pulses, %.4g secret bits/s, %.4g bits per pulse\n",
	       p->pulse_rate_hz, t, t > 0 ? (double)r->length / t : 0.0,
	       c->slot_end > c->slot_begin ? (double)r->length / (double)(c->slot_end - c->slot_begin) : 0.0);
}

static void print_json(const struct dst_sift_block *b, const struct dst_link_params *p,
		       const struct dst_fk_config *cfg, const struct dst_fk_result *r)
{
	const struct dst_sift_counts *c = &b->c;
	printf("{\"status\":\"%s\",\"abort\":%s,\"length\":%lld,\"l_real\":%.17g,", dst_fk_status_str(r->status),
	       r->status == DST_FK_OK ? "false" : "true", (long long)r->length, r->l_real);
	printf("\"key_bits\":%zu,\"test_bits\":%zu,\"events\":%llu,\"pulses\":%llu,", b->key_bits,
	       b->test_bits, (unsigned long long)c->events,
	       (unsigned long long)(c->slot_end - c->slot_begin));
	printf("\"classes\":[");
	for (int k = 0; k < 3; k++)
		printf("%s{\"mu\":%.17g,\"p\":%.17g,\"n_key\":%llu,\"m_key\":%llu,\"n_test\":%llu,\"m_test\":%llu}",
		       k ? "," : "", cfg->mu[k], cfg->p_mu[k], (unsigned long long)c->n_key[k],
		       (unsigned long long)c->m_key[k], (unsigned long long)c->n_test[k],
		       (unsigned long long)c->m_test[k]);
	printf("],\"qber_key\":%.17g,\"qber_test\":%.17g,\"s0\":%.17g,\"s1\":%.17g,\"s0_test\":%.17g,"
	       "\"s1_test\":%.17g,\"v1_test\":%.17g,\"phi\":%.17g,\"leak_ec\":%.17g,\"penalty\":%.17g,"
	       "\"eps_sec\":%.17g,\"eps_cor\":%.17g,\"pulse_rate_hz\":%.17g,\"seconds\":%.17g,"
	       "\"secret_bps\":%.17g}\n",
	       r->qber_key, r->qber_test, r->s0, r->s1, r->s0_test, r->s1_test, r->v1_test, r->phi,
	       r->leak_ec, r->penalty, cfg->eps_sec, cfg->eps_cor, p->pulse_rate_hz, block_seconds(b, p),
	       block_seconds(b, p) > 0 ? (double)r->length / block_seconds(b, p) : 0.0);
}

/* --plan: the paper's system model at a distance, optionally optimised; no input file. */
static int run_plan(double km, double n_key, double kappa, int optimize, int json,
		    const struct dst_fk_config *base)
{
	struct dst_fk_channel ch;
	dst_fk_channel_paper(&ch, km);
	struct dst_link_params lp;
	dst_link_params_default(&lp);
	struct dst_fk_plan pl = {.p_z = lp.p_z};
	memcpy(pl.mu, lp.mu, sizeof(pl.mu));
	memcpy(pl.p_mu, lp.p_mu, sizeof(pl.p_mu));
	struct dst_fk_config cfg = *base;
	if (optimize)
		dst_fk_optimize(&ch, &cfg, kappa, n_key, &pl);
	else
		dst_fk_plan_eval(&ch, &cfg, kappa, n_key, &pl);
	const struct dst_fk_result *r = &pl.r;
	if (json) {
		printf("{\"km\":%.17g,\"loss_db\":%.17g,\"n_key\":%.17g,\"p_z\":%.17g,\"mu\":[%.17g,%.17g,%.17g],"
		       "\"p_mu\":[%.17g,%.17g,%.17g],\"pulses\":%.17g,\"rate\":%.17g,\"length\":%lld,"
		       "\"status\":\"%s\",\"phi\":%.17g,\"qber_key\":%.17g}\n",
		       km, ch.loss_db, n_key, pl.p_z, pl.mu[0], pl.mu[1], pl.mu[2], pl.p_mu[0],
		       pl.p_mu[1], pl.p_mu[2], pl.pulses, pl.rate, (long long)r->length,
		       dst_fk_status_str(r->status), r->phi, r->qber_key);
	} else {
		printf("plan: %.1f km (%.2f dB), block of %.0f raw-key bits%s\n", km, ch.loss_db, n_key,
		       optimize ? ", optimised" : "");
		printf("source: p_z %.4f, mu %.4f / %.4f / %.4g, p_mu %.4f / %.4f / %.4f\n", pl.p_z,
		       pl.mu[0], pl.mu[1], pl.mu[2], pl.p_mu[0], pl.p_mu[1], pl.p_mu[2]);
		printf("expected: pulses %.4g, QBER %.4f, phi %.4f\n", pl.pulses, r->qber_key, r->phi);
		printf("secret key: %lld bits, %.4g bits per pulse (%s)\n", (long long)r->length, pl.rate,
		       dst_fk_status_str(r->status));
	}
	return r->status == DST_FK_OK ? QKDTOOL_OK : QKDTOOL_FAILED;
}

static int run_estimate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"in", required_argument, 0, 'i'},      {"json", no_argument, 0, 'j'},
		{"leak", required_argument, 0, 'l'},    {"f-ec", required_argument, 0, 'f'},
		{"eps-sec", required_argument, 0, 's'}, {"eps-cor", required_argument, 0, 'c'},
		{"qber-max", required_argument, 0, 'q'}, {"phi-max", required_argument, 0, 'p'},
		{"plan", no_argument, 0, 'P'},          {"optimize", no_argument, 0, 'O'},
		{"km", required_argument, 0, 'k'},      {"n-key", required_argument, 0, 'n'},
		{"kappa", required_argument, 0, 'K'},   {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	const char *in = NULL;
	int json = 0, c, li = 0, plan = 0, optimize = 0;
	double km = 50, n_key = 1e6, kappa = 0;
	double leak = -1, f_ec = 1.16, eps_sec = 1e-10, eps_cor = 1e-15, qmax = 0.11, pmax = 0.2;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		int rc = 0;
		switch (c) {
		case 'i': in = optarg; break;
		case 'j': json = 1; break;
		case 'l': rc = qkdtool_parse_double(optarg, 0, 1e15, &leak); break;
		case 'f': rc = qkdtool_parse_double(optarg, 1, 10, &f_ec); break;
		case 's': rc = qkdtool_parse_double(optarg, 1e-300, 0.5, &eps_sec); break;
		case 'c': rc = qkdtool_parse_double(optarg, 1e-300, 0.5, &eps_cor); break;
		case 'q': rc = qkdtool_parse_double(optarg, 0, 0.5, &qmax); break;
		case 'p': rc = qkdtool_parse_double(optarg, 0, 0.5, &pmax); break;
		case 'P': plan = 1; break;
		case 'O': optimize = 1; break;
		case 'k': rc = qkdtool_parse_double(optarg, 0, 2000, &km); break;
		case 'n': rc = qkdtool_parse_double(optarg, 100, 1e15, &n_key); break;
		case 'K': rc = qkdtool_parse_double(optarg, 1e-300, 1e-3, &kappa); break;
		case 'h':
			printf("usage: qkdtool estimate --in SIFTFILE [--json] [--leak BITS | --f-ec F]\n"
			       "  [--eps-sec E] [--eps-cor E] [--qber-max Q] [--phi-max P]\n"
			       "   or: qkdtool estimate --plan [--km L] [--n-key N] [--optimize] [--kappa K] [--json]\n"
			       "       (Lim et al. 2014 fibre model: 0.2 dB/km, eta 0.1, p_dc 6e-7, p_ap 0.04,\n"
			       "        e_mis 0.005, f_EC 1.16; kappa sets eps_sec = kappa * l)\n");
			return QKDTOOL_OK;
		default:
			return qkdtool_bad(NAME, "unknown option or missing value (qkdtool estimate --help)");
		}
		if (rc)
			return qkdtool_bad(NAME, "bad value '%s' for --%s", optarg, opts[li].name);
	}
	if (optind != argc)
		return qkdtool_bad(NAME, "unexpected argument '%s'", argv[optind]);
	if (plan) {
		if (in)
			return qkdtool_bad(NAME, "--plan takes no --in file");
		struct dst_fk_config cfg;
		dst_fk_config_default(&cfg, NULL);
		cfg.eps_sec = eps_sec;
		cfg.eps_cor = eps_cor;
		cfg.qber_max = qmax;
		cfg.phi_max = pmax;
		return run_plan(km, n_key, kappa, optimize, json, &cfg);
	}
	if (!in)
		return qkdtool_bad(NAME, "--in SIFTFILE is required");
	uint8_t *raw;
	size_t len;
	int rc = qkdtool_read_file(in, &raw, &len);
	if (rc)
		return qkdtool_bad(NAME, "%s: %s", in, strerror(-rc));
	struct dst_link_params p;
	struct dst_sift_block *b;
	const char *why = "out of memory";
	rc = dst_sift_file_decode(raw, len, &p, &b, &why);
	explicit_bzero(raw, len);
	free(raw);
	if (rc)
		return qkdtool_bad(NAME, "%s: %s", in, why);
	struct dst_fk_config cfg;
	dst_fk_config_default(&cfg, &p);
	cfg.eps_sec = eps_sec;
	cfg.eps_cor = eps_cor;
	cfg.qber_max = qmax;
	cfg.phi_max = pmax;
	struct dst_fk_stats s;
	dst_fk_stats_from_counts(&s, &b->c, 1);
	if (leak < 0) /* what an error correction of efficiency f_ec reveals at the block's QBER */
		leak = b->key_bits ? f_ec * (double)b->key_bits * dst_h2(s.m_key / (double)b->key_bits) : 0;
	struct dst_fk_result r;
	dst_fk_estimate(&cfg, &s, leak, &r);
	if (json)
		print_json(b, &p, &cfg, &r);
	else
		print_text(b, &p, &cfg, &r);
	dst_sift_block_free(b);
	return r.status == DST_FK_OK ? QKDTOOL_OK : QKDTOOL_FAILED;
}
QKDTOOL_CMD("estimate", "--in SIFTFILE [--json] [--leak BITS|--f-ec F] ... | --plan [--km L] [--n-key N] [--optimize]",
	    run_estimate)
