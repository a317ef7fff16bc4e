/* qkdperf: run the registered benchmarks, print a table, write JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dst_cpu.h"
#include "harness.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: qkdperf [--list] [--filter SUBSTR]... [--repeats N] [--min-time SEC]\n"
		   "               [--quick] [--json FILE] [--cpu=generic|avx2|vpclmul|native]\n");
}

static bool selected(const char *name, char **filters, int nfilters)
{
	if (nfilters == 0)
		return true;
	for (int i = 0; i < nfilters; i++)
		if (strstr(name, filters[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	if (dst_cpu_parse_args(&argc, argv))
		return 2;
	struct qp_run run = {.repeats = 5, .min_time = 0.2};
	const char *json_path = NULL;
	char *filters[32];
	int nfilters = 0;
	bool list = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--list")) {
			list = true;
		} else if (!strcmp(a, "--quick")) {
			run.quick = true;
			run.repeats = 3;
			run.min_time = 0.05;
		} else if (!strcmp(a, "--filter") && v && nfilters < 32) {
			filters[nfilters++] = argv[++i];
		} else if (!strcmp(a, "--repeats") && v) {
			char *end;
			long n = strtol(argv[++i], &end, 10);
			if (*end || n < 1 || n > QP_MAX_REPEATS) {
				fprintf(stderr, "qkdperf: --repeats must be 1..%d\n", QP_MAX_REPEATS);
				return 2;
			}
			run.repeats = (unsigned)n;
		} else if (!strcmp(a, "--min-time") && v) {
			char *end;
			run.min_time = strtod(argv[++i], &end);
			if (*end || run.min_time <= 0 || run.min_time > 60) {
				fprintf(stderr, "qkdperf: --min-time must be in (0, 60] seconds\n");
				return 2;
			}
		} else if (!strcmp(a, "--json") && v) {
			json_path = argv[++i];
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "qkdperf: unknown or incomplete argument '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		for (struct qp_bench *b = qp_benches(); b; b = b->next)
			printf("%-24s %s\n", b->name, b->what);
		return 0;
	}
	run.results = json_array();
	unsigned ran = 0;
	for (struct qp_bench *b = qp_benches(); b; b = b->next) {
		if (!selected(b->name, filters, nfilters))
			continue;
		printf("%s: %s (cpu level %s)\n", b->name, b->what, dst_cpu_level_name(dst_cpu_active()));
		run.base_value = 0;
		run.base_name[0] = 0;
		b->run(&run);
		ran++;
	}
	if (ran == 0) {
		fprintf(stderr, "qkdperf: no benchmark matches\n");
		json_decref(run.results);
		return 2;
	}
	int rc = 0;
	if (json_path) {
		if (json_dump_file(run.results, json_path, JSON_INDENT(1)) != 0) {
			fprintf(stderr, "qkdperf: cannot write %s: %s\n", json_path, strerror(errno));
			rc = 1;
		} else {
			printf("wrote %zu results to %s\n", json_array_size(run.results), json_path);
		}
	}
	json_decref(run.results);
	return rc;
}
