/* qkdtool simulate: run the link model and write an event file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dst_model.h"
#include "qkdtool.h"

static const char *NAME = "simulate";

/* "a,b,c" into up to 3 doubles; returns the count or -EINVAL. */
static int parse_list(const char *s, double out[DST_MAX_CLASSES])
{
	char buf[256];
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	int n = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == DST_MAX_CLASSES || qkdtool_parse_double(t, 0.0, 100.0, &out[n]))
			return -EINVAL;
		n++;
	}
	return n ? n : -EINVAL;
}

static int run_simulate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, 0, 'o'},    {"slots", required_argument, 0, 'n'},
		{"max-events", required_argument, 0, 'E'}, {"seed", required_argument, 0, 's'},
		{"loss-db", required_argument, 0, 'l'}, {"km", required_argument, 0, 'k'},
		{"db-per-km", required_argument, 0, 'a'}, {"mu", required_argument, 0, 'm'},
		{"p-mu", required_argument, 0, 'P'},   {"p-z", required_argument, 0, 'z'},
		{"eta-det", required_argument, 0, 'e'}, {"p-dark", required_argument, 0, 'd'},
		{"e-mis", required_argument, 0, 'x'},  {"p-ap", required_argument, 0, 'A'},
		{"rate", required_argument, 0, 'r'},   {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	struct dst_link_params p;
	dst_link_params_default(&p);
	const char *out = NULL;
	uint64_t slots = 100000000, max_events = 1u << 24, seed = 1;
	double km = -1, db_per_km = 0.2, mu[DST_MAX_CLASSES], pmu[DST_MAX_CLASSES];
	int n_mu = 0, n_pmu = 0, c, li = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		int rc = 0;
		switch (c) {
		case 'o': out = optarg; break;
		case 'n': rc = qkdtool_parse_u64(optarg, 1, (uint64_t)1 << 62, &slots); break;
		case 'E': rc = qkdtool_parse_u64(optarg, 1, (uint64_t)1 << 32, &max_events); break;
		case 's': rc = qkdtool_parse_u64(optarg, 0, UINT64_MAX, &seed); break;
		case 'l': rc = qkdtool_parse_double(optarg, 0, 400, &p.loss_db); break;
		case 'k': rc = qkdtool_parse_double(optarg, 0, 2000, &km); break;
		case 'a': rc = qkdtool_parse_double(optarg, 0, 10, &db_per_km); break;
		case 'm': rc = (n_mu = parse_list(optarg, mu)) < 0; break;
		case 'P': rc = (n_pmu = parse_list(optarg, pmu)) < 0; break;
		case 'z': rc = qkdtool_parse_double(optarg, 0, 1, &p.p_z); break;
		case 'e': rc = qkdtool_parse_double(optarg, 0, 1, &p.eta_det); break;
		case 'd': rc = qkdtool_parse_double(optarg, 0, 1, &p.p_dark); break;
		case 'x': rc = qkdtool_parse_double(optarg, 0, 1, &p.e_mis); break;
		case 'A': rc = qkdtool_parse_double(optarg, 0, 1, &p.p_ap); break;
		case 'r': rc = qkdtool_parse_double(optarg, 1, 1e13, &p.pulse_rate_hz); break;
		case 'h':
			printf("usage: qkdtool simulate --out FILE [--slots N] [--max-events N] [--seed S]\n"
			       "  [--loss-db DB | --km L [--db-per-km A]] [--mu a,b,c] [--p-mu a,b,c] [--p-z P]\n"
			       "  [--eta-det E] [--p-dark D] [--e-mis E] [--p-ap P] [--rate HZ]\n");
			return QKDTOOL_OK;
		default:
			return qkdtool_bad(NAME, "unknown option or missing value (qkdtool simulate --help)");
		}
		if (rc)
			return qkdtool_bad(NAME, "bad value '%s' for --%s", optarg, opts[li].name);
	}
	if (optind != argc)
		return qkdtool_bad(NAME, "unexpected argument '%s'", argv[optind]);
	if (!out)
		return qkdtool_bad(NAME, "--out FILE is required");
	if (km >= 0)
		p.loss_db = km * db_per_km;
	if (n_mu || n_pmu) {
		if (n_mu != n_pmu)
			return qkdtool_bad(NAME, "--mu and --p-mu need the same number of classes");
		p.n_classes = (unsigned)n_mu;
		for (int k = 0; k < DST_MAX_CLASSES; k++) {
			p.mu[k] = k < n_mu ? mu[k] : 0.0;
			p.p_mu[k] = k < n_mu ? pmu[k] : 0.0;
		}
	}
	const char *why;
	if (dst_link_params_check(&p, &why))
		return qkdtool_bad(NAME, "%s", why);
	struct dst_model *m = dst_model_create(&p, seed);
	struct dst_event_file f = {.params = p, .seed = seed, .slot_begin = 0};
	f.ev = dst_events_create(max_events);
	if (!m || !f.ev) {
		dst_model_free(m);
		dst_events_free(f.ev);
		fprintf(stderr, "qkdtool %s: out of memory\n", NAME);
		return QKDTOOL_FAILED;
	}
	f.ev->cap = max_events; /* exactly the requested limit */
	dst_model_events(m, f.ev, slots);
	f.slot_end = dst_model_slot(m);
	size_t n_events = f.ev->n;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = dst_event_file_encode(&f, &buf, &len);
	if (!rc)
		rc = qkdtool_write_file(out, buf, len);
	free(buf);
	dst_model_free(m);
	dst_event_file_clear(&f);
	if (rc) {
		fprintf(stderr, "qkdtool %s: %s: %s\n", NAME, out, strerror(-rc));
		return QKDTOOL_FAILED;
	}
	printf("events %zu slots %llu loss_db %.3f seed %llu\n", n_events,
	       (unsigned long long)f.slot_end, p.loss_db, (unsigned long long)seed);
	return QKDTOOL_OK;
}
QKDTOOL_CMD("simulate", "--out FILE [--slots N] [--km L|--loss-db DB] [--mu a,b,c --p-mu a,b,c] ...",
	    run_simulate)
