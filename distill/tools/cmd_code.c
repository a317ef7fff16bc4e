/* qkdtool code: inspect (rate, degrees, girth) or build QC-LDPC code files, optimise column-weight
 * profiles by density evolution. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dst_ldpc.h"
#include "qkdtool.h"

static int code_info(int argc, char **argv)
{
	const char *path = NULL;
	uint64_t limit = 10;
	int json = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--girth-limit") && i + 1 < argc) {
			if (qkdtool_parse_u64(argv[++i], 4, 12, &limit) || limit % 2)
				return qkdtool_bad("code", "--girth-limit: even number in [4, 12]");
		} else if (argv[i][0] == '-' || path)
			return qkdtool_bad("code", "info: unexpected argument '%s'", argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return qkdtool_bad("code", "info: need a .qc file");
	struct dst_ldpc_code *c;
	char err[DST_LDPC_ERRLEN];
	int rc = dst_ldpc_code_load(path, &c, err);
	if (rc)
		return qkdtool_bad("code", "%s", err);
	struct dst_ldpc_code_info in;
	dst_ldpc_code_get_info(c, &in);
	unsigned girth = dst_ldpc_code_girth(c, (unsigned)limit);
	if (json) {
		json_t *deg = json_object();
		for (int d = 0; d < 32; d++)
			if (in.vdeg_count[d]) {
				char k[8];
				snprintf(k, sizeof(k), "%d", d);
				json_object_set_new(deg, k, json_integer(in.vdeg_count[d]));
			}
		json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:f, s:I, s:i, s:i, s:i, s:i, s:o, "
				      "s:i, s:i, s:i, s:b}",
				      "name", in.name, "n", (int)in.n, "m", (int)in.m, "z", (int)in.z,
				      "base_rows", (int)in.base_rows, "base_cols", (int)in.base_cols,
				      "rate", in.rate, "edges", (json_int_t)in.edges, "vdeg_min",
				      (int)in.vdeg_min, "vdeg_max", (int)in.vdeg_max, "cdeg_min",
				      (int)in.cdeg_min, "cdeg_max", (int)in.cdeg_max, "column_weights", deg,
				      "girth", (int)girth, "max_punctured", (int)in.max_punctured,
				      "max_shortened", (int)in.max_shortened, "girth_exceeds_limit",
				      girth > limit);
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		printf("name      %s\n", in.name);
		printf("n, m      %u, %u (z = %u, base %u x %u)\n", in.n, in.m, in.z, in.base_rows,
		       in.base_cols);
		printf("rate      %.6f\n", in.rate);
		printf("edges     %" PRIu64 " (mean column weight %.3f, row weight %u..%u)\n", in.edges,
		       (double)in.edges / in.n, in.cdeg_min, in.cdeg_max);
		printf("columns  ");
		for (int d = 0; d < 32; d++)
			if (in.vdeg_count[d])
				printf(" %u x weight %d,", in.vdeg_count[d], d);
		printf("\n");
		if (girth > limit)
			printf("girth     > %u\n", (unsigned)limit);
		else
			printf("girth     %u\n", girth);
		printf("adapt     up to %u punctured, %u shortened bits\n", in.max_punctured,
		       in.max_shortened);
	}
	dst_ldpc_code_free(c);
	return QKDTOOL_OK;
}

/* --deg W:COUNT[,W:COUNT...] */
static int parse_deg(const char *s, struct dst_ldpc_design *d)
{
	d->nvdeg = 0;
	while (*s) {
		char *end;
		unsigned long w = strtoul(s, &end, 10);
		if (end == s || *end != ':' || d->nvdeg == 8)
			return -EINVAL;
		s = end + 1;
		unsigned long n = strtoul(s, &end, 10);
		if (end == s || (*end && *end != ','))
			return -EINVAL;
		d->vdeg_w[d->nvdeg] = (uint32_t)w;
		d->vdeg[d->nvdeg++] = (uint32_t)n;
		s = *end ? end + 1 : end;
	}
	return d->nvdeg ? 0 : -EINVAL;
}

struct design_args {
	struct dst_ldpc_design d;
	const char *out, *name;
	uint64_t max_weight;
};

/* Options of build and optimise (each action checks which it needs). */
static int parse_design(int argc, char **argv, struct design_args *a)
{
	uint64_t v;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val)
			return qkdtool_bad("code", "%s: %s needs a value", argv[1], o);
		i++;
		if (!strcmp(o, "--z")) {
			if (qkdtool_parse_u64(val, 64, DST_LDPC_MAX_Z, &v) || v % 64)
				return qkdtool_bad("code", "--z: multiple of 64 up to %d", DST_LDPC_MAX_Z);
			a->d.z = (uint32_t)v;
		} else if (!strcmp(o, "--rows")) {
			if (qkdtool_parse_u64(val, 2, DST_LDPC_MAX_BASE, &v))
				return qkdtool_bad("code", "--rows: 2..%d", DST_LDPC_MAX_BASE);
			a->d.base_rows = (uint32_t)v;
		} else if (!strcmp(o, "--cols")) {
			if (qkdtool_parse_u64(val, 3, DST_LDPC_MAX_BASE, &v))
				return qkdtool_bad("code", "--cols: 3..%d", DST_LDPC_MAX_BASE);
			a->d.base_cols = (uint32_t)v;
		} else if (!strcmp(o, "--deg")) {
			if (parse_deg(val, &a->d))
				return qkdtool_bad("code", "--deg: W:COUNT[,W:COUNT...] (up to 8)");
		} else if (!strcmp(o, "--seed")) {
			if (qkdtool_parse_u64(val, 0, UINT64_MAX, &a->d.seed))
				return qkdtool_bad("code", "--seed: unsigned 64-bit number");
		} else if (!strcmp(o, "--max-weight")) {
			if (qkdtool_parse_u64(val, 3, DST_LDPC_MAX_BASE, &a->max_weight))
				return qkdtool_bad("code", "--max-weight: 3..%d", DST_LDPC_MAX_BASE);
		} else if (!strcmp(o, "--name")) {
			a->name = val;
		} else if (!strcmp(o, "--out")) {
			a->out = val;
		} else {
			return qkdtool_bad("code", "%s: unknown option '%s'", argv[1], o);
		}
	}
	return QKDTOOL_OK;
}

static int code_build(int argc, char **argv)
{
	struct design_args a = {0};
	int rc = parse_design(argc, argv, &a);
	if (rc != QKDTOOL_OK)
		return rc;
	struct dst_ldpc_design *d = &a.d;
	if (!d->z || !d->base_rows || !d->base_cols || !d->nvdeg || !a.out || !a.name)
		return qkdtool_bad("code", "build: need --name --z --rows --cols --deg --out");
	if (strlen(a.name) >= sizeof(d->name) || strchr(a.name, ' '))
		return qkdtool_bad("code", "--name: 1..31 characters, no spaces");
	snprintf(d->name, sizeof(d->name), "%s", a.name);
	struct dst_ldpc_code *c;
	char err[DST_LDPC_ERRLEN];
	if (dst_ldpc_code_build(d, &c, err))
		return qkdtool_bad("code", "build: %s", err);
	rc = dst_ldpc_code_save(c, a.out);
	dst_ldpc_code_free(c);
	if (rc < 0) {
		fprintf(stderr, "qkdtool code: %s: %s\n", a.out, strerror(-rc));
		return QKDTOOL_FAILED;
	}
	return QKDTOOL_OK;
}

static double h2(double p)
{
	return -p * log2(p) - (1 - p) * log2(1 - p);
}

/* Threshold of the given profile, then of the locally optimised one (--deg to build with). */
static int code_optimise(int argc, char **argv)
{
	struct design_args a = {0};
	int rc = parse_design(argc, argv, &a);
	if (rc != QKDTOOL_OK)
		return rc;
	struct dst_ldpc_design *d = &a.d;
	if (!d->base_rows || !d->base_cols || !d->nvdeg)
		return qkdtool_bad("code", "optimise: need --rows --cols --deg");
	double rate = 1 - (double)d->base_rows / d->base_cols, t0 = dst_ldpc_design_threshold(d), t;
	if (t0 < 0 || dst_ldpc_design_optimise(d, a.max_weight ? (uint32_t)a.max_weight : d->base_rows,
						&t))
		return qkdtool_bad("code", "optimise: the --deg profile does not give %u columns of "
					   "weight 2..%u converging at p = 1e-4", d->base_cols, d->base_rows);
	printf("rate      %.6f\n", rate);
	printf("start     threshold %.5f (f* %.4f)\n", t0, t0 > 0 ? (1 - rate) / h2(t0) : INFINITY);
	printf("optimised threshold %.5f (f* %.4f)\n", t, (1 - rate) / h2(t));
	printf("--deg     ");
	for (uint32_t i = 0; i < d->nvdeg; i++)
		printf("%s%u:%u", i ? "," : "", d->vdeg_w[i], d->vdeg[i]);
	printf("\n");
	return QKDTOOL_OK;
}

static int cmd_code(int argc, char **argv)
{
	if (argc < 2)
		return qkdtool_bad("code", "need 'info FILE', 'build ...' or 'optimise ...'");
	if (!strcmp(argv[1], "info"))
		return code_info(argc, argv);
	if (!strcmp(argv[1], "build"))
		return code_build(argc, argv);
	if (!strcmp(argv[1], "optimise"))
		return code_optimise(argc, argv);
	return qkdtool_bad("code", "unknown action '%s' (info|build|optimise)", argv[1]);
}

QKDTOOL_CMD("code",
	    "info FILE [--json] [--girth-limit N] | build --name N --z Z --rows R --cols C "
	    "--deg W:COUNT,... --seed S --out FILE | optimise --rows R --cols C --deg W:COUNT,... "
	    "[--max-weight W]",
	    cmd_code)
